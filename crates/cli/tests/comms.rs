//! Stakeholder communications against real channels: a real SMTP server on loopback (aiosmtpd)
//! and a real HTTP webhook receiver. The spec's schedule for one standard release and one
//! rollback end to end (code freeze, an hour before the deployment, completion, rollback), the
//! public status page and feed with hostile release text, a channel that is down (retries, then
//! dead letters, then `comms retry`), and a crash between the outbox write and the delivery.
//! Skipped with a message unless Python's aiosmtpd is installed (`pip install aiosmtpd`);
//! `GREENLIGHT_REQUIRE_SMTP=1` (CI) makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use greenlight_core::gates::GatePhase;
use serde_json::Value;

mod support;
use support::{ADMIN, Db, Server, Webhook, assert_ok, http, record_gates, stdout};

/// The chat webhook's URL carries a token, like Slack's: it must never show up anywhere.
const CHAT_SECRET: &str = "T0KEN-very-secret-chat-path";

const POLICY: &str = r#"
[runbooks]
staging = [{ name = "deploy", run = "true" }]
production = [{ name = "deploy", run = "true" }]
rollback = [{ name = "instant_rollback", run = "true" }]

[communications]
pre_deploy_notice_minutes = 60
public_url = "https://status.mlc.test"

[communications.retry]
max_attempts = 3
first_delay_seconds = 60
max_delay_seconds = 600

[communications.email]
host = "127.0.0.1"
port = SMTP_PORT
security = "none"
from = "Greenlight <greenlight@mlc.test>"

[communications.recipients]
internal = ["eng@mlc.test"]
beta_testers = ["beta@mlc.test"]

[[communications.chat]]
name = "eng-releases"
url_env = "CHAT_URL"

[communications.templates.release_complete]
subject = "Shipped: MLC {{ release.version }}"
"#;

/// The SMTP server: a Python process writing each message it receives as JSON.
struct Smtp {
    child: Child,
    dir: PathBuf,
}

