//! Deployments, rollbacks and the hotfix fast path end to end: a real server with real hook
//! scripts and a test clock, on SQLite and PostgreSQL. A standard release goes to production
//! through every runbook step after being refused on a Monday morning and on Thanksgiving (with
//! an override by the engineering lead, refused for other roles); it is rolled back; a hotfix
//! goes from start to production with its timeline and backport reminder; and a database
//! rollback needs confirmation, keeps maintenance mode on when it fails, and runs the spec's
//! order when it succeeds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;

use greenlight_core::gates::GatePhase;
use serde_json::Value;
use support::{
    ADMIN, Db, Server, Webhook, assert_ok, assert_refused, code, record_gates, stderr, stdout,
};

const POLICY: &str = r#"
[runbooks]
secrets = ["DEPLOY_TOKEN"]
staging = [
  { name = "deploy", run = 'echo "staging $GREENLIGHT_VERSION" >> "$GL_DIR/log"' },
  { name = "notify_cdn", webhook = "HOOK_URL", timeout_seconds = 5 },
]
production = [
  { name = "migrate", run = 'echo "migrate $GREENLIGHT_VERSION from $GREENLIGHT_PREVIOUS_VERSION" >> "$GL_DIR/log"' },
  { name = "deploy", run = 'echo "deploy $GREENLIGHT_VERSION with $DEPLOY_TOKEN" | tee -a "$GL_DIR/log"' },
  { name = "purge_cdn", run = 'echo "cdn unreachable"; exit 1', abort_on_failure = false },
  { name = "smoke_tests", run = 'echo "$GREENLIGHT_FACTS" > "$GL_DIR/facts.json"' },
]
rollback = [
  { name = "instant_rollback", run = 'echo "rollback $GREENLIGHT_VERSION to $GREENLIGHT_ROLLBACK_TO" >> "$GL_DIR/log"' },
]
database_rollback = [
  { name = "restore", run = 'if [ -f "$GL_DIR/restore_fails" ]; then echo "snapshot missing"; exit 4; fi; echo "restore to $GREENLIGHT_ROLLBACK_TO" >> "$GL_DIR/log"' },
]
maintenance_on = { name = "maintenance_on", run = 'echo "maintenance on" >> "$GL_DIR/log"' }
maintenance_off = { name = "maintenance_off", run = 'echo "maintenance off" >> "$GL_DIR/log"' }
"#;

/// The people of the test: one per role.
struct Team {
    erin: String,
    quinn: String,
    pat: String,
    omar: String,
}

#[test]
fn releases_deploy_roll_back_and_hotfix_through_hooks() {
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        lifecycle(&db);
    }
}

fn lifecycle(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let hook = Webhook::listen();
    let policy = POLICY.replace("HOOK_URL", &hook.url);
    std::fs::write(dir.path().join("greenlight.toml"), policy).unwrap();
    let config = dir.path().join("greenlight.toml");
    let server = Server::start_with(
        db,
        &["--config", config.to_str().unwrap()],
        &[
            ("GL_DIR", dir.path().to_str().unwrap()),
            ("DEPLOY_TOKEN", "tok-very-secret-42"),
        ],
    );
    let team = Team {
        erin: server.add_user("erin", "engineering_lead"),
        quinn: server.add_user("quinn", "qa_lead"),
        pat: server.add_user("pat", "product_owner"),
        omar: server.add_user("omar", "on_call_engineer"),
    };
    let baseline = ["environments", "baseline", "--env", "production", "1.3.0"];
    assert_ok(&server.cli(ADMIN, &baseline));

    standard_release_to_production(&server, &team, dir.path());
    let received = hook.bodies();
    assert_eq!(received.len(), 1, "{received:?}");
    let facts: Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(facts["GREENLIGHT_VERSION"], "1.4.0");
    assert_eq!(facts["GREENLIGHT_RUN"], "staging");
    rollback(&server, &team, dir.path());
    hotfix(&server, &team);
    database_rollback(&server, &team, dir.path());
    assert_ok(&server.cli(ADMIN, &["audit", "verify"]));
}

