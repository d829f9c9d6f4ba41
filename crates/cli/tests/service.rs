//! The service as its users meet it: `greenlight serve` as a real process on SQLite and on
//! PostgreSQL, driven by the client commands and raw HTTP. Covers the release walk with every
//! refusal on the way, concurrent conflicting writes, and crashes under write load.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use greenlight_core::gates::GatePhase;
use serde_json::{Value, json};
use support::{
    ADMIN, Db, Server, assert_ok, assert_refused, code, databases, gate_names, http, record_gates,
    stderr, stdout,
};

fn walk(db: &Db) {
    let server = Server::start(db);
    // Tuesday 1 December 2026, 10:00 in Los Angeles.
    server.set_clock("2026-12-01T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let pat = server.add_user("pat", "product_owner");

    // Wrong role: only an engineering lead plans a standard release.
    assert_refused(
        &server.cli(&quinn, &["release", "plan", "--version", "1.4.0"]),
        "permission",
    );
    let planned = server.cli_json(&erin, &["release", "plan", "--version", "1.4.0"]);
    assert_eq!(planned["record"]["status"], "planned");
    assert_eq!(planned["record"]["planned_date"], "2026-12-10T22:00:00Z");
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));

    // Missing gate: staging needs the planning gates.
    let early = server.cli(&erin, &["deployment", "start", "1.4.0", "--env", "staging"]);
    assert_refused(&early, "quality_gate");
    record_gates(&server, &quinn, "1.4.0", GatePhase::Planning);
    assert_ok(&server.cli(&erin, &["deployment", "start", "1.4.0", "--env", "staging"]));
    assert_ok(&server.cli(&erin, &["deployment", "complete", "1.4.0"]));
    record_gates(&server, &quinn, "1.4.0", GatePhase::StagingValidation);

    // Wrong role: quinn cannot approve as product owner.
    let wrong = server.cli(&quinn, &["approve", "1.4.0", "--role", "product_owner"]);
    assert_refused(&wrong, "permission");
    assert_ok(&server.cli(&erin, &["approve", "1.4.0", "--role", "engineering_lead"]));
    assert_ok(&server.cli(&quinn, &["approve", "1.4.0", "--role", "qa_lead"]));

    // Missing approval: Go/No-Go needs the whole matrix.
    let vote = [
        "go-no-go",
        "1.4.0",
        "--role",
        "engineering_lead",
        "--vote",
        "go",
    ];
    assert_refused(&server.cli(&erin, &vote), "approval_matrix");

    // Stale version: a change based on an old revision is refused.
    let shown = server.cli_json(&pat, &["release", "show", "1.4.0"]);
    let revision = shown["revision"].as_i64().unwrap();
    let stale = (revision - 1).to_string();
    let approve = ["approve", "1.4.0", "--role", "product_owner", "--revision"];
    let out = server.cli(&pat, &[&approve[..], &[stale.as_str()]].concat());
    assert_refused(&out, "revision");
    let current = revision.to_string();
    assert_ok(&server.cli(&pat, &[&approve[..], &[current.as_str()]].concat()));

    for (token, role) in [
        (&erin, "engineering_lead"),
        (&quinn, "qa_lead"),
        (&pat, "product_owner"),
    ] {
        let out = server.cli(
            token,
            &["go-no-go", "1.4.0", "--role", role, "--vote", "go"],
        );
        assert_ok(&out);
    }
    let release = server.cli_json(&erin, &["release", "show", "1.4.0"]);
    assert_eq!(release["go_no_go"]["decision"], "go");
    assert_eq!(release["approvals"]["satisfied"], true);
    assert_eq!(release["record"]["status"], "staging");

    // Outside the window (Tuesday), production is refused; in the window it goes.
    let prod = ["deployment", "start", "1.4.0", "--env", "production"];
    assert_refused(&server.cli(&erin, &prod), "deployment_window");
    server.set_clock("2026-12-10T22:05:00Z");
    assert_ok(&server.cli(&erin, &prod));
    assert_ok(&server.cli(&erin, &["deployment", "complete", "1.4.0"]));
    let deployed = server.cli_json(&erin, &["release", "show", "1.4.0"]);
    assert_eq!(deployed["record"]["status"], "deployed");

    let events = server.cli_json(&erin, &["events", "--release", "1.4.0", "--limit", "1000"]);
    let names: BTreeSet<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for expected in [
        "release_planned",
        "deployment_started",
        "deployment_completed",
        "go_no_go_vote_recorded",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_ok(&server.cli(ADMIN, &["audit", "verify"]));
    let table = server.cli(&erin, &["release", "list"]);
    assert!(stdout(&table).contains("deployed"), "{}", stdout(&table));
}

#[test]
fn a_standard_release_walks_from_plan_to_production_with_every_refusal() {
    for db in databases() {
        eprintln!("backend: {}", db.name);
        walk(&db);
    }
}

