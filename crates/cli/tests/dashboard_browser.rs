//! The dashboard in a real headless Chromium (`e2e/dashboard.test.mjs`, playwright-core and
//! axe-core from npm): sign-in, pages, the kill switch, role-aware actions, a release walked
//! from its last gate through staging and production to a rollback with live runbook progress,
//! accessibility, First Contentful Paint and bytes of the release page. Needs Debian's `chromium` and
//! `npm ci --prefix e2e`; skipped with a note when either is missing, unless
//! `GREENLIGHT_REQUIRE_BROWSER=1` (set by `.ci/run`). `SCREENSHOTS=DIR` keeps screenshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::{ADMIN, Db, Server, assert_ok};

/// Runbooks slow enough to watch their steps in the page.
const RUNBOOKS: &str = r#"
[runbooks]
staging = [{ name = "deploy_staging", run = "sleep 1; echo staging" }]
production = [
  { name = "deploy", run = "sleep 1; echo deploy" },
  { name = "smoke_tests", run = "sleep 1; echo smoke" },
]
rollback = [{ name = "instant_rollback", run = "sleep 1; echo rollback" }]
"#;

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

/// The browser, when it and the npm packages are installed; panics when they must be.
fn browser() -> Option<PathBuf> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf);
    let packages = e2e_dir().join("node_modules/playwright-core").is_dir();
    let required = std::env::var("GREENLIGHT_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let ready = chromium.is_some() && packages;
    assert!(
        ready || !required,
        "GREENLIGHT_REQUIRE_BROWSER=1 but chromium or e2e/node_modules is missing"
    );
    if !ready {
        eprintln!("skipped: needs `apt-get install chromium` and `npm ci --prefix e2e`");
    }
    chromium.filter(|_| packages)
}

#[test]
fn the_dashboard_in_a_real_browser() {
    let Some(chromium) = browser() else { return };
    let db = Db::sqlite();
    let server = Server::start_with_policy(&db, RUNBOOKS);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let pat = server.add_user("pat", "product_owner");
    let olga = server.add_user("olga", "on_call_engineer");
    let sam = server.add_user("sam", "system_admin");
    let baseline = ["environments", "baseline", "--env", "production", "1.3.0"];
    assert_ok(&server.cli(ADMIN, &baseline));
    server.set_clock("2026-11-24T18:00:00Z");
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.4.0"]));
    support::record_gates(
        &server,
        &quinn,
        "1.4.0",
        greenlight_core::gates::GatePhase::Planning,
    );
    // The release the browser walks (after 1.4.0: versions reach production in increasing
    // order, so the walk cancels 1.4.0 first): everything of Phase 1 but its security scan.
    let plan = [
        "release",
        "plan",
        "--version",
        "1.5.0",
        "--date",
        "2026-12-17T14:00",
    ];
    assert_ok(&server.cli(&erin, &plan));
    assert_ok(&server.cli(&erin, &["release", "freeze", "1.5.0"]));
    for gate in support::gate_names(greenlight_core::gates::GatePhase::Planning) {
        if gate != "security_scan" {
            let record = [
                "gate", "record", "1.5.0", "--phase", "planning", "--gate", &gate,
            ];
            assert_ok(&server.cli(&quinn, &[&record[..], &["--pass"]].concat()));
        }
    }
    // An operational kill switch: on for everyone from the start.
    let flag = [
        "flag",
        "create",
        "new-rhythm-game",
        "--kind",
        "operational",
        "--stage",
        "100",
    ];
    assert_ok(&server.cli(&erin, &flag));
    assert_ok(&server.cli(&erin, &["flag", "advance", "new-rhythm-game"]));

    let mut node = Command::new("node");
    node.args(["--test", "--test-reporter=spec", "dashboard.test.mjs"])
        .current_dir(e2e_dir())
        .env("GREENLIGHT_URL", &server.url)
        .env("GREENLIGHT_LEAD", &erin)
        .env("GREENLIGHT_QA", &quinn)
        .env("GREENLIGHT_PO", &pat)
        .env("GREENLIGHT_ONCALL", &olga)
        .env("GREENLIGHT_SYSADMIN", &sam)
        .env("GREENLIGHT_ADMIN", ADMIN)
        .env("CHROMIUM", &chromium);
    let out = node.output().expect("node runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser tests failed:\n{report}");
    eprintln!("{report}");
}
