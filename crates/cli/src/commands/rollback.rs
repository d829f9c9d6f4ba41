//! `greenlight rollback classify`.

use std::process::ExitCode;

use greenlight_core::rollback::{Situation, classify};

use super::{Env, done};
use crate::args::ClassifyArgs;
use crate::exit::usage;
use crate::output::print_json;

/// Runs `rollback classify`.
pub fn run(env: &Env, args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let situation = situation(&args)?;
    let result = classify(&situation, &env.policy.rollback.criteria);
    if env.json {
        print_json(&result)?;
        return done();
    }
    let headline = match result.decision.as_str() {
        "immediate_rollback" => "IMMEDIATE ROLLBACK: no discussion required",
        "discuss" => "DISCUSS: hold a 15-minute emergency meeting on rolling back",
        _ => "MONITOR: no rollback",
    };
    println!("{headline}");
    for reason in &result.reasons {
        println!("  - {reason}");
    }
    done()
}

fn situation(a: &ClassifyArgs) -> anyhow::Result<Situation> {
    for (flag, value) in [
        ("--error-rate", a.error_rate),
        ("--affected-users", a.affected_users),
    ] {
        if let Some(v) = value.filter(|v| !(0.0..=100.0).contains(v)) {
            return Err(usage(format!(
                "{flag} {v} is not a percentage from 0 to 100"
            )));
        }
    }
    if let Some(v) = a.latency_ratio.filter(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(usage(format!(
            "--latency-ratio {v} must be a non-negative number"
        )));
    }
    Ok(Situation {
        score_recording_failure: a.score_recording_failure,
        auth_failure: a.auth_failure,
        payment_failure: a.payment_failure,
        data_loss: a.data_loss,
        exploited_vulnerability: a.exploited_vulnerability,
        critical_endpoint_failures: Vec::new(),
        significant_feature_broken: a.significant_feature_broken,
        integration_failure_with_workaround: a.integration_failure_with_workaround,
        minor_ui_bug: a.minor_ui_bug,
        non_critical_feature_broken: a.non_critical_feature_broken,
        error_rate_percent: a.error_rate,
        latency_ratio: a.latency_ratio,
        affected_users_percent: a.affected_users,
    })
}
