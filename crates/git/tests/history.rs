//! History and changelog on repositories built by the test with the git CLI: annotated and
//! lightweight tags, a release candidate tag that is not a boundary, a merge, a revert inside the
//! range, unicode, a non-conventional message, an empty range, a shallow clone, bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

mod support;
use support::{git, repository};

use greenlight_core::content::GitPolicy;
use greenlight_git::{GitError, History, Rules, markdown, prepend};

fn read(path: &Path, range: Option<&str>) -> Result<History, GitError> {
    greenlight_git::read(path, range, &GitPolicy::default())
}

fn build(commits: &[greenlight_git::CommitInfo]) -> greenlight_git::Changelog {
    greenlight_git::build(commits, &Rules::default())
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

#[test]
fn a_long_history_reads_every_commit_in_walk_order() {
    // Long enough to be decoded on several threads: the chunks must come back in order.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    let mut stream = String::new();
    for i in 1..=5000 {
        let message = format!("fix(scores): change {i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor Dev <dev@mlc.invalid> {} +0000\n\
             committer Dev <dev@mlc.invalid> {} +0000\ndata {}\n{message}\n",
            1_700_000_000 + i,
            1_700_000_000 + i,
            message.len()
        ));
    }
    let mut import = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(d)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    import
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(import.wait().unwrap().success());

    let history = read(d, Some("main")).unwrap();
    let expected = git(d, &["rev-list", "main"]);
    let ids: Vec<&str> = history.commits.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, expected.lines().collect::<Vec<_>>());
    assert_eq!(history.commits[0].summary(), "fix(scores): change 5000");
    assert_eq!(history.commits[4999].summary(), "fix(scores): change 1");
}
