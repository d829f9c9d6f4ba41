//! The web dashboard against a real server over HTTP (a browser's requests, no JavaScript
//! needed): sign-in with a token into a session cookie, pages for releases and flags, the kill
//! switch as a form, CSRF and role checks, escaping, sign-out; a release recorded, deployed,
//! rolled back and cancelled through its page with confirmations, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

mod support;
use greenlight_core::gates::GatePhase;
use support::dashboard::{
    browser, csrf, get, login, login_form, post, set_cookie, set_cookie_header, sign_in,
};
use support::{ADMIN, Db, Server, assert_ok, http, record_gates};

#[test]
fn sign_in_browse_and_kill_a_flag_with_roles_and_csrf() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");

    let anonymous = browser()
        .get(format!("{}/ui/releases", server.url))
        .send()
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 303);
    assert_eq!(anonymous.headers()["location"], "/ui/login");
    let wrong = login(&server, &[("token", "glt_nope")]);
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().unwrap().contains("That token is unknown"));

    // Login CSRF: a sign-in form another site posts (no login cookie, or a cookie that does not
    // match the form's token) signs nobody in, even with a good token.
    let forged = browser()
        .post(format!("{}/ui/login", server.url))
        .form(&[("token", erin.as_str())])
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(set_cookie(&forged, "gl_session").is_none());
    assert!(forged.text().unwrap().contains("Refused by login_csrf"));
    let (cookie, _) = login_form(&server);
    let (_, other_token) = login_form(&server);
    let mismatched = browser()
        .post(format!("{}/ui/login", server.url))
        .header("cookie", cookie)
        .form(&[
            ("login_csrf", other_token.as_str()),
            ("token", erin.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(mismatched.status().as_u16(), 403);
    assert!(set_cookie(&mismatched, "gl_session").is_none());

    let lead = sign_in(&server, &erin);
    let empty = get(&server, &lead, "/ui/releases").text().unwrap();
    assert!(empty.contains("No releases yet"), "{empty}");
    server.set_clock("2026-11-24T18:00:00Z");
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    let list = get(&server, &lead, "/ui/releases").text().unwrap();
    assert!(
        list.contains(r#"<a href="/ui/releases/1.4.0">1.4.0</a>"#),
        "{list}"
    );
    assert!(list.contains("Thu 2026-12-10 14:00 PST"), "{list}");
    let detail = get(&server, &lead, "/ui/releases/1.4.0");
    assert_eq!(detail.status().as_u16(), 200);
    let detail = detail.text().unwrap();
    for part in [
        "○ code freeze complete",
        "Still needed: engineering_lead, qa_lead, product_owner",
        "standard release 1.4.0",
        "unit_tests",
        "Go/No-Go: pending",
        "standard release 1.4.0 planned",
    ] {
        assert!(detail.contains(part), "{part}: {detail}");
    }
    assert_eq!(
        get(&server, &lead, "/ui/releases/9.9.9").status().as_u16(),
        404
    );

    // Actions show per role; the core decides, and a refusal names its rule in the page.
    assert!(
        detail.contains("Approve as engineering_lead") && !detail.contains("Approve as qa_lead")
    );
    let qa = sign_in(&server, &quinn);
    let qa_detail = get(&server, &qa, "/ui/releases/1.4.0").text().unwrap();
    assert!(
        qa_detail.contains("Approve as qa_lead")
            && !qa_detail.contains("Approve as engineering_lead")
    );
    let qa_token = csrf(&qa_detail);
    let approve = |role: &str| {
        post(
            &server,
            &qa,
            "/ui/releases/1.4.0/approve",
            &[("csrf", &qa_token), ("role", role)],
        )
    };
    let forged = approve("engineering_lead");
    assert_eq!(
        forged.status().as_u16(),
        403,
        "posting for a role one does not hold"
    );
    assert!(forged.text().unwrap().contains("permission"));
    let early = approve("qa_lead");
    let status = early.status().as_u16();
    let early = early.text().unwrap();
    assert_eq!(status, 422, "{early}");
    assert!(early.contains(r#"class="error" role="alert""#), "{early}");
    let vote = |extra: &[(&str, &str)]| {
        let mut form = vec![("csrf", qa_token.as_str()), ("role", "qa_lead")];
        form.extend_from_slice(extra);
        post(&server, &qa, "/ui/releases/1.4.0/go-no-go", &form)
            .status()
            .as_u16()
    };
    assert_eq!(vote(&[]), 400, "no choice");
    assert_eq!(vote(&[("vote", "go")]), 422, "gates and approvals first");

    // Flags: the kill switch is a form for those who may pull it.
    // An operational kill switch: on for everyone from the start (a release flag would rise
    // through 10, 25, 50 and 100 over an hour).
    let flag = [
        "flag",
        "create",
        "new-rhythm-game",
        "--kind",
        "operational",
        "--stage",
        "100",
    ];
    assert_ok(&server.cli(&erin, &flag));
    assert_ok(&server.cli(&erin, &["flag", "advance", "new-rhythm-game"]));
    let qa_page = get(&server, &qa, "/ui/flags").text().unwrap();
    assert!(
        qa_page.contains("new-rhythm-game") && !qa_page.contains("Kill new-rhythm-game"),
        "{qa_page}"
    );
    let qa_csrf = csrf(&qa_page);
    let refused = post(
        &server,
        &qa,
        "/ui/flags/new-rhythm-game/kill",
        &[("csrf", &qa_csrf), ("reason", "x")],
    );
    assert_eq!(refused.status().as_u16(), 403, "the core still refuses QA");
    assert!(refused.text().unwrap().contains("permission"));

    let page = get(&server, &lead, "/ui/flags").text().unwrap();
    assert!(page.contains("Kill new-rhythm-game"), "{page}");
    let forged = post(
        &server,
        &lead,
        "/ui/flags/new-rhythm-game/kill",
        &[("reason", "x")],
    );
    assert_eq!(forged.status().as_u16(), 403, "no CSRF token");
    let other = post(
        &server,
        &lead,
        "/ui/flags/new-rhythm-game/kill",
        &[("csrf", &qa_csrf), ("reason", "x")],
    );
    assert_eq!(other.status().as_u16(), 403, "another session's token");
    let hostile = "<script>alert(1)</script> scores lost";
    let killed = post(
        &server,
        &lead,
        "/ui/flags/new-rhythm-game/kill",
        &[("csrf", &csrf(&page)), ("reason", hostile)],
    );
    assert_eq!(killed.status().as_u16(), 200);
    let killed = killed.text().unwrap();
    assert!(killed.contains("new-rhythm-game is killed"), "{killed}");
    assert!(
        killed.contains("&lt;script&gt;") && !killed.contains("<script>alert"),
        "{killed}"
    );
    let value: serde_json::Value = http()
        .post(format!(
            "{}/ofrep/v1/evaluate/flags/new-rhythm-game",
            server.url
        ))
        .json(&json!({"context": {"targetingKey": "student-1"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(value["reason"], "DISABLED");

    // Sign-out ends the session on the server, not only in the browser.
    let out = post(&server, &lead, "/ui/logout", &[("csrf", &csrf(&killed))]);
    assert_eq!(out.status().as_u16(), 303);
    let ended = set_cookie_header(&out, "gl_session").unwrap();
    assert!(ended.contains("Max-Age=0"), "{ended}");
    assert_eq!(get(&server, &lead, "/ui/releases").status().as_u16(), 303);
    let css = get(&server, &qa, "/ui/assets/app.css");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

const RUNBOOKS: &str = r#"
[runbooks]
staging = [{ name = "deploy_staging", run = "sleep 0.3; echo staging" }]
production = [
  { name = "deploy", run = "sleep 0.3; echo deploy" },
  { name = "smoke_tests", run = "echo smoke" },
]
rollback = [{ name = "instant_rollback", run = "echo rollback" }]
database_rollback = [{ name = "restore_snapshot", run = "echo restore" }]
maintenance_on = { name = "maintenance_on", run = "echo on" }
maintenance_off = { name = "maintenance_off", run = "echo off" }
"#;

/// The value of hidden field `name` in the first form that has it.
fn field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name}: {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The release's status through the API.
fn status(server: &Server, version: &str) -> String {
    let view: serde_json::Value = http()
        .get(format!("{}/api/v1/releases/{version}", server.url))
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    view["record"]["status"].as_str().unwrap().to_string()
}

/// Waits until the release's runbook run has ended.
fn settled(server: &Server, version: &str) {
    for _ in 0..100 {
        let view: serde_json::Value = http()
            .get(format!("{}/api/v1/releases/{version}", server.url))
            .bearer_auth(ADMIN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if view["deployment"].is_null() && view["rollback"].is_null() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the run of {version} did not end");
}

#[test]
fn a_release_walks_through_its_page_from_gates_to_rollback() {
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        walk_through_pages(&db);
    }
}

fn walk_through_pages(db: &Db) {
    let server = Server::start_with_policy(db, RUNBOOKS);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let pat = server.add_user("pat", "product_owner");
    assert_ok(&server.cli(
        ADMIN,
        &["environments", "baseline", "--env", "production", "1.3.0"],
    ));
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
    let qa = sign_in(&server, &quinn);

    // Gates: the QA lead records one through the page; a bad gate name is refused in the page.
    let page = get(&server, &qa, "/ui/releases/1.4.0").text().unwrap();
    assert!(page.contains("Record a planning gate result"), "{page}");
    let token = csrf(&page);
    let gate = |name: &str, result: &str| {
        post(
            &server,
            &qa,
            "/ui/releases/1.4.0/gates",
            &[
                ("csrf", &token),
                ("phase", "planning"),
                ("gate", name),
                ("result", result),
                ("reason", "CI run 812"),
            ],
        )
    };
    let unknown = gate("no_such_gate", "pass");
    assert_eq!(unknown.status().as_u16(), 422);
    assert!(unknown.text().unwrap().contains("no_such_gate"));
    let unreadable = gate("unit_tests", "maybe");
    assert_eq!(unreadable.status().as_u16(), 400);
    assert!(
        unreadable
            .text()
            .unwrap()
            .contains("The form could not be read")
    );
    let recorded = gate("unit_tests", "pass");
    assert_eq!(recorded.status().as_u16(), 200);
    let recorded = recorded.text().unwrap();
    assert!(
        recorded.contains("Recorded unit_tests: passed."),
        "{recorded}"
    );
    assert!(
        recorded.contains("Tue 2026-11-10 10:00 PST</td>"),
        "{recorded}"
    );
    let failed = gate("integration_tests", "fail").text().unwrap();
    assert!(
        failed.contains("Recorded integration_tests: failed.") && failed.contains("(CI run 812)"),
        "{failed}"
    );
    record_gates(&server, &quinn, "1.4.0", GatePhase::Planning);

    // Deploy asks first: the confirmation changes nothing; a role that may not deploy sees no
    // button and is refused before any confirmation.
    // (Sessions last 12 hours on the server's clock: a week later everyone signs in again.)
    server.set_clock("2026-11-17T18:00:00Z");
    let expired = get(&server, &qa, "/ui/releases/1.4.0");
    assert_eq!(expired.status().as_u16(), 303, "the session expired");
    let qa = sign_in(&server, &quinn);
    let lead = sign_in(&server, &erin);
    let qa_page = get(&server, &qa, "/ui/releases/1.4.0").text().unwrap();
    assert!(!qa_page.contains("Deploy to staging"), "{qa_page}");
    let qa_deploy = post(
        &server,
        &qa,
        "/ui/releases/1.4.0/deploy",
        &[("csrf", &csrf(&qa_page)), ("environment", "staging")],
    );
    assert_eq!(qa_deploy.status().as_u16(), 403);
    let page = get(&server, &lead, "/ui/releases/1.4.0").text().unwrap();
    assert!(page.contains("Deploy to staging…"), "{page}");
    let token = csrf(&page);
    let deploy = |extra: &[(&str, &str)]| {
        let mut form = vec![("csrf", token.as_str()), ("environment", "staging")];
        form.extend_from_slice(extra);
        post(&server, &lead, "/ui/releases/1.4.0/deploy", &form)
    };
    let ask = deploy(&[]).text().unwrap();
    assert!(
        ask.contains("Deploy 1.4.0 to staging?")
            && ask.contains("staging_deployment_started")
            && ask.contains("<li>deploy_staging</li>"),
        "{ask}"
    );
    assert_eq!(
        status(&server, "1.4.0"),
        "planned",
        "asking changes nothing"
    );
    let revision = field(&ask, "revision");
    let stale = (revision.parse::<i64>().unwrap() - 1).to_string();
    let moved = deploy(&[("revision", &stale)]);
    assert_eq!(moved.status().as_u16(), 409);
    assert!(
        moved
            .text()
            .unwrap()
            .contains("changed since you confirmed")
    );
    let started = deploy(&[("revision", &revision)]).text().unwrap();
    assert!(
        started.contains("Deployment of 1.4.0 to staging started."),
        "{started}"
    );
    settled(&server, "1.4.0");
    assert_eq!(status(&server, "1.4.0"), "staging");
    let page = get(&server, &lead, "/ui/releases/1.4.0").text().unwrap();
    assert!(
        page.contains("<td>deploy_staging</td><td>succeeded</td>"),
        "{page}"
    );

    // Approvals and Go through the API for the others, the lead's through the page.
    record_gates(&server, &quinn, "1.4.0", GatePhase::StagingValidation);
    let others = [(&quinn, "qa_lead"), (&pat, "product_owner")];
    for (token, role) in others {
        assert_ok(&server.cli(token, &["approve", "1.4.0", "--role", role]));
    }
    let page = post(
        &server,
        &lead,
        "/ui/releases/1.4.0/approve",
        &[("csrf", &token), ("role", "engineering_lead")],
    );
    assert!(
        page.text()
            .unwrap()
            .contains("Approved as engineering_lead.")
    );
    for (token, role) in others {
        let vote = ["go-no-go", "1.4.0", "--role", role, "--vote", "go"];
        assert_ok(&server.cli(token, &vote));
    }
    let voted = post(
        &server,
        &lead,
        "/ui/releases/1.4.0/go-no-go",
        &[
            ("csrf", &token),
            ("role", "engineering_lead"),
            ("vote", "go"),
        ],
    );
    assert!(voted.text().unwrap().contains("Go/No-Go: go"));

    // Production: refused on Wednesday 18 November, 11:00 in Los Angeles, with the rule.
    server.set_clock("2026-11-18T19:00:00Z");
    let lead = sign_in(&server, &erin);
    let token = csrf(&get(&server, &lead, "/ui/releases").text().unwrap());
    let page = get(&server, &lead, "/ui/releases/1.4.0").text().unwrap();
    assert!(page.contains("Deploy to production…"), "{page}");
    let form = [("csrf", token.as_str()), ("environment", "production")];
    let early = post(&server, &lead, "/ui/releases/1.4.0/deploy", &form);
    assert_eq!(early.status().as_u16(), 422);
    assert!(
        early.text().unwrap().contains(
            "refused by deployment_window: Wed 2026-11-18 11:00 PST is blocked: outside the standard deployment window"
        )
    );

    // Thursday 19 November, 14:30 in Los Angeles: inside the window.
    server.set_clock("2026-11-19T22:30:00Z");
    let lead = sign_in(&server, &erin);
    let qa = sign_in(&server, &quinn);
    let token = csrf(&get(&server, &lead, "/ui/releases").text().unwrap());
    let form = [("csrf", token.as_str()), ("environment", "production")];
    let ask = post(&server, &lead, "/ui/releases/1.4.0/deploy", &form)
        .text()
        .unwrap();
    assert!(ask.contains("<li>deploy</li><li>smoke_tests</li>"), "{ask}");
    let revision = field(&ask, "revision");
    let confirmed = [
        ("csrf", token.as_str()),
        ("environment", "production"),
        ("revision", revision.as_str()),
    ];
    post(&server, &lead, "/ui/releases/1.4.0/deploy", &confirmed);
    settled(&server, "1.4.0");
    assert_eq!(status(&server, "1.4.0"), "deployed");
    let page = get(&server, &lead, "/ui/releases/1.4.0").text().unwrap();
    assert!(
        page.contains(r#"id="health-h""#) && page.contains("No samples yet."),
        "{page}"
    );
    // Samples arrive: each metric is drawn against its target and rollback threshold.
    let samples: Vec<serde_json::Value> = (1..=8)
        .map(|minute| {
            json!({"kind": "request", "endpoint": "score_recording", "outcome": "success",
                "latency_ms": 120.0 + f64::from(minute), "at": format!("2026-11-19T22:3{minute}:00Z")})
        })
        .collect();
    let sent = http()
        .post(format!("{}/api/v1/metrics", server.url))
        .bearer_auth(ADMIN)
        .json(&json!({ "samples": samples }))
        .send()
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.text().unwrap());
    server.set_clock("2026-11-19T22:40:00Z");
    let page = get(&server, &lead, "/ui/releases/1.4.0").text().unwrap();
    assert!(
        page.contains("<polyline") && page.contains("<title>rollback threshold: 10 %</title>"),
        "{page}"
    );
    assert!(page.contains("Roll back…") && !page.contains("Cancel release…"));

    // Rollback: a reason is required (the rule says so in the page), then confirmed.
    let empty = post(
        &server,
        &lead,
        "/ui/releases/1.4.0/rollback",
        &[("csrf", &token), ("reason", " ")],
    );
    assert_eq!(empty.status().as_u16(), 422);
    let reason = "scores not saved on Safari";
    let ask = post(
        &server,
        &lead,
        "/ui/releases/1.4.0/rollback",
        &[("csrf", &token), ("reason", reason)],
    )
    .text()
    .unwrap();
    assert!(
        ask.contains("Roll production back from 1.4.0?") && ask.contains("instant_rollback"),
        "{ask}"
    );
    assert_eq!(status(&server, "1.4.0"), "deployed");

    // The database too (the browser test rolls back the application alone): the confirmation
    // lists the spec's procedure and asks to type the version returned to; a wrong one is
    // refused by the confirmation rule and changes nothing.
    let ask = post(
        &server,
        &lead,
        "/ui/releases/1.4.0/rollback",
        &[("csrf", &token), ("reason", reason), ("database", "on")],
    )
    .text()
    .unwrap();
    for part in [
        "Roll production and its database back from 1.4.0?",
        "<li>maintenance_on</li><li>restore_snapshot</li><li>instant_rollback</li><li>maintenance_off</li>",
        "database_rollback_confirmed",
        r#"<label for="confirm">Type 1.3.0 to confirm</label>"#,
        r#"name="database" value="on""#,
    ] {
        assert!(ask.contains(part), "{part}: {ask}");
    }
    let revision = field(&ask, "revision");
    let typed = |version: &str| {
        post(
            &server,
            &lead,
            "/ui/releases/1.4.0/rollback",
            &[
                ("csrf", token.as_str()),
                ("reason", reason),
                ("database", "on"),
                ("revision", revision.as_str()),
                ("confirm", version),
            ],
        )
    };
    let wrong = typed("1.2.0");
    assert_eq!(wrong.status().as_u16(), 422);
    let wrong = wrong.text().unwrap();
    assert!(
        wrong.contains("confirmation") && wrong.contains("1.3.0"),
        "{wrong}"
    );
    assert_eq!(status(&server, "1.4.0"), "deployed");
    assert_eq!(typed("1.3.0").status().as_u16(), 200);
    settled(&server, "1.4.0");
    assert_eq!(status(&server, "1.4.0"), "rolled_back");
    let page = get(&server, &lead, "/ui/releases/1.4.0").text().unwrap();
    assert!(page.contains(reason), "{page}");
    assert!(
        page.contains("restore_snapshot"),
        "the database steps ran: {page}"
    );
    // The runbook section alone, which the page's script swaps in during a run.
    let section = get(&server, &lead, "/ui/releases/1.4.0/runbook");
    assert_eq!(section.status().as_u16(), 200);
    let section = section.text().unwrap();
    assert!(section.contains(r#"<section id="runbook""#), "{section}");
    for part in ["restore_snapshot", "maintenance_off", "succeeded"] {
        assert!(section.contains(part), "{part}: {section}");
    }
    assert!(
        !section.contains("<html") && !section.contains("Health"),
        "{section}"
    );
    let done = post(
        &server,
        &lead,
        "/ui/releases/1.4.0/action-items/incident_report",
        &[("csrf", &token)],
    );
    assert_eq!(done.status().as_u16(), 200);
    assert!(done.text().unwrap().contains("done by erin"));

    // Cancel, confirmed; the QA lead may not.
    let plan = ["release", "plan", "--version", "1.5.0"];
    assert_ok(&server.cli(&erin, &plan));
    let bug = [
        "bug",
        "report",
        "1.5.0",
        "--id",
        "MLC-77",
        "--severity",
        "3",
        "--title",
        "Metronome drifts on iPad",
        "--workaround",
        "reload the lesson",
    ];
    assert_ok(&server.cli(&quinn, &bug));
    let page = get(&server, &lead, "/ui/releases/1.5.0").text().unwrap();
    assert!(
        page.contains("Known issues")
            && page.contains("MLC-77 (3): Metronome drifts on iPad; workaround: reload the lesson"),
        "{page}"
    );
    let qa_cancel = post(
        &server,
        &qa,
        "/ui/releases/1.5.0/cancel",
        &[
            (
                "csrf",
                &csrf(&get(&server, &qa, "/ui/releases").text().unwrap()),
            ),
            ("reason", "x"),
        ],
    );
    assert_eq!(qa_cancel.status().as_u16(), 403);
    let ask = post(
        &server,
        &lead,
        "/ui/releases/1.5.0/cancel",
        &[("csrf", &token), ("reason", "folded into 1.6.0")],
    )
    .text()
    .unwrap();
    assert!(ask.contains("Cancel release 1.5.0?"), "{ask}");
    let revision = field(&ask, "revision");
    let form = [
        ("csrf", token.as_str()),
        ("reason", "folded into 1.6.0"),
        ("revision", revision.as_str()),
    ];
    let cancelled = post(&server, &lead, "/ui/releases/1.5.0/cancel", &form);
    assert!(
        cancelled
            .text()
            .unwrap()
            .contains("Release 1.5.0 is cancelled.")
    );
    assert_eq!(status(&server, "1.5.0"), "cancelled");

    // A hotfix shows its timeline against the 2-4 hour target.
    let hotfix = [
        "hotfix",
        "start",
        "--from",
        "1.3.0",
        "--title",
        "score fix",
        "--trigger",
        "score_recording_failure",
    ];
    assert_ok(&server.cli(&erin, &hotfix));
    server.set_clock("2026-11-19T23:20:00Z");
    let page = get(&server, &lead, "/ui/releases/1.3.1").text().unwrap();
    assert!(
        page.contains("Hotfix timeline") && page.contains(r#"data-minutes="40""#),
        "{page}"
    );
    assert!(
        page.contains("Severity 1: Score recording failures. In production by"),
        "the deadline: {page}"
    );
}
