//! OFREP conformance: the OpenFeature SDKs from npm (`e2e/ofrep.test.mjs`) evaluate flags on a
//! real `greenlight serve`, unchanged. Needs Node.js and `npm ci --prefix e2e`; skipped with a
//! note when those are missing, unless `GREENLIGHT_REQUIRE_NODE=1` (set by `.ci/run`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

mod support;
use support::{Db, Server, assert_ok};

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

/// True when the SDKs are installed; panics when they must be and are not.
fn sdks_installed() -> bool {
    let installed = e2e_dir()
        .join("node_modules/@openfeature/ofrep-provider")
        .is_dir();
    let required = std::env::var("GREENLIGHT_REQUIRE_NODE").is_ok_and(|v| v == "1");
    assert!(
        installed || !required,
        "GREENLIGHT_REQUIRE_NODE=1 but e2e/node_modules is missing: run `npm ci --prefix e2e`"
    );
    if !installed {
        eprintln!("skipped: the OpenFeature SDKs are not installed (`npm ci --prefix e2e`)");
    }
    installed
}

#[test]
fn openfeature_sdks_evaluate_flags_over_ofrep() {
    if !sdks_installed() {
        return;
    }
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let flag = |args: &[&str]| assert_ok(&server.cli(&erin, &[&["flag"], args].concat()));
    flag(&["create", "new-rhythm-game"]);
    flag(&["advance", "new-rhythm-game"]);
    flag(&[
        "create",
        "theme",
        "--variant",
        r#"blue={"color":"blue"}:1"#,
        "--variant",
        r#"grey={"color":"grey"}:1"#,
        "--off-variant",
        "grey",
        "--kind",
        "operational",
        "--stage",
        "100",
    ]);
    flag(&["advance", "theme"]);
    flag(&[
        "create",
        "retired-game",
        "--kind",
        "operational",
        "--stage",
        "100",
    ]);
    flag(&["advance", "retired-game"]);
    flag(&[
        "kill",
        "retired-game",
        "--reason",
        "replaced by new-rhythm-game",
    ]);

    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "ofrep.test.mjs"])
        .current_dir(e2e_dir())
        .env("GREENLIGHT_URL", &server.url)
        .env("GREENLIGHT_TOKEN", &erin)
        .output()
        .expect("node runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the SDK tests failed:\n{report}");
    eprintln!("{report}");
}
