//! The hotfix fast path: start one, follow its timeline and its follow-ups.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::remote::{local, path, text};
use super::{Env, done};
use crate::args::HotfixCommand;
use crate::client::Api;
use crate::output::{print_json, table};

/// Runs a `hotfix` subcommand.
pub fn run(env: &Env, api: &Api, cmd: HotfixCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HotfixCommand::Start {
            from,
            title,
            trigger,
            severity,
        } => {
            let body = json!({
                "release_type": "hotfix",
                "title": title,
                "from_version": from,
                "trigger": trigger,
                "severity": severity,
            });
            start(env, api, &body)
        }
        HotfixCommand::Status { release: Some(key) } => {
            let release: Value = api.get(&path(&key, ""), &[])?;
            if env.json {
                print_json(&release)?;
                return done();
            }
            print_status(env, &release);
            done()
        }
        HotfixCommand::Status { release: None } => under_way(env, api),
    }
}

fn start(env: &Env, api: &Api, body: &Value) -> anyhow::Result<ExitCode> {
    let release: Value = api.post("/releases", body, None)?;
    if env.json {
        print_json(&release)?;
        return done();
    }
    let version = text(&release["record"]["version"]);
    println!(
        "Hotfix {version} started on branch {}",
        text(&release["branch"])
    );
    println!(
        "Next: record the hotfix gates, deploy to staging (`greenlight deploy {version} --env staging`), \
         get 2 of 3 approvals, then deploy to production."
    );
    print_timeline(env, &release["hotfix_timeline"]);
    done()
}

/// Every hotfix whose timeline has not finished.
fn under_way(env: &Env, api: &Api) -> anyhow::Result<ExitCode> {
    let releases: Vec<Value> = api.get("/releases", &[("type", "hotfix".into())])?;
    let open: Vec<&Value> = releases
        .iter()
        .filter(|r| r["hotfix_timeline"]["finished"] == false)
        .filter(|r| r["record"]["status"] != "cancelled")
        .collect();
    if env.json {
        print_json(&open)?;
        return done();
    }
    if open.is_empty() {
        println!("No hotfix under way. Start one with `greenlight hotfix start --title \"...\"`.");
        return done();
    }
    for release in open {
        print_status(env, release);
        println!();
    }
    done()
}

fn print_status(env: &Env, release: &Value) {
    println!(
        "Hotfix {} ({}) on {}: {}",
        text(&release["record"]["version"]),
        text(&release["title"]),
        text(&release["branch"]),
        text(&release["record"]["status"])
    );
    print_timeline(env, &release["hotfix_timeline"]);
    for item in release["action_items"].as_array().into_iter().flatten() {
        if !item["done_at"].is_null() {
            continue;
        }
        let late = if item["overdue"] == true {
            " — OVERDUE"
        } else {
            ""
        };
        println!(
            "Reminder: {} (due {}{late}); mark it done with `greenlight release done {} {}`",
            text(&item["title"]),
            text(&item["due_at"]),
            text(&release["record"]["version"]),
            text(&item["kind"])
        );
    }
}

/// The stages of a hotfix's timeline against their targets.
pub fn print_timeline(env: &Env, timeline: &Value) {
    let Some(stages) = timeline["stages"].as_array() else {
        return;
    };
    let mut out = table(["stage", "state", "elapsed", "target", ""]);
    for stage in stages {
        let flag = if stage["over_target"] == true {
            "over target"
        } else {
            ""
        };
        out.add_row([
            text(&stage["name"]),
            text(&stage["state"]),
            minutes(&stage["elapsed_minutes"]),
            minutes(&stage["target_minutes"]),
            flag.to_string(),
        ]);
    }
    println!("{out}");
    let over = if timeline["over_target"] == true {
        " — past the target"
    } else {
        ""
    };
    println!(
        "Elapsed {} of the {}-{} target{over}",
        minutes(&timeline["elapsed_minutes"]),
        minutes(&timeline["target_minutes_min"]),
        minutes(&timeline["target_minutes_max"])
    );
    let urgency = &timeline["urgency"];
    if !urgency.is_null() {
        let left = timeline["minutes_to_deadline"].as_i64().unwrap_or_default();
        let standing = if timeline["past_deadline"] == true {
            format!(
                "PAST THE DEADLINE by {}",
                minutes(&json!(left.unsigned_abs()))
            )
        } else if timeline["deadline_met"] == true {
            format!("met, {} before it", minutes(&json!(left)))
        } else {
            format!("{} left", minutes(&json!(left)))
        };
        println!(
            "Severity {} ({}: {}): in production by {} — {standing}",
            text(&urgency["severity"]),
            text(&urgency["trigger"]),
            text(&urgency["title"]),
            local(env, &urgency["deadline"]),
        );
    }
}

/// `95` → `1 h 35 min`.
fn minutes(value: &Value) -> String {
    let total = value.as_u64().unwrap_or_default();
    match (total / 60, total % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}
