//! History and changelog on repositories built by the test with the git CLI: annotated and
//! lightweight tags, a release candidate tag that is not a boundary, a merge, a revert inside the
//! range, unicode, a non-conventional message, an empty range, a shallow clone, bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use greenlight_git::{GitError, build, markdown, prepend, read};

fn git(dir: &Path, args: &[&str]) -> String {
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

fn commit(dir: &Path, message: &str) -> String {
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
fn repository() -> tempfile::TempDir {
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

#[test]
fn the_changelog_since_the_last_release() {
    let repo = repository();
    let history = read(repo.path(), None).unwrap();
    assert_eq!(
        history.from.as_deref(),
        Some("v1.0.0"),
        "the rc tag is not a boundary"
    );
    assert!(
        history
            .commits
            .iter()
            .all(|c| c.summary() != "chore: initial")
    );
    let log = build(&history.commits);
    let text = markdown("1.1.0", Some("2026-12-10"), &log);
    let expect = [
        "## [1.1.0] - 2026-12-10",
        "### ⚠ Breaking changes",
        "- the v1 score endpoints are gone (",
        "### Added",
        "- **scores:** save scores offline (#12)",
        "- ünïcødé lessons for élèves 🎵 (",
        "### Fixed",
        "- login loop when the session expires (",
        "- **auth:** refresh tokens before they expire (",
        "### Documentation",
        "### Other",
        "- Update some stuff (",
    ];
    for line in expect {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    for absent in [
        "bump dependencies",
        "risky leaderboard",
        "Revert",
        "Merge branch",
    ] {
        assert!(
            !text.contains(absent),
            "{absent:?} should be left out:\n{text}"
        );
    }
    let breaking = text.find("Breaking").unwrap();
    assert!(breaking < text.find("### Added").unwrap());
}

#[test]
fn explicit_ranges_and_an_empty_one() {
    let repo = repository();
    let to_head = read(repo.path(), Some("HEAD")).unwrap();
    assert_eq!(
        to_head.from.as_deref(),
        Some("v1.0.0"),
        "a single revision: since the last release"
    );
    assert_eq!(
        to_head.commits.len(),
        12,
        "every commit after v1.0.0, the merge included"
    );
    let since = read(repo.path(), Some("v1.1.0-rc.1..")).unwrap();
    assert!(
        since
            .commits
            .iter()
            .all(|c| !c.summary().contains("login loop"))
    );
    let empty = read(repo.path(), Some("HEAD..HEAD")).unwrap();
    assert!(empty.commits.is_empty());
    let text = markdown("Unreleased", None, &build(&empty.commits));
    assert_eq!(text, "## [Unreleased]\n\nNo notable changes.\n");
}

#[test]
fn prepending_keeps_the_old_text_byte_for_byte() {
    let old_head = "# Changelog\r\n\nAll notable changes.  \n\n## [Unreleased]\n\n- wip\n";
    let old_tail = "\n## [1.0.0] - 2026-01-08\n\n- first release\t\n";
    let existing = format!("{old_head}{old_tail}");
    let section = "## [1.1.0] - 2026-12-10\n\n### Added\n\n- offline scores\n";
    let result = prepend(&existing, section);
    assert!(result.starts_with(old_head), "{result}");
    assert!(
        result.ends_with(old_tail.trim_start_matches('\n')),
        "{result}"
    );
    assert!(
        result.contains(&format!("{section}\n## [1.0.0]")),
        "{result}"
    );
    assert_eq!(prepend("", section), format!("# Changelog\n\n{section}\n"));
}

#[test]
fn bad_input_gets_clear_errors() {
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        read(empty.path(), None),
        Err(GitError::NotARepository { .. })
    ));
    let repo = repository();
    let err = read(repo.path(), Some("v9.9.9..HEAD")).unwrap_err();
    assert!(matches!(err, GitError::Revision { .. }), "{err}");
    assert!(err.to_string().contains("v9.9.9"));
    assert!(matches!(
        read(repo.path(), Some("a...b")),
        Err(GitError::Range(_))
    ));
}

#[test]
fn a_shallow_clone_reads_what_it_has() {
    let repo = repository();
    let shallow = tempfile::tempdir().unwrap();
    let source = format!("file://{}", repo.path().display());
    git(
        shallow.path(),
        &["clone", "-q", "--depth", "3", &source, "clone"],
    );
    match read(&shallow.path().join("clone"), None) {
        Ok(history) => assert!(!history.commits.is_empty() && history.commits.len() <= 4),
        Err(err) => assert!(err.to_string().contains("history"), "{err}"),
    }
}
