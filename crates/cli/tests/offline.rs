//! The offline commands as a user runs them: output, exit codes, one-line errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn greenlight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .env_remove("GREENLIGHT_CONFIG")
        .output()
        .expect("run greenlight")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn version_next_per_release_type_and_release_candidates() {
    let cases: [(&[&str], &str); 5] = [
        (&["--from", "1.2.3", "--type", "hotfix"], "1.2.4"),
        (&["--from", "1.2.3", "--type", "standard"], "1.3.0"),
        (&["--from", "v1.2.3", "--type", "major"], "2.0.0"),
        (&["--from", "1.2.3", "--rc"], "1.3.0-rc.1"),
        (&["--from", "1.3.0-rc.1", "--rc"], "1.3.0-rc.2"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["version", "next"];
        all.extend_from_slice(args);
        let out = greenlight(&all);
        assert_eq!(code(&out), 0, "{all:?}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), expected, "{all:?}");
    }
    let out = greenlight(&["version", "next", "--from", "1.2.3", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tag"], "v1.3.0");
    assert_eq!(json["release_branch"], "release/v1.3.0");
}

#[test]
fn window_check_exits_zero_when_a_deployment_may_start() {
    let out = greenlight(&["window", "check", "--at", "2026-12-03T14:30:00-08:00"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("preferred for a standard release"));
}

#[test]
fn window_check_exits_one_with_reasons_when_blocked() {
    let out = greenlight(&["window", "check", "--at", "2026-12-07T09:00"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("blocked"), "{text}");
    assert!(text.contains("monday_morning"), "{text}");
    assert!(
        text.contains("next allowed: Thu 2026-12-10 14:00 PST"),
        "{text}"
    );
}

#[test]
fn window_check_judges_the_whole_deployment_and_says_when_it_would_end() {
    let out = greenlight(&["window", "check", "--at", "2026-12-03T15:59"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("expected to end at 16:44 PST"), "{text}");
    assert!(text.contains("outside_window"), "{text}");
    let out = greenlight(&["window", "check", "--at", "2026-12-03T15:15", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ends_at"], "2026-12-04T00:00:00Z");
}

#[test]
fn window_check_hotfix_rules_discourage_but_allow_holidays() {
    let out = greenlight(&[
        "window",
        "check",
        "--at",
        "2026-11-26T14:30",
        "--type",
        "hotfix",
        "--json",
    ]);
    assert_eq!(code(&out), 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "discouraged");
    assert_eq!(json["findings"][0]["rule"], "holiday");
}

#[test]
fn window_next_finds_the_thursday_window() {
    let out = greenlight(&["window", "next", "--after", "2026-11-24T10:00"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out).trim(),
        "Thu 2026-12-03 14:00 PST (preferred, until 16:00)"
    );
}

#[test]
fn usage_errors_are_one_line_and_exit_two() {
    for args in [
        &["window", "check", "--at", "next thursday"][..],
        &["window", "check", "--type", "weekly"],
        &["version", "next", "--from", "one.two"],
        &["calendar", "--from", "2026-13-01"],
        &["rollback", "classify", "--error-rate", "140"],
    ] {
        let out = greenlight(args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("greenlight: "), "{err}");
    }
    let out = greenlight(&["window", "frobnicate"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn broken_policy_file_is_a_one_line_error_with_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greenlight.toml");
    std::fs::write(&file, "[windows.standard\nfoo = ").unwrap();
    let out = greenlight(&["--config", file.to_str().unwrap(), "window", "next"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    std::fs::write(&file, "[rollback.automatic]\nerror_rate_percent = 140\n").unwrap();
    let out = greenlight(&["--config", file.to_str().unwrap(), "window", "next"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("rollback.automatic.error_rate_percent"));
    let missing = greenlight(&["--config", "/nonexistent/greenlight.toml", "window", "next"]);
    assert_eq!(code(&missing), 2);
}

#[test]
fn policy_check_lists_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "timezone = \"Mars/Base\"\n[feature_flags]\nstages = [50, 10]\n[performance]\napi_p99_ms = 100.0\n",
    )
    .unwrap();
    let out = greenlight(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    for path in ["timezone", "feature_flags.stages", "performance.api_p99_ms"] {
        assert!(err.contains(path), "{path} missing: {err}");
    }
}

#[test]
fn policy_show_prints_a_policy_that_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greenlight.toml");
    let shown = greenlight(&["policy", "show"]);
    std::fs::write(&file, &shown.stdout).unwrap();
    let out = greenlight(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn calendar_blackouts_from_an_ics_file_close_the_window() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("district.ics"),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261210\r\n\
         DTEND;VALUE=DATE:20261211\r\nSUMMARY:Winter concert\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let file = dir.path().join("greenlight.toml");
    std::fs::write(
        &file,
        "[[windows.calendars]]\npath = \"district.ics\"\neffect = \"block\"\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let out = greenlight(&[
        "--config",
        config,
        "window",
        "check",
        "--at",
        "2026-12-10T14:30",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).contains("Winter concert"));
    let out = greenlight(&[
        "--config",
        config,
        "calendar",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-14",
    ]);
    assert!(
        stdout(&out).contains("moved from 2026-12-10"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn calendar_prints_ics_for_subscription() {
    let out = greenlight(&[
        "calendar",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-31",
        "--ics",
    ]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(text.contains("SUMMARY:Production deployment: standard release"));
    assert!(text.trim_end().ends_with("END:VCALENDAR"));
}

#[test]
fn rollback_classify_prints_the_spec_decision() {
    let out = greenlight(&["rollback", "classify", "--score-recording-failure"]);
    assert!(stdout(&out).starts_with("IMMEDIATE ROLLBACK"));
    let out = greenlight(&["rollback", "classify", "--latency-ratio", "2.4", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["decision"], "discuss");
    let out = greenlight(&["rollback", "classify", "--minor-ui-bug"]);
    assert!(stdout(&out).starts_with("MONITOR"));
}

#[test]
fn no_command_gives_a_tour() {
    let out = greenlight(&[]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("next standard deployment slot"), "{text}");
    assert!(text.contains("Try:"), "{text}");
}
