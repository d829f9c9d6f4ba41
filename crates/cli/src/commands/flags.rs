//! `greenlight flag ...`: feature flags over the API, and evaluation over OFREP.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::{Env, done};
use crate::args::FlagCommand;
use crate::client::Api;
use crate::exit::usage;
use crate::output::{print_json, table};

/// Runs a `flag` subcommand.
pub fn run(env: &Env, api: &Api, cmd: FlagCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FlagCommand::Create {
            key,
            description,
            variants,
            off_variant,
            stickiness,
            stages,
            kind,
            release,
            auto_advance,
        } => {
            let variants = variants
                .iter()
                .map(|v| variant(v))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let plan = (!stages.is_empty())
                .then(|| {
                    stages
                        .iter()
                        .map(|s| stage(s))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()?;
            let body = json!({
                "key": key, "description": description, "variants": variants,
                "off_variant": off_variant, "stickiness": stickiness, "plan": plan,
                "release": release, "auto_advance": auto_advance, "kind": kind,
            });
            let flag: Value = api.post("/flags", &body, None)?;
            show(env, &flag, "Created")
        }
        FlagCommand::List => {
            let flags: Vec<Value> = api.get("/flags", &[])?;
            if env.json {
                print_json(&flags)?;
                return done();
            }
            if flags.is_empty() {
                println!(
                    "No flags yet. Create one: greenlight flag create new-rhythm-game --release 1.4.0"
                );
                return done();
            }
            let mut out = table(["flag", "stage", "next", "dwell left", "state", "release"]);
            for f in &flags {
                out.add_row([
                    text(&f["key"]),
                    f["current_stage"]
                        .as_str()
                        .unwrap_or("not started")
                        .to_string(),
                    f["next_stage"].as_str().unwrap_or("-").to_string(),
                    dwell(&f["dwell_left_seconds"]),
                    if f["killed"].is_null() {
                        "serving"
                    } else {
                        "KILLED"
                    }
                    .to_string(),
                    f["release_version"].as_str().unwrap_or("-").to_string(),
                ]);
            }
            println!("{out}");
            done()
        }
        FlagCommand::Show { key } => {
            let flag: Value = api.get(&format!("/flags/{key}"), &[])?;
            show(env, &flag, "Flag")
        }
        FlagCommand::Advance { key } => {
            let flag: Value = api.post(&format!("/flags/{key}/advance"), &json!({}), None)?;
            show(env, &flag, "Advanced")
        }
        FlagCommand::Kill { key, reason } => {
            let flag: Value = api.post(
                &format!("/flags/{key}/kill"),
                &json!({ "reason": reason }),
                None,
            )?;
            show(env, &flag, "KILLED")
        }
        FlagCommand::Restore { key } => {
            let flag: Value = api.post(&format!("/flags/{key}/restore"), &json!({}), None)?;
            show(env, &flag, "Restored")
        }
        FlagCommand::Evaluate { key, context } => {
            let context: Value = serde_json::from_str(&context)
                .map_err(|e| usage(format!("--context is not JSON: {e}")))?;
            let answer: Value = api.post(
                "/flags/evaluate",
                &json!({ "context": context, "flags": [key] }),
                None,
            )?;
            let result = &answer["flags"][&key];
            if result["error"].is_string() {
                return Err(usage(format!(
                    "no flag {key}; `greenlight flag list` shows them"
                )));
            }
            if env.json {
                print_json(result)?;
                return done();
            }
            println!(
                "{key} = {} (variant {}, {})",
                result["value"],
                text(&result["variant"]),
                text(&result["reason"])
            );
            done()
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn dwell(seconds: &Value) -> String {
    match seconds.as_i64().unwrap_or(0) {
        0 => "-".into(),
        s => format!("{}m {:02}s", s / 60, s % 60),
    }
}

fn show(env: &Env, flag: &Value, verb: &str) -> anyhow::Result<ExitCode> {
    if env.json {
        print_json(flag)?;
        return done();
    }
    let stage = flag["current_stage"]
        .as_str()
        .unwrap_or("not started (nobody in)");
    println!("{verb} {}: {stage}", text(&flag["key"]));
    if let Some(kill) = flag["killed"].as_object() {
        println!(
            "  killed by {} at {}: {}",
            text(&kill["by"]),
            text(&kill["at"]),
            text(&kill["reason"])
        );
    }
    match flag["next_stage"].as_str() {
        Some(next) => println!(
            "  next: {next} (may start in {})",
            dwell(&flag["dwell_left_seconds"])
        ),
        None => println!("  rollout complete"),
    }
    if let Some(counts) = flag["evaluations"].as_object().filter(|c| !c.is_empty()) {
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  evaluations here: {}", parts.join(", "));
    }
    done()
}

/// `NAME=JSON[:WEIGHT]`: the JSON may itself contain ':', so the weight is taken from the end
/// only when what follows the last ':' is a number and what precedes it parses.
fn variant(text: &str) -> anyhow::Result<Value> {
    let (name, rest) = text
        .split_once('=')
        .ok_or_else(|| usage(format!("--variant {text:?}: use NAME=JSON[:WEIGHT]")))?;
    let (json_text, weight) = match rest.rsplit_once(':') {
        Some((value, w))
            if w.parse::<u32>().is_ok() && serde_json::from_str::<Value>(value).is_ok() =>
        {
            (value, w.parse::<u32>().unwrap_or(0))
        }
        _ => (rest, 0),
    };
    let value: Value = serde_json::from_str(json_text)
        .map_err(|e| usage(format!("--variant {name}: the value is not JSON ({e})")))?;
    Ok(json!({ "name": name, "value": value, "weight": weight }))
}

/// `SEGMENT:PERCENT` or `PERCENT` (everyone).
fn stage(text: &str) -> anyhow::Result<Value> {
    let (segment, percent) = match text.rsplit_once(':') {
        Some((segment, percent)) => (Some(segment), percent),
        None => (None, text),
    };
    let percentage: u8 = percent
        .trim_end_matches('%')
        .parse()
        .map_err(|_| usage(format!("--stage {text:?}: use SEGMENT:PERCENT or PERCENT")))?;
    Ok(json!({ "segment": segment, "percentage": percentage }))
}
