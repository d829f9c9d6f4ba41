//! `GET /api/v1/releases/{key}/health`: each health metric over time against its target and its
//! rollback threshold, and the triggers' verdicts now.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use greenlight_core::Policy;
use greenlight_core::health::{Assessment, Metric, Point, triggers};
use greenlight_core::rollback::Classification;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::monitor;
use super::source::{MetricsSource, Source};
use crate::api::{Path, Query, load};
use crate::auth::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// How much history to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// Minutes of history (default 60, at most 2880), never before the deployment.
    #[param(minimum = 1, maximum = 2880)]
    pub minutes: Option<u32>,
}

/// A release's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// The release.
    pub version: String,
    /// Where the samples come from (`ingest`, `prometheus`).
    pub source: String,
    /// Whether Greenlight rolls back by itself when a trigger holds.
    pub automatic_rollback: bool,
    /// Start of the series.
    pub from: Timestamp,
    /// End of the series (now).
    pub to: Timestamp,
    /// Each metric over time.
    pub metrics: Vec<MetricSeries>,
    /// The triggers' verdicts now (for a release deployed to production).
    pub assessment: Option<Assessment>,
    /// The class the spec's rollback decision criteria give it now (immediate_rollback,
    /// discuss, monitor) with the criteria met, for a release deployed to production.
    pub classification: Option<Classification>,
}

/// One metric over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricSeries {
    /// Its name (`error rate`).
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// The spec's target for it, if any (error rate < 0.5%, p95 < 500 ms, ...).
    pub target: Option<f64>,
    /// The automatic rollback threshold, if a trigger watches it.
    pub rollback_threshold: Option<f64>,
    /// The samples.
    pub points: Vec<Point>,
    /// Why there are none, when the source failed.
    pub error: Option<String>,
}

/// A release's health metrics and trigger verdicts.
#[utoipa::path(get, path = "/api/v1/releases/{key}/health", tag = "monitoring",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"), HealthQuery),
    responses((status = 200, body = HealthView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn health(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    Query(query): Query<HealthQuery>,
) -> ApiResult<Json<HealthView>> {
    let release = load(&state, &key).await?.release;
    let minutes = i64::from(query.minutes.unwrap_or(60).clamp(1, 2880));
    Ok(Json(health_view(&state, &release, minutes).await))
}

/// `release`'s health over the last `minutes` (never before its deployment): each metric
/// against target and threshold, and the triggers' verdicts once it is in production. The API
/// and the dashboard's health charts both show this.
pub async fn health_view(
    state: &AppState,
    release: &greenlight_core::Release,
    minutes: i64,
) -> HealthView {
    let now = state.clock.now();
    let mut from = now
        .checked_sub(SignedDuration::from_mins(minutes))
        .unwrap_or(now);
    if let Some(deployed_at) = release.record.deployed_date {
        from = from.max(deployed_at);
    }
    let source = Source::from_policy(&state.policy, &state.store);
    let mut metrics = Vec::new();
    for metric in shown(&state.policy) {
        let series = source.series(&metric, from, now).await;
        metrics.push(metric_series(&state.policy, &metric, series));
    }
    let (assessment, classification) = match release.record.deployed_date {
        Some(deployed_at) => {
            let assessment = monitor::assess(state, &source, deployed_at, now).await;
            let class = monitor::classify(state, &source, &assessment, deployed_at, now).await;
            (Some(assessment), Some(class))
        }
        None => (None, None),
    };
    HealthView {
        version: release.record.version.to_string(),
        source: format!("{:?}", state.policy.health.source).to_lowercase(),
        automatic_rollback: state.policy.rollback.automatic.enabled,
        from,
        to: now,
        metrics,
        assessment,
        classification,
    }
}

/// The spec's health metrics plus each critical endpoint's failure rate.
fn shown(policy: &Policy) -> Vec<Metric> {
    let endpoints = policy.rollback.automatic.critical_endpoints.iter();
    Metric::SHOWN
        .into_iter()
        .chain(endpoints.map(|e| Metric::EndpointFailureRate(e.clone())))
        .collect()
}

fn metric_series<E: std::fmt::Display>(
    policy: &Policy,
    metric: &Metric,
    series: Result<Vec<Point>, E>,
) -> MetricSeries {
    let performance = &policy.performance;
    let automatic = &policy.rollback.automatic;
    let target = match metric {
        Metric::ErrorRate => Some(performance.max_error_rate_percent),
        Metric::P95Ms => Some(performance.api_p95_ms),
        Metric::P99Ms => Some(performance.api_p99_ms),
        Metric::ScoreRecordingSuccess => Some(automatic.score_recording_success_min_percent),
        _ => None,
    };
    let rollback_threshold = triggers(automatic)
        .into_iter()
        .find(|t| &t.metric == metric)
        .map(|t| t.threshold);
    let (points, error) = match series {
        Ok(points) => (points, None),
        Err(err) => (Vec::new(), Some(err.to_string())),
    };
    MetricSeries {
        name: metric.to_string(),
        unit: metric.unit().to_string(),
        target,
        rollback_threshold,
        points,
        error,
    }
}
