//! The health monitor: a background worker that, every evaluation interval, assesses the release
//! live in production against the automatic rollback triggers and the spec's rollback decision
//! criteria. With automatic rollback on, a holding trigger rolls back as Greenlight. Otherwise the
//! core's classifier (`rollback::classify_health`, the same one `rollback classify` uses) says
//! which class the spec gives, and the alert says it: `immediate_rollback` (login or score
//! recording failing: roll back now), `rollback_requires_discussion` (error rate above 5%, p95
//! above twice the previous release's over the same window, or a trigger held while automatic
//! rollback is off), nothing for "monitor without rollback". Missing or stale data raises an
//! alert and never a rollback. After the validation period it decides the Phase 3 gates that
//! metrics can decide (`error_rate`, `response_times`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use greenlight_core::gates::GatePhase;
use greenlight_core::health::{
    self, AlertKind, Assessment, CriteriaReadings, CriteriaWindows, Metric, Observations,
    TriggerState, triggers,
};
use greenlight_core::release::Environment;
use greenlight_core::rollback::{Classification, RollbackDecision, classify_health};
use greenlight_core::{Command, Release, ReleaseStatus};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::source::{MetricsSource, Source};
use crate::problem::ApiError;
use crate::runner;
use crate::state::AppState;

/// How long an unchanged alert stays quiet before it is raised again.
const REALERT_AFTER: SignedDuration = SignedDuration::from_mins(30);

/// Starts the monitor in the background.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let source = Source::from_policy(&state.policy, &state.store);
        let interval = u64::from(state.policy.rollback.automatic.evaluation_interval_seconds);
        let mut alerts = Alerts::default();
        loop {
            if let Err(err) = tick(&state, &source, &mut alerts).await {
                tracing::warn!(error = %err, "health monitor");
            }
            tokio::time::sleep(Duration::from_secs(interval.max(1))).await;
        }
    })
}

/// One evaluation: assess the live release, act on the verdicts, decide validation gates.
pub async fn tick(
    state: &AppState,
    source: &impl MetricsSource,
    alerts: &mut Alerts,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let Some(release) = watched_release(state, now).await? else {
        return Ok(());
    };
    let Some(deployed_at) = release.record.deployed_date else {
        return Ok(());
    };
    let assessment = assess(state, source, deployed_at, now).await;
    act(
        state,
        source,
        &release,
        deployed_at,
        &assessment,
        alerts,
        now,
    )
    .await?;
    decide_validation(state, source, &release, deployed_at, now).await
}

/// The release live in production, while its monitoring period lasts.
async fn watched_release(state: &AppState, now: Timestamp) -> Result<Option<Release>, ApiError> {
    let live = state
        .store
        .environment_history(Environment::Production, 1)
        .await?;
    let Some(entry) = live.first() else {
        return Ok(None);
    };
    let Some(stored) = state.store.release(entry.release_id).await? else {
        return Ok(None);
    };
    let release = stored.release;
    let hours = i64::from(state.policy.post_release.extended_monitoring_hours);
    let watched = release.record.status == ReleaseStatus::Deployed
        && release.rollback.is_none()
        && release
            .record
            .deployed_date
            .is_some_and(|at| now.duration_since(at) <= SignedDuration::from_hours(hours));
    Ok(watched.then_some(release))
}

/// Every trigger's verdict at `now`. A metric the source cannot read is inconclusive, with the
/// source's error as its detail.
pub async fn assess(
    state: &AppState,
    source: &impl MetricsSource,
    deployed_at: Timestamp,
    now: Timestamp,
) -> Assessment {
    let automatic = &state.policy.rollback.automatic;
    let all = triggers(automatic);
    let longest = all.iter().map(|t| t.sustained_seconds).max().unwrap_or(0);
    let lookback = SignedDuration::from_secs(i64::from(longest + automatic.stale_after_seconds));
    let from = now.checked_sub(lookback).unwrap_or(now);
    let mut observations = Observations::new();
    let mut errors = BTreeMap::new();
    for trigger in &all {
        match source.series(&trigger.metric, from, now).await {
            Ok(points) => {
                observations.insert(trigger.metric.clone(), points);
            }
            Err(err) => {
                errors.insert(trigger.metric.clone(), err.to_string());
            }
        }
    }
    let mut assessment = health::assess(
        &all,
        &observations,
        deployed_at,
        now,
        automatic.stale_after_seconds,
    );
    for verdict in &mut assessment.verdicts {
        if let Some(error) = errors.get(&verdict.trigger.metric) {
            verdict.detail = format!("cannot read {}: {error}", verdict.trigger.metric);
        }
    }
    assessment
}

