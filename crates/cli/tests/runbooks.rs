//! Runbooks run by a real server with real hook scripts: steps in order with the release's facts,
//! a failing step, a step that hangs past its timeout, masked secrets, and a server killed in the
//! middle of a run that comes back with the run marked interrupted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use greenlight_core::gates::GatePhase;
use serde_json::Value;
use support::{Db, Server, code, stderr, stdout};

const POLICY: &str = r#"
[runbooks]
secrets = ["DEPLOY_TOKEN"]

[[runbooks.staging]]
name = "migrate"
run = 'echo "migrating $GREENLIGHT_VERSION ($GREENLIGHT_RUN) with $DEPLOY_TOKEN"; echo "$GREENLIGHT_VERSION" > "$GL_DIR/deployed"'

[[runbooks.staging]]
name = "deploy"
run = 'if [ -f "$GL_DIR/fail" ]; then echo "deploy exploded"; exit 7; fi; if [ -f "$GL_DIR/hang" ]; then sleep 30; fi'
timeout_seconds = 2

[[runbooks.staging]]
name = "smoke_tests"
run = 'test -f "$GL_DIR/deployed"'
"#;

fn start(db: &Db, dir: &Path) -> Server {
    let config = dir.join("greenlight.toml");
    let hooks = dir.to_str().unwrap();
    Server::start_with(
        db,
        &["--config", config.to_str().unwrap()],
        &[("GL_DIR", hooks), ("DEPLOY_TOKEN", "tok-very-secret-42")],
    )
}

fn release(server: &Server, token: &str) -> Value {
    server.cli_json(token, &["release", "show", "1.4.0"])
}

fn steps(server: &Server, token: &str) -> Vec<Value> {
    let client = support::http();
    client
        .get(server.api("/releases/1.4.0/runs"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn deploy(server: &Server, token: &str) -> std::process::Output {
    server.cli(token, &["deployment", "start", "1.4.0", "--env", "staging"])
}

#[test]
fn staging_runbook_runs_fails_times_out_survives_a_crash_and_masks_secrets() {
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        runbook_lifecycle(&db);
    }
}

fn runbook_lifecycle(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("greenlight.toml"), POLICY).unwrap();
    let server = start(db, dir.path());
    server.set_clock("2026-12-01T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    assert_eq!(
        code(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"])),
        0
    );
    assert_eq!(code(&server.cli(&erin, &["release", "freeze", "1.4.0"])), 0);
    for gate in &support::gate_names(GatePhase::Planning) {
        let out = server.cli(
            &quinn,
            &[
                "gate", "record", "1.4.0", "--phase", "planning", "--gate", gate, "--pass",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }

    // A failing step stops the run; the deployment fails cleanly with the step named.
    std::fs::write(dir.path().join("fail"), "").unwrap();
    let failed = deploy(&server, &erin);
    assert_eq!(code(&failed), 3, "{}{}", stdout(&failed), stderr(&failed));
    assert!(
        stderr(&failed).contains("step `deploy` failed"),
        "{}",
        stderr(&failed)
    );
    assert!(
        stdout(&failed).contains("deploy exploded"),
        "{}",
        stdout(&failed)
    );
    let after = release(&server, &erin);
    assert!(
        after["deployment"].is_null(),
        "nothing left in progress: {after}"
    );
    assert_eq!(after["record"]["status"], "planned");
    std::fs::remove_file(dir.path().join("fail")).unwrap();

    // A step that hangs past its timeout is killed; the run fails within seconds.
    std::fs::write(dir.path().join("hang"), "").unwrap();
    let started = std::time::Instant::now();
    let hung = deploy(&server, &erin);
    assert_eq!(code(&hung), 3, "{}", stderr(&hung));
    assert!(started.elapsed() < Duration::from_secs(15));
    let attempts = steps(&server, &erin);
    assert!(
        attempts
            .iter()
            .any(|s| s["step"] == "deploy" && s["outcome"] == "timed_out"),
        "{attempts:?}"
    );

    // Killed in the middle of a run: after a restart the run is interrupted, not in progress.
    let running = server.cli(
        &erin,
        &[
            "deployment",
            "start",
            "1.4.0",
            "--env",
            "staging",
            "--no-wait",
        ],
    );
    assert_eq!(code(&running), 0, "{}", stderr(&running));
    std::thread::sleep(Duration::from_millis(700));
    assert!(!release(&server, &erin)["deployment"].is_null());
    server.kill();
    std::fs::remove_file(dir.path().join("hang")).unwrap();
    let server = start(db, dir.path());
    let restarted = release(&server, &erin);
    assert!(
        restarted["deployment"].is_null(),
        "phantom run: {restarted}"
    );
    let events = server.cli_json(&erin, &["events", "--release", "1.4.0", "--limit", "5000"]);
    let last = events
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["event"].as_str().unwrap().ends_with("deployment_failed"))
        .unwrap()
        .clone();
    assert!(
        last["body"]["failure_reason"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{last}"
    );

    // The whole runbook, in order, with the release's facts; the secret never reaches the log.
    server.set_clock("2026-12-01T19:00:00Z");
    let ok = deploy(&server, &erin);
    assert_eq!(code(&ok), 0, "{}{}", stdout(&ok), stderr(&ok));
    assert!(
        stdout(&ok).contains("✓ migrate") && stdout(&ok).contains("✓ smoke_tests"),
        "{}",
        stdout(&ok)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("deployed"))
            .unwrap()
            .trim(),
        "1.4.0"
    );
    let done = release(&server, &erin);
    assert_eq!(done["record"]["status"], "staging");
    let log = steps(&server, &erin);
    let migrate = log.iter().rev().find(|s| s["step"] == "migrate").unwrap();
    let output = migrate["output"].as_str().unwrap();
    assert!(output.contains("migrating 1.4.0 (staging)"), "{output}");
    assert!(
        output.contains("[secret DEPLOY_TOKEN]") && !output.contains("tok-very-secret-42"),
        "{output}"
    );
    assert_eq!(code(&server.cli(support::ADMIN, &["audit", "verify"])), 0);
}
