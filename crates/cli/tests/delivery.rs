//! Delivery metrics and the release report through the server and the CLI: one release walked
//! to production with recorded commit times and rolled back, the period's numbers (JSON, table
//! and CSV) against values worked out by hand; then a hotfix, and the rolled-back release's
//! report read from start to end. The arithmetic over many releases is in `greenlight-core`'s
//! `delivery` tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use greenlight_core::gates::GatePhase;
use serde_json::{Value, json};

mod support;
use support::{Db, Server, assert_ok, code, http, record_gates, stderr, stdout};

const POLICY: &str = r#"
[runbooks]
staging = [{ name = "deploy", run = "true" }]
production = [{ name = "deploy", run = "true" }]
rollback = [{ name = "instant_rollback", run = "true" }]
"#;

#[test]
fn delivery_metrics_of_a_release_deployed_and_rolled_back() {
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        walk(&db);
    }
}

fn walk(db: &Db) {
    let server = Server::start_with_policy(db, POLICY);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let pat = server.add_user("pat", "product_owner");
    let omar = server.add_user("omar", "on_call_engineer");
    assert_ok(&server.cli(
        support::ADMIN,
        &["environments", "baseline", "--env", "production", "1.3.0"],
    ));
    let empty = stdout(&server.cli(&erin, &["metrics"]));
    assert!(
        empty.contains("No production deployment in this period"),
        "{empty}"
    );

    server.set_clock("2026-11-10T18:00:00Z");
    let plan = [
        "release",
        "plan",
        "--version",
        "1.4.0",
        "--date",
        "2026-11-19T14:00",
    ];
    assert_ok(&server.cli(&erin, &plan));
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
    let content = json!({
        "changelog": "## [1.4.0]\n\n### Added\n\n- rhythm game\n", "included_features": [], "included_fixes": [],
        "breaking_changes": false, "migration_required": false,
        "commit_times": ["2026-11-17T22:00:00Z", "2026-11-18T22:00:00Z"],
    });
    let recorded = http()
        .post(server.api("/releases/1.4.0/content"))
        .bearer_auth(&erin)
        .json(&content)
        .send()
        .unwrap();
    assert!(
        recorded.status().is_success(),
        "{}",
        recorded.text().unwrap()
    );
    record_gates(&server, &quinn, "1.4.0", GatePhase::Planning);
    server.set_clock("2026-11-17T18:00:00Z");
    assert_ok(&server.cli(&erin, &["deploy", "1.4.0"]));
    record_gates(&server, &quinn, "1.4.0", GatePhase::StagingValidation);
    let team = [
        (&erin, "engineering_lead"),
        (&quinn, "qa_lead"),
        (&pat, "product_owner"),
    ];
    for (token, role) in team {
        assert_ok(&server.cli(token, &["approve", "1.4.0", "--role", role]));
    }
    for (token, role) in team {
        let vote = ["go-no-go", "1.4.0", "--role", role, "--vote", "go"];
        assert_ok(&server.cli(token, &vote));
    }
    server.set_clock("2026-11-19T22:00:00Z");
    assert_ok(&server.cli(&erin, &["deploy", "1.4.0"]));
    server.set_clock("2026-11-19T23:00:00Z");
    assert_ok(&server.cli(&omar, &["rollback", "1.4.0", "--reason", "high_error_rate"]));

    let period = ["metrics", "--from", "2026-11-01", "--to", "2026-12-01"];
    let m = server.cli_json(&erin, &period);
    assert_eq!(m["deployments"], 1);
    assert_eq!(m["deployments_per_week"], 0.23, "1 in 30 days");
    // Commits 48 h and 24 h before the deployment (give or take the seconds the test takes).
    let lead = m["lead_time_hours"].as_f64().unwrap();
    assert!((35.9..=36.1).contains(&lead), "{lead}");
    assert_eq!(m["lead_time_commits"], 2);
    assert_eq!(m["change_failure_rate"], 1.0);
    assert_eq!(m["deployment_rows"][0]["failed_by"], "rollback");
    let restore = m["time_to_restore_minutes"].as_f64().unwrap();
    assert!(
        restore < 1.0,
        "the rollback runbook is one `true`: {restore}"
    );
    assert_eq!(
        m["on_time_rate"], 1.0,
        "deployed the day it was planned for"
    );
    let gates = m["gates"].as_array().unwrap();
    assert!(!gates.is_empty() && gates.iter().all(|g| g["failure_rate"] == 0.0));

    let shown = stdout(&server.cli(&erin, &period));
    assert!(
        shown.contains("change failure rate") && shown.contains("100%"),
        "{shown}"
    );
    let csv = stdout(&server.cli(&erin, &[&period[..], &["--csv"]].concat()));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[0].starts_with("version,release_type,deployed_at"),
        "{csv}"
    );
    assert!(
        lines[1].starts_with("1.4.0,standard,2026-11-19T22:00:"),
        "{csv}"
    );
    assert!(
        lines[1].contains(",true,") && lines[1].contains(",rollback,"),
        "{csv}"
    );

    let later = server.cli_json(
        &erin,
        &["metrics", "--from", "2026-11-20", "--to", "2026-12-01"],
    );
    assert_eq!(later["deployments"], 0);
    assert_eq!(later["change_failure_rate"], Value::Null);
    let backwards = server.cli(
        &erin,
        &["metrics", "--from", "2026-12-01", "--to", "2026-11-01"],
    );
    assert_ne!(code(&backwards), 0);
    assert!(
        stderr(&backwards).contains("the period is empty"),
        "{}",
        stderr(&backwards)
    );
    let bad = http()
        .get(server.api("/delivery-metrics?format=xml"))
        .bearer_auth(&erin)
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    // A hotfix from the version production returned to, then the report of 1.4.0.
    server.set_clock("2026-11-20T18:00:00Z");
    let hotfix = [
        "hotfix",
        "start",
        "--from",
        "1.3.0",
        "--title",
        "score sync fix",
        "--trigger",
        "score_recording_failure",
    ];
    assert_ok(&server.cli(&omar, &hotfix));
    record_gates(&server, &quinn, "1.3.1", GatePhase::Hotfix);
    assert_ok(&server.cli(&omar, &["deploy", "1.3.1"]));
    assert_ok(&server.cli(&erin, &["approve", "1.3.1", "--role", "engineering_lead"]));
    assert_ok(&server.cli(&quinn, &["approve", "1.3.1", "--role", "qa_lead"]));
    server.set_clock("2026-11-20T19:00:00Z");
    assert_ok(&server.cli(&omar, &["deploy", "1.3.1"]));

    // Phase 4: the retrospective was set for Monday 23 November, 10:00; it is held and recorded.
    let shown = stdout(&server.cli(&erin, &["release", "show", "1.4.0"]));
    assert!(
        shown.contains("Retrospective: Mon 2026-11-23 10:00 PST (not recorded yet)"),
        "{shown}"
    );
    server.set_clock("2026-11-23T19:00:00Z");
    let retro = [
        "release",
        "retrospective",
        "1.4.0",
        "--notes",
        "error rate alert fired late",
        "--item",
        "Alert on score-sync lag;omar;2026-11-25",
        "--output",
        "policy: rollback error rate 3% -> 2%",
    ];
    let bad = server.cli(
        &erin,
        &[
            "release",
            "retrospective",
            "1.4.0",
            "--notes",
            "x",
            "--item",
            "no owner",
        ],
    );
    assert_eq!(code(&bad), 2, "{}", stderr(&bad));
    assert_ok(&server.cli(&quinn, &retro));
    let review = [
        "release",
        "metrics-review",
        "1.4.0",
        "--value",
        "score_recording_success_percent=99.2",
        "--value",
        "daily_active_users=5120",
    ];
    assert_ok(&server.cli(&quinn, &review));
    let unknown = ["release", "metrics-review", "1.4.0", "--value", "joy=1"];
    support::assert_refused(&server.cli(&quinn, &unknown), "input");
    server.set_clock("2026-11-26T19:00:00Z");
    let shown = stdout(&server.cli(&erin, &["release", "show", "1.4.0"]));
    assert!(
        shown.contains(
            "Action retro_1: Alert on score-sync lag (omar) due Wed 2026-11-25 00:00 PST — OVERDUE"
        ),
        "{shown}"
    );

    let report = stdout(&server.cli(&erin, &["release", "report", "1.4.0"]));
    assert!(
        report.starts_with("# Release report: 1.4.0 (standard, rolled_back)"),
        "{report}"
    );
    let story = [
        "standard release 1.4.0 planned to deploy 2026-11-19T22:00:00Z",
        "Code freeze: branch release/v1.4.0, candidate 1.4.0-rc.1",
        "Content recorded: 0 features, 0 fixes",
        "passed",
        "Staging deployment completed",
        "Approved as product_owner",
        "Go/No-Go vote as product_owner: Go (decision: Go)",
        "Production deployment started",
        "production step `deploy` succeeded",
        "Production deployment completed",
        "Rollback to 1.3.0 initiated: high_error_rate",
        "Action items: Create incident report",
        "rollback step `instant_rollback` succeeded",
        "Rolled back to 1.3.0",
        "Hotfix 1.3.1 started",
        "Hotfix 1.3.1 deployed to production",
        "Retrospective: error rate alert fired late (led to: policy: rollback error rate 3% -> 2%)",
        "Metrics review: daily_active_users 5120, score_recording_success_percent 99.2 (score recording success 99.2% is below 99.5%)",
    ];
    let mut from = 0;
    for line in story {
        let found = report[from..].find(line);
        let Some(offset) = found else {
            panic!("`{line}` missing or out of order after byte {from}:\n{report}")
        };
        from += offset + line.len();
    }
    let follow_up = [
        "- Create incident report: **OVERDUE** since Thu 2026-11-19 15:00 PST",
        "- Post-mortem and process improvements: due Thu 2026-11-26 15:00 PST",
        "- Alert on score-sync lag: **OVERDUE** since Wed 2026-11-25 00:00 PST",
    ];
    for line in follow_up {
        assert!(report.contains(line), "{line}:\n{report}");
    }
    let data = server.cli_json(&erin, &["release", "report", "1.4.0"]);
    let sections: Vec<&str> = data["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["section"].as_str().unwrap())
        .collect();
    assert_eq!(sections.first(), Some(&"plan"));
    assert_eq!(sections.last(), Some(&"follow_up"));
    let after = server.cli_json(&erin, &period);
    assert_eq!(after["deployments"], 2, "1.4.0 and the hotfix 1.3.1");
    assert_eq!(after["change_failure_rate"], 0.5);

    // The dashboard shows the same numbers, with a chart per week.
    let cookie = support::dashboard::sign_in(&server, &erin);
    let page = support::dashboard::get(&server, &cookie, "/ui/metrics")
        .text()
        .unwrap();
    assert!(
        page.contains("<dt>Change failure rate</dt><dd>50%</dd>"),
        "{page}"
    );
    assert!(page.contains("Production deployments per week"), "{page}");
    assert_eq!(page.matches("<svg").count(), 2, "{page}");
    assert!(page.contains("week of 11-1"), "{page}");
    let detail = support::dashboard::get(&server, &cookie, "/ui/releases/1.4.0")
        .text()
        .unwrap();
    for part in [
        r#"<h2 id="runbook-h">Runbook</h2>"#,
        "instant_rollback",
        "<h2>Communications sent</h2>",
        "Service restored",
        "<h2>Changelog</h2>",
        "✓ production deployed",
    ] {
        assert!(detail.contains(part), "{part}: {detail}");
    }
}
