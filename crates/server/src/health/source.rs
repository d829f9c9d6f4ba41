//! Where health samples come from, behind one interface: Prometheus (PromQL range queries over
//! its HTTP API) or Greenlight's own ingest (buckets in the store).

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_core::Policy;
use greenlight_core::health::{Metric, Point, SourceKind};
use greenlight_store::{DDSketch, MetricBucket, Store, StoreError};
use jiff::{SignedDuration, Timestamp};

/// Why samples could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store failed.
    #[error("metrics store: {0}")]
    Store(#[from] StoreError),
    /// Prometheus could not be reached or answered with an error.
    #[error("prometheus: {0}")]
    Prometheus(String),
    /// The policy has no query for the metric.
    #[error("no query for {0} in [health.queries]")]
    NoQuery(String),
}

/// A source of health samples.
pub trait MetricsSource {
    /// The samples of `metric` in `[from, to]`, oldest first.
    fn series(
        &self,
        metric: &Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Future<Output = Result<Vec<Point>, SourceError>> + Send;
}

/// The source the policy names.
pub enum Source {
    /// Greenlight's ingest endpoint.
    Ingest(IngestSource),
    /// Prometheus.
    Prometheus(PrometheusSource),
}

impl Source {
    /// The policy's source over `store`.
    pub fn from_policy(policy: &Policy, store: &Store) -> Source {
        match policy.health.source {
            SourceKind::Ingest => Source::Ingest(IngestSource::new(policy, store.clone())),
            SourceKind::Prometheus => Source::Prometheus(PrometheusSource::new(policy)),
        }
    }
}

impl MetricsSource for Source {
    async fn series(
        &self,
        metric: &Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Point>, SourceError> {
        match self {
            Source::Ingest(source) => source.series(metric, from, to).await,
            Source::Prometheus(source) => source.series(metric, from, to).await,
        }
    }
}

/// Samples posted to `POST /api/v1/metrics`, aggregated in the store's buckets.
pub struct IngestSource {
    store: Store,
    bucket: SignedDuration,
    critical_window: SignedDuration,
    score_endpoint: String,
}

impl IngestSource {
    /// The ingest source of the policy over `store`.
    pub fn new(policy: &Policy, store: Store) -> Self {
        let seconds = |n: u32| SignedDuration::from_secs(i64::from(n));
        IngestSource {
            store,
            bucket: seconds(policy.health.ingest_bucket_seconds),
            critical_window: seconds(policy.rollback.automatic.critical_window_seconds),
            score_endpoint: policy.health.score_recording_endpoint.clone(),
        }
    }
}

impl MetricsSource for IngestSource {
    async fn series(
        &self,
        metric: &Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Point>, SourceError> {
        let lookback = if metric.over_critical_window() {
            self.critical_window
        } else {
            SignedDuration::ZERO
        };
        let first = from.checked_sub(lookback).unwrap_or(from);
        let end = to.checked_add(SignedDuration::from_micros(1)).unwrap_or(to);
        let buckets = self.store.metric_buckets(first, end).await?;
        let by_start = group(&buckets);
        let points = by_start
            .range(from..=to)
            .filter_map(|(at, _)| {
                let value = match metric {
                    Metric::EndpointFailureRate(endpoint) => {
                        self.window_failure_rate(&by_start, *at, endpoint)
                    }
                    Metric::ScoreRecordingSuccess => self
                        .window_failure_rate(&by_start, *at, &self.score_endpoint)
                        .map(|rate| 100.0 - rate),
                    other => self.bucket_value(other, &by_start[at]),
                }?;
                Some(Point { at: *at, value })
            })
            .collect();
        Ok(points)
    }
}

/// Buckets grouped by their start.
fn group(buckets: &[MetricBucket]) -> BTreeMap<Timestamp, Vec<&MetricBucket>> {
    let mut out: BTreeMap<Timestamp, Vec<&MetricBucket>> = BTreeMap::new();
    for bucket in buckets {
        out.entry(bucket.start).or_default().push(bucket);
    }
    out
}

impl IngestSource {
    /// A per-bucket metric from the buckets of one interval (every endpoint).
    fn bucket_value(&self, metric: &Metric, buckets: &[&MetricBucket]) -> Option<f64> {
        let requests: i64 = buckets.iter().map(|b| b.requests).sum();
        let failures: i64 = buckets.iter().map(|b| b.failures).sum();
        let quantile = |q: f64| {
            let mut merged: Option<DDSketch> = None;
            for bucket in buckets.iter().filter(|b| b.latency.count() > 0) {
                match merged.as_mut() {
                    None => merged = Some(bucket.latency.clone()),
                    Some(sketch) => sketch.merge(&bucket.latency).ok()?,
                }
            }
            merged?.quantile(q).ok().flatten()
        };
        match metric {
            Metric::ErrorRate if requests > 0 => Some(100.0 * failures as f64 / requests as f64),
            Metric::P50Ms => quantile(0.5),
            Metric::P95Ms => quantile(0.95),
            Metric::P99Ms => quantile(0.99),
            Metric::Throughput if requests > 0 => {
                Some(requests as f64 / self.bucket.as_secs_f64().max(1.0))
            }
            Metric::PoolExhausted => {
                let checks: i64 = buckets.iter().map(|b| b.pool_checks).sum();
                let exhausted: i64 = buckets.iter().map(|b| b.pool_exhausted).sum();
                (checks > 0).then_some(if exhausted > 0 { 1.0 } else { 0.0 })
            }
            _ => None,
        }
    }

