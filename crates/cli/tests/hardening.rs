//! The service facing hostile clients (issue 21): bounded metrics, connection limits and
//! timeouts, problem documents for every API error, NUL bytes, body limits, stream limits,
//! security headers and what the public pages let out. Each test reproduces a finding of the
//! security review against a real `greenlight serve` process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

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
