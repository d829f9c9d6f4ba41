//! Feature flags as people and the platform use them, against real `greenlight serve`
//! processes: the staged rollout with its dwell time and segment order, the kill switch and its
//! roles, the kill under concurrent evaluation (nothing after it returns serves the rollout),
//! OFREP single and bulk evaluation with ETags, per-variant metrics; two instances on one
//! PostgreSQL seeing a change and a kill within a second; evaluation through a database outage.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;
use support::{ADMIN, Db, Server, assert_ok, assert_refused, databases, http, stdout};

fn evaluate(server: &Server, key: &str, context: Value) -> (u16, Value) {
    let response = http()
        .post(format!("{}/ofrep/v1/evaluate/flags/{key}", server.url))
        .json(&json!({ "context": context }))
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn value(server: &Server, key: &str, context: Value) -> Value {
    let (status, body) = evaluate(server, key, context);
    assert_eq!(status, 200, "{body}");
    body
}

const STAFF: fn() -> Value = || json!({"targetingKey": "s-1", "groups": ["internal"]});
const BETA: fn() -> Value = || json!({"targetingKey": "b-1", "groups": ["beta"]});
const STUDENT: fn() -> Value = || json!({"targetingKey": "student-1"});

#[test]
fn a_staged_rollout_with_its_dwell_time_segments_and_kill_switch() {
    for db in databases() {
        let server = Server::start(&db);
        server.set_clock("2026-11-24T18:00:00Z");
        let erin = server.add_user("erin", "engineering_lead");
        let oscar = server.add_user("oscar", "on_call_engineer");
        let quinn = server.add_user("quinn", "qa_lead");
        let flag = |token: &str, args: &[&str]| server.cli(token, &[&["flag"], args].concat());

        assert_refused(&flag(&quinn, &["create", "new-rhythm-game"]), "permission");
        assert_ok(&flag(
            &erin,
            &["create", "new-rhythm-game", "--description", "the new game"],
        ));
        assert_refused(&flag(&erin, &["create", "new-rhythm-game"]), "conflict");
        assert_eq!(
            value(&server, "new-rhythm-game", STAFF())["value"],
            false,
            "not started"
        );

        assert_ok(&flag(&erin, &["advance", "new-rhythm-game"]));
        assert_eq!(
            value(&server, "new-rhythm-game", STAFF())["reason"],
            "TARGETING_MATCH"
        );
        assert_eq!(
            value(&server, "new-rhythm-game", BETA())["value"],
            false,
            "beta next"
        );
        server.set_clock("2026-11-24T18:14:00Z");
        let early = flag(&erin, &["advance", "new-rhythm-game"]);
        assert_refused(&early, "flag_dwell");
        assert!(
            support::stderr(&early).contains("wait 1m 0")
                && support::stderr(&early).contains("(until 10:15:00 PST)"),
            "{}",
            support::stderr(&early)
        );
        server.set_clock("2026-11-24T18:15:01Z");
        assert_ok(&flag(&erin, &["advance", "new-rhythm-game"]));
        assert_eq!(value(&server, "new-rhythm-game", BETA())["value"], true);
        assert_eq!(value(&server, "new-rhythm-game", STUDENT())["value"], false);

        // Everyone at 10%: about a tenth of 1,000 students, and the same ones stay in at 25%.
        server.set_clock("2026-11-24T18:30:02Z");
        assert_ok(&flag(&erin, &["advance", "new-rhythm-game"]));
        let students: Vec<Value> = (0..1000)
            .map(|i| json!({"targetingKey": format!("s{i}")}))
            .collect();
        let at_ten: Vec<bool> = students
            .iter()
            .map(|c| value(&server, "new-rhythm-game", c.clone())["value"] == true)
            .collect();
        let in_count = at_ten.iter().filter(|x| **x).count();
        assert!((60..140).contains(&in_count), "{in_count} of 1000 at 10%");
        server.set_clock("2026-11-24T18:45:03Z");
        assert_ok(&flag(&erin, &["advance", "new-rhythm-game"]));
        for (context, was_in) in students.iter().zip(&at_ten) {
            if *was_in {
                assert_eq!(
                    value(&server, "new-rhythm-game", context.clone())["value"],
                    true,
                    "sticky: {context}"
                );
            }
        }

        // The kill switch: on-call may, QA may not; off at once; restore serves the stage again.
        assert_refused(
            &flag(&quinn, &["kill", "new-rhythm-game", "--reason", "x"]),
            "permission",
        );
        assert_ok(&flag(
            &oscar,
            &["kill", "new-rhythm-game", "--reason", "scores not saved"],
        ));
        let killed = value(&server, "new-rhythm-game", STAFF());
        assert_eq!(
            (killed["value"].clone(), killed["reason"].clone()),
            (json!(false), json!("DISABLED"))
        );
        assert_refused(
            &flag(&erin, &["advance", "new-rhythm-game"]),
            "flag_rollout",
        );
        assert_ok(&flag(&oscar, &["restore", "new-rhythm-game"]));
        assert_eq!(value(&server, "new-rhythm-game", STAFF())["value"], true);

        let shown = server.cli_json(&erin, &["flag", "show", "new-rhythm-game"]);
        assert_eq!(shown["current_stage"], "everyone 25%");
        assert_eq!(shown["next_stage"], "everyone 50%");
        let left = shown["dwell_left_seconds"].as_i64().unwrap();
        assert!(
            (895..=900).contains(&left),
            "dwell starts over after a restore: {left}"
        );
        assert!(shown["evaluations"]["on"].as_u64().unwrap() > 0, "{shown}");
        let metrics = http()
            .get(format!("{}/metrics", server.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            metrics.contains(
                "greenlight_flag_evaluations_total{flag=\"new-rhythm-game\",variant=\"on\"}"
            ),
            "{metrics}"
        );
        let events = server.cli_json(ADMIN, &["events"]);
        let names: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event"].as_str())
            .collect();
        for name in [
            "flag_created",
            "flag_stage_advanced",
            "flag_killed",
            "flag_restored",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let audit = stdout(&server.cli(ADMIN, &["audit", "list"]));
        assert!(audit.contains("flag.kill"), "{audit}");
    }
}

#[test]
fn ofrep_bulk_evaluation_etags_and_errors() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    assert_ok(&server.cli(
        &erin,
        &[
            "flag",
            "create",
            "theme",
            "--variant",
            r#"blue={"color":"blue"}:3"#,
            "--variant",
            r#"off={"color":"grey"}"#,
            "--kind",
            "operational",
            "--stage",
            "100",
        ],
    ));
    assert_ok(&server.cli(&erin, &["flag", "create", "new-rhythm-game"]));
    let bulk = |etag: Option<&str>| {
        let mut request = http()
            .post(format!("{}/ofrep/v1/evaluate/flags", server.url))
            .json(&json!({"context": {"targetingKey": "student-1"}}));
        if let Some(tag) = etag {
            request = request.header("If-None-Match", tag);
        }
        request.send().unwrap()
    };
    let first = bulk(None);
    assert_eq!(first.status().as_u16(), 200);
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = first.json().unwrap();
    let keys: Vec<&str> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["new-rhythm-game", "theme"]);
    assert_eq!(
        body["flags"][1]["value"],
        json!({"color": "grey"}),
        "theme not started"
    );
    assert_eq!(bulk(Some(&tag)).status().as_u16(), 304);
    assert_ok(&server.cli(&erin, &["flag", "advance", "theme"]));
    let changed = bulk(Some(&tag));
    assert_eq!(
        changed.status().as_u16(),
        200,
        "a change invalidates the ETag"
    );
    let body: Value = changed.json().unwrap();
    assert_eq!(body["flags"][1]["value"], json!({"color": "blue"}));

    let (status, missing) = evaluate(&server, "nope", json!({}));
    assert_eq!(
        (status, missing["errorCode"].as_str()),
        (404, Some("FLAG_NOT_FOUND"))
    );
    let garbage = http()
        .post(format!("{}/ofrep/v1/evaluate/flags/theme", server.url))
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 400);
    let garbage: Value = garbage.json().unwrap();
    assert_eq!(garbage["errorCode"], "INVALID_CONTEXT");
    let own: Value = http()
        .post(format!("{}/api/v1/flags/evaluate", server.url))
        .json(&json!({"context": {"targetingKey": "s"}, "flags": ["theme", "nope"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(own["flags"]["theme"]["variant"], "blue");
    assert_eq!(own["flags"]["nope"]["error"], "FLAG_NOT_FOUND");
}

/// Sends `head` and then each of `pieces` as its own HTTP chunk, pausing between them so the
/// server receives the body in several reads; returns the status line and the body.
fn post_in_pieces(server: &Server, path: &str, pieces: &[&str]) -> (String, Value) {
    use std::io::{Read, Write};
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // The server may answer (and close) before the whole body is sent: later writes may fail.
    for piece in pieces {
        let _ = write!(stream, "{:x}\r\n{piece}\r\n", piece.len());
        let _ = stream.flush();
        std::thread::sleep(Duration::from_millis(30));
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json = body
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

#[test]
fn evaluation_reads_bodies_in_pieces_empty_and_refuses_oversized_ones() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let theme = [
        "flag",
        "create",
        "theme",
        "--kind",
        "operational",
        "--stage",
        "100",
    ];
    assert_ok(&server.cli(&erin, &theme));
    assert_ok(&server.cli(&erin, &["flag", "advance", "theme"]));

    let (status, body) = post_in_pieces(
        &server,
        "/ofrep/v1/evaluate/flags/theme",
        &[r#"{"context":{"target"#, r#"ingKey":"student-7"}}"#],
    );
    assert!(status.contains(" 200 "), "{status} {body}");
    assert_eq!(
        (body["key"].as_str(), body["reason"].as_str()),
        (Some("theme"), Some("STATIC"))
    );
    let (status, body) = post_in_pieces(
        &server,
        "/ofrep/v1/evaluate/flags",
        &[r#"{"con"#, "text\":{}}"],
    );
    assert!(status.contains(" 200 "), "{status} {body}");
    assert_eq!(body["flags"][0]["key"], "theme");

    let empty = http()
        .post(format!("{}/ofrep/v1/evaluate/flags/theme", server.url))
        .send()
        .unwrap();
    assert_eq!(
        empty.status().as_u16(),
        200,
        "an empty body is an empty context"
    );

    let padding = "x".repeat(300 * 1024);
    let oversized = http()
        .post(format!("{}/ofrep/v1/evaluate/flags/theme", server.url))
        .json(&json!({"context": {"targetingKey": "s", "padding": padding}}))
        .send()
        .unwrap();
    assert_eq!(oversized.status().as_u16(), 413);
    let refusal: Value = oversized.json().unwrap();
    assert_eq!(refusal["errorCode"], "INVALID_CONTEXT");
    assert!(
        refusal["errorDetails"]
            .as_str()
            .unwrap()
            .contains("at most"),
        "{refusal}"
    );
    let (status, _) = post_in_pieces(
        &server,
        "/api/v1/flags/evaluate",
        &[&"{".repeat(200 * 1024), &" ".repeat(100 * 1024)],
    );
    assert!(
        status.contains(" 413 "),
        "a body over the limit in pieces: {status}"
    );
}

/// One evaluation seen by a client racing the kill switch.
struct Seen {
    started: Instant,
    finished: Instant,
    status: u16,
    value: Value,
    reason: Value,
}

/// Evaluates `new-rhythm-game` in a loop (single and bulk in turn) until `stop`.
fn evaluate_until(server: &Server, stop: &AtomicBool, done: &AtomicUsize) -> Vec<Seen> {
    let client = http();
    let mut seen = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let bulk = seen.len() % 2 == 1;
        let path = if bulk {
            "flags"
        } else {
            "flags/new-rhythm-game"
        };
        let started = Instant::now();
        let response = client
            .post(format!("{}/ofrep/v1/evaluate/{path}", server.url))
            .json(&json!({ "context": STUDENT() }))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
        let finished = Instant::now();
        let result = if bulk {
            body["flags"]
                .as_array()
                .and_then(|flags| flags.iter().find(|f| f["key"] == "new-rhythm-game"))
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            body
        };
        seen.push(Seen {
            started,
            finished,
            status,
            value: result["value"].clone(),
            reason: result["reason"].clone(),
        });
        done.fetch_add(1, Ordering::Relaxed);
    }
    seen
}

#[test]
fn the_kill_switch_under_concurrent_evaluation() {
    for db in databases() {
        let server = Server::start(&db);
        let erin = server.add_user("erin", "engineering_lead");
        let flag = |args: &[&str]| assert_ok(&server.cli(&erin, &[&["flag"], args].concat()));
        flag(&[
            "create",
            "new-rhythm-game",
            "--kind",
            "operational",
            "--stage",
            "100",
        ]);
        flag(&["advance", "new-rhythm-game"]);

        let stop = AtomicBool::new(false);
        let done = AtomicUsize::new(0);
        let all = Mutex::new(Vec::new());
        let (kill_sent, kill_returned) = std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let seen = evaluate_until(&server, &stop, &done);
                    all.lock().unwrap().extend(seen);
                });
            }
            let wait_for = |n: usize| {
                within(Duration::from_secs(20), "evaluations", || {
                    done.load(Ordering::Relaxed) >= n
                })
            };
            wait_for(400);
            let kill_sent = Instant::now();
            let kill = http()
                .post(format!("{}/api/v1/flags/new-rhythm-game/kill", server.url))
                .bearer_auth(&erin)
                .json(&json!({"reason": "scores not saved"}))
                .send()
                .unwrap();
            let kill_returned = Instant::now();
            assert_eq!(kill.status().as_u16(), 200, "{}", kill.text().unwrap());
            let after = done.load(Ordering::Relaxed);
            wait_for(after + 400);
            stop.store(true, Ordering::Relaxed);
            (kill_sent, kill_returned)
        });

        let all = all.into_inner().unwrap();
        let failed: Vec<u16> = all.iter().map(|s| s.status).filter(|&s| s != 200).collect();
        assert!(
            failed.is_empty(),
            "{} evaluations failed: {failed:?}",
            failed.len()
        );
        let before: Vec<&Seen> = all.iter().filter(|s| s.finished < kill_sent).collect();
        let after: Vec<&Seen> = all.iter().filter(|s| s.started > kill_returned).collect();
        assert!(
            before.len() >= 100 && after.len() >= 100,
            "{} before, {} after",
            before.len(),
            after.len()
        );
        for seen in &before {
            assert_eq!(
                (&seen.value, &seen.reason),
                (&json!(true), &json!("STATIC")),
                "before the kill"
            );
        }
        let served_after: Vec<(&Value, &Value)> = after
            .iter()
            .map(|s| (&s.value, &s.reason))
            .filter(|&(value, reason)| value != &json!(false) || reason != &json!("DISABLED"))
            .collect();
        assert!(
            served_after.is_empty(),
            "{} of {} evaluations started after the kill returned still served the rollout: {:?}",
            served_after.len(),
            after.len(),
            &served_after[..served_after.len().min(5)]
        );
        eprintln!(
            "{}: {} evaluations, {} before the kill, {} after it returned, all off",
            db.name,
            all.len(),
            before.len(),
            after.len()
        );
    }
}

/// Polls until `check` holds, returning how long it took; panics after `limit`.
fn within(limit: Duration, what: &str, check: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} not seen within {limit:?}");
}

