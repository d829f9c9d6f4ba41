//! Client commands for releases and the log, over the API.

use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Env, done, list_text};
use crate::args::{
    ApproveArgs, AuditCommand, BugCommand, ChecklistArgs, EventsArgs, GateCommand, GoNoGoArgs,
    ListArgs, PlanArgs, ReleaseCommand, Target,
};
use crate::client::{Api, Refused};
use crate::output::{print_json, table};
use crate::time_arg::parse_time;

/// A JSON value as plain text (strings without quotes, null as nothing).
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `Thu 2026-12-10 14:00 PST` for an RFC 3339 value, in the policy's zone.
pub fn local(env: &Env, value: &Value) -> String {
    value
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(|t| crate::output::local(&t.to_zoned(env.policy.tz().clone())))
        .unwrap_or_default()
}

/// `/releases/KEY/rest`.
pub fn path(release: &str, rest: &str) -> String {
    format!("/releases/{release}{rest}")
}

/// Posts a command and prints the release it changed.
pub fn command(
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
        ReleaseCommand::Report { release } => {
            if env.json {
                let report: Value = api.get(&path(&release, "/report"), &[])?;
                print_json(&report)?;
                return done();
            }
            let query = [("format", "markdown".to_string())];
            print!("{}", api.get_text(&path(&release, "/report"), &query)?);
            done()
        }
        ReleaseCommand::Content { target, history } => {
            super::changelog::record_content(env, api, &target, &history)
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
        ReleaseCommand::Done {
            target,
            kind,
            notes,
        } => {
            let rest = format!("/action-items/{kind}/complete");
            let body = json!({ "notes": notes });
            command(env, api, &target, &rest, body, "Action item done")
        }
        ReleaseCommand::Cancel { target, reason } => command(
            env,
            api,
            &target,
            "/cancel",
            json!({ "reason": reason }),
            "Cancelled",
        ),
        ReleaseCommand::MetricsReview {
            target,
            values,
            from_health,
            notes,
        } => {
            let mut measured = serde_json::Map::new();
            if from_health {
                let query = [("minutes", "2880".to_string())];
                let health: Value = api.get(&path(&target.release, "/health"), &query)?;
                measured.extend(health_values(&health));
            }
            for pair in &values {
                let parsed = pair
                    .split_once('=')
                    .and_then(|(k, v)| Some((k.trim(), v.trim().parse::<f64>().ok()?)));
                let Some((name, value)) = parsed else {
                    return Err(crate::exit::usage(format!(
                        "--value `{pair}`: give NAME=NUMBER (`score_recording_success_percent=99.7`)"
                    )));
                };
                measured.insert(name.to_string(), json!(value));
            }
            let body = json!({ "values": measured, "notes": notes });
            command(
                env,
                api,
                &target,
                "/metrics-review",
                body,
                "Metrics review recorded",
            )
        }
        ReleaseCommand::Retrospective {
            target,
            notes,
            items,
            outputs,
        } => {
            let items = items
                .iter()
                .map(|item| retrospective_item(env, item))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({ "notes": notes, "outputs": outputs, "items": items });
            command(
                env,
                api,
                &target,
                "/retrospective",
                body,
                "Retrospective recorded",
            )
        }
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
        "trigger": args.trigger,
        "severity": args.severity,
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
        println!(
            "No releases yet. Plan the first one with its version: greenlight release plan --version 1.0.0 (later versions are proposed)"
        );
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
            text(&a["approved_by"]),
            text(&a["role"]),
            local(env, &a["approved_at"])
        );
    }
    let go = &v["go_no_go"];
    println!("Go/No-Go: {}", text(&go["decision"]));
    for vote in go["votes"].as_array().into_iter().flatten() {
        println!(
            "  {} ({}) voted {} at {}",
            text(&vote["voted_by"]),
            text(&vote["role"]),
            text(&vote["vote"]),
            local(env, &vote["at"])
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
        let state = if !item["done_at"].is_null() {
            format!(" — done by {}", text(&item["done_by"]))
        } else if item["overdue"].as_bool() == Some(true) {
            " — OVERDUE".to_string()
        } else {
            String::new()
        };
        let owner = item["owner"]
            .as_str()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        println!(
            "Action {}: {}{owner} due {}{state}",
            text(&item["kind"]),
            text(&item["title"]),
            local(env, &item["due_at"])
        );
    }
    let post = &v["post_release"];
    if !post.is_null() {
        println!(
            "Phase 4: active monitoring until {}, extended review until {}",
            local(env, &post["active_monitoring_until"]),
            local(env, &post["extended_review_until"])
        );
        let held = if post["notes"].is_null() {
            "not recorded yet"
        } else {
            "recorded"
        };
        println!(
            "Retrospective: {} ({held})",
            local(env, &post["retrospective_at"])
        );
        for topic in post["agenda"].as_array().into_iter().flatten() {
            println!("  agenda: {}", text(topic));
        }
        for output in post["expected_outputs"].as_array().into_iter().flatten() {
            println!("  output: {}", text(output));
        }
        for output in post["outputs"].as_array().into_iter().flatten() {
            println!("  produced: {}", text(output));
        }
        for review in post["reviews"].as_array().into_iter().flatten() {
            let findings: Vec<String> = review["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            let verdict = if findings.is_empty() {
                "within bounds".to_string()
            } else {
                findings.join("; ")
            };
            println!("Metrics review {}: {verdict}", local(env, &review["at"]));
        }
    }
    if !v["hotfix_timeline"].is_null() {
        super::hotfix::print_timeline(env, &v["hotfix_timeline"]);
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

/// The review values the health monitor measured: the mean error rate and the lowest
/// score-recording success over the series.
fn health_values(health: &Value) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for series in health["metrics"].as_array().into_iter().flatten() {
        let values: Vec<f64> = series["points"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["value"].as_f64())
            .collect();
        if values.is_empty() {
            continue;
        }
        match series["name"].as_str() {
            Some("error rate") => {
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                out.insert(
                    "error_rate_percent".into(),
                    json!((mean * 1000.0).round() / 1000.0),
                );
            }
            Some("score-recording success") => {
                let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
                out.insert("score_recording_success_percent".into(), json!(lowest));
            }
            _ => {}
        }
    }
    out
}

/// `TITLE;OWNER;DUE` as the API's action item.
fn retrospective_item(env: &Env, text: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = text.split(';').map(str::trim).collect();
    let [title, owner, due] = parts[..] else {
        return Err(crate::exit::usage(format!(
            "--item `{text}`: give TITLE;OWNER;DUE (`Add a score-sync alert;omar;2026-12-04`)"
        )));
    };
    let due_at = crate::time_arg::parse_date_or_time(due, env.policy.tz(), env.now)?;
    Ok(json!({ "title": title, "owner": owner, "due_at": due_at }))
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
