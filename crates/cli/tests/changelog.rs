//! `greenlight changelog` as a user runs it: offline, in a repository built by the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[path = "../../git/tests/support/mod.rs"]
mod repos;
use repos::git;

fn greenlight(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .current_dir(dir)
        .env_remove("GREENLIGHT_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn changelog_prepends_a_release_section_and_refuses_a_non_repository() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["commit", "-q", "--allow-empty", "-m", "feat: first"]);
    git(d, &["tag", "v1.0.0"]);
    git(
        d,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "feat(scores): offline saving (#7)",
        ],
    );
    git(
        d,
        &["commit", "-q", "--allow-empty", "-m", "fix: login loop"],
    );
    let old = "# Changelog\n\n## [1.0.0] - 2026-01-08\n\n- first\n";
    std::fs::write(d.join("CHANGELOG.md"), old).unwrap();
    let args = [
        "changelog",
        "--version",
        "1.1.0",
        "--date",
        "2026-12-10",
        "--prepend",
        "CHANGELOG.md",
    ];
    let out = greenlight(d, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(d.join("CHANGELOG.md")).unwrap();
    assert!(
        text.starts_with("# Changelog\n\n## [1.1.0] - 2026-12-10\n"),
        "{text}"
    );
    assert!(text.contains("- **scores:** offline saving (#7)"), "{text}");
    assert!(
        text.ends_with("## [1.0.0] - 2026-01-08\n\n- first\n"),
        "{text}"
    );
    let json = greenlight(d, &["changelog", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["from"], "v1.0.0");
    assert_eq!(value["commits"], 2);
    let elsewhere = tempfile::tempdir().unwrap();
    let refused = greenlight(elsewhere.path(), &["changelog"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not in a git repository"));
}
