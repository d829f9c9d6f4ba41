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
