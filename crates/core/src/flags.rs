//! Feature flags: the spec's Feature Flag Rules as data and pure functions. A flag has variants
//! (a boolean flag is `on`/`off`), a rollout plan of stages (the policy's segments first, then
//! increasing percentages of everyone), a minimum dwell time per stage, and a kill switch.
//!
//! Bucketing is sticky and deterministic: a user's bucket is
//! `xxh3_64_with_seed(utf8(stickiness value), seed = xxh3_64(utf8(flag key))) mod 10_000`, and the
//! user is in at `p`% when the bucket is below `p * 100`. The bucket never changes, so a user in
//! at 10% is still in at 25%; XXH3 is a specified hash, so the result is the same on every
//! platform and version. Which variant a user in the rollout gets is a second hash (seed XOR
//! [`VARIANT_SALT`]) over the variants' weights.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::policy::FeatureFlagPolicy;
use crate::refusal::{Refusal, Rule};
use crate::roles::{Action, Actor};

/// Buckets per flag: percentages have two decimals of resolution.
pub const BUCKETS: u64 = 10_000;

/// Mixed into the seed for the variant hash, so variant choice is independent of rollout.
pub const VARIANT_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// A rule on one context attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The context attribute (`email`, `groups`, `school_id`, `app_version`).
    pub attribute: String,
    /// How the attribute is compared.
    pub operator: Operator,
    /// The values compared with (any of them matches, except for `not_in`).
    pub values: Vec<String>,
}

/// Comparison operators of segment conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// The attribute (or any element of an array attribute) is one of the values.
    In,
    /// The attribute is none of the values (a missing attribute is in none).
    NotIn,
    /// A string attribute starts with one of the values.
    StartsWith,
    /// A string attribute ends with one of the values.
    EndsWith,
    /// A string attribute contains one of the values.
    Contains,
    /// Semantic versions: equal to the first value.
    SemverEq,
    /// Semantic versions: greater than the first value.
    SemverGt,
    /// Semantic versions: less than the first value.
    SemverLt,
    /// Numbers: equal to the first value.
    NumEq,
    /// Numbers: greater than the first value.
    NumGt,
    /// Numbers: less than the first value.
    NumLt,
    /// RFC 3339 times: before the first value.
    DateBefore,
    /// RFC 3339 times: after the first value.
    DateAfter,
}

/// A named group of users: every condition must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Segment {
    /// What the segment is.
    pub description: String,
    /// Conditions, all of which must hold.
    pub rules: Vec<Condition>,
}

/// One stage of a rollout: a segment (or everyone) at a percentage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The policy segment this stage enables; none: everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Percentage of that group (1-100).
    pub percentage: u8,
}

impl Stage {
    /// `internal_users 100%`, `everyone 25%`.
    pub fn label(&self) -> String {
        format!(
            "{} {}%",
            self.segment.as_deref().unwrap_or("everyone"),
            self.percentage
        )
    }
}

/// A value a flag can serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name (`on`, `off`, `blue`).
    pub name: String,
    /// The value served (any JSON).
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub value: Value,
    /// Share among users in the rollout; 0: served only as the off variant.
    #[serde(default)]
    pub weight: u32,
}

/// What a flag's creator gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    /// Key SDKs ask for (`new-rhythm-game`).
    pub key: String,
    /// What the flag guards.
    #[serde(default)]
    pub description: String,
    /// Variants; none: a boolean flag (`on` = true, weight 1; `off` = false).
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Served to everyone outside the rollout and when killed (default `off`).
    #[serde(default)]
    pub off_variant: Option<String>,
    /// Context attribute users are bucketed by (default `targetingKey`).
    #[serde(default)]
    pub stickiness: Option<String>,
    /// Rollout stages; none: the policy's segments at 100%, then its percentages of everyone.
    #[serde(default)]
    pub plan: Option<Vec<Stage>>,
    /// The release whose gradual traffic rollout this flag is (`1.4.0`).
    #[serde(default)]
    pub release: Option<String>,
    /// Advance by itself once the dwell time has passed and the release is healthy.
    #[serde(default)]
    pub auto_advance: bool,
    /// `release` (the default: its plan must rise through the policy's stages) or a kind the
    /// policy exempts (`operational`, a kill switch on for everyone from the start).
    #[serde(default)]
    pub kind: Option<String>,
}