    /// One endpoint's failure rate over the critical window ending at `at`, percent.
    fn window_failure_rate(
        &self,
        by_start: &BTreeMap<Timestamp, Vec<&MetricBucket>>,
        at: Timestamp,
        endpoint: &str,
    ) -> Option<f64> {
        let since = at.checked_sub(self.critical_window).unwrap_or(at);
        let (requests, failures) = by_start
            .range(since..=at)
            .flat_map(|(_, buckets)| buckets.iter())
            .filter(|b| b.endpoint == endpoint)
            .fold((0i64, 0i64), |(r, f), b| (r + b.requests, f + b.failures));
        (requests > 0).then(|| 100.0 * failures as f64 / requests as f64)
    }
}

/// PromQL range queries over Prometheus's HTTP API.
pub struct PrometheusSource {
    base: String,
    policy: greenlight_core::health::HealthPolicy,
    step_seconds: u32,
    http: reqwest::Client,
}

impl PrometheusSource {
    /// The Prometheus source of the policy.
    pub fn new(policy: &Policy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        PrometheusSource {
            base: policy
                .health
                .prometheus_url
                .trim_end_matches('/')
                .to_string(),
            policy: policy.health.clone(),
            step_seconds: policy.rollback.automatic.evaluation_interval_seconds.max(1),
            http,
        }
    }
}

impl MetricsSource for PrometheusSource {
    async fn series(
        &self,
        metric: &Metric,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Point>, SourceError> {
        let query = self
            .policy
            .query(metric)
            .ok_or_else(|| SourceError::NoQuery(metric.query_key().into()))?;
        let seconds = |t: Timestamp| format!("{:.3}", t.as_millisecond() as f64 / 1000.0);
        let response = self
            .http
            .get(format!("{}/api/v1/query_range", self.base))
            .query(&[
                ("query", query.as_str()),
                ("start", &seconds(from)),
                ("end", &seconds(to)),
                ("step", &self.step_seconds.to_string()),
            ])
            .send()
            .await
            .map_err(|e| SourceError::Prometheus(e.to_string()))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| SourceError::Prometheus(e.to_string()))?;
        if !status.is_success() || body["status"] != "success" {
            let error = body["error"].as_str().unwrap_or("no error message");
            return Err(SourceError::Prometheus(format!("HTTP {status}: {error}")));
        }
        Ok(points_of(&body["data"]["result"][0]["values"]))
    }
}

/// `[[1764000000.5, "12.5"], ...]` → points, skipping NaN and infinities (no traffic).
fn points_of(values: &serde_json::Value) -> Vec<Point> {
    values
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            let seconds = pair[0].as_f64()?;
            let value: f64 = pair[1].as_str()?.parse().ok()?;
            let at = Timestamp::from_millisecond((seconds * 1000.0) as i64).ok()?;
            value.is_finite().then_some(Point { at, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_values_skip_nan_and_keep_times() {
        let values = serde_json::json!([
            [1764000000.5, "12.5"],
            [1764000001.5, "NaN"],
            [1764000002.5, "+Inf"]
        ]);
        let points = points_of(&values);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].value, 12.5);
        assert_eq!(points[0].at.as_millisecond(), 1_764_000_000_500);
    }
}
