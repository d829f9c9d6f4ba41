//! Release documentation as a user drives it from the command line: branches and tags with their
//! refusals, the backport list, notes per audience and channel, a changelog template, and the
//! release's content recorded on a server (SQLite and PostgreSQL) with its known issues in the
//! notes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

mod support;
use support::{ADMIN, Server, assert_ok, assert_refused, code, databases, stderr, stdout};

#[path = "../../git/tests/support/mod.rs"]
mod repos;
use repos::{commit_files, git, product};

fn offline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .current_dir(dir)
        .env_remove("GREENLIGHT_CONFIG")
        .env("GREENLIGHT_SERVER", "http://127.0.0.1:9")
        .env("GREENLIGHT_TOKEN", "glt_nobody")
        .output()
        .unwrap()
}

#[test]
fn branches_tags_and_backports_from_the_command_line() {
    let repo = product();
    let d = repo.path();
    let made = offline(d, &["git", "release-branch", "1.4.0"]);
    assert_ok(&made);
    assert!(
        stdout(&made).starts_with("Created release/v1.4.0 at "),
        "{}",
        stdout(&made)
    );
    assert_refused(
        &offline(d, &["git", "release-branch", "1.4.0"]),
        "name_exists",
    );
    assert_refused(&offline(d, &["git", "tag", "1.4.0"]), "untested");
    assert_ok(&offline(d, &["git", "rc", "1.4.0"]));
    assert_refused(&offline(d, &["git", "rc", "1.4.0"]), "nothing_new");
    let tagged = offline(d, &["git", "tag", "1.4.0", "--json"]);
    assert_ok(&tagged);
    let tag: serde_json::Value = serde_json::from_slice(&tagged.stdout).unwrap();
    assert_eq!(tag["name"], "v1.4.0");
    assert_eq!(git(d, &["tag", "--list", "v1.4.0*"]), "v1.4.0\nv1.4.0-rc.1");
    assert_eq!(code(&offline(d, &["git", "rc", "one.four"])), 2, "usage");

    let hotfix = offline(
        d,
        &["git", "hotfix-branch", "1.4.1", "--title", "score sync"],
    );
    assert_ok(&hotfix);
    assert!(stdout(&hotfix).contains("hotfix/v1.4.1-score-sync"));
    assert_ok(&offline(d, &["git", "release-branch", "1.5.0"]));
    git(d, &["checkout", "-q", "hotfix/v1.4.1-score-sync"]);
    commit_files(
        d,
        "fix(scores): sync after reconnect",
        &[("src/scores/sync.rs", "1")],
    );
    let list = offline(
        d,
        &["git", "backport", "--hotfix", "hotfix/v1.4.1-score-sync"],
    );
    assert_ok(&list);
    let text = stdout(&list);
    assert!(
        text.contains("1 commit(s) of hotfix/v1.4.1-score-sync are not on release/v1.5.0"),
        "{text}"
    );
    assert!(text.contains("git cherry-pick -x"), "{text}");
}

#[test]
fn notes_per_audience_and_channel_and_a_changelog_template() {
    let repo = product();
    let d = repo.path();
    let email = offline(
        d,
        &[
            "notes",
            "1.4.0",
            "--offline",
            "--audience",
            "parents",
            "--channel",
            "email",
        ],
    );
    assert_ok(&email);
    let html = stdout(&email);
    assert!(html.contains("<h2>For parents</h2>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;"),
        "hostile text escaped: {html}"
    );
    assert!(!html.contains("reminder"), "teachers only: {html}");

    let unknown = offline(d, &["notes", "1.4.0", "--offline", "--audience", "aliens"]);
    assert_eq!(code(&unknown), 2);
    assert!(
        stderr(&unknown).contains("students, teachers"),
        "{}",
        stderr(&unknown)
    );
    let unreachable = offline(d, &["notes", "1.4.0"]);
    assert_eq!(code(&unreachable), 3, "no server: {}", stderr(&unreachable));
    assert!(
        stderr(&unreachable).contains("--offline"),
        "{}",
        stderr(&unreachable)
    );

    std::fs::write(
        d.join("release.txt.j2"),
        "{{ version }} from {{ from }}: {% for g in changelog.groups %}{% if g.entries %}{{ g.title }}={{ g.entries | length }} {% endif %}{% endfor %}migration={{ facts.migration_required }}",
    )
    .unwrap();
    let rendered = offline(
        d,
        &[
            "changelog",
            "--version",
            "1.4.0",
            "--template",
            "release.txt.j2",
        ],
    );
    assert_ok(&rendered);
    assert_eq!(
        stdout(&rendered),
        "1.4.0 from v1.3.0: Added=3 Fixed=1 Changed=1 migration=True"
    );
    std::fs::write(d.join("broken.j2"), "{% for %}").unwrap();
    let broken = offline(d, &["changelog", "--template", "broken.j2"]);
    assert_eq!(code(&broken), 2);
    assert!(
        stderr(&broken).contains("broken, line 1"),
        "{}",
        stderr(&broken)
    );
}