/// A kill switch that was pulled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kill {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// A feature flag and where its rollout stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    /// Key.
    pub key: String,
    /// What the flag guards.
    pub description: String,
    /// Variants.
    pub variants: Vec<Variant>,
    /// Served outside the rollout and when killed.
    pub off_variant: String,
    /// Context attribute users are bucketed by.
    pub stickiness: String,
    /// Rollout stages, in order.
    pub plan: Vec<Stage>,
    /// `release`, or a kind the policy exempts from the rising rollout (`operational`).
    #[serde(default = "release_kind")]
    pub kind: String,
    /// Index of the current stage; none: not started (everyone gets the off variant).
    pub stage: Option<usize>,
    /// When the current stage started.
    pub stage_started_at: Option<Timestamp>,
    /// Set while the kill switch is pulled.
    pub killed: Option<Kill>,
    /// The release this flag rolls out.
    pub release_id: Option<Uuid>,
    /// Its version.
    pub release_version: Option<String>,
    /// Advance by itself when the dwell has passed and the release is healthy.
    pub auto_advance: bool,
    /// Created when.
    pub created_at: Timestamp,
    /// Created by whom.
    pub created_by: String,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// What happened to a flag; each is stored in the event log and audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FlagEvent {
    /// A flag was created (not started: everyone gets its off variant).
    FlagCreated {
        /// The flag as created.
        flag: Box<Flag>,
        /// Who.
        actor: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The rollout moved to its next stage.
    FlagStageAdvanced {
        /// Flag key.
        key: String,
        /// The new stage's index.
        stage: usize,
        /// The new stage (`everyone 25%`).
        label: String,
        /// Advanced by the scheduler rather than a person.
        automatic: bool,
        /// Who.
        actor: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The kill switch was pulled: everyone gets the off variant at once.
    FlagKilled {
        /// Flag key.
        key: String,
        /// Why.
        reason: String,
        /// Who.
        actor: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The kill switch was released: the rollout serves its current stage again.
    FlagRestored {
        /// Flag key.
        key: String,
        /// Who.
        actor: String,
        /// When.
        timestamp: Timestamp,
    },
}

impl FlagEvent {
    /// The event's name (`flag_killed`).
    pub fn name(&self) -> &'static str {
        match self {
            FlagEvent::FlagCreated { .. } => "flag_created",
            FlagEvent::FlagStageAdvanced { .. } => "flag_stage_advanced",
            FlagEvent::FlagKilled { .. } => "flag_killed",
            FlagEvent::FlagRestored { .. } => "flag_restored",
        }
    }

    /// Who caused it.
    pub fn actor(&self) -> &str {
        match self {
            FlagEvent::FlagCreated { actor, .. }
            | FlagEvent::FlagStageAdvanced { actor, .. }
            | FlagEvent::FlagKilled { actor, .. }
            | FlagEvent::FlagRestored { actor, .. } => actor,
        }
    }

    /// When.
    pub fn timestamp(&self) -> Timestamp {
        match self {
            FlagEvent::FlagCreated { timestamp, .. }
            | FlagEvent::FlagStageAdvanced { timestamp, .. }
            | FlagEvent::FlagKilled { timestamp, .. }
            | FlagEvent::FlagRestored { timestamp, .. } => *timestamp,
        }
    }
}

/// The kind of a flag that rolls out a release's change: its plan must rise.
pub const RELEASE_KIND: &str = "release";

fn release_kind() -> String {
    RELEASE_KIND.to_string()
}

/// The release a new flag is tied to, looked up by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRelease {
    /// Release ID.
    pub release_id: Uuid,
    /// Version.
    pub version: String,
}

/// The default plan: each policy segment at 100% in order, then the policy's percentages of
/// everyone.
pub fn default_plan(policy: &FeatureFlagPolicy) -> Vec<Stage> {
    let segments = policy.segment_order.iter().map(|s| Stage {
        segment: Some(s.clone()),
        percentage: 100,
    });
    let everyone = policy.stages.iter().map(|p| Stage {
        segment: None,
        percentage: *p,
    });
    segments.chain(everyone).collect()
}