/// What the decision criteria read beside the triggers: the error rate and p95 over their
/// windows, and the previous release's p95 over a window as long before the deployment. A
/// metric the source cannot read is `None` (its trigger's verdict already says inconclusive).
pub async fn readings(
    state: &AppState,
    source: &impl MetricsSource,
    deployed_at: Timestamp,
    now: Timestamp,
) -> CriteriaReadings {
    let windows = CriteriaWindows::at(&state.policy.rollback.automatic, deployed_at, now);
    let mean = |metric: Metric, window: (Timestamp, Timestamp)| async move {
        let points = source.series(&metric, window.0, window.1).await.ok()?;
        health::window_mean(&points, window)
    };
    CriteriaReadings {
        error_rate_percent: mean(Metric::ErrorRate, windows.error_rate).await,
        p95_ms: mean(Metric::P95Ms, windows.p95).await,
        baseline_p95_ms: mean(Metric::P95Ms, windows.baseline_p95).await,
    }
}

/// The class the spec's rollback decision criteria give the release's health now.
pub async fn classify(
    state: &AppState,
    source: &impl MetricsSource,
    assessment: &Assessment,
    deployed_at: Timestamp,
    now: Timestamp,
) -> Classification {
    let readings = readings(state, source, deployed_at, now).await;
    let policy = &state.policy;
    classify_health(
        assessment,
        &readings,
        &policy.health,
        &policy.rollback.criteria,
    )
}

/// The alert a class raises, with its text: the class in the spec's words, the criteria met,
/// the triggers' numbers, and what to do.
fn class_alert(
    class: &Classification,
    assessment: &Assessment,
    automatic: bool,
    version: &str,
) -> Option<(AlertKind, String)> {
    let holding: Vec<&str> = assessment
        .in_state(TriggerState::Holds)
        .map(|v| v.detail.as_str())
        .collect();
    let measured = if holding.is_empty() {
        String::new()
    } else {
        format!(" (measured: {})", holding.join("; "))
    };
    let reasons = class.reasons.join("; ");
    let why_not_automatic = if automatic {
        "no automatic rollback trigger holds"
    } else {
        "automatic rollback is off"
    };
    match class.decision {
        RollbackDecision::ImmediateRollback => Some((
            AlertKind::ImmediateRollback,
            format!(
                "immediate rollback (no discussion required): {reasons}{measured};                  {why_not_automatic}, so roll back now: greenlight rollback {version}"
            ),
        )),
        RollbackDecision::Discuss => Some((
            AlertKind::RollbackRequiresDiscussion,
            format!(
                "rollback requires discussion: {reasons}{measured}; {why_not_automatic},                  so decide in the 15-minute emergency meeting"
            ),
        )),
        RollbackDecision::Monitor => None,
    }
}

