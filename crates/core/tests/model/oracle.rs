//! The invariants, checked after every step against the history of what the core accepted.
//!
//! The oracle does not call the functions the core decides with (`approval_status`,
//! `phase_status`, `check_window`, `go_no_go_decision`, `CompiledFlag`'s rollout): it reads the
//! events and recomputes each rule from the spec, the policy's data and the cast's roles, so a
//! rule the core gets wrong shows up as a failed invariant.

use std::collections::{BTreeMap, BTreeSet};

use greenlight_core::flags::{CompiledFlag, FlagEvent, Stage};
use greenlight_core::gates::GatePhase;
use greenlight_core::release::{GoNoGo, ReleaseStatus};
use greenlight_core::{Event, Release, ReleaseType, Role};
use jiff::{SignedDuration, Timestamp};
use semver::Version;
use serde_json::{Value, json};
use uuid::Uuid;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::cast::holds;
use super::policies::blocked;
use super::sim::Sim;

/// The instant a deployment of `release_type` started at `start` is expected to be still
/// running last (its expected end, per the policy's `[deployment]`, minus a second).
fn last_running_instant(sim: &Sim, start: Timestamp, release_type: ReleaseType) -> Timestamp {
    let minutes = sim.policy.deployment.expected_minutes(release_type);
    start + SignedDuration::from_secs(i64::from(minutes) * 60 - 1)
}

/// How often sequences reached the moments the invariants are about (printed after the run, so
/// a generator that stops reaching production shows).
pub mod coverage {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Names and counters.
    pub static COUNTS: [(&str, AtomicUsize); 7] = [
        ("steps", AtomicUsize::new(0)),
        ("production deployments", AtomicUsize::new(0)),
        ("rollbacks", AtomicUsize::new(0)),
        ("deployments after a rollback", AtomicUsize::new(0)),
        ("window overrides", AtomicUsize::new(0)),
        ("flag stages", AtomicUsize::new(0)),
        ("window refusals", AtomicUsize::new(0)),
    ];

    /// Counts one of `name`.
    pub fn count(name: &str) {
        if let Some((_, n)) = COUNTS.iter().find(|(n, _)| *n == name) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts, one line.
    pub fn report() -> String {
        let parts: Vec<String> = COUNTS
            .iter()
            .map(|(name, n)| format!("{name}: {}", n.load(Ordering::Relaxed)))
            .collect();
        parts.join(", ")
    }
}

/// What the oracle tracks across steps, from events alone.
pub struct Oracle {
    /// The version live in production.
    live: Option<Version>,
    /// Runs (deployments, rollbacks) started and not ended, by release.
    runs: BTreeMap<Uuid, &'static str>,
    /// Per release: the candidate last deployed to staging, and the candidates whose production
    /// deployment failed or was rolled back.
    candidates: BTreeMap<Uuid, (Option<Version>, Vec<Version>)>,
    /// Per flag: where its rollout stands, from its events.
    flags: Vec<FlagTrack>,
}

/// A flag as the oracle follows it.
#[derive(Default)]
struct FlagTrack {
    key: String,
    plan: Vec<Stage>,
    off_variant: String,
    /// Its kind is exempt from the rising rollout (an operational kill switch).
    exempt: bool,
    stage: Option<usize>,
    stage_started_at: Option<Timestamp>,
    killed: bool,
}

impl Oracle {
    /// The oracle for a fresh world.
    pub fn new(sim: &Sim) -> Oracle {
        Oracle {
            live: sim.baseline.clone(),
            runs: BTreeMap::new(),
            candidates: BTreeMap::new(),
            flags: Vec::new(),
        }
    }

    /// Checks every invariant after the sim's last step; panics with the story so far if one
    /// fails.
    pub fn check(&mut self, sim: &Sim) {
        if let Err(why) = self.check_step(sim) {
            panic!(
                "invariant broken: {why}\n\nwhat happened (policy {:?}):\n  {}",
                sim,
                sim.log.join("\n  ")
            );
        }
    }

