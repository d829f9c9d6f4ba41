//! The service facing hostile clients (issue 21): bounded metrics, connection limits and
//! timeouts, problem documents for every API error, NUL bytes, body limits, stream limits,
//! security headers and what the public pages let out. Each test reproduces a finding of the
//! security review against a real `greenlight serve` process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{ADMIN, Db, Server, http};

/// Sends `raw` on a new connection and returns everything the server answers until it closes.
fn raw_request(server: &Server, raw: &[u8]) -> Vec<u8> {
    let addr = server.url.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(raw).unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    answer
}

/// A method name of `len` random token characters.
fn random_method(len: usize) -> String {
    let seed = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    seed.chars().cycle().take(len).collect()
}

const METRICS_TOKEN: &str = "glm_metrics_token_for_tests_0123";

#[test]
fn metrics_stay_bounded_under_random_methods_and_need_their_token() {
    let db = Db::sqlite();
    let server = Server::start_with(&db, &[], &[("GREENLIGHT_METRICS_TOKEN", METRICS_TOKEN)]);
    for i in 0..1500 {
        let method = random_method(400);
        let path = if i % 2 == 0 {
            "/healthz".to_string()
        } else {
            format!("/no/such/{}", random_method(200))
        };
        let raw = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = raw_request(&server, raw.as_bytes());
        assert!(answer.starts_with(b"HTTP/1.1 4"), "request {i}");
    }
    let anonymous = http()
        .get(format!("{}/metrics", server.url))
        .send()
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let wrong = http()
        .get(format!("{}/metrics", server.url))
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    assert_eq!(
        wrong.status().as_u16(),
        401,
        "an API token is not the metrics token"
    );
    let metrics = http()
        .get(format!("{}/metrics", server.url))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().unwrap();
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    assert!(
        text.len() < 64 * 1024,
        "/metrics grew to {} bytes after 1,500 odd requests",
        text.len()
    );
}

/// Reads from `conn` until the server closes it; how long that took, or `None` if it stayed
/// open past `limit`.
fn closed_within(conn: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    conn.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(started.elapsed()),
        }
        if started.elapsed() > limit {
            return None;
        }
    }
}