fn log(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Plan, freeze, staging through its runbook, approvals and Go; then production refused in
/// blocked windows and deployed with the engineering lead's override.
fn standard_release_to_production(server: &Server, team: &Team, dir: &Path) {
    // Tuesday 10 November 2026, 10:00 in Los Angeles.
    server.set_clock("2026-11-10T18:00:00Z");
    let plan = [
        "release",
        "plan",
        "--version",
        "1.4.0",
        "--date",
        "2026-11-19T14:00",
    ];
    assert_ok(&server.cli(&team.erin, &plan));
    assert_ok(&server.cli(&team.erin, &["release", "freeze", "1.4.0"]));
    record_gates(server, &team.quinn, "1.4.0", GatePhase::Planning);
    server.set_clock("2026-11-17T18:00:00Z");
    // `deploy` picks staging for a planned release and follows its runbook.
    let staging = server.cli(&team.erin, &["deploy", "1.4.0"]);
    assert_ok(&staging);
    assert!(
        stdout(&staging).contains("✓ deploy") && stdout(&staging).contains("✓ notify_cdn"),
        "{}",
        stdout(&staging)
    );
    assert_eq!(log(dir), ["staging 1.4.0"]);
    record_gates(server, &team.quinn, "1.4.0", GatePhase::StagingValidation);
    let roles = [
        (&team.erin, "engineering_lead"),
        (&team.quinn, "qa_lead"),
        (&team.pat, "product_owner"),
    ];
    for (token, role) in roles {
        assert_ok(&server.cli(token, &["approve", "1.4.0", "--role", role]));
    }
    for (token, role) in roles {
        let vote = ["go-no-go", "1.4.0", "--role", role, "--vote", "go"];
        assert_ok(&server.cli(token, &vote));
    }

    // Monday 23 November, 09:00: Monday mornings are blocked.
    server.set_clock("2026-11-23T17:00:00Z");
    let monday = server.cli(&team.erin, &["deploy", "1.4.0"]);
    assert_refused(&monday, "deployment_window");
    assert!(
        stderr(&monday).contains("Monday mornings"),
        "{}",
        stderr(&monday)
    );

    // Thanksgiving, 14:30: inside Thursday's window, but a holiday.
    server.set_clock("2026-11-26T22:30:00Z");
    let holiday = server.cli(&team.erin, &["deploy", "1.4.0"]);
    assert_refused(&holiday, "deployment_window");
    assert!(
        stderr(&holiday).contains("Thanksgiving"),
        "{}",
        stderr(&holiday)
    );
    let justified = [
        "deploy",
        "1.4.0",
        "--override",
        "score sync fix cannot wait for Monday",
    ];
    for token in [&team.quinn, &team.omar, &team.pat] {
        assert_refused(&server.cli(token, &justified), "permission");
    }
    let deployed = server.cli(&team.erin, &justified);
    assert_ok(&deployed);
    let out = stdout(&deployed);
    let order = [
        "✓ migrate",
        "✓ deploy",
        "✗ purge_cdn",
        "cdn unreachable",
        "✓ smoke_tests",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|s| out.find(s).unwrap_or(usize::MAX))
        .collect();
    assert!(positions.is_sorted() && positions[4] < usize::MAX, "{out}");
    assert!(out.contains("completed: 1.4.0 is deployed"), "{out}");
    assert_eq!(
        log(dir)[1..],
        [
            "migrate 1.4.0 from 1.3.0",
            "deploy 1.4.0 with tok-very-secret-42"
        ]
    );
    let facts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("facts.json")).unwrap()).unwrap();
    assert_eq!(facts["GREENLIGHT_VERSION"], "1.4.0");
    assert_eq!(facts["GREENLIGHT_PREVIOUS_VERSION"], "1.3.0");
    assert_eq!(facts["GREENLIGHT_RELEASE_TYPE"], "standard");

    let release = server.cli_json(&team.erin, &["release", "show", "1.4.0"]);
    assert_eq!(release["record"]["status"], "deployed");
    assert_eq!(release["record"]["deployed_by"], "erin");
    // The test clock runs on from where it was set, as a real one would.
    let deployed_date = release["record"]["deployed_date"].as_str().unwrap();
    assert!(
        deployed_date.starts_with("2026-11-26T22:30:0"),
        "{deployed_date}"
    );
    assert!(release["record"]["deployment_duration_minutes"].is_number());
    let runs = server.cli_json(
        &team.erin,
        &[
            "events",
            "--release",
            "1.4.0",
            "--type",
            "deployment_window_overridden",
        ],
    );
    assert_eq!(runs[0]["body"]["overridden_by"], "erin");
    assert_eq!(
        runs[0]["body"]["justification"],
        "score sync fix cannot wait for Monday"
    );
    let steps: Vec<Value> = support::http()
        .get(server.api("/releases/1.4.0/runs"))
        .bearer_auth(&team.erin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let deploy = steps.iter().rfind(|s| s["step"] == "deploy").unwrap();
    let output = deploy["output"].as_str().unwrap();
    assert!(
        output.contains("[secret DEPLOY_TOKEN]") && !output.contains("tok-very-secret-42"),
        "{output}"
    );
    stream_replays_the_run(server, &team.erin);
    let live = server.cli_json(&team.erin, &["environments"]);
    assert_eq!(live["production"][0]["version"], "1.4.0");
    assert_eq!(live["staging"][0]["version"], "1.4.0");
}