    fn check_step(&mut self, sim: &Sim) -> Result<(), String> {
        let Some(outcome) = &sim.last else {
            return Ok(());
        };
        coverage::count("steps");
        refusal_changes_nothing(&outcome.refused_unchanged)?;
        for (at, release_type) in &outcome.window_refusals {
            coverage::count("window refusals");
            window_refusal_is_the_spec(sim, *at, *release_type)?;
        }
        if let Some(index) = outcome.release {
            replay_equals_state(&sim.histories[index], &sim.releases[index])?;
            for event in &outcome.events {
                decided_now_about_this_release(sim, index, event)?;
                telemetry_shape(event)?;
                self.one_run_at_a_time(event)?;
                self.production_follows_rollbacks(event)?;
                self.retry_with_a_new_candidate(event)?;
                go_no_go_follows_required_roles(sim, event)?;
                self.go_only_with_production_healthy(sim, event)?;
            }
            production_deployments_earned(sim, index)?;
        }
        if let Some(event) = &outcome.flag_event {
            self.follow_flag(sim, event)?;
        }
        self.flags_serve_their_stage(sim)
    }

    /// No two runs at once: a deployment (staging or production) or rollback starts only when no
    /// other run, of any release, is in progress.
    fn one_run_at_a_time(&mut self, event: &Event) -> Result<(), String> {
        let id = event.release_id();
        let started = match event {
            Event::StagingDeploymentStarted { .. } => Some("staging deployment"),
            Event::DeploymentStarted { .. } => Some("production deployment"),
            Event::RollbackInitiated { .. } => Some("rollback"),
            _ => None,
        };
        let ended = matches!(
            event,
            Event::StagingDeploymentCompleted { .. }
                | Event::StagingDeploymentFailed { .. }
                | Event::DeploymentCompleted { .. }
                | Event::DeploymentFailed { .. }
                | Event::RollbackCompleted { .. }
                | Event::RollbackFailed { .. }
        );
        if let Some(kind) = started {
            if let Some((other, what)) = self.runs.iter().next() {
                return Err(format!(
                    "a {kind} of {id} started while a {what} of {other} was in progress"
                ));
            }
            self.runs.insert(id, kind);
        }
        if ended && self.runs.remove(&id).is_none() {
            return Err(format!(
                "{} ended a run that was not in progress",
                event.name()
            ));
        }
        Ok(())
    }

    /// Go/No-Go's "check current production health (no active incidents)": a "go" vote is
    /// recorded only while the release live in production has no open Severity 1 bug and no
    /// health alert raised within the policy's `go_no_go.health_alert_minutes`.
    fn go_only_with_production_healthy(&self, sim: &Sim, event: &Event) -> Result<(), String> {
        let Event::GoNoGoVoteRecorded {
            vote: GoNoGo::Go,
            timestamp,
            ..
        } = event
        else {
            return Ok(());
        };
        let live = sim
            .releases
            .iter()
            .position(|r| Some(&r.record.version) == self.live.as_ref());
        let Some(live) = live else { return Ok(()) };
        let quiet = SignedDuration::from_mins(i64::from(sim.policy.go_no_go.health_alert_minutes));
        let mut open_sev1 = BTreeSet::new();
        for event in &sim.histories[live] {
            match event {
                Event::BugReported {
                    bug_id, severity, ..
                } if severity.level() == 1 => {
                    open_sev1.insert(bug_id.as_str());
                }
                Event::BugResolved { bug_id, .. } => {
                    open_sev1.remove(bug_id.as_str());
                }
                Event::HealthAlertRaised {
                    timestamp: raised, ..
                } if timestamp.duration_since(*raised) < quiet => {
                    return Err(format!(
                        "go voted {} after a health alert on the live release",
                        timestamp.duration_since(*raised)
                    ));
                }
                _ => {}
            }
        }
        match open_sev1.first() {
            Some(bug) => Err(format!(
                "go voted while Severity 1 bug {bug} was open on the live release"
            )),
            None => Ok(()),
        }
    }

