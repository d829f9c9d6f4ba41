//! `POST /api/v1/metrics`: batched samples from teams without Prometheus (request outcome,
//! latency, endpoint; database-pool checks). They are folded into per-bucket counts and DDSketch
//! quantiles in the store, never kept one by one.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use greenlight_store::MetricBucket;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::Body;
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Most samples in one batch.
pub const MAX_SAMPLES: usize = 10_000;

/// Largest batch body, bytes (10,000 samples fit with room to spare).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// How far a sample's time may be from the server's clock.
const MAX_SKEW: SignedDuration = SignedDuration::from_hours(24);

/// A batch of samples.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MetricsBatch {
    /// The samples (at most 10,000).
    pub samples: Vec<Sample>,
}

/// One sample.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sample {
    /// One request the platform served.
    Request {
        /// The endpoint (`login`, `score_recording`, `assignments`).
        endpoint: String,
        /// success or failure.
        outcome: Outcome,
        /// How long it took, ms.
        latency_ms: f64,
        /// When (default: now).
        at: Option<Timestamp>,
    },
    /// One check of the database connection pool.
    Pool {
        /// The pool had no free connection.
        exhausted: bool,
        /// When (default: now).
        at: Option<Timestamp>,
    },
}

/// A request's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Served.
    Success,
    /// Failed (a 5xx, a timeout, a score that did not save).
    Failure,
}

/// What was taken in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Samples folded into the store.
    pub accepted: usize,
    /// Buckets they touched.
    pub buckets: usize,
}

/// Takes a batch of health samples.
#[utoipa::path(post, path = "/api/v1/metrics", tag = "monitoring", request_body = MetricsBatch,
    responses((status = 202, body = Accepted), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem)),
    security(("bearer" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    auth: Auth,
    Body(batch): Body<MetricsBatch>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    // Samples drive automatic rollback and the Phase 3 gates: not for every token.
    auth.actor
        .require(greenlight_core::Action::IngestHealthSamples)?;
    if batch.samples.len() > MAX_SAMPLES {
        return Err(ApiError::BadRequest(format!(
            "{} samples in one batch; send at most {MAX_SAMPLES}",
            batch.samples.len()
        )));
    }
    let now = state.clock.now();
    let bucket_seconds = i64::from(state.policy.health.ingest_bucket_seconds.max(1));
    let mut buckets: BTreeMap<(Timestamp, String), MetricBucket> = BTreeMap::new();
    for (i, sample) in batch.samples.iter().enumerate() {
        fold(&mut buckets, sample, now, bucket_seconds)
            .map_err(|why| ApiError::BadRequest(format!("samples[{i}]: {why}")))?;
    }
    let buckets: Vec<MetricBucket> = buckets.into_values().collect();
    state.store.merge_metric_buckets(&buckets).await?;
    let accepted = Accepted {
        accepted: batch.samples.len(),
        buckets: buckets.len(),
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Adds one sample to its bucket, or says what is wrong with it.
fn fold(
    buckets: &mut BTreeMap<(Timestamp, String), MetricBucket>,
    sample: &Sample,
    now: Timestamp,
    bucket_seconds: i64,
) -> Result<(), String> {
    let (endpoint, at) = match sample {
        Sample::Request { endpoint, at, .. } => (endpoint.trim(), at.unwrap_or(now)),
        Sample::Pool { at, .. } => ("", at.unwrap_or(now)),
    };
    if now.duration_since(at).abs() > MAX_SKEW {
        return Err(format!(
            "`at` {at} is more than a day from the server's clock ({now})"
        ));
    }
    let start = bucket_start(at, bucket_seconds)?;
    let bucket = buckets
        .entry((start, endpoint.to_string()))
        .or_insert_with(|| MetricBucket::new(start, endpoint));
    match sample {
        Sample::Request {
            outcome,
            latency_ms,
            ..
        } => {
            if endpoint.is_empty() || endpoint.len() > 100 {
                return Err("`endpoint` must be 1 to 100 characters".into());
            }
            if !latency_ms.is_finite() || *latency_ms < 0.0 {
                return Err(format!("`latency_ms` {latency_ms} must be a number >= 0"));
            }
            bucket.requests += 1;
            bucket.failures += i64::from(*outcome == Outcome::Failure);
            bucket.latency.add(*latency_ms);
        }
        Sample::Pool { exhausted, .. } => {
            bucket.pool_checks += 1;
            bucket.pool_exhausted += i64::from(*exhausted);
        }
    }
    Ok(())
}

fn bucket_start(at: Timestamp, bucket_seconds: i64) -> Result<Timestamp, String> {
    let second = at.as_second();
    Timestamp::from_second(second - second.rem_euclid(bucket_seconds)).map_err(|e| e.to_string())
}
