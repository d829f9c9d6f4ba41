//! `greenlight calendar`.

use std::process::ExitCode;

use greenlight_core::calendar::release_calendar;
use greenlight_core::ics::calendar_to_ics;
use jiff::ToSpan;

use super::{Env, done};
use crate::args::CalendarArgs;
use crate::exit::usage;
use crate::output::{print_json, short, table};
use crate::time_arg::parse_date;

/// Runs `calendar`.
pub fn run(env: &Env, args: CalendarArgs) -> anyhow::Result<ExitCode> {
    let from = match &args.from {
        Some(text) => parse_date(text)?,
        None => env.now.to_zoned(env.policy.tz().clone()).date(),
    };
    let to = match &args.to {
        Some(text) => parse_date(text)?,
        None => from.checked_add(8.weeks())?,
    };
    if to < from {
        return Err(usage(format!("--to {to} is before --from {from}")));
    }
    if (to - from).get_days() > 3660 {
        return Err(usage(
            "the range is longer than 10 years; choose a shorter one",
        ));
    }
    let releases = release_calendar(&env.policy, from, to);
    if args.ics {
        print!("{}", calendar_to_ics(&releases, env.now));
        return done();
    }
    if env.json {
        return print_json(&releases).and_then(|_| done());
    }
    if releases.is_empty() {
        println!("no planned releases from {from} to {to}");
        return done();
    }
    let mut out = table([
        "Type",
        "Deploy",
        "Code freeze",
        "Staging",
        "Go/No-Go",
        "Retro",
        "Note",
    ]);
    for r in &releases {
        let mut note = Vec::new();
        if r.optional {
            note.push("if needed".to_string());
        }
        if let Some(moved) = &r.moved {
            note.push(format!("moved from {}: {moved}", r.nominal_date));
        }
        out.add_row([
            r.release_type.to_string(),
            short(&r.deploy),
            short(&r.code_freeze),
            short(&r.staging),
            short(&r.go_no_go),
            short(&r.retrospective),
            note.join("; "),
        ]);
    }
    println!("Planned releases {from} to {to} ({})", env.policy.timezone);
    println!("{out}");
    done()
}
