//! A bootstrap token given through `GREENLIGHT_BOOTSTRAP_TOKEN` is never printed (issue 21,
//! finding 13): whoever set the variable knows it, and standard output ends up in logs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_bootstrap_token_from_the_environment_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let secret = "glt_from_the_environment_0123456789";
    let mut child = Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .env("GREENLIGHT_BOOTSTRAP_TOKEN", secret)
        .env("GREENLIGHT_LOG", "warn")
        .env_remove("GREENLIGHT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let first_run = line.contains("First run");
        seen.push(line);
        if first_run {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let out = seen.join("\n");
    assert!(
        out.contains("GREENLIGHT_BOOTSTRAP_TOKEN (not shown)"),
        "{out}"
    );
    assert!(!out.contains(secret), "the token was printed: {out}");
}
