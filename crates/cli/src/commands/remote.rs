//! Client commands for releases and the log, over the API.

use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Env, done, list_text};
use crate::args::{
    ApproveArgs, AuditCommand, BugCommand, ChecklistArgs, DeploymentCommand, EventsArgs,
    GateCommand, GoNoGoArgs, ListArgs, PlanArgs, ReleaseCommand, RollbackCommand, Target,
};
use crate::client::{Api, Refused};
use crate::output::{print_json, table};
use crate::time_arg::parse_time;

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `Thu 2026-12-10 14:00 PST` for an RFC 3339 value, in the policy's zone.
fn local(env: &Env, value: &Value) -> String {
    value
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(|t| crate::output::local(&t.to_zoned(env.policy.tz().clone())))
        .unwrap_or_default()
}

fn path(release: &str, rest: &str) -> String {
    format!("/releases/{release}{rest}")
}

/// Posts a command and prints the release it changed.
fn command(
    env: &Env,
    api: &Api,
    target: &Target,
    rest: &str,
    body: Value,
    done_text: &str,
) -> anyhow::Result<ExitCode> {
    let release: Value = api.post(&path(&target.release, rest), &body, target.revision)?;
    if env.json {
        print_json(&release)?;
        return done();
    }
    println!(
        "{done_text}: {} is {} (revision {})",
        text(&release["record"]["version"]),
        text(&release["record"]["status"]),
        text(&release["revision"])
    );
    done()
}

/// Runs a `release` subcommand.
pub fn release(env: &Env, api: &Api, cmd: ReleaseCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ReleaseCommand::Plan(args) => plan(env, api, args),
        ReleaseCommand::List(args) => list(env, api, args),
        ReleaseCommand::Show { release } => {
            let view: Value = api.get(&path(&release, ""), &[])?;
            if env.json {
                print_json(&view)?;
                return done();
            }
            show(env, &view);
            done()
        }
        ReleaseCommand::Freeze(target) => {
            command(env, api, &target, "/freeze", json!({}), "Code freeze")
        }
        ReleaseCommand::Rc(target) => {
            command(env, api, &target, "/candidates", json!({}), "Candidate cut")
        }
        ReleaseCommand::Reschedule { target, to, reason } => {
            let at = parse_time(&to, env.policy.tz(), env.now)?;
            let body = json!({ "planned_date": at, "reason": reason });
            command(env, api, &target, "/reschedule", body, "Rescheduled")
        }
        ReleaseCommand::Cancel { target, reason } => command(
            env,
            api,
            &target,
            "/cancel",
            json!({ "reason": reason }),
            "Cancelled",
        ),
    }
}

fn plan(env: &Env, api: &Api, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let release_type = super::release_type(&args.release_type)?;
    let planned_date = args
        .date
        .as_deref()
        .map(|d| parse_time(d, env.policy.tz(), env.now))
        .transpose()?;
    let body = json!({
        "release_type": release_type,
        "version": args.version,
        "planned_date": planned_date,
        "title": args.title,
    });
    let view: Value = api.post("/releases", &body, None)?;
    if env.json {
        print_json(&view)?;
        return done();
    }
    println!(
        "Planned {} {} for {} (branch {})",
        text(&view["record"]["release_type"]),
        text(&view["record"]["version"]),
        local(env, &view["record"]["planned_date"]),
        text(&view["branch"])
    );
    done()
}

fn list(env: &Env, api: &Api, args: ListArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![("limit", args.limit.to_string())];
    query.extend(args.status.map(|s| ("status", s)));
    query.extend(args.release_type.map(|t| ("type", t)));
    let releases: Vec<Value> = api.get("/releases", &query)?;
    if env.json {
        print_json(&releases)?;
        return done();
    }
    if releases.is_empty() {
        println!("No releases yet. Plan one: greenlight release plan --type standard");
        return done();
    }
    let mut out = table([
        "version",
        "type",
        "status",
        "planned",
        "approvals",
        "go/no-go",
    ]);
    for r in &releases {
        out.add_row([
            text(&r["record"]["version"]),
            text(&r["record"]["release_type"]),
            text(&r["record"]["status"]),
            local(env, &r["record"]["planned_date"]),
            format!(
                "{}/{}",
                text(&r["approvals"]["count"]),
                text(&r["approvals"]["minimum"])
            ),
            text(&r["go_no_go"]["decision"]),
        ]);
    }
    println!("{out}");
    done()
}

