//! In-process flag evaluation time: one flag at a 50% rollout of everyone, evaluated for
//! distinct users (the bucketing hash, the threshold, the variant), reported in ns per call.
//! `cargo run --release -p greenlight-core --example flag_eval`.

use std::hint::black_box;
use std::time::Instant;

use greenlight_core::flags::{CompiledFlag, Context, FlagEvent, FlagSpec, Stage, advance, create};
use greenlight_core::policy::FeatureFlagPolicy;
use greenlight_core::{Actor, Role};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = FeatureFlagPolicy::default();
    let lead = Actor::user("erin", [Role::EngineeringLead]);
    let now: jiff::Timestamp = "2026-11-24T18:00:00Z".parse()?;
    let spec = FlagSpec {
        key: "new-rhythm-game".into(),
        description: String::new(),
        variants: vec![],
        off_variant: None,
        stickiness: None,
        plan: Some(vec![Stage {
            segment: None,
            percentage: 50,
        }]),
        release: None,
        auto_advance: false,
    };
    let FlagEvent::FlagCreated { flag, .. } = create(&spec, None, &policy, &lead, now)? else {
        return Err("no flag".into());
    };
    let mut flag = *flag;
    let tz = jiff::tz::TimeZone::UTC;
    flag.apply(&advance(&flag, &policy, &lead, now, false, &tz)?);
    let compiled = CompiledFlag::new(&flag, &policy.segments);
    let contexts: Vec<Context> = (0..1024)
        .map(|i| {
            let mut c = Context::new();
            c.insert("targetingKey".into(), format!("student-{i}").into());
            c
        })
        .collect();
    let rounds = 10_000;
    let mut on = 0u64;
    let start = Instant::now();
    for _ in 0..rounds {
        for c in &contexts {
            on += black_box(compiled.evaluate(black_box(c))).variant as u64;
        }
    }
    let calls = rounds * contexts.len();
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    println!("{calls} evaluations: {ns:.1} ns each ({on} served variant index sums)");
    Ok(())
}
