//! `greenlight` with no command: where things stand now, and what to try next.

use std::process::ExitCode;

use greenlight_core::ReleaseType;
use greenlight_core::calendar::{check_window, next_slot, release_calendar};
use jiff::ToSpan;

use super::window::{describe_slot, print_verdict};
use super::{Env, done};
use crate::output::short;

/// Prints the tour.
pub fn run(env: &Env) -> anyhow::Result<ExitCode> {
    let policy = &env.policy;
    println!(
        "Greenlight runs the MLC release process (policy time zone: {}).\n",
        policy.timezone
    );
    print_verdict(&check_window(policy, env.now, ReleaseType::Standard));
    if let Some(slot) = next_slot(policy, env.now, ReleaseType::Standard) {
        println!("next standard deployment slot: {}", describe_slot(&slot));
    }
    let today = env.now.to_zoned(policy.tz().clone()).date();
    let upcoming = release_calendar(policy, today, today.checked_add(4.weeks())?);
    if !upcoming.is_empty() {
        println!("\nUpcoming releases:");
        for r in upcoming.iter().take(4) {
            let mut note = if r.optional { " (if needed)" } else { "" }.to_string();
            if let Some(moved) = &r.moved {
                note.push_str(&format!(" (moved from {}: {moved})", r.nominal_date));
            }
            println!(
                "  {:<8} deploy {}  freeze {}{note}",
                r.release_type.to_string(),
                short(&r.deploy),
                short(&r.code_freeze)
            );
        }
    }
    println!(
        "\nTry:\n  greenlight window check --at 2026-12-03T14:30:00-08:00\n  \
         greenlight version next --from 1.2.3 --type hotfix\n  \
         greenlight calendar --ics > releases.ics\n  \
         greenlight rollback classify --error-rate 6\n  \
         greenlight policy show > greenlight.toml"
    );
    done()
}