fn show(env: &Env, v: &Value) {
    let record = &v["record"];
    println!(
        "Release {} ({}) is {} — revision {}",
        text(&record["version"]),
        text(&record["release_type"]),
        text(&record["status"]),
        text(&v["revision"])
    );
    println!(
        "  planned   {} (window: {})",
        local(env, &record["planned_date"]),
        text(&v["planned_window"]["status"])
    );
    println!("  branch    {}", text(&v["branch"]));
    if !v["release_candidate"].is_null() {
        println!("  candidate {}", text(&v["release_candidate"]));
    }
    println!(
        "{}",
        gates_table(
            v["phases"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
        )
    );
    let approvals = &v["approvals"];
    let missing = list_text(&approvals["missing_required"]);
    println!(
        "Approvals {}/{}{}",
        text(&approvals["count"]),
        text(&approvals["minimum"]),
        if missing.is_empty() {
            String::new()
        } else {
            format!(", missing {missing}")
        }
    );
    for a in approvals["approvals"].as_array().into_iter().flatten() {
        println!(
            "  {} as {} at {}",
            text(&a["user_id"]),
            text(&a["role"]),
            local(env, &a["at"])
        );
    }
    let go = &v["go_no_go"];
    println!("Go/No-Go: {}", text(&go["decision"]));
    for vote in go["votes"].as_array().into_iter().flatten() {
        println!(
            "  {} ({}) voted {}",
            text(&vote["user_id"]),
            text(&vote["role"]),
            text(&vote["vote"])
        );
    }
    for bug in v["bugs"].as_array().into_iter().flatten() {
        println!(
            "Bug {} sev {}: {}",
            text(&bug["bug_id"]),
            text(&bug["severity"]),
            text(&bug["title"])
        );
    }
    for item in v["action_items"].as_array().into_iter().flatten() {
        let late = if item["overdue"].as_bool() == Some(true) {
            " OVERDUE"
        } else {
            ""
        };
        println!(
            "Action {}: {} due {}{late}",
            text(&item["kind"]),
            text(&item["title"]),
            local(env, &item["due_at"])
        );
    }
}

/// The gates of every phase with their latest results (`-` when none yet).
fn gates_table(phases: &[Value]) -> comfy_table::Table {
    let mut out = table(["phase", "gate", "result", "by", "reason"]);
    for phase in phases {
        for gate in phase["gates"].as_array().into_iter().flatten() {
            let outcome = if gate["outcome"].is_null() {
                "-".to_string()
            } else {
                text(&gate["outcome"])
            };
            out.add_row([
                text(&phase["phase"]),
                text(&gate["name"]),
                outcome,
                text(&gate["validated_by"]),
                text(&gate["reason"]),
            ]);
        }
    }
    out
}

/// Runs a `gate` subcommand.
pub fn gate(env: &Env, api: &Api, cmd: GateCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GateCommand::Record {
            target,
            phase,
            gate,
            pass,
            fail: _,
            reason,
        } => {
            let body = json!({ "phase": phase, "gate": gate, "passed": pass, "reason": reason });
            let outcome = if pass { "Gate passed" } else { "Gate failed" };
            command(env, api, &target, "/gates", body, outcome)
        }
        GateCommand::Override {
            target,
            phase,
            gate,
            justification,
        } => {
            let body = json!({ "phase": phase, "gate": gate, "justification": justification });
            command(
                env,
                api,
                &target,
                "/gates/override",
                body,
                "Gate overridden",
            )
        }
        GateCommand::List { release } => {
            let phases: Vec<Value> = api.get(&path(&release, "/gates"), &[])?;
            if env.json {
                print_json(&phases)?;
                return done();
            }
            println!("{}", gates_table(&phases));
            done()
        }
    }
}

/// `greenlight approve`.
pub fn approve(env: &Env, api: &Api, args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let body = json!({ "role": args.role });
    command(env, api, &args.target, "/approvals", body, "Approved")
}