/// `release show` (the table, not `--json`) names each approver with their role and time and
/// each voter with their role, vote and time: the fields the API sends (`approved_by`,
/// `approved_at`, `voted_by`, `at`), not blanks.
#[test]
fn release_show_prints_approvers_and_voters_with_their_roles_and_times() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    // Tuesday 1 December 2026, 10:00 in Los Angeles.
    server.set_clock("2026-12-01T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let pat = server.add_user("pat", "product_owner");
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
    record_gates(&server, &quinn, "1.4.0", GatePhase::Planning);
    assert_ok(&server.cli(&erin, &["deployment", "start", "1.4.0", "--env", "staging"]));
    assert_ok(&server.cli(&erin, &["deployment", "complete", "1.4.0"]));
    record_gates(&server, &quinn, "1.4.0", GatePhase::StagingValidation);
    // Wednesday 2 December, 09:30 in Los Angeles.
    server.set_clock("2026-12-02T17:30:00Z");
    for (token, role) in [
        (&erin, "engineering_lead"),
        (&quinn, "qa_lead"),
        (&pat, "product_owner"),
    ] {
        assert_ok(&server.cli(token, &["approve", "1.4.0", "--role", role]));
    }
    // Wednesday 2 December, 11:00 in Los Angeles.
    server.set_clock("2026-12-02T19:00:00Z");
    for (token, role) in [
        (&erin, "engineering_lead"),
        (&quinn, "qa_lead"),
        (&pat, "product_owner"),
    ] {
        assert_ok(&server.cli(
            token,
            &["go-no-go", "1.4.0", "--role", role, "--vote", "go"],
        ));
    }

    let out = server.cli(&erin, &["release", "show", "1.4.0"]);
    assert_ok(&out);
    let shown = stdout(&out);
    for line in [
        "erin as engineering_lead at Wed 2026-12-02 09:30 PST",
        "quinn as qa_lead at Wed 2026-12-02 09:30 PST",
        "pat as product_owner at Wed 2026-12-02 09:30 PST",
        "erin (engineering_lead) voted go at Wed 2026-12-02 11:00 PST",
        "quinn (qa_lead) voted go at Wed 2026-12-02 11:00 PST",
        "pat (product_owner) voted go at Wed 2026-12-02 11:00 PST",
    ] {
        assert!(shown.contains(line), "{line:?} missing from:\n{shown}");
    }
    assert!(!shown.contains(" as engineering_lead at \n"), "{shown}");
}

