//! CI uploads artifacts as gate evidence through `greenlight evidence upload` on a real server
//! (SQLite and PostgreSQL): passing and failing JUnit, coverage below a minimum, a security scan
//! with a high finding, and hostile files that change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{Db, Server, assert_ok, assert_refused, code, stderr, stdout};

fn artifact(name: &str) -> String {
    format!(
        "{}/../evidence/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn gate<'a>(release: &'a Value, name: &str) -> &'a Value {
    release["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["gates"].as_array().unwrap().iter())
        .find(|g| g["name"] == name)
        .unwrap()
}

#[test]
fn artifacts_decide_gates_and_hostile_files_change_nothing() {
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        uploads(&db);
    }
}

fn uploads(db: &Db) {
    let server = Server::start(db);
    server.set_clock("2026-12-01T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let ci = server.add_user("ci", "qa_lead");
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
    let upload = |gate: &str, file: &str| {
        let path = artifact(file);
        server.cli(&ci, &["evidence", "upload", "1.4.0", "--gate", gate, &path])
    };

    let failed = upload("unit_tests", "nextest-fail.xml");
    assert_refused(&failed, "gate unit_tests of 1.4.0 failed");
    assert!(
        stderr(&failed).contains("1 of 3 tests failed"),
        "{}",
        stderr(&failed)
    );
    let passed = upload("unit_tests", "nextest-pass.xml");
    assert_ok(&passed);
    assert!(
        stdout(&passed).contains("passed on junit evidence: 3 tests in 1 suites"),
        "{}",
        stdout(&passed)
    );
    assert_refused(
        &upload("code_coverage", "lcov.info"),
        "branch coverage 50.0% < 70% minimum",
    );
    assert_ok(&upload("code_coverage", "cobertura.xml"));
    assert_refused(&upload("security_scan", "sarif.json"), "1 high");
    assert_refused(
        &upload("dependency_vulnerabilities", "npm-audit.json"),
        "2 critical",
    );

    let release = server.cli_json(&erin, &["release", "show", "1.4.0"]);
    assert_eq!(gate(&release, "unit_tests")["outcome"], "passed");
    assert_eq!(gate(&release, "code_coverage")["outcome"], "passed");
    assert_eq!(gate(&release, "security_scan")["outcome"], "failed");
    let attached = server.cli_json(
        &erin,
        &[
            "events",
            "--release",
            "1.4.0",
            "--type",
            "evidence_attached",
        ],
    );
    assert_eq!(attached.as_array().unwrap().len(), 6);
    assert_eq!(
        attached[1]["body"]["summary"],
        "3 tests in 1 suites: 0 failed, 0 errors, 0 skipped"
    );

    // Hostile and broken files: a clear usage error (exit 2), nothing recorded.
    let dir = tempfile::tempdir().unwrap();
    let laughs = dir.path().join("laughs.xml");
    std::fs::write(
        &laughs,
        r#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><testsuites><testsuite name="&b;"/></testsuites>"#,
    )
    .unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, [0xffu8, 0xfe, 0x00, 0x12]).unwrap();
    let before = server.cli_json(&erin, &["release", "show", "1.4.0"])["revision"].clone();
    for (file, expected) in [
        (&laughs, "DOCTYPE"),
        (&garbage, "not a recognised artifact"),
    ] {
        let out = server.cli(
            &ci,
            &[
                "evidence",
                "upload",
                "1.4.0",
                "--gate",
                "integration_tests",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    let unknown = server.cli(
        &ci,
        &[
            "evidence",
            "upload",
            "1.4.0",
            "--gate",
            "no_such_gate",
            &artifact("nextest-pass.xml"),
        ],
    );
    assert_eq!(code(&unknown), 2, "{}", stderr(&unknown));
    let after = server.cli_json(&erin, &["release", "show", "1.4.0"])["revision"].clone();
    assert_eq!(before, after, "a rejected file changes nothing");
}