fn input(message: impl Into<String>, satisfy: impl Into<String>) -> Refusal {
    Refusal::one(Rule::Input, message, satisfy)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && key.len() <= 100
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Creates a flag from `spec` (not started), refusing what cannot be served.
pub fn create(
    spec: &FlagSpec,
    release: Option<FlagRelease>,
    policy: &FeatureFlagPolicy,
    actor: &Actor,
    now: Timestamp,
) -> Result<FlagEvent, Refusal> {
    actor.require(Action::ManageFeatureFlags)?;
    if !valid_key(&spec.key) {
        return Err(input(
            format!("flag key {:?} is not usable", spec.key),
            "use 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit",
        ));
    }
    let variants = if spec.variants.is_empty() {
        boolean_variants()
    } else {
        spec.variants.clone()
    };
    check_variants(&variants)?;
    let off_variant = spec.off_variant.clone().unwrap_or_else(|| "off".into());
    if !variants.iter().any(|v| v.name == off_variant) {
        return Err(input(
            format!("off variant {off_variant:?} is not one of the variants"),
            "name one of the flag's variants as off_variant",
        ));
    }
    let kind = flag_kind(spec, policy)?;
    let plan = spec.plan.clone().unwrap_or_else(|| default_plan(policy));
    check_plan(&plan, policy)?;
    if !policy.exempt_kinds.contains(&kind) {
        check_rollout_rises(&plan, policy)?;
    }
    let flag = Flag {
        key: spec.key.clone(),
        description: spec.description.clone(),
        variants,
        off_variant,
        stickiness: spec
            .stickiness
            .clone()
            .unwrap_or_else(|| "targetingKey".into()),
        plan,
        kind,
        stage: None,
        stage_started_at: None,
        killed: None,
        release_id: release.as_ref().map(|r| r.release_id),
        release_version: release.map(|r| r.version),
        auto_advance: spec.auto_advance,
        created_at: now,
        created_by: actor.id.clone(),
        updated_at: now,
    };
    Ok(FlagEvent::FlagCreated {
        flag: Box::new(flag),
        actor: actor.id.clone(),
        timestamp: now,
    })
}

fn boolean_variants() -> Vec<Variant> {
    vec![
        Variant {
            name: "on".into(),
            value: Value::Bool(true),
            weight: 1,
        },
        Variant {
            name: "off".into(),
            value: Value::Bool(false),
            weight: 0,
        },
    ]
}

fn check_variants(variants: &[Variant]) -> Result<(), Refusal> {
    let mut names = std::collections::BTreeSet::new();
    for v in variants {
        if v.name.trim().is_empty() || !names.insert(v.name.as_str()) {
            return Err(input(
                format!("variant name {:?} is empty or repeated", v.name),
                "give each variant a distinct name",
            ));
        }
    }
    if variants.iter().all(|v| v.weight == 0) {
        return Err(input(
            "no variant has a weight, so users in the rollout would get nothing",
            "give at least one variant a weight above 0",
        ));
    }
    Ok(())
}

fn check_plan(plan: &[Stage], policy: &FeatureFlagPolicy) -> Result<(), Refusal> {
    if plan.is_empty() {
        return Err(input(
            "the rollout plan has no stages",
            "give at least one stage, ending with everyone at 100%",
        ));
    }
    for stage in plan {
        if !(1..=100).contains(&stage.percentage) {
            return Err(input(
                format!("stage {} is not a percentage", stage.label()),
                "use a percentage from 1 to 100",
            ));
        }
        if let Some(segment) = &stage.segment
            && !policy.segments.contains_key(segment)
        {
            let known: Vec<&str> = policy.segments.keys().map(String::as_str).collect();
            return Err(input(
                format!("segment {segment:?} is not in the policy"),
                format!("use one of: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// The flag's kind: `release` unless given, and then `release` or a kind the policy exempts.
fn flag_kind(spec: &FlagSpec, policy: &FeatureFlagPolicy) -> Result<String, Refusal> {
    let kind = spec.kind.as_deref().map(str::trim).unwrap_or(RELEASE_KIND);
    if kind == RELEASE_KIND || policy.exempt_kinds.iter().any(|k| k == kind) {
        return Ok(kind.to_string());
    }
    let mut known = vec![RELEASE_KIND];
    known.extend(policy.exempt_kinds.iter().map(String::as_str));
    Err(input(
        format!("flag kind {kind:?} is not known"),
        format!("use one of: {}", known.join(", ")),
    ))
}

/// The spec's gradual rollout (10% -> 25% -> 50% -> 100%): a release flag's stages for everyone
/// come after its segments, rise, skip none of the policy's percentages and end at 100%.
fn check_rollout_rises(plan: &[Stage], policy: &FeatureFlagPolicy) -> Result<(), Refusal> {
    let everyone: Vec<u8> = plan
        .iter()
        .filter(|s| s.segment.is_none())
        .map(|s| s.percentage)
        .collect();
    let first_everyone = plan.iter().position(|s| s.segment.is_none());
    let mut problems = Vec::new();
    if first_everyone.is_some_and(|i| plan[i..].iter().any(|s| s.segment.is_some())) {
        problems.push("a segment stage comes after stages for everyone".to_string());
    }
    if let Some(pair) = everyone.windows(2).find(|w| w[0] >= w[1]) {
        problems.push(format!("it falls from {}% to {}%", pair[0], pair[1]));
    }
    let skipped: Vec<String> = policy
        .stages
        .iter()
        .filter(|p| !everyone.contains(p))
        .map(|p| format!("{p}%"))
        .collect();
    if !skipped.is_empty() {
        problems.push(format!("it skips {}", skipped.join(", ")));
    }
    if everyone.last() != Some(&100) {
        problems.push("it does not end with everyone at 100%".to_string());
    }
    if problems.is_empty() {
        return Ok(());
    }
    let labels: Vec<String> = plan.iter().map(Stage::label).collect();
    let stages: Vec<String> = policy.stages.iter().map(|p| p.to_string()).collect();
    Err(Refusal::one(
        Rule::FlagRolloutPlan,
        format!(
            "a release flag's rollout must rise through {}% for everyone, but [{}]: {}",
            stages.join("% -> "),
            labels.join(", "),
            problems.join("; ")
        ),
        format!(
            "give the stages {} (steps between them are fine) or leave the plan out for the \
             policy's; a flag of an exempt kind ({}) may start at any stage",
            stages.join(", "),
            policy.exempt_kinds.join(", ")
        ),
    ))
}

/// The time left before the current stage's dwell time has passed (zero when it has).
pub fn dwell_left(flag: &Flag, policy: &FeatureFlagPolicy, now: Timestamp) -> SignedDuration {
    let Some(started) = flag.stage_started_at else {
        return SignedDuration::ZERO;
    };
    let dwell = SignedDuration::from_mins(i64::from(policy.min_stage_minutes));
    let passed = now.duration_since(started);
    (dwell - passed).max(SignedDuration::ZERO)
}

/// Moves the rollout to its next stage: refused while killed, at the last stage, or before the
/// current stage has been watched for the policy's minimum time (with the time left).
pub fn advance(
    flag: &Flag,
    policy: &FeatureFlagPolicy,
    actor: &Actor,
    now: Timestamp,
    automatic: bool,
    tz: &jiff::tz::TimeZone,
) -> Result<FlagEvent, Refusal> {
    actor.require(Action::ManageFeatureFlags)?;
    if flag.killed.is_some() {
        return Err(Refusal::one(
            Rule::FlagRollout,
            format!("{} is killed", flag.key),
            format!("restore it first (greenlight flag restore {})", flag.key),
        ));
    }
    let next = flag.stage.map_or(0, |s| s + 1);
    let Some(stage) = flag.plan.get(next) else {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("{} is at its last stage", flag.key),
            "nothing to advance; the rollout is complete",
        ));
    };
    let left = dwell_left(flag, policy, now);
    if flag.stage.is_some() && left > SignedDuration::ZERO {
        let until = (now + left).to_zoned(tz.clone()).strftime("%H:%M:%S %Z");
        return Err(Refusal::one(
            Rule::FlagDwell,
            format!(
                "{} has been at {} for less than {} minutes",
                flag.key,
                flag.stage
                    .and_then(|s| flag.plan.get(s))
                    .map_or_else(String::new, Stage::label),
                policy.min_stage_minutes
            ),
            format!("wait {} (until {until})", minutes_seconds(left)),
        ));
    }
    Ok(FlagEvent::FlagStageAdvanced {
        key: flag.key.clone(),
        stage: next,
        label: stage.label(),
        automatic,
        actor: actor.id.clone(),
        timestamp: now,
    })
}

/// `14m 59s`, rounded up so that a wait is never shown as zero.
fn minutes_seconds(d: SignedDuration) -> String {
    let secs = (d.as_millis() + 999) / 1000;
    format!("{}m {:02}s", secs / 60, secs % 60)
}

/// Pulls the kill switch (engineering lead or on-call engineer).
pub fn kill(
    flag: &Flag,
    reason: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<FlagEvent, Refusal> {
    actor.require(Action::KillFeatureFlag)?;
    if flag.killed.is_some() {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("{} is already killed", flag.key),
            "nothing to do; restore it when it is safe",
        ));
    }
    if reason.trim().is_empty() {
        return Err(input(
            "a kill needs a reason",
            "say why (--reason \"scores not saved\")",
        ));
    }
    Ok(FlagEvent::FlagKilled {
        key: flag.key.clone(),
        reason: reason.to_string(),
        actor: actor.id.clone(),
        timestamp: now,
    })
}

/// Releases the kill switch: the current stage is served again and its dwell starts over.
pub fn restore(flag: &Flag, actor: &Actor, now: Timestamp) -> Result<FlagEvent, Refusal> {
    actor.require(Action::KillFeatureFlag)?;
    if flag.killed.is_none() {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("{} is not killed", flag.key),
            "nothing to restore",
        ));
    }
    Ok(FlagEvent::FlagRestored {
        key: flag.key.clone(),
        actor: actor.id.clone(),
        timestamp: now,
    })
}

impl Flag {
    /// Folds an event into the flag; never refuses.
    pub fn apply(&mut self, event: &FlagEvent) {
        match event {
            FlagEvent::FlagCreated { flag, .. } => *self = (**flag).clone(),
            FlagEvent::FlagStageAdvanced {
                stage, timestamp, ..
            } => {
                self.stage = Some(*stage);
                self.stage_started_at = Some(*timestamp);
            }
            FlagEvent::FlagKilled {
                reason,
                actor,
                timestamp,
                ..
            } => {
                self.killed = Some(Kill {
                    at: *timestamp,
                    by: actor.clone(),
                    reason: reason.clone(),
                });
            }
            FlagEvent::FlagRestored { timestamp, .. } => {
                self.killed = None;
                if self.stage.is_some() {
                    self.stage_started_at = Some(*timestamp);
                }
            }
        }
        self.updated_at = event.timestamp();
    }

    /// The current stage, if started.
    pub fn current_stage(&self) -> Option<&Stage> {
        self.stage.and_then(|s| self.plan.get(s))
    }
}

/// Why a flag evaluated as it did (OpenFeature's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// Everyone gets the rollout (everyone at 100%).
    Static,
    /// A segment at 100% matched.
    TargetingMatch,
    /// The user's bucket is inside a partial rollout.
    Split,
    /// The kill switch is pulled.
    Disabled,
    /// Outside the rollout (or not started): the off variant.
    Default,
}

impl Reason {
    /// Every reason, in declaration order (`Reason::ALL[r as usize] == r`), so answers can be
    /// prepared per reason ahead of evaluation.
    pub const ALL: [Reason; 5] = [
        Reason::Static,
        Reason::TargetingMatch,
        Reason::Split,
        Reason::Disabled,
        Reason::Default,
    ];
}

/// Everything evaluation needs of one flag, prepared once per change so that evaluating is a
/// hash and a few comparisons.
#[derive(Debug, Clone)]
pub struct CompiledFlag {
    /// Key.
    pub key: String,
    /// Variants (names and values).
    pub variants: Vec<Variant>,
    seed: u64,
    stickiness: String,
    off: usize,
    killed: bool,
    /// (segment, threshold in buckets): in when the segment matches and bucket < threshold.
    rollout: Vec<(Option<Segment>, u64)>,
    /// Cumulative weights of the variants, for the variant hash.
    cumulative: Vec<(u64, usize)>,
    total_weight: u64,
}

/// What evaluating a flag for one context gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Index into [`CompiledFlag::variants`].
    pub variant: usize,
    /// Why.
    pub reason: Reason,
}