    /// A return to staging after a rollback or a failed production deployment deploys a release
    /// candidate other than those that failed (the spec's "schedule retry after fixes").
    fn retry_with_a_new_candidate(&mut self, event: &Event) -> Result<(), String> {
        let (staged, failed) = self.candidates.entry(event.release_id()).or_default();
        match event {
            Event::StagingDeploymentStarted {
                release_candidate, ..
            } => {
                if failed.contains(release_candidate) {
                    return Err(format!(
                        "{release_candidate} went back to staging after it failed in production"
                    ));
                }
                *staged = Some(release_candidate.clone());
            }
            Event::DeploymentFailed { .. } | Event::RollbackCompleted { .. } => {
                failed.extend(staged.iter().cloned());
            }
            _ => {}
        }
        Ok(())
    }

    /// Versions in production rise, rollbacks aside: a deployment completes only with a version
    /// above the one live, a rollback starts from the version live and returns to a lower one.
    fn production_follows_rollbacks(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::DeploymentCompleted { version, .. } => {
                coverage::count("production deployments");
                if let Some(live) = &self.live
                    && version <= live
                {
                    return Err(format!(
                        "{version} reached production while {live} was live: versions must rise"
                    ));
                }
                self.live = Some(version.clone());
            }
            Event::RollbackInitiated {
                from_version,
                to_version,
                ..
            } => {
                if self.live.as_ref() != Some(from_version) {
                    return Err(format!(
                        "a rollback of {from_version} started while {:?} was live",
                        self.live.as_ref().map(Version::to_string)
                    ));
                }
                if to_version >= from_version {
                    return Err(format!("a rollback from {from_version} to {to_version}"));
                }
            }
            Event::RollbackCompleted { to_version, .. } => {
                coverage::count("rollbacks");
                self.live = Some(to_version.clone());
            }
            _ => {}
        }
        Ok(())
    }

    fn follow_flag(&mut self, sim: &Sim, event: &FlagEvent) -> Result<(), String> {
        let policy = &sim.policy.feature_flags;
        match event {
            FlagEvent::FlagCreated { flag, .. } => self.flags.push(FlagTrack {
                key: flag.key.clone(),
                plan: flag.plan.clone(),
                off_variant: flag.off_variant.clone(),
                exempt: policy.exempt_kinds.contains(&flag.kind),
                ..FlagTrack::default()
            }),
            FlagEvent::FlagStageAdvanced {
                key,
                stage,
                timestamp,
                ..
            } => {
                coverage::count("flag stages");
                let track = self.track(key)?;
                rollout_in_order(track, *stage, *timestamp, policy)?;
                track.stage = Some(*stage);
                track.stage_started_at = Some(*timestamp);
            }
            FlagEvent::FlagKilled { key, .. } => self.track(key)?.killed = true,
            FlagEvent::FlagRestored { key, timestamp, .. } => {
                let track = self.track(key)?;
                track.killed = false;
                if track.stage.is_some() {
                    track.stage_started_at = Some(*timestamp);
                }
            }
        }
        Ok(())
    }

    fn track(&mut self, key: &str) -> Result<&mut FlagTrack, String> {
        self.flags
            .iter_mut()
            .find(|f| f.key == key)
            .ok_or_else(|| format!("an event for unknown flag {key}"))
    }

    /// Flags never evaluate outside their plan's current stage, and a killed flag serves off:
    /// for a fixed population (some internal, some beta), a user gets the rollout exactly when a
    /// stage reached so far includes them (their segment, and their sticky bucket under the
    /// stage's percentage), computed here with the spec'd hash.
    fn flags_serve_their_stage(&self, sim: &Sim) -> Result<(), String> {
        for (flag, track) in sim.flags.iter().zip(&self.flags) {
            let compiled = CompiledFlag::new(flag, &sim.policy.feature_flags.segments);
            for user in 0..120u32 {
                let context = population(user);
                let resolution = compiled.evaluate(&context);
                let served = &compiled.variants[resolution.variant].name;
                let expected_on = !track.killed && track.includes(&context);
                let on = *served != track.off_variant;
                if on != expected_on {
                    return Err(format!(
                        "{} served {served} to {context:?} ({:?}); its stage is {:?}, killed: {}",
                        track.key, resolution.reason, track.stage, track.killed
                    ));
                }
            }
        }
        Ok(())
    }
}