#[test]
fn instances_on_one_postgresql_see_a_change_and_a_kill_within_a_second_and_survive_an_outage() {
    let Some(db) = Db::postgres() else { return };
    let a = Server::start(&db);
    let b = Server::start(&db);
    let erin = a.add_user("erin", "engineering_lead");
    assert_ok(&a.cli(
        &erin,
        &[
            "flag",
            "create",
            "new-rhythm-game",
            "--kind",
            "operational",
            "--stage",
            "100",
        ],
    ));
    assert_ok(&a.cli(&erin, &["flag", "advance", "new-rhythm-game"]));
    let seen = within(Duration::from_secs(1), "the advance on b", || {
        evaluate(&b, "new-rhythm-game", STUDENT()).1["value"] == true
    });
    eprintln!("advance seen by the other instance after {seen:?}");

    assert_ok(&a.cli(
        &erin,
        &[
            "flag",
            "kill",
            "new-rhythm-game",
            "--reason",
            "scores not saved",
        ],
    ));
    let seen = within(Duration::from_secs(1), "the kill on b", || {
        evaluate(&b, "new-rhythm-game", STUDENT()).1["reason"] == "DISABLED"
    });
    eprintln!("kill seen by the other instance after {seen:?}");
    assert_ok(&a.cli(&erin, &["flag", "restore", "new-rhythm-game"]));
    within(Duration::from_secs(1), "the restore on b", || {
        evaluate(&b, "new-rhythm-game", STUDENT()).1["value"] == true
    });

    // The database goes away: evaluation keeps serving the last snapshot.
    db.pg_admin("ALTER DATABASE {db} ALLOW_CONNECTIONS false");
    db.pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'");
    for _ in 0..20 {
        let (status, body) = evaluate(&b, "new-rhythm-game", STUDENT());
        assert_eq!(
            (status, body["value"].clone()),
            (200, json!(true)),
            "during the outage"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let refused = a.cli(&erin, &["flag", "kill", "new-rhythm-game", "--reason", "x"]);
    assert_ne!(support::code(&refused), 0, "no change without a database");
    db.pg_admin("ALTER DATABASE {db} ALLOW_CONNECTIONS true");

    // Back: a kill reaches the other instance again (its listener reconnects; the poll covers).
    within(Duration::from_secs(10), "a kill after the outage", || {
        a.cli(
            &erin,
            &["flag", "kill", "new-rhythm-game", "--reason", "again"],
        )
        .status
        .success()
    });
    within(
        Duration::from_secs(3),
        "the kill on b after the outage",
        || evaluate(&b, "new-rhythm-game", STUDENT()).1["reason"] == "DISABLED",
    );
}

#[test]
fn automatic_advance_after_the_dwell_time_and_held_while_the_release_is_not_live() {
    let db = Db::sqlite();
    // A team whose release flags go 50% -> 100%: a plan rises through the policy's stages.
    let server = Server::start_with_policy(&db, "[feature_flags]\nstages = [50, 100]\n");
    server.set_clock("2026-11-24T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let flag = |args: &[&str]| server.cli(&erin, &[&["flag"], args].concat());
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    assert_ok(&flag(&[
        "create",
        "solo",
        "--stage",
        "50",
        "--stage",
        "100",
        "--auto-advance",
    ]));
    assert_ok(&flag(&[
        "create",
        "tied",
        "--stage",
        "50",
        "--stage",
        "100",
        "--auto-advance",
        "--release",
        "1.4.0",
    ]));
    assert_ok(&flag(&["advance", "solo"]));
    assert_ok(&flag(&["advance", "tied"]));
    let stage = |key: &str| server.cli_json(&erin, &["flag", "show", key])["current_stage"].clone();
    server.set_clock("2026-11-24T18:16:00Z");
    within(Duration::from_secs(15), "the automatic advance", || {
        stage("solo") == "everyone 100%"
    });
    let events = server.cli_json(ADMIN, &["events"]);
    let automatic = events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "flag_stage_advanced" && e["body"]["automatic"] == true);
    assert!(automatic, "{events}");
    // 1.4.0 is planned, not in production: its flag waits.
    assert_eq!(stage("tied"), "everyone 50%");
    let shown = server.cli_json(&erin, &["flag", "show", "tied"]);
    assert_eq!(shown["release_version"], "1.4.0");
}

#[test]
fn a_release_flag_plan_that_skips_or_falls_is_refused_unless_its_kind_is_exempt() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let flag = |args: &[&str]| server.cli(&erin, &[&["flag", "create"], args].concat());
    let straight = flag(&["new-rhythm-game", "--stage", "100"]);
    assert_refused(&straight, "flag_rollout_plan");
    assert!(
        support::stderr(&straight).contains("skips 10%, 25%, 50%"),
        "{}",
        support::stderr(&straight)
    );
    let falling = flag(&["new-rhythm-game", "--stage", "50", "--stage", "10"]);
    assert_refused(&falling, "flag_rollout_plan");
    assert!(support::stderr(&falling).contains("falls from 50% to 10%"));
    let rising = ["new-rhythm-game", "--stage", "10", "--stage", "25"];
    assert_ok(&flag(
        &[&rising[..], &["--stage", "50", "--stage", "100"]].concat(),
    ));
    assert_ok(&flag(&[
        "maintenance-banner",
        "--kind",
        "operational",
        "--stage",
        "100",
    ]));
}