/// The evaluation context: attributes as JSON (`targetingKey`, `email`, `groups`).
pub type Context = serde_json::Map<String, Value>;

impl CompiledFlag {
    /// Prepares `flag` with the policy's segments.
    pub fn new(flag: &Flag, segments: &BTreeMap<String, Segment>) -> CompiledFlag {
        let mut thresholds: Vec<(Option<String>, u64)> = Vec::new();
        let upto = flag.stage.map_or(0, |s| s + 1);
        for stage in flag.plan.iter().take(upto) {
            let threshold = u64::from(stage.percentage) * BUCKETS / 100;
            match thresholds.iter_mut().find(|(s, _)| *s == stage.segment) {
                Some(entry) => entry.1 = threshold,
                None => thresholds.push((stage.segment.clone(), threshold)),
            }
        }
        let rollout = thresholds
            .into_iter()
            .filter_map(|(name, t)| match name {
                None => Some((None, t)),
                Some(name) => segments.get(&name).map(|s| (Some(s.clone()), t)),
            })
            .collect();
        let mut total = 0;
        let mut cumulative = Vec::new();
        for (i, v) in flag.variants.iter().enumerate() {
            if v.weight > 0 {
                total += u64::from(v.weight);
                cumulative.push((total, i));
            }
        }
        CompiledFlag {
            key: flag.key.clone(),
            variants: flag.variants.clone(),
            seed: xxh3_64(flag.key.as_bytes()),
            stickiness: flag.stickiness.clone(),
            off: flag
                .variants
                .iter()
                .position(|v| v.name == flag.off_variant)
                .unwrap_or(0),
            killed: flag.killed.is_some(),
            rollout,
            cumulative,
            total_weight: total,
        }
    }

