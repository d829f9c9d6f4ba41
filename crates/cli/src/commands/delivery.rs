//! `greenlight metrics`: the delivery metrics of a period, from the server's event history.

use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::Value;

use super::{Env, done};
use crate::args::MetricsArgs;
use crate::client::Api;
use crate::output::{print_json, table};
use crate::time_arg::parse_date_or_time;

/// Runs `greenlight metrics`.
pub fn run(env: &Env, api: &Api, args: MetricsArgs) -> anyhow::Result<ExitCode> {
    let mut query = Vec::new();
    if let Some(from) = &args.from {
        query.push((
            "from",
            parse_date_or_time(from, env.policy.tz(), env.now)?.to_string(),
        ));
    }
    if let Some(to) = &args.to {
        query.push((
            "to",
            parse_date_or_time(to, env.policy.tz(), env.now)?.to_string(),
        ));
    }
    if args.csv {
        query.push(("format", "csv".to_string()));
        print!("{}", api.get_text("/delivery-metrics", &query)?);
        return done();
    }
    let m: Value = api.get("/delivery-metrics", &query)?;
    if env.json {
        print_json(&m)?;
        return done();
    }
    println!(
        "Delivery from {} to {}",
        day(env, &m["from"]),
        day(env, &m["to"])
    );
    let mut out = table(["measure", "value"]);
    let rows = [
        (
            "deployments",
            format!(
                "{} ({} a week)",
                m["deployments"], m["deployments_per_week"]
            ),
        ),
        (
            "lead time for changes (median, commit to production)",
            unit(&m["lead_time_hours"], "h"),
        ),
        ("change failure rate", percent(&m["change_failure_rate"])),
        (
            "time to restore (median)",
            unit(&m["time_to_restore_minutes"], "min"),
        ),
        ("on time (first planned day)", percent(&m["on_time_rate"])),
    ];
    for (name, value) in rows {
        out.add_row([name.to_string(), value]);
    }
    println!("{out}");
    if let Some(gates) = m["gates"].as_array().filter(|g| !g.is_empty()) {
        let mut out = table(["gate", "passed", "failed", "failure rate"]);
        for g in gates {
            out.add_row([
                format!("{} / {}", text(&g["phase"]), text(&g["gate"])),
                g["passed"].to_string(),
                g["failed"].to_string(),
                percent(&g["failure_rate"]),
            ]);
        }
        println!("{out}");
    }
    if m["deployments"] == 0 {
        println!("No production deployment in this period; widen it with --from.");
    }
    done()
}

fn day(env: &Env, value: &Value) -> String {
    value
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(|t| {
            t.to_zoned(env.policy.tz().clone())
                .strftime("%a %Y-%m-%d %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn unit(value: &Value, unit: &str) -> String {
    value.as_f64().map_or("-".into(), |v| format!("{v} {unit}"))
}

fn percent(value: &Value) -> String {
    value
        .as_f64()
        .map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}
