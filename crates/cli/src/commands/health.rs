//! `greenlight health VERSION`: each health metric against its target and rollback threshold
//! with a sparkline of its recent samples, then the automatic rollback triggers' verdicts.

use std::process::ExitCode;

use serde_json::Value;

use super::remote::{path, text};
use super::{Env, done};
use crate::args::HealthArgs;
use crate::client::Api;
use crate::output::{print_json, table};

/// Runs `greenlight health`.
pub fn run(env: &Env, api: &Api, args: HealthArgs) -> anyhow::Result<ExitCode> {
    let query = [("minutes", args.minutes.to_string())];
    let view: Value = api.get(&path(&args.release, "/health"), &query)?;
    if env.json {
        print_json(&view)?;
        return done();
    }
    let automatic = if view["automatic_rollback"] == true {
        "on"
    } else {
        "off"
    };
    println!(
        "Health of {} from {} to {} (source: {}, automatic rollback {automatic})",
        text(&view["version"]),
        text(&view["from"]),
        text(&view["to"]),
        text(&view["source"])
    );
    let mut metrics = table(["metric", "now", "target", "rollback at", "trend"]);
    for metric in view["metrics"].as_array().into_iter().flatten() {
        metrics.add_row(metric_row(metric));
    }
    println!("{metrics}");
    let Some(verdicts) = view["assessment"]["verdicts"].as_array() else {
        println!("Not deployed to production: no trigger is evaluated.");
        return done();
    };
    let mut triggers = table(["trigger", "state", "detail"]);
    for verdict in verdicts {
        triggers.add_row([
            text(&verdict["trigger"]["name"]),
            text(&verdict["state"]),
            text(&verdict["detail"]),
        ]);
    }
    println!("{triggers}");
    let class = &view["classification"];
    if !class.is_null() {
        println!("Rollback decision criteria: {}", text(&class["decision"]));
        for reason in class["reasons"].as_array().into_iter().flatten() {
            println!("  - {}", text(reason));
        }
    }
    done()
}

fn metric_row(metric: &Value) -> [String; 5] {
    let unit = text(&metric["unit"]);
    let number = |v: &Value| {
        v.as_f64()
            .map(|n| format!("{n:.2}{unit}"))
            .unwrap_or_default()
    };
    let points: Vec<f64> = metric["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["value"].as_f64())
        .collect();
    let now = points
        .last()
        .map(|v| format!("{v:.2}{unit}"))
        .or_else(|| metric["error"].as_str().map(|e| format!("error: {e}")))
        .unwrap_or_else(|| "no data".into());
    [
        text(&metric["name"]),
        now,
        number(&metric["target"]),
        number(&metric["rollback_threshold"]),
        sparkline(&points, 30),
    ]
}

/// The last `width` values as bars (`▁▂▃▄▅▆▇█`), scaled between their minimum and maximum.
fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let recent = &values[values.len().saturating_sub(width)..];
    let low = recent.iter().copied().fold(f64::INFINITY, f64::min);
    let high = recent.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = (high - low).max(f64::EPSILON);
    recent
        .iter()
        .map(|v| {
            let level = ((v - low) / span * 7.0).round() as usize;
            BARS[level.min(7)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(sparkline(&[0.0, 5.0, 10.0], 30), "▁▅█");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 2), "▁█");
        assert_eq!(sparkline(&[], 30), "");
    }
}