/// User `n` of the evaluation population.
fn population(n: u32) -> serde_json::Map<String, Value> {
    let groups = match n % 10 {
        0 => json!(["internal"]),
        1 => json!(["beta"]),
        _ => json!([]),
    };
    let mut context = serde_json::Map::new();
    if n % 40 != 39 {
        context.insert("targetingKey".into(), json!(format!("user-{n}")));
    }
    context.insert("groups".into(), groups);
    context
}

impl FlagTrack {
    /// Whether a stage reached so far includes `context` (a later stage of the same group
    /// replaces an earlier one's percentage).
    fn includes(&self, context: &serde_json::Map<String, Value>) -> bool {
        let Some(current) = self.stage else {
            return false;
        };
        let mut reach: Vec<(Option<String>, u8)> = Vec::new();
        for stage in self.plan.iter().take(current + 1) {
            reach.retain(|(segment, _)| *segment != stage.segment);
            reach.push((stage.segment.clone(), stage.percentage));
        }
        let key = context.get("targetingKey").and_then(Value::as_str);
        reach.iter().any(|(segment, percentage)| {
            let member = match segment.as_deref() {
                None => true,
                Some("internal_users") => in_group(context, "internal"),
                Some("beta_testers") => in_group(context, "beta"),
                Some(_) => false,
            };
            let bucket =
                key.map(|k| xxh3_64_with_seed(k.as_bytes(), xxh3_64(self.key.as_bytes())) % 10_000);
            member
                && (*percentage >= 100 || bucket.is_some_and(|b| b < u64::from(*percentage) * 100))
        })
    }
}

fn in_group(context: &serde_json::Map<String, Value>, group: &str) -> bool {
    context
        .get("groups")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|v| v.as_str() == Some(group)))
}

/// A release flag's rollout follows the spec's order: its stages for everyone rise without
/// skipping any of the policy's percentages (10 -> 25 -> 50 -> 100 by default; steps between
/// them are fine), after its segments, and each stage is watched for at least the policy's
/// minimum before the next. A flag of a kind the policy exempts may start anywhere.
fn rollout_in_order(
    track: &FlagTrack,
    next: usize,
    at: Timestamp,
    policy: &greenlight_core::policy::FeatureFlagPolicy,
) -> Result<(), String> {
    if let (Some(_), Some(started)) = (track.stage, track.stage_started_at) {
        let dwell = SignedDuration::from_mins(i64::from(policy.min_stage_minutes));
        if at.duration_since(started) < dwell {
            return Err(format!(
                "{} advanced after {} of its stage; the minimum is {} minutes",
                track.key,
                at.duration_since(started),
                policy.min_stage_minutes
            ));
        }
    }
    let stage = &track.plan[next];
    if track.exempt || stage.segment.is_some() {
        return Ok(());
    }
    let before = track.stage.map_or(0, |s| s + 1);
    let previous = track.plan[..before]
        .iter()
        .rev()
        .find(|s| s.segment.is_none())
        .map_or(0, |s| s.percentage);
    let next_policy_stage = policy.stages.iter().copied().find(|p| *p > previous);
    let rises = stage.percentage > previous;
    let skips = next_policy_stage.is_some_and(|p| stage.percentage > p);
    if !rises || skips {
        return Err(format!(
            "{} went from everyone {previous}% to {}%; the policy's stages are {:?}",
            track.key, stage.percentage, policy.stages
        ));
    }
    Ok(())
}

/// Every event is about the release it was decided on and carries the time it was decided at
/// (the test clock's now), so histories read in order.
fn decided_now_about_this_release(sim: &Sim, index: usize, event: &Event) -> Result<(), String> {
    let release = &sim.releases[index];
    if event.release_id() != release.record.release_id || event.timestamp() != sim.now {
        return Err(format!(
            "{} on {} at {} is about {} at {}",
            event.name(),
            release.record.release_id,
            sim.now,
            event.release_id(),
            event.timestamp()
        ));
    }
    Ok(())
}

