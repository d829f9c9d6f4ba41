//! In-process flag evaluation, the cost every SDK request pays after routing: the bucketing
//! hash, the stage thresholds and the variant pick. Target (issue 7): under 200 ns per flag.
//! `cargo bench -p greenlight-core --bench flag_eval`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_core::flags::{
    CompiledFlag, Context, FlagEvent, FlagSpec, Stage, Variant, advance, create,
};
use greenlight_core::policy::FeatureFlagPolicy;
use greenlight_core::{Actor, Role};
use serde_json::json;

/// A started flag: one stage per `(segment, percentage)` in `plan`, at its last stage.
fn compiled(plan: &[(Option<&str>, u8)], variants: Vec<Variant>) -> CompiledFlag {
    let policy = FeatureFlagPolicy::default();
    let lead = Actor::user("erin", [Role::EngineeringLead]);
    let now: jiff::Timestamp = "2026-11-24T18:00:00Z".parse().unwrap();
    let spec = FlagSpec {
        key: "new-rhythm-game".into(),
        description: String::new(),
        variants,
        off_variant: None,
        stickiness: None,
        plan: Some(
            plan.iter()
                .map(|&(segment, percentage)| Stage {
                    segment: segment.map(Into::into),
                    percentage,
                })
                .collect(),
        ),
        release: None,
        auto_advance: false,
        // The benchmark measures evaluation at any stage, not the rollout's order.
        kind: Some("operational".into()),
    };
    let FlagEvent::FlagCreated { flag, .. } = create(&spec, None, &policy, &lead, now).unwrap()
    else {
        panic!("not a creation")
    };
    let mut flag = *flag;
    let tz = jiff::tz::TimeZone::UTC;
    for day in 0..plan.len() {
        let at = now + jiff::SignedDuration::from_hours(24 * day as i64);
        flag.apply(&advance(&flag, &policy, &lead, at, false, &tz).unwrap());
    }
    CompiledFlag::new(&flag, &policy.segments)
}

/// 1,024 distinct students (so the hash is not answered from a cache line of one id).
fn students() -> Vec<Context> {
    (0..1024)
        .map(|i| {
            let mut context = Context::new();
            context.insert("targetingKey".into(), format!("student-{i}").into());
            context.insert("groups".into(), json!(["students"]));
            context
        })
        .collect()
}

fn evaluate_all(flag: &CompiledFlag, contexts: &[Context]) -> usize {
    contexts
        .iter()
        .map(|c| black_box(flag.evaluate(black_box(c))).variant)
        .sum()
}

fn flag_evaluation(c: &mut Criterion) {
    let contexts = students();
    let boolean_half = compiled(&[(None, 50)], vec![]);
    let staged = compiled(
        &[
            (Some("internal_users"), 100),
            (Some("beta_testers"), 100),
            (None, 25),
        ],
        vec![],
    );
    let variant = |name: &str, weight| Variant {
        name: name.into(),
        value: json!({ "color": name }),
        weight,
    };
    let multivariant = compiled(
        &[(None, 50)],
        vec![variant("blue", 3), variant("green", 1), variant("off", 0)],
    );

    let mut group = c.benchmark_group("flag_evaluation");
    group.throughput(Throughput::Elements(contexts.len() as u64));
    group.bench_function("boolean, everyone 50%", |b| {
        b.iter(|| evaluate_all(&boolean_half, &contexts));
    });
    group.bench_function("internal users, beta testers, then everyone 25%", |b| {
        b.iter(|| evaluate_all(&staged, &contexts));
    });
    group.bench_function("three weighted variants, 50%", |b| {
        b.iter(|| evaluate_all(&multivariant, &contexts));
    });
    group.finish();
}

criterion_group!(benches, flag_evaluation);
criterion_main!(benches);