/// The SSE stream of a release: its steps and events, as a browser's EventSource would see them.
fn stream_replays_the_run(server: &Server, token: &str) {
    let response = support::http()
        .get(server.api("/releases/1.4.0/stream"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let mut seen = Vec::new();
    for line in BufReader::new(response).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("event: ") {
            seen.push(name.to_string());
        }
        if line.contains("\"event\":\"deployment_completed\"") {
            break;
        }
    }
    let steps = seen.iter().filter(|n| *n == "step").count();
    assert!(steps >= 5, "staging and production steps: {seen:?}");
    assert!(seen.iter().any(|n| n == "event"), "{seen:?}");
}

/// The on-call engineer rolls production back to the previous version through the runbook;
/// the spec's follow-ups are created and go overdue.
fn rollback(server: &Server, team: &Team, dir: &Path) {
    let args = ["rollback", "1.4.0", "--reason", "high_error_rate"];
    assert_refused(&server.cli(&team.quinn, &args), "permission");
    let rolled = server.cli(&team.omar, &args);
    assert_ok(&rolled);
    assert!(
        stdout(&rolled).contains("✓ instant_rollback"),
        "{}",
        stdout(&rolled)
    );
    assert!(
        stdout(&rolled).contains("to do: Create incident report"),
        "{}",
        stdout(&rolled)
    );
    assert_eq!(log(dir).last().unwrap(), "rollback 1.4.0 to 1.3.0");
    let release = server.cli_json(&team.omar, &["release", "show", "1.4.0"]);
    assert_eq!(release["record"]["status"], "rolled_back");
    assert_eq!(release["record"]["rolled_back_by"], "omar");
    assert_eq!(release["record"]["rollback_reason"], "high_error_rate");
    let kinds: Vec<&str> = release["action_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "incident_report",
            "root_cause",
            "forward_fix",
            "post_mortem"
        ]
    );
    let events = server.cli_json(
        &team.omar,
        &[
            "events",
            "--release",
            "1.4.0",
            "--type",
            "rollback_completed",
        ],
    );
    assert_eq!(events[0]["body"]["to_version"], "1.3.0");
    let live = server.cli_json(&team.omar, &["environments"]);
    assert_eq!(live["production"][0]["version"], "1.3.0");

    // Two days later the 24 h root cause is overdue; the incident report, once done, is not.
    server.set_clock("2026-11-28T22:30:00Z");
    let done = [
        "release",
        "done",
        "1.4.0",
        "incident_report",
        "--notes",
        "INC-42",
    ];
    assert_ok(&server.cli(&team.omar, &done));
    let shown = stdout(&server.cli(&team.omar, &["release", "show", "1.4.0"]));
    assert!(
        shown.contains("incident_report") && shown.contains("done by omar"),
        "{shown}"
    );
    assert!(
        shown.contains("root_cause") && shown.contains("OVERDUE"),
        "{shown}"
    );
}