/// A refusal changes nothing: the release a refused command was decided on is the same,
/// serialised, before and after.
fn refusal_changes_nothing(pairs: &[(String, String)]) -> Result<(), String> {
    match pairs.iter().find(|(before, after)| before != after) {
        Some((before, after)) => Err(format!("a refusal changed the release:\n{before}\n{after}")),
        None => Ok(()),
    }
}

/// `Release::replay(events)` equals the release built step by step, and so does replaying the
/// events after a round trip through their stored JSON.
fn replay_equals_state(history: &[Event], release: &Release) -> Result<(), String> {
    let replayed = Release::replay(history);
    if replayed.as_ref() != Some(release) {
        return Err(format!(
            "replay differs from the state built step by step:\n{replayed:?}\n{release:?}"
        ));
    }
    let stored = serde_json::to_string(history).map_err(|e| e.to_string())?;
    let read: Vec<Event> = serde_json::from_str(&stored).map_err(|e| e.to_string())?;
    if Release::replay(&read).as_ref() != Some(release) {
        return Err("replaying the stored JSON events gives another release".into());
    }
    Ok(())
}

/// The spec's Telemetry section: the exact fields of each of its seven events.
const TELEMETRY: [(&str, &[&str]); 7] = [
    (
        "deployment_started",
        &[
            "release_id",
            "version",
            "release_type",
            "deployed_by",
            "timestamp",
        ],
    ),
    (
        "deployment_completed",
        &[
            "release_id",
            "version",
            "release_type",
            "duration_minutes",
            "deployed_by",
            "timestamp",
        ],
    ),
    (
        "deployment_failed",
        &[
            "release_id",
            "version",
            "release_type",
            "failure_reason",
            "deployed_by",
            "timestamp",
        ],
    ),
    (
        "rollback_initiated",
        &[
            "release_id",
            "from_version",
            "to_version",
            "rollback_reason",
            "initiated_by",
            "timestamp",
        ],
    ),
    (
        "rollback_completed",
        &[
            "release_id",
            "from_version",
            "to_version",
            "duration_minutes",
            "initiated_by",
            "timestamp",
        ],
    ),
    (
        "quality_gate_passed",
        &[
            "release_id",
            "version",
            "gate_phase",
            "gate_name",
            "validated_by",
            "timestamp",
        ],
    ),
    (
        "quality_gate_failed",
        &[
            "release_id",
            "version",
            "gate_phase",
            "gate_name",
            "failure_reason",
            "validated_by",
            "timestamp",
        ],
    ),
];

/// Every event that is one of the spec's seven telemetry events has exactly the spec's fields,
/// each of the spec's type (UUID, semantic version, release type, whole minutes, RFC 3339 time,
/// gate phase, non-empty text).
fn telemetry_shape(event: &Event) -> Result<(), String> {
    let json = serde_json::to_value(event).map_err(|e| e.to_string())?;
    let Some(object) = json.as_object() else {
        return Err(format!("{} is not a JSON object", event.name()));
    };
    let name = object
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some((_, fields)) = TELEMETRY.iter().find(|(n, _)| *n == name) else {
        return Ok(());
    };
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = fields.iter().copied().chain(["event"]).collect();
    if keys != expected {
        return Err(format!(
            "{name} has fields {keys:?}; the spec's are {expected:?}"
        ));
    }
    for (key, value) in object {
        field_type(key, value).map_err(|why| format!("{name}.{key} = {value}: {why}"))?;
    }
    Ok(())
}