    /// Evaluates the flag for `context`.
    pub fn evaluate(&self, context: &Context) -> Resolution {
        let off = |reason| Resolution {
            variant: self.off,
            reason,
        };
        if self.killed {
            return off(Reason::Disabled);
        }
        let id = context.get(&self.stickiness).and_then(sticky_text);
        let bucket = id.as_deref().map(|id| self.bucket(id));
        for (segment, threshold) in &self.rollout {
            if segment.as_ref().is_some_and(|s| !s.matches(context)) {
                continue;
            }
            let full = *threshold >= BUCKETS;
            let inside = full || bucket.is_some_and(|b| b < *threshold);
            if inside {
                let reason = match (segment, full) {
                    (_, false) => Reason::Split,
                    (Some(_), true) => Reason::TargetingMatch,
                    (None, true) => Reason::Static,
                };
                return Resolution {
                    variant: self.pick_variant(id.as_deref()),
                    reason,
                };
            }
        }
        off(Reason::Default)
    }

    /// The user's bucket for this flag, `0..BUCKETS`.
    pub fn bucket(&self, id: &str) -> u64 {
        xxh3_64_with_seed(id.as_bytes(), self.seed) % BUCKETS
    }

    fn pick_variant(&self, id: Option<&str>) -> usize {
        let first = self.cumulative.first().map_or(self.off, |(_, i)| *i);
        let (Some(id), true) = (id, self.cumulative.len() > 1) else {
            return first;
        };
        let point = xxh3_64_with_seed(id.as_bytes(), self.seed ^ VARIANT_SALT) % self.total_weight;
        self.cumulative
            .iter()
            .find(|(upto, _)| point < *upto)
            .map_or(first, |(_, i)| *i)
    }
}

/// A stickiness value as text: strings as they are, numbers in their JSON form.
fn sticky_text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) if !s.is_empty() => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

impl Segment {
    /// Whether every condition holds for `context`.
    pub fn matches(&self, context: &Context) -> bool {
        self.rules
            .iter()
            .all(|c| c.holds(context.get(&c.attribute)))
    }
}

impl Condition {
    /// Whether the condition holds for the attribute's value (`None`: missing).
    pub fn holds(&self, value: Option<&Value>) -> bool {
        match self.operator {
            Operator::NotIn => !self.any_text(value, |t, v| t == v),
            Operator::In => self.any_text(value, |t, v| t == v),
            Operator::StartsWith => self.any_text(value, |t, v| t.starts_with(v)),
            Operator::EndsWith => self.any_text(value, |t, v| t.ends_with(v)),
            Operator::Contains => self.any_text(value, |t, v| t.contains(v)),
            Operator::SemverEq | Operator::SemverGt | Operator::SemverLt => {
                self.compare(value, |t| semver::Version::parse(t).ok())
            }
            Operator::NumEq | Operator::NumGt | Operator::NumLt => self.compare(value, |t| {
                t.parse::<f64>().ok().filter(|n| n.is_finite()).map(OrdF64)
            }),
            Operator::DateBefore | Operator::DateAfter => {
                self.compare(value, |t| t.parse::<Timestamp>().ok())
            }
        }
    }