#[test]
fn idle_and_half_sent_connections_are_closed_and_healthz_stays_answered() {
    let db = Db::sqlite();
    let server = Server::start_with(
        &db,
        &["--max-connections", "16", "--header-read-timeout", "1"],
        &[],
    );
    let addr = server.url.trim_start_matches("http://").to_string();

    // An idle connection, a half-sent request and a keep-alive connection after its answer
    // are all closed after the header read timeout (1 s here).
    let mut idle = TcpStream::connect(&addr).unwrap();
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let mut kept = TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        let n = kept.read(&mut buf).unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    for (what, conn) in [
        ("idle", &mut idle),
        ("half-sent", &mut half),
        ("keep-alive", &mut kept),
    ] {
        let took = closed_within(conn, Duration::from_secs(5));
        assert!(took.is_some(), "{what} connection still open after 5 s");
    }

    // Slowloris: a client keeps 48 connections (three times the limit) open, idle or
    // trickling headers, reopening each as the server drops it. /healthz is still answered
    // for someone else, within a few header timeouts.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attackers: Vec<_> = (0..48)
        .map(|i| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(mut conn) = TcpStream::connect(&addr) else {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    if i % 2 == 0 {
                        let _ = conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
                    }
                    conn.set_read_timeout(Some(Duration::from_millis(200)))
                        .unwrap();
                    let mut buf = [0u8; 64];
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match conn.read(&mut buf) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(err)
                                if matches!(
                                    err.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) =>
                            {
                                if i % 2 == 0 && conn.write_all(b"X-More: 1\r\n").is_err() {
                                    break;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let _ = http(); // installs the TLS provider reqwest needs before building a client
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for round in 0..3 {
        let started = Instant::now();
        let answer = client.get(format!("{}/healthz", server.url)).send();
        let took = started.elapsed();
        let status = answer.map(|a| a.status().as_u16());
        assert!(
            matches!(status, Ok(200)),
            "round {round}: /healthz under slowloris: {status:?} after {took:?}"
        );
        assert!(
            took < Duration::from_secs(8),
            "round {round}: /healthz took {took:?} under slowloris"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for attacker in attackers {
        attacker.join().unwrap();
    }
}

/// Asserts `response` is a problem document with `status`, and returns it.
fn problem(response: reqwest::blocking::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["status"], status);
    body
}

#[test]
fn every_api_error_is_a_problem_document() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let client = http();
    let unknown = client
        .get(server.api("/no-such-thing"))
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    problem(unknown, 404);
    let wrong_method = client
        .delete(server.api("/releases"))
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    let allow = wrong_method.headers()["allow"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    problem(wrong_method, 405);
    let odd_method = client
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            server.api("/releases"),
        )
        .bearer_auth(ADMIN)
        .send()
        .unwrap();
    problem(odd_method, 405);
    let too_large = announce_body(
        &server,
        "/api/v1/releases",
        ADMIN,
        "application/json",
        300 * 1024,
    );
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");
    assert!(
        too_large.contains("application/problem+json"),
        "{too_large}"
    );
    assert!(too_large.contains("\"rule\":\"body_limit\""), "{too_large}");
    assert!(too_large.contains("connection: close"), "{too_large}");
    let not_json = client
        .post(server.api("/releases"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    let body = problem(not_json, 400);
    assert_eq!(body["rule"], "input");
}

/// A PostgreSQL cluster of this test's own (`initdb` in a temporary directory, on a random
/// loopback port), so it can be stopped and started without touching anyone else's.
struct OwnPostgres {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    /// Creates and starts the cluster, or `None` when PostgreSQL's binaries are missing.
    fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("initdb").exists());
        let Some(bin) = bin else {
            assert!(
                std::env::var("GREENLIGHT_REQUIRE_POSTGRES").is_err_and(|_| true),
                "PostgreSQL is required but initdb is missing"
            );
            eprintln!("skipped: no initdb under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = OwnPostgres { bin, dir, port };
        if is_root() {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            let status = std::process::Command::new("chown")
                .args(["postgres:", cluster.dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        cluster.pg_ctl_start();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data();
        let _ = if is_root() {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        } else {
            std::process::Command::new(&program)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        };
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// Asserts a request answered 503 with `Retry-After` as a problem document within a second.
fn fails_fast(request: reqwest::blocking::RequestBuilder, what: &str) {
    let started = Instant::now();
    let response = request.send().unwrap();
    let took = started.elapsed();
    assert!(
        response.headers().contains_key("retry-after"),
        "{what}: no Retry-After"
    );
    problem(response, 503);
    assert!(took < Duration::from_secs(1), "{what} took {took:?}");
}

#[test]
fn an_unreachable_database_answers_503_with_retry_after_within_a_second() {
    let Some(cluster) = OwnPostgres::start() else {
        return;
    };
    let db = Db::at(cluster.url(), "postgres");
    let server = Server::start(&db);
    let client = http();
    let list = || client.get(server.api("/releases")).bearer_auth(ADMIN);
    assert_eq!(list().send().unwrap().status().as_u16(), 200);
    cluster.stop();
    for round in 0..3 {
        fails_fast(list(), &format!("a read (round {round})"));
        fails_fast(
            client
                .post(server.api("/releases"))
                .bearer_auth(ADMIN)
                .json(&serde_json::json!({"version": "1.4.0"})),
            &format!("a write (round {round})"),
        );
    }
    let ready = client.get(format!("{}/readyz", server.url)).send().unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    cluster.pg_ctl_start();
    let started = Instant::now();
    loop {
        let status = list().send().unwrap().status().as_u16();
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {status} after the database came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn evidence_and_metrics_take_their_documented_body_limits() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let ci = server.add_user("ci", "qa_lead");
    let planned = server.cli(&erin, &["release", "plan", "--version", "1.4.0"]);
    support::assert_ok(&planned);
    let client = http();

    // A 3 MiB JUnit report (over axum's 2 MiB default) is parsed and decides the gate.
    let padding = " ".repeat(3 * 1024 * 1024);
    let junit = format!(
        "<?xml version=\"1.0\"?>\n<testsuite name=\"s\" tests=\"1\">{padding}<testcase name=\"t\" classname=\"c\"/></testsuite>\n"
    );
    let upload = |body: Vec<u8>| {
        client
            .post(server.api("/releases/1.4.0/evidence?gate=unit_tests"))
            .bearer_auth(&ci)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .unwrap()
    };
    let answer = upload(junit.into_bytes());
    let status = answer.status().as_u16();
    assert_eq!(status, 200, "{}", answer.text().unwrap());

    // Over 50 MiB: 413 as a problem document, before the body is read. (Sent raw: the server
    // answers and closes without reading the body, which a client still writing it sees as a
    // broken pipe.)
    let refused = announce_body(
        &server,
        "/api/v1/releases/1.4.0/evidence?gate=unit_tests",
        &ci,
        "application/octet-stream",
        50 * 1024 * 1024 + 1,
    );
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(refused.contains("application/problem+json"), "{refused}");
    assert!(refused.contains("\"rule\":\"body_limit\""), "{refused}");

    // A 3 MiB batch of samples is taken; over 4 MiB is a 413 problem document.
    let sample = r#"{"kind":"pool","exhausted":false}"#;
    let batch = |pad: usize| format!("{{\"samples\":[{sample}]{}}}", " ".repeat(pad));
    let ingest = |body: String| {
        client
            .post(server.api("/metrics"))
            .bearer_auth(&erin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    let taken = ingest(batch(3 * 1024 * 1024));
    assert_eq!(taken.status().as_u16(), 202, "{}", taken.text().unwrap());
    let refused = announce_body(
        &server,
        "/api/v1/metrics",
        &erin,
        "application/json",
        4 * 1024 * 1024 + 1,
    );
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(refused.contains("application/problem+json"), "{refused}");
}

/// Sends a request announcing a body of `length` bytes (and only its first bytes), and returns
/// what the server answers.
fn announce_body(
    server: &Server,
    path: &str,
    token: &str,
    content_type: &str,
    length: usize,
) -> String {
    let addr = server.url.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let _ = conn.write_all(&[b' '; 1024]);
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn nul_bytes_are_bad_input(db: &Db) {
    let server = Server::start(db);
    let client = http();
    let refused = |response: reqwest::blocking::Response, what: &str| {
        assert_eq!(response.status().as_u16(), 400, "{what} on {}", db.name);
        let body = problem(response, 400);
        assert_eq!(body["rule"], "nul_byte", "{what} on {}", db.name);
    };
    let get = |path: &str| {
        client
            .get(server.api(path))
            .bearer_auth(ADMIN)
            .send()
            .unwrap()
    };
    refused(get("/releases/1.4%000"), "a path key");
    refused(get("/flags/x%00y"), "a flag key");
    refused(get("/events?release=%00"), "an event filter");
    refused(get("/audit?actor=a%00b"), "an audit filter");
    let created = client
        .post(server.api("/users"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(r#"{"id":"eve","display_name":"Eve\u0000Evil"}"#)
        .send()
        .unwrap();
    refused(created, "a display name");
    let planned = client
        .post(server.api("/releases"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(r#"{"version":"1.4.0\u0000"}"#)
        .send()
        .unwrap();
    refused(planned, "a version");
    let login = client
        .post(format!("{}/ui/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user=admin%00&password=whatever-long-enough&login_csrf=x")
        .send()
        .unwrap();
    refused(login, "a sign-in user name");
    let page = client
        .get(format!("{}/ui/audit?actor=%00", server.url))
        .send()
        .unwrap();
    refused(page, "a dashboard filter");
    // Nothing was stored, and the server still answers.
    let users: serde_json::Value = get("/users").json().unwrap();
    assert!(
        users.as_array().unwrap().iter().all(|u| u["id"] != "eve"),
        "{users}"
    );
    assert_eq!(get("/releases").status().as_u16(), 200);
}

#[test]
fn nul_bytes_are_refused_as_bad_input_on_both_backends() {
    for db in support::databases() {
        nul_bytes_are_bad_input(&db);
    }
}

/// Asserts a page carries the security headers and holds no inline script or style.
fn secure_page(response: reqwest::blocking::Response, signed_in: bool, what: &str) {
    assert_eq!(response.status().as_u16(), 200, "{what}");
    let headers = response.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    if signed_in {
        assert_eq!(header("cache-control"), "no-store", "{what}");
    }
    assert!(
        headers.get("strict-transport-security").is_none(),
        "{what}: HSTS over http"
    );
    let html = response.text().unwrap();
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..html[i..].find('>').map_or(html.len(), |end| i + end)];
        assert!(tag.contains(" src="), "{what}: inline script {tag}");
    }
    assert!(!html.contains("<style"), "{what}: inline style");
    assert!(!html.contains(" style="), "{what}: inline style attribute");
    assert!(!html.contains(" onclick="), "{what}: inline handler");
}

#[test]
fn dashboard_and_status_pages_carry_security_headers() {
    use support::dashboard;
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    support::assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    let client = http();
    secure_page(
        client
            .get(format!("{}/ui/login", server.url))
            .send()
            .unwrap(),
        true,
        "sign-in page",
    );
    secure_page(
        client.get(format!("{}/status", server.url)).send().unwrap(),
        false,
        "status page",
    );
    let css = client
        .get(format!("{}/status/status.css", server.url))
        .send()
        .unwrap();
    assert_eq!(css.status().as_u16(), 200);
    let session = dashboard::sign_in(&server, &erin);
    for page in [
        "/ui/releases",
        "/ui/releases/1.4.0",
        "/ui/flags",
        "/ui/audit",
        "/ui/calendar",
    ] {
        secure_page(dashboard::get(&server, &session, page), true, page);
    }
    let api = client
        .get(server.api("/me"))
        .bearer_auth(&erin)
        .send()
        .unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store");
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    drop(server);

    // Behind https (the policy's public URL), HSTS too.
    let db = Db::sqlite();
    let server = Server::start_with_policy(
        &db,
        "[communications]\npublic_url = \"https://greenlight.example\"\n",
    );
    let page = client
        .get(format!("{}/ui/login", server.url))
        .send()
        .unwrap();
    let hsts = page.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    assert!(hsts.starts_with("max-age="), "{hsts}");
}

/// Opens a release stream over a raw connection; its status and the connection.
fn open_stream(server: &Server, token: &str, version: &str) -> (u16, TcpStream) {
    let addr = server.url.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET /api/v1/releases/{version}/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (status, conn)
}

/// Reads `conn` until `needle` shows up, for at most `limit`.
fn read_until(conn: &mut TcpStream, needle: &str, limit: Duration) -> bool {
    let started = Instant::now();
    conn.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match conn.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&seen).contains(needle) {
                    return true;
                }
            }
            Err(_) => {}
        }
    }
    false
}

fn stream_polls(server: &Server) -> f64 {
    let text = http()
        .get(format!("{}/metrics", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("greenlight_release_stream_polls_total"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn release_streams_are_limited_and_share_one_poll() {
    let db = Db::sqlite();
    let server = Server::start_with(
        &db,
        &["--max-streams", "3", "--max-streams-per-user", "2"],
        &[],
    );
    let erin = server.add_user("erin", "engineering_lead");
    // Streams carry runbook output: every follower holds access_deployment_logs.
    let olga = server.add_user("olga", "on_call_engineer");
    let sam = server.add_user("sam", "system_admin");
    support::assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));

    let (status, mut first) = open_stream(&server, &erin, "1.4.0");
    assert_eq!(status, 200);
    let (status, second) = open_stream(&server, &erin, "1.4.0");
    assert_eq!(status, 200);
    let (status, mut third) = open_stream(&server, &erin, "1.4.0");
    assert_eq!(status, 429, "a third stream for one user");
    assert!(read_until(
        &mut third,
        "stream_limit",
        Duration::from_secs(2)
    ));
    let (status, _olgas) = open_stream(&server, &olga, "1.4.0");
    assert_eq!(status, 200);
    let (status, mut over) = open_stream(&server, &sam, "1.4.0");
    assert_eq!(status, 503, "a fourth stream on a server that takes three");
    assert!(read_until(&mut over, "retry-after", Duration::from_secs(2)));

    // Three streams of one release: one poll every 200 ms between them, not three.
    let before = stream_polls(&server);
    std::thread::sleep(Duration::from_secs(2));
    let polls = stream_polls(&server) - before;
    assert!(
        polls <= 14.0,
        "{polls} store polls in 2 s for three streams of one release"
    );
    assert!(polls >= 3.0, "the shared poll is not running ({polls})");

    // The shared poll delivers: a freeze reaches the stream.
    support::assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
    assert!(
        read_until(&mut first, "code_freeze_started", Duration::from_secs(5)),
        "the freeze did not reach the stream"
    );

    // Closed streams give their places back.
    drop(first);
    drop(second);
    let started = Instant::now();
    loop {
        let (status, _conn) = open_stream(&server, &erin, "1.4.0");
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "erin's closed streams still count ({status})"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn public_posts_are_plain_text_without_their_sender_and_csv_cells_are_not_formulas() {
    use support::dashboard;
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    support::assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    let client = http();
    let hostile = "Back <script>alert(1)</script><img src=x onerror=alert(2)> soon";
    let posted = client
        .post(server.api("/releases/1.4.0/communications"))
        .bearer_auth(&erin)
        .json(&serde_json::json!({
            "communication_type": "status_page",
            "audience": "all_users",
            "subject": "Maintenance <b>tonight</b>",
            "message": hostile,
        }))
        .send()
        .unwrap();
    assert_eq!(posted.status().as_u16(), 201, "{}", posted.text().unwrap());

    let feed = client
        .get(format!("{}/feed/all_users.json", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(feed.contains("Back alert(1) soon"), "{feed}");
    assert!(feed.contains("Maintenance tonight"), "{feed}");
    assert!(!feed.contains('<') && !feed.contains("\\u003c"), "{feed}");
    assert!(
        !feed.contains("sent_by") && !feed.contains("erin"),
        "{feed}"
    );
    let summary = client
        .get(format!("{}/status/api/v2/summary.json", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(summary.contains("Back alert(1) soon"), "{summary}");
    assert!(
        !summary.contains('<') && !summary.contains("erin"),
        "{summary}"
    );
    let page = client
        .get(format!("{}/status", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !page.contains("<script>") && !page.contains("<img"),
        "{page}"
    );

    // A user whose display name a spreadsheet would run: the CSV export shows it as text,
    // the JSON export as it is.
    let formula = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let created = client
        .post(server.api("/users"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"id": "mallory", "display_name": formula}))
        .send()
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().unwrap()
    );
    let admin = dashboard::sign_in(&server, ADMIN);
    let csv = dashboard::get(&server, &admin, "/ui/audit/export.csv")
        .text()
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut cells = 0;
    for row in reader.records() {
        for cell in row.unwrap().iter() {
            cells += 1;
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell}"
            );
        }
    }
    assert!(cells > 0);
    let json = dashboard::get(&server, &admin, "/ui/audit/export.json")
        .text()
        .unwrap();
    assert!(json.contains("=HYPERLINK"), "{json}");
}

#[test]
fn a_trickled_flag_evaluation_body_is_cut_off() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let addr = server.url.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(
        b"POST /ofrep/v1/evaluate/flags/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"context\":",
    )
    .unwrap();
    let started = Instant::now();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = [0u8; 12];
    conn.read_exact(&mut answer).unwrap();
    assert_eq!(
        &answer,
        b"HTTP/1.1 408",
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}