fn field_type(key: &str, value: &Value) -> Result<(), String> {
    let text = value.as_str();
    let ok = match key {
        "event" => true,
        "release_id" => text.is_some_and(|t| Uuid::parse_str(t).is_ok()),
        "version" | "from_version" | "to_version" => {
            text.is_some_and(|t| Version::parse(t).is_ok_and(|v| v.pre.is_empty()))
        }
        "release_type" => {
            text.is_some_and(|t| ["standard", "patch", "hotfix", "major"].contains(&t))
        }
        "duration_minutes" => value.as_u64().is_some(),
        "timestamp" => text.is_some_and(|t| t.ends_with('Z') && t.parse::<Timestamp>().is_ok()),
        "gate_phase" => text.is_some_and(|t| {
            [
                "planning",
                "staging_validation",
                "production_validation",
                "hotfix",
            ]
            .contains(&t)
        }),
        _ => text.is_some_and(|t| !t.trim().is_empty()),
    };
    if ok {
        Ok(())
    } else {
        Err("not the spec's type".into())
    }
}

/// The Go/No-Go decision follows the release type's required roles: "go" once every required
/// role of its approval matrix voted go, "no-go" once anyone who votes says no-go.
fn go_no_go_follows_required_roles(sim: &Sim, event: &Event) -> Result<(), String> {
    let Event::GoNoGoVoteRecorded {
        release_id,
        decision,
        ..
    } = event
    else {
        return Ok(());
    };
    let Some(index) = sim
        .releases
        .iter()
        .position(|r| r.record.release_id == *release_id)
    else {
        return Err("a vote on an unknown release".into());
    };
    let history = &sim.histories[index];
    let expected = reference_decision(
        sim,
        sim.releases[index].release_type(),
        since_staging(history),
    );
    if *decision != expected {
        return Err(format!(
            "the Go/No-Go decision was recorded as {decision:?}; the votes since staging make it {expected:?}"
        ));
    }
    Ok(())
}

/// The decision from the latest vote of each role among `events`.
fn reference_decision(sim: &Sim, release_type: ReleaseType, events: &[Event]) -> GoNoGo {
    let mut latest: BTreeMap<Role, GoNoGo> = BTreeMap::new();
    for event in events {
        if let Event::GoNoGoVoteRecorded { role, vote, .. } = event {
            latest.insert(*role, *vote);
        }
    }
    if latest.values().any(|v| *v == GoNoGo::NoGo) {
        return GoNoGo::NoGo;
    }
    let required = &sim.policy.approvals.of(release_type).required;
    if required.iter().all(|r| latest.get(r) == Some(&GoNoGo::Go)) {
        GoNoGo::Go
    } else {
        GoNoGo::Pending
    }
}

/// The events since the release last returned to staging (its last completed staging
/// deployment); all of them if it never did.
fn since_staging(events: &[Event]) -> &[Event] {
    let start = events
        .iter()
        .rposition(|e| matches!(e, Event::StagingDeploymentCompleted { .. }))
        .map_or(0, |i| i + 1);
    &events[start..]
}

/// The events since the release's last retry: the first staging deployment completed after a
/// rollback or a failed production deployment. A hotfix's reduced gates stand in for Phases 1
/// and 2, so a retry gives them again.
fn since_retry(events: &[Event]) -> &[Event] {
    let mut start = 0;
    let mut failed = false;
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::RollbackCompleted { .. } | Event::DeploymentFailed { .. } => failed = true,
            Event::StagingDeploymentCompleted { .. } if failed => {
                start = i + 1;
                failed = false;
            }
            _ => {}
        }
    }
    &events[start..]
}

/// All the events (Phase 1 gates are given once, before staging).
fn all(events: &[Event]) -> &[Event] {
    events
}

