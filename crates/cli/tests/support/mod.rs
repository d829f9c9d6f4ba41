//! Harness for tests against a real `greenlight serve` process: throwaway databases (SQLite
//! always; PostgreSQL when reachable — skipped with a message otherwise, unless
//! `GREENLIGHT_REQUIRE_POSTGRES=1`), the server process, the CLI, and raw HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod dashboard;

use greenlight_core::Policy;
use greenlight_core::gates::GatePhase;
use serde_json::Value;
use sqlx::Connection;

/// The admin token every test server bootstraps with.
pub const ADMIN: &str = "glt_test_admin_token_0123456789";

/// A throwaway database; a PostgreSQL one is dropped at the end.
pub struct Db {
    pub url: String,
    pub name: &'static str,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Db {
    /// A fresh SQLite file.
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("greenlight.db").display());
        Db {
            url,
            name: "sqlite",
            dir,
            pg: None,
        }
    }

    /// A database at `url` that this harness did not create (and does not drop).
    pub fn at(url: String, name: &'static str) -> Db {
        Db {
            url,
            name,
            dir: tempfile::tempdir().unwrap(),
            pg: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (skipped with a message).
    pub fn postgres() -> Option<Db> {
        let admin = std::env::var("GREENLIGHT_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("gl_cli_{}", uuid::Uuid::new_v4().simple());
        let created = block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .map(|_| ())
        });
        if let Err(err) = created {
            if std::env::var("GREENLIGHT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL is required but unreachable at {admin}: {err}");
            }
            eprintln!(
                "skipped: PostgreSQL unreachable at {admin} ({err}); start one or set GREENLIGHT_TEST_POSTGRES to run the PostgreSQL variant"
            );
            return None;
        }
        let (base, _) = admin.rsplit_once('/').unwrap();
        Some(Db {
            url: format!("{base}/{name}"),
            name: "postgres",
            dir: tempfile::tempdir().unwrap(),
            pg: Some((admin, name)),
        })
    }

    /// Runs `sql` on the PostgreSQL server as its admin, with `{db}` replaced by this
    /// database's name (to cut it off and let it back in); panics on SQLite.
    pub fn pg_admin(&self, sql: &str) {
        let (admin, name) = self.pg.as_ref().expect("a PostgreSQL database");
        let sql = sql.replace("{db}", name);
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map(|_| ())
        })
        .unwrap();
    }

    /// Where servers on this database write their logs.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .map(|_| ())
            });
        }
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Every database the suite runs on here.
pub fn databases() -> Vec<Db> {
    let mut all = vec![Db::sqlite()];
    all.extend(Db::postgres());
    all
}

/// A running `greenlight serve` process, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts a server with a settable clock on `db` and waits until it listens.
    pub fn start(db: &Db) -> Server {
        Server::start_with(db, &[], &[])
    }

    /// Starts a server with `policy` as its config file (kept beside the database).
    pub fn start_with_policy(db: &Db, policy: &str) -> Server {
        let config = db.dir.path().join("greenlight.toml");
        std::fs::write(&config, policy).unwrap();
        Server::start_with(db, &["--config", config.to_str().unwrap()], &[])
    }

    /// Starts a server with extra arguments (`--config FILE`) and environment variables.
    pub fn start_with(db: &Db, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(db.log_path())
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_greenlight"))
            .args([
                "serve",
                "--test-clock",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                &db.url,
            ])
            .args(args)
            .envs(envs.iter().copied())
            .env("GREENLIGHT_BOOTSTRAP_TOKEN", ADMIN)
            .env("GREENLIGHT_LOG", "warn")
            .env_remove("GREENLIGHT_CONFIG")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(db.log_path()).unwrap_or_default();
                panic!("server did not start: {first:?}\n{log}")
            })
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sets the server's clock.
    pub fn set_clock(&self, now: &str) {
        let status = http()
            .put(format!("{}/api/v1/_test/clock", self.url))
            .bearer_auth(ADMIN)
            .json(&serde_json::json!({ "now": now }))
            .send()
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 204, "set clock");
    }

    /// Runs the CLI against this server with `token`.
    pub fn cli(&self, token: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_greenlight"))
            .args(args)
            .env("GREENLIGHT_SERVER", &self.url)
            .env("GREENLIGHT_TOKEN", token)
            .env_remove("GREENLIGHT_CONFIG")
            .output()
            .unwrap()
    }

    /// Runs the CLI with `--json` and parses its output; panics unless it exits 0.
    pub fn cli_json(&self, token: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(token, &all);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Adds a user with one role and returns their token.
    pub fn add_user(&self, id: &str, role: &str) -> String {
        let added = self.cli_json(ADMIN, &["user", "add", id, "--role", role]);
        added["token"]["token"].as_str().unwrap().to_string()
    }

    /// An API URL.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gate names of `phase` in the spec's default policy (what a release must record).
pub fn gate_names(phase: GatePhase) -> Vec<String> {
    Policy::default()
        .gates
        .of(phase)
        .iter()
        .map(|gate| gate.name.clone())
        .collect()
}

/// Asserts the CLI refused (exit 1) naming `rule` on stderr.
pub fn assert_refused(out: &Output, rule: &str) {
    assert_eq!(
        code(out),
        1,
        "expected a refusal by {rule}: {}{}",
        stdout(out),
        stderr(out)
    );
    assert!(
        stderr(out).contains(rule),
        "expected rule {rule} in: {}",
        stderr(out)
    );
}

/// Asserts the CLI exited 0.
pub fn assert_ok(out: &Output) {
    assert_eq!(code(out), 0, "{}{}", stdout(out), stderr(out));
}

/// Records a pass for every gate of `phase` on `version`.
pub fn record_gates(server: &Server, token: &str, version: &str, phase: GatePhase) {
    for gate in &gate_names(phase) {
        let out = server.cli(
            token,
            &[
                "gate",
                "record",
                version,
                "--phase",
                phase.as_str(),
                "--gate",
                gate,
                "--pass",
            ],
        );
        assert_ok(&out);
    }
}

/// A blocking HTTP client.
pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A webhook receiver on loopback that keeps each request's body and answers with the status
/// set by [`Webhook::answer`] (200 at first), to play a receiver that is up or down.
pub struct Webhook {
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
}

impl Webhook {
    pub fn listen() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/cdn", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (kept, answer) = (bodies.clone(), status.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let body = read_request_body(&mut conn);
                let code = answer.load(Ordering::SeqCst);
                if code == 200 {
                    kept.lock().unwrap().push(body);
                }
                let reply = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Webhook {
            url,
            bodies,
            status,
        }
    }

    /// Answers `code` from now on (a body is kept only when it is 200).
    pub fn answer(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// The body of one HTTP/1.1 request (by its Content-Length).
fn read_request_body(conn: &mut std::net::TcpStream) -> String {
    let mut reader = BufReader::new(conn);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    String::from_utf8_lossy(&body).into_owned()
}