#[test]
fn content_is_recorded_on_the_release_and_known_issues_reach_the_notes() {
    for db in databases() {
        let server = Server::start(&db);
        server.set_clock("2026-11-24T18:00:00Z");
        let erin = server.add_user("erin", "engineering_lead");
        let quinn = server.add_user("quinn", "qa_lead");
        let oscar = server.add_user("oscar", "on_call_engineer");
        let repo = product();
        let path = repo.path().to_str().unwrap();
        assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));

        assert_refused(
            &server.cli(&oscar, &["release", "content", "1.4.0", "--repo", path]),
            "permission",
        );
        let recorded = server.cli(&quinn, &["release", "content", "1.4.0", "--repo", path]);
        assert_ok(&recorded);
        let text = stdout(&recorded);
        assert!(
            text.contains("3 features, 1 fixes, migration required"),
            "{text}"
        );
        assert!(text.contains("history suggests 1.4.0"), "{text}");
        assert!(text.contains("risk: touches score recording"), "{text}");

        let shown = server.cli_json(ADMIN, &["release", "show", "1.4.0"]);
        let record = &shown["record"];
        assert!(
            record["changelog"].as_str().unwrap().contains("### Fixed"),
            "{record}"
        );
        assert_eq!(record["included_fixes"], serde_json::json!(["#57"]));
        assert_eq!(record["migration_required"], true);
        assert_eq!(record["breaking_changes"], false);
        assert_eq!(shown["risk_notes"].as_array().unwrap().len(), 1);

        let bug = [
            "bug",
            "report",
            "1.4.0",
            "--id",
            "MLC-88",
            "--severity",
            "3",
            "--title",
            "Leaderboard lags a minute",
            "--workaround",
            "Reload the page",
        ];
        assert_ok(&server.cli(&quinn, &bug));
        let notes = server.cli(
            &quinn,
            &["notes", "1.4.0", "--repo", path, "--audience", "students"],
        );
        assert_ok(&notes);
        let text = stdout(&notes);
        assert!(text.contains("## Known issues"), "{text}");
        assert!(
            text.contains("Leaderboard lags a minute\n  Workaround: Reload the page"),
            "{text}"
        );
        let events = server.cli_json(ADMIN, &["events", "--release", "1.4.0"]);
        assert!(
            events.to_string().contains("release_content_recorded"),
            "{events}"
        );
    }
}

/// Polls `release show` until the record's `included_fixes` has `fixes` entries.
fn wait_for_fixes(server: &Server, version: &str, fixes: usize) -> serde_json::Value {
    for _ in 0..100 {
        let shown = server.cli_json(ADMIN, &["release", "show", version]);
        if shown["record"]["included_fixes"]
            .as_array()
            .is_some_and(|f| f.len() == fixes)
        {
            return shown;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the server did not record {fixes} fix(es) on {version}");
}

#[test]
fn the_server_records_content_from_its_repository_on_plan_and_on_freeze() {
    for db in databases() {
        let repo = product();
        let d = repo.path();
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            config.path(),
            format!("[git]\nrepository = {:?}\n", d.to_str().unwrap()),
        )
        .unwrap();
        let server = Server::start_with(&db, &["--config", config.path().to_str().unwrap()], &[]);
        server.set_clock("2026-11-24T18:00:00Z");
        let erin = server.add_user("erin", "engineering_lead");
        assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));

        // On plan: main since v1.3.0.
        let planned = wait_for_fixes(&server, "1.4.0", 1);
        let record = &planned["record"];
        assert_eq!(record["included_fixes"], serde_json::json!(["#57"]));
        assert_eq!(record["migration_required"], true);
        assert!(
            record["changelog"]
                .as_str()
                .unwrap()
                .starts_with("## [1.4.0]\n"),
            "{record}"
        );
        let events = server.cli_json(ADMIN, &["events", "--release", "1.4.0"]);
        let recorded = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "release_content_recorded")
            .unwrap_or_else(|| panic!("{events}"));
        assert_eq!(recorded["actor"], "greenlight", "{recorded}");

        // On freeze: the release branch, with a fix made on it after the plan.
        assert_ok(&offline(d, &["git", "release-branch", "1.4.0"]));
        git(d, &["checkout", "-q", "release/v1.4.0"]);
        commit_files(
            d,
            "fix(lessons): metronome drifts (#61)",
            &[("src/lessons/metronome.rs", "fn tick() {}\n")],
        );
        git(d, &["checkout", "-q", "main"]);
        assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
        let frozen = wait_for_fixes(&server, "1.4.0", 2);
        assert_eq!(
            frozen["record"]["included_fixes"],
            serde_json::json!(["#61", "#57"]),
            "by scope: lessons, scores"
        );
    }
}

#[test]
fn a_server_whose_repository_cannot_be_read_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("greenlight.toml");
    std::fs::write(&config, "[git]\nrepository = \"/nonexistent/mlc\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.path().join("g.db").display()))
        .env_remove("GREENLIGHT_CONFIG")
        .output()
        .unwrap();
    assert_ne!(code(&out), 0);
    let err = stderr(&out);
    assert!(err.contains("git.repository"), "{err}");
    assert!(err.contains("/nonexistent/mlc"), "{err}");
}