/// Every production deployment of release `index` that started in the last step was earned:
/// since the release last returned to staging, every pre-production gate passed (or was
/// overridden with a justification by an engineering lead), the approval matrix of its type was
/// satisfied by distinct people holding the roles (with the stakeholder review where required),
/// Go/No-Go decided "go" where the policy requires it, no blocking bug was open, and the window
/// allowed the whole expected deployment, or an engineering lead overrode it.
fn production_deployments_earned(sim: &Sim, index: usize) -> Result<(), String> {
    let Some(outcome) = &sim.last else {
        return Ok(());
    };
    let history = &sim.histories[index];
    let first_new = history.len() - outcome.events.len().min(history.len());
    for (position, event) in history.iter().enumerate().skip(first_new) {
        if let Event::DeploymentStarted {
            release_type,
            timestamp,
            ..
        } = event
        {
            let before = &history[..position];
            if before
                .iter()
                .any(|e| matches!(e, Event::RollbackCompleted { .. }))
            {
                coverage::count("deployments after a rollback");
            }
            if matches!(
                before.last(),
                Some(Event::DeploymentWindowOverridden { .. })
            ) {
                coverage::count("window overrides");
            }
            let context = |why: String| {
                format!(
                    "production deployment of {} ({release_type}) at {timestamp}: {why}",
                    sim.releases[index].record.version
                )
            };
            pre_production_gates_passed(sim, *release_type, before).map_err(context)?;
            approvals_satisfied(sim, *release_type, before).map_err(context)?;
            go_decided(sim, *release_type, before).map_err(context)?;
            no_blocking_bugs(sim, before).map_err(context)?;
            window_allowed(sim, *release_type, *timestamp, before).map_err(context)?;
            no_lower_version_waiting(sim, index).map_err(context)?;
        }
    }
    Ok(())
}

/// Versions reach production in increasing order: none goes out while a lower one is still on
/// its way (planned or on staging), which would then have to go below the live version.
fn no_lower_version_waiting(sim: &Sim, index: usize) -> Result<(), String> {
    let version = &sim.releases[index].record.version;
    let waiting = sim.releases.iter().find(|r| {
        r.record.version < *version
            && matches!(r.status(), ReleaseStatus::Planned | ReleaseStatus::Staging)
    });
    match waiting {
        Some(lower) => Err(format!(
            "{} is still {} and lower",
            lower.record.version,
            lower.status()
        )),
        None => Ok(()),
    }
}

fn pre_production_gates_passed(
    sim: &Sim,
    release_type: ReleaseType,
    before: &[Event],
) -> Result<(), String> {
    type Since = fn(&[Event]) -> &[Event];
    let phases: &[(GatePhase, Since)] = if release_type == ReleaseType::Hotfix {
        &[(GatePhase::Hotfix, since_retry)]
    } else {
        &[
            (GatePhase::Planning, all),
            (GatePhase::StagingValidation, since_staging),
        ]
    };
    for (phase, given_since) in phases {
        let events = given_since(before);
        for gate in sim.policy.gates.of(*phase) {
            let latest = events
                .iter()
                .rev()
                .find(|e| is_result_of(e, *phase, &gate.name));
            match latest {
                Some(Event::QualityGatePassed { .. }) => {}
                Some(Event::QualityGateOverridden {
                    justification,
                    overridden_by,
                    ..
                }) if !justification.trim().is_empty()
                    && holds(overridden_by, Role::EngineeringLead) => {}
                other => {
                    return Err(format!(
                        "{phase} gate {} is not passed: {}",
                        gate.name,
                        other.map_or("no result", Event::name)
                    ));
                }
            }
        }
    }
    Ok(())
}

fn is_result_of(event: &Event, phase: GatePhase, gate: &str) -> bool {
    match event {
        Event::QualityGatePassed {
            gate_phase,
            gate_name,
            ..
        }
        | Event::QualityGateFailed {
            gate_phase,
            gate_name,
            ..
        }
        | Event::QualityGateOverridden {
            gate_phase,
            gate_name,
            ..
        } => *gate_phase == phase && gate_name == gate,
        _ => false,
    }
}

fn approvals_satisfied(
    sim: &Sim,
    release_type: ReleaseType,
    before: &[Event],
) -> Result<(), String> {
    let rule = sim.policy.approvals.of(release_type);
    let events = since_staging(before);
    let mut by_role: BTreeMap<Role, &str> = BTreeMap::new();
    let mut people = BTreeSet::new();
    for event in events {
        if let Event::ApprovalRecorded {
            role, approved_by, ..
        } = event
        {
            if !holds(approved_by, *role) {
                return Err(format!("{approved_by} approved as {role} without the role"));
            }
            if !people.insert(approved_by.as_str()) {
                return Err(format!("{approved_by} approved twice"));
            }
            by_role.insert(*role, approved_by);
        }
    }
    if let Some(missing) = rule.required.iter().find(|r| !by_role.contains_key(r)) {
        return Err(format!("no approval as {missing}"));
    }
    let counted = rule
        .required
        .iter()
        .chain(&rule.optional)
        .filter(|r| by_role.contains_key(r))
        .count();
    if counted < rule.minimum as usize {
        return Err(format!(
            "{counted} approvals; the matrix needs {}",
            rule.minimum
        ));
    }
    let reviewed = events
        .iter()
        .any(|e| matches!(e, Event::StakeholderReviewRecorded { .. }));
    if rule.stakeholder_review && !reviewed {
        return Err("no stakeholder review".into());
    }
    Ok(())
}