/// `greenlight go-no-go`.
pub fn go_no_go(env: &Env, api: &Api, args: GoNoGoArgs) -> anyhow::Result<ExitCode> {
    let body = json!({ "role": args.role, "vote": args.vote, "notes": args.notes });
    let release: Value = api.post(
        &path(&args.target.release, "/go-no-go"),
        &body,
        args.target.revision,
    )?;
    if env.json {
        print_json(&release)?;
        return done();
    }
    println!(
        "Vote recorded: {} Go/No-Go is {}",
        text(&release["record"]["version"]),
        text(&release["go_no_go"]["decision"])
    );
    done()
}

/// `greenlight checklist`.
pub fn checklist(env: &Env, api: &Api, args: ChecklistArgs) -> anyhow::Result<ExitCode> {
    let body = json!({ "item": args.item });
    command(env, api, &args.target, "/checklist", body, "Ticked")
}

/// Runs a `bug` subcommand.
pub fn bug(env: &Env, api: &Api, cmd: BugCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BugCommand::Report {
            target,
            id,
            severity,
            title,
            workaround,
        } => {
            let body = json!({ "bug_id": id, "severity": severity, "title": title, "workaround": workaround });
            command(env, api, &target, "/bugs", body, "Bug reported")
        }
        BugCommand::Resolve { target, id } => command(
            env,
            api,
            &target,
            &format!("/bugs/{id}/resolve"),
            json!({}),
            "Bug resolved",
        ),
    }
}

/// Runs a `deployment` subcommand.
pub fn deployment(env: &Env, api: &Api, cmd: DeploymentCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DeploymentCommand::Start {
            target,
            environment,
            override_window,
            no_wait,
        } => {
            let body = json!({ "environment": environment, "override_window": override_window });
            let release: Value = api.post(
                &path(&target.release, "/deployments"),
                &body,
                target.revision,
            )?;
            follow(env, api, &target.release, release, no_wait, "Deployment")
        }
        DeploymentCommand::Complete(target) => command(
            env,
            api,
            &target,
            "/deployments/current/complete",
            json!({}),
            "Deployment complete",
        ),
        DeploymentCommand::Fail { target, reason } => {
            let body = json!({ "reason": reason });
            command(
                env,
                api,
                &target,
                "/deployments/current/fail",
                body,
                "Deployment failed",
            )
        }
    }
}

/// Runs a server-side `rollback` subcommand.
pub fn rollback(env: &Env, api: &Api, cmd: RollbackCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RollbackCommand::Start {
            target,
            reason,
            to,
            no_wait,
        } => {
            let body = json!({ "reason": reason, "to_version": to });
            let release: Value =
                api.post(&path(&target.release, "/rollback"), &body, target.revision)?;
            follow(env, api, &target.release, release, no_wait, "Rollback")
        }
        RollbackCommand::Complete(target) => command(
            env,
            api,
            &target,
            "/rollback/complete",
            json!({}),
            "Rollback complete",
        ),
        RollbackCommand::Fail { target, reason } => command(
            env,
            api,
            &target,
            "/rollback/fail",
            json!({ "reason": reason }),
            "Rollback failed",
        ),
        RollbackCommand::Classify(args) => super::rollback::run(env, args),
    }
}