/// Rolls back, or raises the alerts the verdicts and the decision criteria call for.
async fn act(
    state: &AppState,
    source: &impl MetricsSource,
    release: &Release,
    deployed_at: Timestamp,
    assessment: &Assessment,
    alerts: &mut Alerts,
    now: Timestamp,
) -> Result<(), ApiError> {
    let release_id = release.record.release_id;
    let automatic = state.policy.rollback.automatic.enabled;
    if let Some(reason) = assessment.rollback_reason().filter(|_| automatic) {
        return roll_back(state, release_id, reason).await;
    }
    let class = classify(state, source, assessment, deployed_at, now).await;
    let version = release.record.version.to_string();
    let raised = class_alert(&class, assessment, automatic, &version);
    for kind in [
        AlertKind::ImmediateRollback,
        AlertKind::RollbackRequiresDiscussion,
    ] {
        if raised.as_ref().is_none_or(|(k, _)| *k != kind) {
            alerts.clear(release_id, kind);
        }
    }
    if let Some((kind, detail)) = raised {
        // The criteria met, not the triggers' changing numbers, say whether it is news.
        let same_as = class.reasons.join("; ");
        alerts
            .raise(state, release_id, kind, detail, &same_as, now)
            .await?;
    }
    let unknown: Vec<&str> = assessment
        .in_state(TriggerState::Inconclusive)
        .map(|v| v.detail.as_str())
        .collect();
    if unknown.is_empty() {
        alerts.clear(release_id, AlertKind::HealthDataInconclusive);
        return Ok(());
    }
    let detail = format!(
        "release health unknown, no rollback: {}",
        unknown.join("; ")
    );
    let same_as = detail.clone();
    alerts
        .raise(
            state,
            release_id,
            AlertKind::HealthDataInconclusive,
            detail,
            &same_as,
            now,
        )
        .await
}

async fn roll_back(state: &AppState, release_id: Uuid, reason: String) -> Result<(), ApiError> {
    tracing::warn!(%release_id, %reason, "automatic rollback");
    let command = Command::StartRollback {
        reason,
        to_version: None,
        database: false,
        confirm: None,
    };
    runner::settle(state, release_id, command, "rollback.automatic").await?;
    runner::start(state, release_id).await?;
    Ok(())
}

/// The Phase 3 gates decided from metrics, once the validation period is over.
async fn decide_validation(
    state: &AppState,
    source: &impl MetricsSource,
    release: &Release,
    deployed_at: Timestamp,
    now: Timestamp,
) -> Result<(), ApiError> {
    let minutes = i64::from(state.policy.post_release.validation_minutes);
    let until = deployed_at
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap_or(deployed_at);
    if now < until {
        return Ok(());
    }
    let mut observations = Observations::new();
    for metric in [Metric::ErrorRate, Metric::P95Ms] {
        let points = source
            .series(&metric, deployed_at, until)
            .await
            .unwrap_or_default();
        observations.insert(metric, points);
    }
    let phase = GatePhase::ProductionValidation;
    let known = state.policy.gates.of(phase);
    for validation in health::validate(&state.policy, &observations) {
        let recorded = release
            .gates
            .iter()
            .any(|g| g.gate_phase == phase && g.gate_name == validation.gate);
        let in_policy = known.iter().any(|g| g.name == validation.gate);
        let Some(passed) = validation.passed.filter(|_| in_policy && !recorded) else {
            continue;
        };
        let command = Command::RecordGate {
            phase,
            gate: validation.gate,
            passed,
            reason: Some(validation.detail),
        };
        let id = release.record.release_id;
        runner::settle(state, id, command, "gate.record.health").await?;
    }
    Ok(())
}

/// Alerts raised, so an unchanged one is not raised again every interval.
#[derive(Debug, Default)]
pub struct Alerts {
    raised: HashMap<(Uuid, AlertKind), (String, Timestamp)>,
}

impl Alerts {
    /// Raises `alert` unless the same one (same kind, and `same_as` equal but for its
    /// numbers) was raised less than `REALERT_AFTER` ago.
    async fn raise(
        &mut self,
        state: &AppState,
        release_id: Uuid,
        alert: AlertKind,
        detail: String,
        same_as: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let key = (release_id, alert);
        let gist = gist(same_as);
        let quiet = self
            .raised
            .get(&key)
            .is_some_and(|(last, at)| *last == gist && now.duration_since(*at) < REALERT_AFTER);
        if quiet {
            return Ok(());
        }
        tracing::warn!(%release_id, ?alert, %detail, "health alert");
        let command = Command::RaiseHealthAlert { alert, detail };
        runner::settle(state, release_id, command, "health.alert").await?;
        self.raised.insert(key, (gist, now));
        Ok(())
    }

    fn clear(&mut self, release_id: Uuid, alert: AlertKind) {
        self.raised.remove(&(release_id, alert));
    }
}

/// An alert's text without its numbers, so changing values do not count as a new alert.
fn gist(detail: &str) -> String {
    detail
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect()
}