fn go_decided(sim: &Sim, release_type: ReleaseType, before: &[Event]) -> Result<(), String> {
    if !sim.policy.go_no_go.required_for.contains(&release_type) {
        return Ok(());
    }
    let events = since_staging(before);
    for event in events {
        if let Event::GoNoGoVoteRecorded { role, voted_by, .. } = event
            && !holds(voted_by, *role)
        {
            return Err(format!("{voted_by} voted as {role} without the role"));
        }
    }
    let decision = reference_decision(sim, release_type, events);
    if decision != GoNoGo::Go {
        return Err(format!(
            "the Go/No-Go votes since staging decide {decision:?}"
        ));
    }
    Ok(())
}

fn no_blocking_bugs(sim: &Sim, before: &[Event]) -> Result<(), String> {
    let mut open: BTreeMap<&str, (u8, bool)> = BTreeMap::new();
    for event in before {
        match event {
            Event::BugReported {
                bug_id,
                severity,
                workaround,
                ..
            } => {
                open.insert(bug_id, (severity.level(), workaround.is_some()));
            }
            Event::BugResolved { bug_id, .. } => {
                open.remove(bug_id.as_str());
            }
            _ => {}
        }
    }
    let severity = &sim.policy.severity;
    let blocking = open.iter().find(|(_, (level, workaround))| {
        (*level == 1 && severity.sev1_blocks)
            || (*level == 2 && !workaround && severity.sev2_blocks_without_workaround)
    });
    match blocking {
        Some((id, (level, _))) => Err(format!("bug {id} (Severity {level}) was open")),
        None => Ok(()),
    }
}

/// The window refuses only what the spec's windows block: when the core refuses a deployment
/// (or a planned date) for the window, the oracle's calendar blocks its start or its expected
/// end too. This is where a wall-clock or DST mistake in the core would show.
fn window_refusal_is_the_spec(
    sim: &Sim,
    at: Timestamp,
    release_type: ReleaseType,
) -> Result<(), String> {
    let end = last_running_instant(sim, at, release_type);
    let end_blocked = blocked(&sim.policy, end, release_type).is_some();
    if blocked(&sim.policy, at, release_type).is_none() && !end_blocked {
        let local = at
            .to_zoned(sim.policy.tz().clone())
            .strftime("%a %F %H:%M %Z");
        return Err(format!(
            "the core refused a {release_type} deployment at {local} for its window, which the spec's windows allow"
        ));
    }
    Ok(())
}

fn window_allowed(
    sim: &Sim,
    release_type: ReleaseType,
    start: Timestamp,
    before: &[Event],
) -> Result<(), String> {
    let overridden = before.last().is_some_and(|e| {
        matches!(e, Event::DeploymentWindowOverridden { justification, overridden_by, timestamp, .. }
            if *timestamp == start && !justification.trim().is_empty()
                && holds(overridden_by, Role::EngineeringLead))
    });
    if overridden {
        return Ok(());
    }
    if let Some(why) = blocked(&sim.policy, start, release_type) {
        return Err(format!(
            "the window blocks the start ({why}) and no engineering lead overrode it"
        ));
    }
    let end = last_running_instant(sim, start, release_type);
    if let Some(why) = blocked(&sim.policy, end, release_type) {
        return Err(format!(
            "the deployment would end outside its window ({why}) and no engineering lead overrode it"
        ));
    }
    Ok(())
}