fn setup_frozen(server: &Server) -> (String, String) {
    server.set_clock("2026-12-01T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
    (erin, quinn)
}

fn concurrent_conflicts(db: &Db) {
    let server = Server::start(db);
    let (_erin, quinn) = setup_frozen(&server);
    let client = http();
    let release: Value = client
        .get(server.api("/releases/1.4.0"))
        .bearer_auth(&quinn)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let revision = release["revision"].as_i64().unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let url = server.api("/releases/1.4.0/gates");
    let planning = gate_names(GatePhase::Planning);
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let gate = planning[i % planning.len()].clone();
            let (barrier, url, token, client) =
                (barrier.clone(), url.clone(), quinn.clone(), client.clone());
            std::thread::spawn(move || {
                let body = json!({ "phase": "planning", "gate": gate, "passed": true });
                barrier.wait();
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("If-Match", format!("\"{revision}\""))
                    .json(&body)
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = statuses.iter().filter(|s| **s == 200).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((wins, conflicts), (1, 49), "{}: {statuses:?}", db.name);
    let after: Value = client
        .get(server.api("/releases/1.4.0"))
        .bearer_auth(&quinn)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(after["revision"].as_i64().unwrap(), revision + 1);

    // Without If-Match nobody based the change on a revision: lost races are re-decided, so
    // 20 concurrent writers all land, one revision each.
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let gate = planning[i % planning.len()].clone();
            let (url, token, client) = (url.clone(), quinn.clone(), client.clone());
            std::thread::spawn(move || {
                let body = json!({ "phase": "planning", "gate": gate, "passed": true });
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{}: {statuses:?}",
        db.name
    );
    let last: Value = client
        .get(server.api("/releases/1.4.0"))
        .bearer_auth(&quinn)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(last["revision"].as_i64().unwrap(), revision + 21);
    assert_ok(&server.cli(ADMIN, &["audit", "verify"]));
}

#[test]
fn fifty_concurrent_conflicting_transitions_have_one_winner() {
    for db in databases() {
        concurrent_conflicts(&db);
    }
}

/// Writes acknowledged before a crash: user IDs created and the release revisions reached.
#[derive(Default)]
struct Acknowledged {
    users: Vec<String>,
    revision: i64,
}

fn write_load(
    server: &Server,
    quinn: &str,
    round: usize,
    acked: &Arc<Mutex<Acknowledged>>,
) -> Vec<std::thread::JoinHandle<()>> {
    let client = http();
    let users = {
        let (client, url, acked) = (client.clone(), server.api("/users"), acked.clone());
        std::thread::spawn(move || {
            for n in 0.. {
                let id = format!("u{round}-{n}");
                let sent = client
                    .post(&url)
                    .bearer_auth(ADMIN)
                    .json(&json!({ "id": id }))
                    .send();
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => acked.lock().unwrap().users.push(id),
                    _ => return,
                }
            }
        })
    };
    let gates = {
        let (client, url, acked, token) = (
            client,
            server.api("/releases/1.4.0/gates"),
            acked.clone(),
            quinn.to_string(),
        );
        let planning = gate_names(GatePhase::Planning);
        std::thread::spawn(move || {
            for n in 0.. {
                let gate = &planning[n % planning.len()];
                let body = json!({ "phase": "planning", "gate": gate, "passed": n % 2 == 0, "reason": "flaky" });
                let sent = client.post(&url).bearer_auth(&token).json(&body).send();
                let Ok(response) = sent else { return };
                if response.status().as_u16() != 200 {
                    return;
                }
                let Ok(view) = response.json::<Value>() else {
                    return;
                };
                acked.lock().unwrap().revision = view["revision"].as_i64().unwrap_or_default();
            }
        })
    };
    vec![users, gates]
}

fn check_after_crash(server: &Server, quinn: &str, acked: &Acknowledged) {
    let client = http();
    let users: Vec<Value> = client
        .get(server.api("/users"))
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let present: BTreeSet<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    for id in &acked.users {
        assert!(present.contains(id.as_str()), "acknowledged user {id} lost");
    }
    let created: Vec<Value> = client
        .get(server.api("/audit?action=user.&limit=5000"))
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let audited = created
        .iter()
        .filter(|e| e["action"] == "user.create" || e["action"] == "user.bootstrap")
        .count();
    assert_eq!(
        audited,
        users.len(),
        "every user has exactly one creation entry"
    );
    let release: Value = client
        .get(server.api("/releases/1.4.0"))
        .bearer_auth(quinn)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let revision = release["revision"].as_i64().unwrap();
    assert!(
        revision >= acked.revision,
        "acknowledged revision {} lost (now {revision})",
        acked.revision
    );
    let entries: Vec<Value> = client
        .get(server.api("/releases/1.4.0/audit"))
        .bearer_auth(quinn)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        entries.len() as i64,
        revision,
        "one audit entry per release revision"
    );
    let verified: Value = client
        .get(server.api("/audit/verify"))
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(verified["valid"], true, "{verified}");
}

fn crashes(db: &Db) {
    let server = Server::start(db);
    let (_erin, quinn) = setup_frozen(&server);
    let mut server = Some(server);
    for round in 0..20 {
        let running = server.take().unwrap();
        let acked = Arc::new(Mutex::new(Acknowledged::default()));
        let writers = write_load(&running, &quinn, round, &acked);
        std::thread::sleep(Duration::from_millis(150 + (round as u64 * 37) % 250));
        running.kill();
        for writer in writers {
            writer.join().unwrap();
        }
        let acked = acked.lock().unwrap();
        assert!(
            !acked.users.is_empty() && acked.revision > 0,
            "round {round}: the load must be writing when the server is killed"
        );
        let restarted = Server::start(db);
        check_after_crash(&restarted, &quinn, &acked);
        server = Some(restarted);
    }
}

#[test]
fn acknowledged_writes_survive_sigkill_twenty_times() {
    for db in databases() {
        eprintln!("backend: {}", db.name);
        crashes(&db);
    }
}

#[test]
fn client_errors_have_their_exit_codes() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let no_token = std::process::Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(["release", "list"])
        .env("GREENLIGHT_SERVER", &server.url)
        .env_remove("GREENLIGHT_TOKEN")
        .output()
        .unwrap();
    assert_eq!(code(&no_token), 2, "{}", stderr(&no_token));
    assert!(stderr(&no_token).contains("GREENLIGHT_TOKEN"));
    let bad_token = server.cli("glt_nope", &["release", "list"]);
    assert_eq!(code(&bad_token), 3, "{}", stderr(&bad_token));
    let missing = server.cli(ADMIN, &["release", "show", "9.9.9"]);
    assert_eq!(code(&missing), 1, "{}", stderr(&missing));
    let bad_phase = server.cli(
        ADMIN,
        &[
            "gate", "record", "9.9.9", "--phase", "nope", "--gate", "x", "--pass",
        ],
    );
    assert_eq!(code(&bad_phase), 2, "{}", stderr(&bad_phase));
    let empty = server.cli(ADMIN, &["release", "list"]);
    assert_ok(&empty);
    assert!(stdout(&empty).contains("greenlight release plan"));
    drop(server);
    let unreachable = std::process::Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(["release", "list", "--server", "http://127.0.0.1:9"])
        .env("GREENLIGHT_TOKEN", ADMIN)
        .output()
        .unwrap();
    assert_eq!(code(&unreachable), 3, "{}", stderr(&unreachable));
    assert!(stderr(&unreachable).contains("cannot reach"));
}