    fn any_text(&self, value: Option<&Value>, test: impl Fn(&str, &str) -> bool) -> bool {
        let texts: Vec<std::borrow::Cow<'_, str>> = match value {
            Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            Some(other) => scalar_text(other).into_iter().collect(),
            None => Vec::new(),
        };
        texts.iter().any(|t| self.values.iter().any(|v| test(t, v)))
    }

    fn compare<T: PartialOrd>(
        &self,
        value: Option<&Value>,
        parse: impl Fn(&str) -> Option<T>,
    ) -> bool {
        let Some(text) = value.and_then(scalar_text) else {
            return false;
        };
        let (Some(actual), Some(expected)) =
            (parse(&text), self.values.first().and_then(|v| parse(v)))
        else {
            return false;
        };
        match self.operator {
            Operator::SemverEq | Operator::NumEq => actual == expected,
            Operator::SemverGt | Operator::NumGt | Operator::DateAfter => actual > expected,
            _ => actual < expected,
        }
    }

    /// Why the condition can never hold as written (a value that does not parse), if so.
    pub fn problem(&self) -> Option<String> {
        let first = self.values.first();
        let parses = match self.operator {
            Operator::SemverEq | Operator::SemverGt | Operator::SemverLt => {
                first.is_some_and(|v| semver::Version::parse(v).is_ok())
            }
            Operator::NumEq | Operator::NumGt | Operator::NumLt => {
                first.is_some_and(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
            }
            Operator::DateBefore | Operator::DateAfter => {
                first.is_some_and(|v| v.parse::<Timestamp>().is_ok())
            }
            _ => !self.values.is_empty(),
        };
        (!parses).then(|| {
            format!(
                "{:?} needs {}",
                self.operator,
                match self.operator {
                    Operator::SemverEq | Operator::SemverGt | Operator::SemverLt =>
                        "a semantic version such as \"2.3.0\"",
                    Operator::NumEq | Operator::NumGt | Operator::NumLt => "a number",
                    Operator::DateBefore | Operator::DateAfter =>
                        "an RFC 3339 time such as \"2026-09-01T00:00:00Z\"",
                    _ => "at least one value",
                }
            )
        })
    }
}

/// A finite float with an order (NaN is filtered out before).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct OrdF64(f64);

