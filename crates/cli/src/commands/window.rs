//! `greenlight window check|next`.

use std::process::ExitCode;

use greenlight_core::calendar::{Slot, WindowVerdict, check_window, next_slot};
use greenlight_core::policy::Effect;
use serde_json::json;

use super::{Env, release_type};
use crate::args::WindowCommand;
use crate::exit::REFUSED;
use crate::output::{local, print_json};
use crate::time_arg::parse_time;

/// Runs a `window` subcommand.
pub fn run(env: &Env, cmd: WindowCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WindowCommand::Check(args) => {
            let at = parse_time(&args.at, env.policy.tz(), env.now)?;
            let kind = release_type(&args.release_type)?;
            let verdict = check_window(&env.policy, at, kind);
            let next = if verdict.may_start() {
                None
            } else {
                next_slot(&env.policy, at, kind)
            };
            if env.json {
                print_json(&json!({
                    "at": verdict.at.timestamp(),
                    "local": verdict.at.to_string(),
                    "release_type": kind,
                    "status": verdict.status,
                    "may_start": verdict.may_start(),
                    "ends_at": verdict.ends_at.timestamp(),
                    "findings": verdict.findings,
                    "next_slot": next,
                }))?;
            } else {
                print_verdict(&verdict);
                if let Some(slot) = &next {
                    println!("next allowed: {}", describe_slot(slot));
                }
            }
            let code = if verdict.may_start() { 0 } else { REFUSED };
            Ok(ExitCode::from(code))
        }
        WindowCommand::Next(args) => {
            let after = parse_time(&args.after, env.policy.tz(), env.now)?;
            let kind = release_type(&args.release_type)?;
            let slot = next_slot(&env.policy, after, kind);
            match (&slot, env.json) {
                (_, true) => print_json(&json!({ "release_type": kind, "slot": slot }))?,
                (Some(slot), false) => println!("{}", describe_slot(slot)),
                (None, false) => println!("no allowed slot for a {kind} release within 400 days"),
            }
            let code = if slot.is_some() { 0 } else { REFUSED };
            Ok(ExitCode::from(code))
        }
    }
}

/// Prints a verdict for people: the status line and each finding.
pub fn print_verdict(verdict: &WindowVerdict) {
    println!(
        "{}: {} for a {} release (its deployment is expected to end at {})",
        local(&verdict.at),
        verdict.status,
        verdict.release_type,
        verdict.ends_at.strftime("%H:%M %Z")
    );
    for finding in &verdict.findings {
        let mark = if finding.effect == Effect::Block {
            "✗"
        } else {
            "!"
        };
        println!("  {mark} {}: {}", finding.rule, finding.message);
    }
}

/// `Thu 2026-12-10 14:00 PST (preferred, until 16:00)`.
pub fn describe_slot(slot: &Slot) -> String {
    let until = slot
        .end
        .as_ref()
        .map(|end| format!(", until {}", end.strftime("%H:%M")))
        .unwrap_or_default();
    format!("{} ({}{until})", local(&slot.start), slot.status)
}