impl Smtp {
    fn start(port: u16, dir: &Path) -> Smtp {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .args([
                script,
                "127.0.0.1",
                &port.to_string(),
                dir.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert_eq!(first.trim(), "ready", "smtp sink did not start");
        Smtp {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// Every message received so far, in order.
    fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    fn subjects(&self) -> Vec<(String, String)> {
        self.messages()
            .iter()
            .map(|m| {
                (
                    m["to"][0].as_str().unwrap().to_string(),
                    m["subject"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether aiosmtpd can run here; panics when CI requires it.
fn smtp_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("GREENLIGHT_REQUIRE_SMTP").is_err(),
            "aiosmtpd is required (pip install aiosmtpd)"
        );
        eprintln!("skipped: python3 -m pip install aiosmtpd to run the communications tests");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server whose communications go to the SMTP port and the webhook.
fn server(db: &Db, dir: &Path, smtp_port: u16, chat: &Webhook) -> Server {
    let config = dir.join("greenlight.toml");
    std::fs::write(&config, POLICY.replace("SMTP_PORT", &smtp_port.to_string())).unwrap();
    let chat_url = format!("{}/{CHAT_SECRET}", chat.url);
    Server::start_with(
        db,
        &["--config", config.to_str().unwrap()],
        &[("CHAT_URL", chat_url.as_str()), ("GREENLIGHT_LOG", "info")],
    )
}

/// Waits until `check` holds (the worker polls every second).
fn eventually<T>(what: &str, check: impl Fn() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if let Some(value) = check() {
            return value;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within 15 s");
}

fn chat_texts(chat: &Webhook) -> Vec<String> {
    chat.bodies()
        .iter()
        .map(|b| {
            let v: Value = serde_json::from_str(b).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The ReleaseCommunication records of 1.4.0.
fn recorded(server: &Server, token: &str) -> Vec<Value> {
    let body: Value = http()
        .get(server.api("/releases/1.4.0/communications"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    body.as_array().unwrap().clone()
}

fn summary(server: &Server) -> Value {
    http()
        .get(format!("{}/status/api/v2/summary.json", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn the_spec_schedule_for_a_standard_release_and_a_rollback() {
    if !smtp_available() {
        return;
    }
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        schedule(&db);
    }
}

fn schedule(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let port = free_port();
    let smtp = Smtp::start(port, &mail);
    let chat = Webhook::listen();
    let server = server(db, dir.path(), port, &chat);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let pat = server.add_user("pat", "product_owner");
    let omar = server.add_user("omar", "on_call_engineer");
    assert_ok(&server.cli(
        ADMIN,
        &["environments", "baseline", "--env", "production", "1.3.0"],
    ));

    // School admins subscribe through the API (the policy lists the internal team).
    let subscribe = |token: &str, address: &str| {
        server.cli(
            token,
            &["comms", "recipients", "add", "subscribers", address],
        )
    };
    support::assert_refused(&subscribe(&quinn, "admins@school.test"), "permission");
    let bad = subscribe(&erin, "not an address");
    assert_ne!(support::code(&bad), 0);
    assert!(
        support::stderr(&bad).contains("is not an email address"),
        "{}",
        support::stderr(&bad)
    );
    assert_ok(&subscribe(&erin, "Old Admin <old@school.test>"));
    assert_ok(&subscribe(&erin, "admins@school.test"));
    assert_ne!(
        support::code(&subscribe(&erin, "admins@school.test")),
        0,
        "already there"
    );
    let remove = [
        "comms",
        "recipients",
        "remove",
        "subscribers",
        "Old Admin <old@school.test>",
    ];
    assert_ok(&server.cli(&erin, &remove));
    assert_ne!(
        support::code(&server.cli(&erin, &remove)),
        0,
        "gone already"
    );
    let listed = stdout(&server.cli(&erin, &["comms", "recipients", "list"]));
    assert!(
        listed.contains("admins@school.test") && listed.contains("api"),
        "{listed}"
    );
    assert!(
        listed.contains("eng@mlc.test") && listed.contains("policy"),
        "{listed}"
    );
    assert!(!listed.contains("old@school.test"), "{listed}");

    // Code freeze: internal email, beta testers' preview, internal chat for system admins.
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
    let freeze = eventually("the code freeze notices", || {
        (smtp.messages().len() == 2 && chat.bodies().len() == 1).then(|| smtp.subjects())
    });
    assert!(freeze.contains(&(
        "eng@mlc.test".into(),
        "Code freeze: MLC 1.4.0 deploys Thursday 19 November 2026, 14:00 PST".into()
    )));
    assert!(freeze.contains(&(
        "beta@mlc.test".into(),
        "Preview MLC 1.4.0 on staging".into()
    )));
    assert!(
        chat_texts(&chat)[0].starts_with("*Maintenance window scheduled: Thursday 19 November")
    );
    let code_freeze = smtp
        .messages()
        .into_iter()
        .find(|m| m["to"][0] == "eng@mlc.test")
        .unwrap();
    assert!(
        code_freeze["text"]
            .as_str()
            .unwrap()
            .contains("release/v1.4.0")
    );
    assert!(
        code_freeze["headers"]["Message-ID"]
            .as_str()
            .unwrap()
            .ends_with("@greenlight>")
    );
    assert_eq!(
        summary(&server)["scheduled_maintenances"],
        Value::Array(vec![])
    );

    // Through staging and the approvals.
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
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        smtp.messages().len(),
        2,
        "nothing more before the hour before"
    );

    // One hour before: status page maintenance notice, subscribers' email, internal chat.
    server.set_clock("2026-11-19T21:00:30Z");
    eventually("the maintenance notices", || {
        (smtp.messages().len() == 3 && chat.bodies().len() == 2).then_some(())
    });
    assert_eq!(
        smtp.subjects()[2],
        (
            "admins@school.test".into(),
            "Scheduled maintenance: Thursday 19 November 2026, 14:00 PST".into()
        )
    );
    assert!(chat_texts(&chat)[1].starts_with("*Deployment starting: MLC 1.4.0*"));
    let page = summary(&server);
    assert_eq!(page["scheduled_maintenances"][0]["status"], "scheduled");
    assert_eq!(
        page["scheduled_maintenances"][0]["scheduled_for"],
        "2026-11-19T22:00:00Z"
    );
    assert_eq!(page["status"]["indicator"], "none");

    // Completion: status page announcement, internal email (the team's own subject).
    server.set_clock("2026-11-19T22:00:00Z");
    assert_ok(&server.cli(&erin, &["deploy", "1.4.0"]));
    eventually("the completion notices", || {
        (smtp.messages().len() == 4).then_some(())
    });
    assert_eq!(
        smtp.subjects()[3],
        ("eng@mlc.test".into(), "Shipped: MLC 1.4.0".into())
    );
    let page = summary(&server);
    assert_eq!(page["scheduled_maintenances"][0]["status"], "completed");
    let updates = page["scheduled_maintenances"][0]["incident_updates"]
        .as_array()
        .unwrap();
    assert!(
        updates[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("MLC 1.4.0 is live"),
        "{updates:?}"
    );

    // Rollback, with hostile text in its reason: chat at once, then the post-rollback email,
    // "service restored" on the status page and the subscribers' email (users had 1.4.0).
    server.set_clock("2026-11-19T23:00:00Z");
    let hostile = "<script>alert('x')</script> scores & saves lost";
    assert_ok(&server.cli(&omar, &["rollback", "1.4.0", "--reason", hostile]));
    eventually("the rollback notices", || {
        (smtp.messages().len() == 6 && chat.bodies().len() == 3).then_some(())
    });
    assert!(chat_texts(&chat)[2].contains(&format!(
        "Production rollback initiated for MLC 1.4.0: {hostile}"
    )));
    let subjects = smtp.subjects();
    assert!(subjects.contains(&("eng@mlc.test".into(), "Rolled back: MLC 1.4.0".into())));
    assert!(subjects.contains(&("admins@school.test".into(), "Service restored".into())));
    let rolled_back = smtp
        .messages()
        .into_iter()
        .find(|m| m["subject"] == "Rolled back: MLC 1.4.0")
        .unwrap();
    assert!(rolled_back["text"].as_str().unwrap().contains(hostile));
    let html = rolled_back["html"].as_str().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; scores &amp; saves"),
        "{html}"
    );

    let page = summary(&server);
    assert_eq!(page["incidents"][0]["status"], "resolved");
    assert_eq!(page["incidents"][0]["name"], "Problem after MLC 1.4.0");
    let status_html = http()
        .get(format!("{}/status", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(status_html.contains("Service restored"), "{status_html}");
    assert!(
        status_html.contains("Problem after MLC 1.4.0"),
        "{status_html}"
    );
    assert!(!status_html.contains("<script>alert"), "{status_html}");
    let feed = http()
        .get(format!("{}/feed/all_users.atom", server.url))
        .send()
        .unwrap();
    assert_eq!(
        feed.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let feed = feed.text().unwrap();
    assert_eq!(feed.matches("<entry>").count(), 3, "{feed}");
    assert!(feed.contains("<title>Service restored</title>"), "{feed}");
    let internal = http()
        .get(format!("{}/feed/internal.atom", server.url))
        .send()
        .unwrap();
    assert_eq!(
        internal.status().as_u16(),
        404,
        "internal notices are not public"
    );

    // Every message once, each recorded as the spec's ReleaseCommunication.
    let recorded = recorded(&server, &erin);
    assert_eq!(recorded.len(), 6 + 3 + 3, "{recorded:?}");
    assert!(recorded.iter().all(|c| c["sent_by"] == "greenlight"));
    let listed = stdout(&server.cli(&erin, &["comms", "list"]));
    assert!(
        listed.contains("rollback_completed") && listed.contains("delivered"),
        "{listed}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(smtp.messages().len(), 6, "no duplicate");
    assert_eq!(chat.bodies().len(), 3, "no duplicate");
    let log = std::fs::read_to_string(db.log_path()).unwrap();
    assert!(!log.contains(CHAT_SECRET), "the webhook URL is a secret");
    assert_ok(&server.cli(ADMIN, &["audit", "verify"]));
}

#[test]
fn a_channel_that_is_down_is_retried_then_dead_lettered_and_retried_by_hand() {
    if !smtp_available() {
        return;
    }
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let port = free_port();
    let chat = Webhook::listen();
    chat.answer(503);
    let server = server(&db, dir.path(), port, &chat);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
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

    let list = |status: &str| server.cli_json(&erin, &["comms", "list", "--status", status]);
    let failing = eventually("the first failures", || {
        let pending = list("pending");
        let tried: Vec<Value> = pending
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["attempts"] == 1 && m["last_error"].is_string())
            .cloned()
            .collect();
        (tried.len() == 3).then_some(tried)
    });
    let errors: Vec<&str> = failing
        .iter()
        .map(|m| m["last_error"].as_str().unwrap())
        .collect();
    assert!(errors.iter().any(|e| e.starts_with("smtp:")), "{errors:?}");
    assert!(
        errors.contains(&"chat webhook `eng-releases` answered 503 Service Unavailable"),
        "{errors:?}"
    );
    let retry_at = failing[0]["available_at"].as_str().unwrap();
    assert!(
        retry_at.starts_with("2026-11-10T18:01:00"),
        "60 s after the first failure: {retry_at}"
    );

    // Second attempt after 60 s, third after 120 s more: then dead letters.
    server.set_clock("2026-11-10T18:01:00Z");
    eventually("the second attempts", || {
        let pending = list("pending");
        let tried = pending.as_array().unwrap().iter();
        (tried.filter(|m| m["attempts"] == 2).count() == 3).then_some(())
    });
    server.set_clock("2026-11-10T18:03:00Z");
    let dead = eventually("the dead letters", || {
        let dead = list("dead");
        (dead.as_array().unwrap().len() == 3).then_some(dead)
    });
    assert!(smtp_is_empty(&mail));
    let shown = stdout(&server.cli(&erin, &["comms", "list", "--status", "dead"]));
    assert!(shown.contains("dead") && shown.contains("smtp:"), "{shown}");

    // Retrying is for those who may communicate; it needs a dead letter.
    let id = dead[0]["id"].as_str().unwrap();
    support::assert_refused(&server.cli(&quinn, &["comms", "retry", id]), "permission");

    // The channels come back; each dead letter is retried by hand and delivered once.
    let smtp = Smtp::start(port, &mail);
    chat.answer(200);
    for message in dead.as_array().unwrap() {
        assert_ok(&server.cli(&erin, &["comms", "retry", message["id"].as_str().unwrap()]));
    }
    let again = server.cli(&erin, &["comms", "retry", id]);
    assert_ne!(
        support::code(&again),
        0,
        "a delivered or pending message is not retried"
    );
    eventually("the retried deliveries", || {
        (smtp.messages().len() == 2 && chat.bodies().len() == 1).then_some(())
    });
    eventually("all delivered", || {
        (list("delivered").as_array().unwrap().len() == 3).then_some(())
    });
    let log = std::fs::read_to_string(db.log_path()).unwrap();
    assert!(log.contains("dead letter"), "{log}");
    assert!(!log.contains(CHAT_SECRET), "the webhook URL is a secret");
}

fn smtp_is_empty(mail: &Path) -> bool {
    std::fs::read_dir(mail).unwrap().next().is_none()
}

#[test]
fn a_crash_between_the_outbox_write_and_the_delivery_delivers_once_after_restart() {
    if !smtp_available() {
        return;
    }
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let port = free_port();
    let chat = Webhook::listen();
    let first = server(&db, dir.path(), port, &chat);
    let erin = first.add_user("erin", "engineering_lead");
    first.set_clock("2026-11-10T18:00:00Z");
    let plan = [
        "release",
        "plan",
        "--version",
        "1.4.0",
        "--date",
        "2026-11-19T14:00",
    ];
    assert_ok(&first.cli(&erin, &plan));
    assert_ok(&first.cli(&erin, &["release", "freeze", "1.4.0"]));
    // SMTP is down: the emails wait in the outbox. The process dies.
    eventually("a failed attempt", || {
        let pending = first.cli_json(&erin, &["comms", "list", "--status", "pending"]);
        let tried = pending
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["attempts"] == 1);
        (tried.count() == 2).then_some(())
    });
    first.kill();

    let smtp = Smtp::start(port, &mail);
    let second = server(&db, dir.path(), port, &chat);
    second.set_clock("2026-11-10T18:05:00Z");
    // (The restarted server's clock starts at the real time, past the 19th, so the maintenance
    // notices are due too; the freeze notices are what this test follows.)
    let freeze = [
        "Code freeze: MLC 1.4.0 deploys Thursday 19 November 2026, 14:00 PST",
        "Preview MLC 1.4.0 on staging",
    ];
    let count = |subject: &str| smtp.subjects().iter().filter(|(_, s)| s == subject).count();
    eventually("the emails after the restart", || {
        freeze.iter().all(|s| count(s) == 1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    for subject in freeze {
        assert_eq!(count(subject), 1, "delivered once: {subject}");
    }
    let scheduled = chat_texts(&chat)
        .iter()
        .filter(|t| t.starts_with("*Maintenance window scheduled"))
        .count();
    assert_eq!(
        scheduled, 1,
        "the chat message went out once, before the crash"
    );
    let kinds: Vec<String> = recorded(&second, &erin)
        .iter()
        .map(|c| c["subject"].as_str().unwrap().to_string())
        .collect();
    for subject in freeze {
        assert_eq!(
            kinds.iter().filter(|k| *k == subject).count(),
            1,
            "{kinds:?}"
        );
    }
}