/// After starting a run: when Greenlight drives a runbook, shows each step as it finishes and
/// exits 0 if the run completed, 3 if it failed; otherwise says how to report the outcome.
fn follow(
    env: &Env,
    api: &Api,
    key: &str,
    started: Value,
    no_wait: bool,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let driven = started["run_steps"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    let version = text(&started["record"]["version"]);
    if !driven || no_wait {
        if env.json {
            print_json(&started)?;
        } else if driven {
            println!(
                "{what} of {version} started; follow it with `greenlight release show {version}`"
            );
        } else {
            println!("{what} of {version} started; report the outcome with `complete` or `fail`");
        }
        return done();
    }
    if !env.json {
        println!(
            "{what} of {version}: running {}",
            list_text(&started["run_steps"])
        );
    }
    let run_started = started["deployment"]["started_at"]
        .as_str()
        .or_else(|| started["rollback"]["started_at"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut shown = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let steps: Vec<Value> = api.get(&path(key, "/runs"), &[])?;
        let ours: Vec<&Value> = steps
            .iter()
            .filter(|s| s["run_started_at"] == run_started.as_str())
            .collect();
        for step in ours.iter().skip(shown) {
            if !env.json {
                print_step(step);
            }
        }
        shown = shown.max(ours.len());
        let release: Value = api.get(&path(key, ""), &[])?;
        if release["deployment"].is_null() && release["rollback"].is_null() {
            return finish_run(env, api, key, &release, what);
        }
    }
}

fn print_step(step: &Value) {
    let mark = if step["outcome"] == "succeeded" {
        "✓"
    } else {
        "✗"
    };
    let seconds = step["duration_ms"].as_i64().unwrap_or_default() as f64 / 1000.0;
    println!(
        "  {mark} {} (attempt {}) {} in {seconds:.1}s",
        text(&step["step"]),
        text(&step["attempt"]),
        text(&step["outcome"])
    );
    if step["outcome"] != "succeeded" {
        for line in text(&step["output"])
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            println!("      {line}");
        }
    }
}

fn finish_run(
    env: &Env,
    api: &Api,
    key: &str,
    release: &Value,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let events: Vec<Value> = api.get(
        "/events",
        &[("release", key.to_string()), ("limit", "5000".into())],
    )?;
    let last = events
        .iter()
        .rev()
        .find(|e| {
            let name = e["event"].as_str().unwrap_or_default();
            name.ends_with("_completed") || name.ends_with("_failed")
        })
        .cloned()
        .unwrap_or(Value::Null);
    if env.json {
        print_json(release)?;
    }
    let name = last["event"].as_str().unwrap_or_default();
    if name.ends_with("_failed") {
        let reason = text(&last["body"]["failure_reason"]);
        anyhow::bail!(
            "{what} of {} failed: {reason}",
            text(&release["record"]["version"])
        );
    }
    if !env.json {
        println!(
            "{what} of {} completed: {} is {}",
            text(&release["record"]["version"]),
            text(&release["record"]["version"]),
            text(&release["record"]["status"])
        );
    }
    done()
}

/// `greenlight events`.
pub fn events(env: &Env, api: &Api, args: EventsArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![("limit", args.limit.to_string())];
    query.extend(args.release.map(|r| ("release", r)));
    query.extend(args.event.map(|e| ("event", e)));
    if let Some(since) = args.since {
        query.push((
            "since",
            parse_time(&since, env.policy.tz(), env.now)?.to_string(),
        ));
    }
    let events: Vec<Value> = api.get("/events", &query)?;
    if env.json {
        print_json(&events)?;
        return done();
    }
    let mut out = table(["#", "at", "event", "actor", "release"]);
    for e in &events {
        out.add_row([
            text(&e["seq"]),
            local(env, &e["at"]),
            text(&e["event"]),
            text(&e["actor"]),
            text(&e["body"]["version"]),
        ]);
    }
    println!("{out}");
    done()
}

/// Runs an `audit` subcommand.
pub fn audit(env: &Env, api: &Api, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::List {
            subject,
            actor,
            limit,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(subject.map(|s| ("subject", s)));
            query.extend(actor.map(|a| ("actor", a)));
            let entries: Vec<Value> = api.get("/audit", &query)?;
            if env.json {
                print_json(&entries)?;
                return done();
            }
            let mut out = table(["#", "at", "actor", "action", "subject"]);
            for e in &entries {
                out.add_row([
                    text(&e["seq"]),
                    local(env, &e["at"]),
                    text(&e["actor"]),
                    text(&e["action"]),
                    text(&e["subject"]),
                ]);
            }
            println!("{out}");
            done()
        }
        AuditCommand::Verify => {
            let result: Value = api.get("/audit/verify", &[])?;
            if env.json {
                print_json(&result)?;
            }
            if result["valid"].as_bool() == Some(true) {
                if !env.json {
                    println!(
                        "Audit chain intact: {} entries, head {}",
                        text(&result["entries"]),
                        text(&result["head_hash"])
                    );
                }
                return done();
            }
            Err(anyhow::Error::new(Refused {
                message: format!(
                    "audit chain broken at entry {}: {}",
                    text(&result["broken_at"]),
                    text(&result["problem"])
                ),
            }))
        }
    }
}