/// A hotfix from the production version: reduced gates, 2 of 3 approvals, its timeline per
/// stage, and a backport reminder until it is marked done.
fn hotfix(server: &Server, team: &Team) {
    // Saturday 28 November, 14:30.
    let wrong = [
        "hotfix",
        "start",
        "--from",
        "1.4.0",
        "--title",
        "critical score fix",
        "--trigger",
        "score_recording_failure",
    ];
    let refused = server.cli(&team.omar, &wrong);
    assert_refused(&refused, "version");
    assert!(
        stderr(&refused).contains("--from 1.3.0"),
        "{}",
        stderr(&refused)
    );
    // The trigger sets the severity: score recording is severity 1, not 2.
    let start = [
        "hotfix",
        "start",
        "--from",
        "1.3.0",
        "--title",
        "critical score fix",
        "--trigger",
        "score_recording_failure",
    ];
    let sev2 = server.cli(&team.omar, &[&start[..], &["--severity", "2"]].concat());
    assert_refused(&sev2, "input");
    assert!(
        stderr(&sev2).contains("severity 1, not 2"),
        "{}",
        stderr(&sev2)
    );
    let started = server.cli(&team.omar, &start);
    assert_ok(&started);
    assert!(
        stdout(&started)
            .contains("Hotfix 1.3.1 started on branch hotfix/v1.3.1-critical-score-fix"),
        "{}",
        stdout(&started)
    );
    record_gates(server, &team.quinn, "1.3.1", GatePhase::Hotfix);
    server.set_clock("2026-11-28T23:10:00Z");
    assert_ok(&server.cli(&team.omar, &["deploy", "1.3.1"]));
    assert_ok(&server.cli(
        &team.erin,
        &["approve", "1.3.1", "--role", "engineering_lead"],
    ));
    let early = server.cli(&team.omar, &["deploy", "1.3.1"]);
    assert_refused(&early, "approval_matrix");
    assert_ok(&server.cli(&team.quinn, &["approve", "1.3.1", "--role", "qa_lead"]));
    server.set_clock("2026-11-29T00:00:00Z");
    let deployed = server.cli(&team.omar, &["deploy", "1.3.1"]);
    assert_ok(&deployed);

    let status = server.cli(&team.omar, &["hotfix", "status", "1.3.1"]);
    assert_ok(&status);
    let text = stdout(&status);
    assert!(
        text.contains("Reminder: Cherry-pick hotfix/v1.3.1-critical-score-fix"),
        "{text}"
    );
    // Started 14:30 PST, severity 1 (immediate): in production by 18:30, reached at 16:00.
    assert!(
        text.contains(
            "Severity 1 (score_recording_failure: Score recording failures): in production by \
             Sat 2026-11-28 18:30 PST — met, 2 h 30 min before it"
        ),
        "{text}"
    );
    for reminder in [
        "Reminder: Complete incident report",
        "Reminder: Update runbook with lessons learned",
        "Reminder: Schedule post-mortem if warranted",
    ] {
        assert!(text.contains(reminder), "{reminder:?} missing from {text}");
    }
    let release = server.cli_json(&team.omar, &["release", "show", "1.3.1"]);
    let timeline = &release["hotfix_timeline"];
    let elapsed: Vec<i64> = timeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["elapsed_minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(elapsed, [40, 50, 0], "{timeline}");
    assert_eq!(timeline["stages"][2]["state"], "running");
    assert_eq!(timeline["elapsed_minutes"], 90);
    let under_way = stdout(&server.cli(&team.omar, &["hotfix", "status"]));
    assert!(under_way.contains("Hotfix 1.3.1"), "{under_way}");

    for kind in ["incident_report", "runbook_update", "post_mortem"] {
        assert_ok(&server.cli(&team.erin, &["release", "done", "1.3.1", kind]));
    }
    server.set_clock("2026-11-29T01:30:00Z");
    let done = [
        "release",
        "done",
        "1.3.1",
        "backport",
        "--notes",
        "cherry-picked",
    ];
    assert_ok(&server.cli(&team.erin, &done));
    let release = server.cli_json(&team.omar, &["release", "show", "1.3.1"]);
    assert_eq!(release["hotfix_timeline"]["finished"], true);
    assert_eq!(
        release["hotfix_timeline"]["stages"][2]["elapsed_minutes"],
        90
    );
    let quiet = stdout(&server.cli(&team.omar, &["hotfix", "status"]));
    assert!(quiet.contains("No hotfix under way"), "{quiet}");
}

/// A database rollback is confirmed by typing the target version; a failed restore leaves
/// maintenance mode on; a good one runs maintenance on, restore, rollback, maintenance off.
fn database_rollback(server: &Server, team: &Team, dir: &Path) {
    let args = [
        "rollback",
        "1.3.1",
        "--reason",
        "migration corrupted scores",
        "--database",
    ];
    let unconfirmed = server.cli(&team.erin, &args);
    assert_refused(&unconfirmed, "confirmation");
    assert!(
        stderr(&unconfirmed).contains("--confirm 1.3.0"),
        "{}",
        stderr(&unconfirmed)
    );
    let confirmed = [&args[..], &["--confirm", "1.3.0"]].concat();

    std::fs::write(dir.join("restore_fails"), "").unwrap();
    let before = log(dir).len();
    let failed = server.cli(&team.erin, &confirmed);
    assert_eq!(code(&failed), 3, "{}{}", stdout(&failed), stderr(&failed));
    assert!(
        stderr(&failed).contains("maintenance mode stays on"),
        "{}",
        stderr(&failed)
    );
    assert!(
        stdout(&failed).contains("snapshot missing"),
        "{}",
        stdout(&failed)
    );
    assert_eq!(log(dir)[before..], ["maintenance on"]);
    let release = server.cli_json(&team.erin, &["release", "show", "1.3.1"]);
    assert_eq!(release["record"]["status"], "deployed");
    assert!(release["rollback"].is_null());

    std::fs::remove_file(dir.join("restore_fails")).unwrap();
    let before = log(dir).len();
    assert_ok(&server.cli(&team.erin, &confirmed));
    assert_eq!(
        log(dir)[before..],
        [
            "maintenance on",
            "restore to 1.3.0",
            "rollback 1.3.1 to 1.3.0",
            "maintenance off"
        ]
    );
    let release = server.cli_json(&team.erin, &["release", "show", "1.3.1"]);
    assert_eq!(release["record"]["status"], "rolled_back");
    let confirmations = server.cli_json(
        &team.erin,
        &[
            "events",
            "--release",
            "1.3.1",
            "--type",
            "database_rollback_confirmed",
        ],
    );
    assert_eq!(confirmations.as_array().unwrap().len(), 2);
    assert_eq!(confirmations[1]["body"]["confirmed_by"], "erin");
}
