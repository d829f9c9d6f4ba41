//! Repositories built by the tests with the git CLI, at a fixed date, so ids are stable.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Robin Ré",
            "-c",
            "user.email=robin@mlc.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_DATE", "2026-11-20T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-20T10:00:00Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn commit(dir: &Path, message: &str) -> String {
    let file = dir.join(".message");
    std::fs::write(&file, message).unwrap();
    git(
        dir,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-F",
            file.to_str().unwrap(),
        ],
    );
    git(dir, &["rev-parse", "HEAD"])
}

/// v1.0.0 (annotated), then a release's worth of commits with a merge, a revert and an rc tag.
pub fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    commit(d, "chore: initial");
    git(d, &["tag", "-a", "v1.0.0", "-m", "release 1.0.0"]);
    commit(d, "feat(scores): save scores offline (#12)");
    commit(d, "fix: login loop when the session expires");
    git(d, &["tag", "v1.1.0-rc.1"]);
    commit(d, "docs: explain score sync");
    commit(d, "chore: bump dependencies");
    commit(d, "Update some stuff");
    commit(
        d,
        "feat!: drop the legacy scores API\n\nBREAKING CHANGE: the v1 score endpoints are gone",
    );
    commit(d, "feat: ünïcødé lessons for élèves 🎵");
    let risky = commit(d, "feat: risky leaderboard rewrite");
    commit(
        d,
        &format!("Revert \"feat: risky leaderboard rewrite\"\n\nThis reverts commit {risky}."),
    );
    git(d, &["checkout", "-q", "-b", "auth"]);
    commit(d, "fix(auth): refresh tokens before they expire");
    git(d, &["checkout", "-q", "main"]);
    git(
        d,
        &[
            "merge",
            "-q",
            "--no-ff",
            "auth",
            "-m",
            "Merge branch 'auth'",
        ],
    );
    commit(d, ":: garbage \u{7f} (#x) message with: no type at all");
    dir
}

/// Writes `files` (path, content), stages them and commits with `message`.
pub fn commit_files(dir: &Path, message: &str, files: &[(&str, &str)]) -> String {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
    let mut args = vec!["add", "--"];
    args.extend(files.iter().map(|(p, _)| *p));
    git(dir, &args);
    commit(dir, message)
}

/// A product repository: v1.3.0 released, then features, fixes and a migration for 1.4.0, with
/// audiences, release-note wording, issue references and co-authors in trailers.
pub fn product() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    commit_files(d, "chore: start", &[("README.md", "MLC\n")]);
    git(d, &["tag", "-a", "v1.3.0", "-m", "Release 1.3.0"]);
    commit_files(
        d,
        "feat(assignments): due-date reminders for teachers (#41)\n\nAudience: teachers\nRelease-Note: Teachers get a reminder the day before an assignment is due.\nCo-authored-by: Sam Lee <sam@mlc.invalid>",
        &[("src/assignments/reminders.rs", "fn remind() {}\n")],
    );
    commit_files(
        d,
        "fix(scores): scores recorded twice on a slow network\n\nAudience: students, teachers\nFixes: #57",
        &[("src/scores/record.rs", "fn record() {}\n")],
    );
    commit_files(
        d,
        "feat(db): index scores by student\n\nAudience: internal",
        &[(
            "migrations/0042_scores_index.sql",
            "create index scores_student;\n",
        )],
    );
    commit(
        d,
        "feat(games): <script>alert('pwn')</script> & new rhythm game (#44)\n\nAudience: all",
    );
    commit(d, "ci: cache the cargo registry");
    commit(d, "refactor: split the lesson loader");
    dir
}