fn scalar_text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "true"
        } else {
            "false"
        })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::roles::Role;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-24T18:00:00Z".parse().unwrap()
    }

    fn lead() -> Actor {
        Actor::user("erin", [Role::EngineeringLead])
    }

    fn tz() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get("America/Los_Angeles").unwrap()
    }

    fn policy() -> FeatureFlagPolicy {
        FeatureFlagPolicy::default()
    }

    fn created(spec: &FlagSpec) -> Flag {
        let event = create(spec, None, &policy(), &lead(), now()).unwrap();
        let FlagEvent::FlagCreated { flag, .. } = event else {
            panic!("not a creation")
        };
        *flag
    }

    fn boolean(key: &str) -> Flag {
        created(&FlagSpec {
            key: key.into(),
            description: String::new(),
            variants: vec![],
            off_variant: None,
            stickiness: None,
            plan: None,
            release: None,
            auto_advance: false,
            kind: None,
        })
    }

    #[test]
    fn reason_all_is_in_declaration_order() {
        for (i, reason) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, i);
        }
    }

    fn context(pairs: Value) -> Context {
        pairs.as_object().cloned().unwrap()
    }

    /// Advances `flag` `n` times, each after the dwell time.
    fn advanced(mut flag: Flag, n: usize) -> (Flag, Timestamp) {
        let mut at = now();
        for _ in 0..n {
            at += SignedDuration::from_mins(16);
            let event = advance(&flag, &policy(), &lead(), at, false, &tz()).unwrap();
            flag.apply(&event);
        }
        (flag, at)
    }

    fn on(flag: &Flag, ctx: &Context) -> bool {
        let compiled = CompiledFlag::new(flag, &policy().segments);
        let resolution = compiled.evaluate(ctx);
        compiled.variants[resolution.variant].value == json!(true)
    }

    #[test]
    fn the_default_plan_is_segments_first_then_ten_twenty_five_fifty_hundred() {
        let labels: Vec<String> = boolean("f").plan.iter().map(Stage::label).collect();
        assert_eq!(
            labels,
            [
                "internal_users 100%",
                "beta_testers 100%",
                "everyone 10%",
                "everyone 25%",
                "everyone 50%",
                "everyone 100%"
            ]
        );
    }

    #[test]
    fn a_new_flag_serves_its_off_variant_to_everyone() {
        let flag = boolean("f");
        let staff = context(json!({"targetingKey": "u1", "groups": ["internal"]}));
        assert!(!on(&flag, &staff));
        let compiled = CompiledFlag::new(&flag, &policy().segments);
        assert_eq!(compiled.evaluate(&staff).reason, Reason::Default);
    }

    #[test]
    fn segment_order_internal_users_then_beta_testers_then_everyone() {
        let staff = context(json!({"targetingKey": "s", "groups": ["internal"]}));
        let beta = context(json!({"targetingKey": "b", "groups": ["beta"]}));
        let student = context(json!({"targetingKey": "x"}));
        let (first, _) = advanced(boolean("f"), 1);
        assert!(on(&first, &staff) && !on(&first, &beta) && !on(&first, &student));
        let (second, _) = advanced(boolean("f"), 2);
        assert!(on(&second, &staff) && on(&second, &beta) && !on(&second, &student));
        let (all, _) = advanced(boolean("f"), 6);
        assert!(on(&all, &student));
        let compiled = CompiledFlag::new(&all, &policy().segments);
        assert_eq!(compiled.evaluate(&student).reason, Reason::Static);
    }

    #[test]
    fn advancing_before_the_dwell_time_is_refused_with_the_time_left() {
        let flag = boolean("f");
        let started = advance(&flag, &policy(), &lead(), now(), false, &tz()).unwrap();
        let mut flag = flag;
        flag.apply(&started);
        let early = now() + SignedDuration::from_secs(14 * 60 + 10);
        let refusal = advance(&flag, &policy(), &lead(), early, false, &tz()).unwrap_err();
        assert_eq!(refusal.reasons[0].rule, Rule::FlagDwell);
        assert!(
            refusal.reasons[0].satisfy == "wait 0m 50s (until 10:15:00 PST)",
            "{refusal}"
        );
        let in_time = now() + SignedDuration::from_mins(15);
        assert!(advance(&flag, &policy(), &lead(), in_time, false, &tz()).is_ok());
    }

    #[test]
    fn only_leads_manage_and_only_leads_and_on_call_kill() {
        let flag = boolean("f");
        let qa = Actor::user("q", [Role::QaLead]);
        let on_call = Actor::user("o", [Role::OnCallEngineer]);
        let refused = advance(&flag, &policy(), &qa, now(), false, &tz()).unwrap_err();
        assert_eq!(refused.reasons[0].rule, Rule::Permission);
        assert_eq!(
            kill(&flag, "x", &qa, now()).unwrap_err().reasons[0].rule,
            Rule::Permission
        );
        assert!(kill(&flag, "scores lost", &on_call, now()).is_ok());
    }

    #[test]
    fn a_killed_flag_serves_off_and_does_not_advance_until_restored() {
        let (mut flag, at) = advanced(boolean("f"), 6);
        let killed = kill(&flag, "scores lost", &lead(), at).unwrap();
        flag.apply(&killed);
        let student = context(json!({"targetingKey": "x"}));
        assert!(!on(&flag, &student));
        let later = at + SignedDuration::from_mins(60);
        let refused = advance(&flag, &policy(), &lead(), later, false, &tz()).unwrap_err();
        assert_eq!(refused.reasons[0].rule, Rule::FlagRollout);
        flag.apply(&restore(&flag, &lead(), later).unwrap());
        assert!(on(&flag, &student));
        assert_eq!(flag.stage_started_at, Some(later), "dwell starts over");
    }

    #[test]
    fn a_user_in_at_ten_percent_stays_in_at_every_later_stage() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("student-{i}")).collect();
        let mut previous: Option<Vec<bool>> = None;
        for stage in 3..=6 {
            let (flag, _) = advanced(boolean("new-rhythm-game"), stage);
            let now_on: Vec<bool> = ids
                .iter()
                .map(|id| on(&flag, &context(json!({ "targetingKey": id }))))
                .collect();
            if let Some(before) = &previous {
                assert!(
                    before.iter().zip(&now_on).all(|(b, n)| !b || *n),
                    "someone dropped out at stage {stage}"
                );
            }
            previous = Some(now_on);
        }
    }

    #[test]
    fn percentages_are_close_to_their_targets() {
        let (flag, _) = advanced(boolean("f"), 4); // everyone 25%
        let hits = (0..100_000)
            .filter(|i| on(&flag, &context(json!({ "targetingKey": format!("u{i}") }))))
            .count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
    }

    #[test]
    fn buckets_are_uniform_by_chi_square_over_100k_ids() {
        let compiled = CompiledFlag::new(&boolean("new-rhythm-game"), &policy().segments);
        let mut counts = [0u64; 100];
        for i in 0..100_000 {
            let bucket = compiled.bucket(&format!("user-{i}"));
            counts[(bucket * 100 / BUCKETS) as usize] += 1;
        }
        let expected = 1_000.0;
        let chi: f64 = counts
            .iter()
            .map(|c| (*c as f64 - expected).powi(2) / expected)
            .sum();
        // 99 degrees of freedom: the 0.999 quantile is 148.2.
        assert!(chi < 148.2, "chi-square {chi}");
    }

    #[test]
    fn buckets_are_stable_across_versions_and_platforms() {
        // Pinned values: a change here moves real users between in and out.
        let compiled = CompiledFlag::new(&boolean("new-rhythm-game"), &policy().segments);
        assert_eq!(
            [compiled.bucket("student-1"), compiled.bucket("student-2")],
            PINNED
        );
    }

    /// Computed independently with Python's `xxhash` (`xxh3_64_intdigest(id, seed=xxh3_64_intdigest(key)) % 10000`).
    const PINNED: [u64; 2] = [4588, 9107];

    #[test]
    fn variants_split_by_weight_and_stick() {
        let flag = created(&FlagSpec {
            key: "theme".into(),
            description: String::new(),
            variants: vec![
                Variant {
                    name: "off".into(),
                    value: json!({"color": "grey"}),
                    weight: 0,
                },
                Variant {
                    name: "blue".into(),
                    value: json!({"color": "blue"}),
                    weight: 3,
                },
                Variant {
                    name: "green".into(),
                    value: json!({"color": "green"}),
                    weight: 1,
                },
            ],
            off_variant: None,
            stickiness: Some("school_id".into()),
            plan: Some(vec![Stage {
                segment: None,
                percentage: 100,
            }]),
            release: None,
            auto_advance: false,
            // Everyone at once: only an exempt kind may skip the gradual rollout.
            kind: Some("operational".into()),
        });
        let (flag, _) = advanced(flag, 1);
        let compiled = CompiledFlag::new(&flag, &policy().segments);
        let mut blue = 0;
        for i in 0..40_000 {
            let ctx = context(json!({ "school_id": i }));
            let r = compiled.evaluate(&ctx);
            if compiled.variants[r.variant].name == "blue" {
                blue += 1;
            }
            assert_eq!(compiled.evaluate(&ctx), r, "sticky");
        }
        assert!((29_000..31_000).contains(&blue), "{blue}");
    }

    #[test]
    fn segment_operators() {
        let rule = |attribute: &str, operator, values: &[&str]| Condition {
            attribute: attribute.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let ctx = context(json!({
            "email": "robin@mlc.example", "app_version": "2.10.1", "grade": 7,
            "groups": ["beta", "teachers"], "joined": "2026-01-10T00:00:00Z"
        }));
        let holds = |c: Condition| c.holds(ctx.get(&c.attribute));
        assert!(holds(rule("groups", Operator::In, &["beta"])));
        assert!(holds(rule("groups", Operator::NotIn, &["internal"])));
        assert!(holds(rule("missing", Operator::NotIn, &["x"])));
        assert!(!holds(rule("missing", Operator::In, &["x"])));
        assert!(holds(rule("email", Operator::EndsWith, &["@mlc.example"])));
        assert!(holds(rule("email", Operator::StartsWith, &["rob"])));
        assert!(holds(rule("email", Operator::Contains, &["@mlc"])));
        assert!(
            holds(rule("app_version", Operator::SemverGt, &["2.9.0"])),
            "2.10 > 2.9, not by text"
        );
        assert!(holds(rule("app_version", Operator::SemverLt, &["3.0.0"])));
        assert!(holds(rule("app_version", Operator::SemverEq, &["2.10.1"])));
        assert!(holds(rule("grade", Operator::NumGt, &["6"])));
        assert!(holds(rule("grade", Operator::NumLt, &["7.5"])));
        assert!(holds(rule("grade", Operator::NumEq, &["7"])));
        assert!(holds(rule("grade", Operator::In, &["7"])));
        assert!(holds(rule(
            "joined",
            Operator::DateBefore,
            &["2026-09-01T00:00:00Z"]
        )));
        assert!(!holds(rule(
            "joined",
            Operator::DateAfter,
            &["2026-09-01T00:00:00Z"]
        )));
        assert!(
            !holds(rule("email", Operator::SemverGt, &["1.0.0"])),
            "not a version"
        );
        assert!(
            rule("grade", Operator::NumGt, &["seven"])
                .problem()
                .is_some()
        );
        assert!(rule("grade", Operator::NumGt, &["7"]).problem().is_none());
    }

    #[test]
    fn bad_flags_are_refused_with_what_would_do() {
        let mut spec = FlagSpec {
            key: "bad key!".into(),
            description: String::new(),
            variants: vec![],
            off_variant: None,
            stickiness: None,
            plan: None,
            release: None,
            auto_advance: false,
            kind: None,
        };
        let refused = create(&spec, None, &policy(), &lead(), now()).unwrap_err();
        assert_eq!(refused.reasons[0].rule, Rule::Input);
        spec.key = "ok".into();
        spec.plan = Some(vec![Stage {
            segment: Some("teachers".into()),
            percentage: 100,
        }]);
        let refused = create(&spec, None, &policy(), &lead(), now()).unwrap_err();
        assert!(
            refused.reasons[0].satisfy.contains("internal_users"),
            "{refused}"
        );
        spec.plan = None;
        spec.off_variant = Some("dark".into());
        assert!(create(&spec, None, &policy(), &lead(), now()).is_err());
    }

    fn everyone(percentages: &[u8]) -> Option<Vec<Stage>> {
        let stages = percentages.iter().map(|p| Stage {
            segment: None,
            percentage: *p,
        });
        Some(stages.collect())
    }

    #[test]
    fn a_release_flag_rollout_rises_through_the_policy_stages() {
        let mut spec = FlagSpec {
            key: "new-rhythm-game".into(),
            description: String::new(),
            variants: vec![],
            off_variant: None,
            stickiness: None,
            plan: everyone(&[100]),
            release: None,
            auto_advance: false,
            kind: None,
        };
        let refused = create(&spec, None, &policy(), &lead(), now()).unwrap_err();
        assert_eq!(refused.reasons[0].rule, Rule::FlagRolloutPlan);
        assert!(
            refused.reasons[0].message.contains("skips 10%, 25%, 50%"),
            "{refused}"
        );
        spec.plan = everyone(&[50, 10]);
        let refused = create(&spec, None, &policy(), &lead(), now()).unwrap_err();
        assert_eq!(refused.reasons[0].rule, Rule::FlagRolloutPlan);
        assert!(
            refused.reasons[0].message.contains("falls from 50% to 10%"),
            "{refused}"
        );
        assert!(refused.reasons[0].satisfy.contains("10, 25, 50, 100"));
        // Steps between the policy's stages are fine, and so are segments first.
        let mut plan = vec![Stage {
            segment: Some("internal_users".into()),
            percentage: 100,
        }];
        plan.extend(everyone(&[5, 10, 25, 50, 75, 100]).unwrap_or_default());
        spec.plan = Some(plan);
        assert!(create(&spec, None, &policy(), &lead(), now()).is_ok());
        // An operational kill switch is exempt: on for everyone from the start.
        spec.plan = everyone(&[100]);
        spec.kind = Some("operational".into());
        let FlagEvent::FlagCreated { flag, .. } =
            create(&spec, None, &policy(), &lead(), now()).unwrap()
        else {
            panic!("not a creation")
        };
        assert_eq!(flag.kind, "operational");
        spec.kind = Some("whatever".into());
        let refused = create(&spec, None, &policy(), &lead(), now()).unwrap_err();
        assert!(refused.reasons[0].satisfy.contains("release, operational"));
    }
}
