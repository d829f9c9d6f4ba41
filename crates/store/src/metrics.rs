//! Ingested health samples, kept as one row per (time bucket, endpoint): request and failure
//! counts, a DDSketch of latencies (quantiles within 1% relative error) and database-pool
//! checks. Samples are telemetry, not changes to the release process, so they are written in
//! their own transactions without audit entries.

use jiff::Timestamp;
use sketches_ddsketch::{Config, DDSketch};
use sqlx::Row;

use crate::db::{micros, timestamp};
use crate::{Backend, Store, StoreError};

/// The samples of one time bucket and endpoint.
#[derive(Clone)]
pub struct MetricBucket {
    /// Start of the bucket.
    pub start: Timestamp,
    /// The endpoint (`score_recording`), or `""` for samples about no endpoint (the pool).
    pub endpoint: String,
    /// Requests seen.
    pub requests: i64,
    /// Requests that failed.
    pub failures: i64,
    /// Latencies, ms.
    pub latency: DDSketch,
    /// Database-pool checks seen.
    pub pool_checks: i64,
    /// Checks that found the pool exhausted.
    pub pool_exhausted: i64,
}

impl std::fmt::Debug for MetricBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricBucket")
            .field("start", &self.start)
            .field("endpoint", &self.endpoint)
            .field("requests", &self.requests)
            .field("failures", &self.failures)
            .field("latency_count", &self.latency.count())
            .field("pool_checks", &self.pool_checks)
            .field("pool_exhausted", &self.pool_exhausted)
            .finish()
    }
}

impl MetricBucket {
    /// An empty bucket.
    pub fn new(start: Timestamp, endpoint: impl Into<String>) -> Self {
        MetricBucket {
            start,
            endpoint: endpoint.into(),
            requests: 0,
            failures: 0,
            latency: DDSketch::new(Config::defaults()),
            pool_checks: 0,
            pool_exhausted: 0,
        }
    }

    /// Adds another bucket's samples to this one.
    pub fn merge(&mut self, other: &MetricBucket) -> Result<(), StoreError> {
        self.requests += other.requests;
        self.failures += other.failures;
        self.pool_checks += other.pool_checks;
        self.pool_exhausted += other.pool_exhausted;
        self.latency
            .merge(&other.latency)
            .map_err(|e| StoreError::Corrupt("latency sketch".into(), format!("{e:?}")))
    }
}

impl Store {
    /// Adds the buckets' samples to the stored ones, in one transaction.
    pub async fn merge_metric_buckets(&self, buckets: &[MetricBucket]) -> Result<(), StoreError> {
        let mut sorted: Vec<&MetricBucket> = buckets.iter().collect();
        sorted.sort_by(|a, b| (a.start, &a.endpoint).cmp(&(b.start, &b.endpoint)));
        let select = match self.backend() {
            Backend::Postgres => concat!(
                "SELECT requests, failures, sketch, pool_checks, pool_exhausted FROM metric_buckets ",
                "WHERE bucket_start = $1 AND endpoint = $2 FOR UPDATE"
            ),
            Backend::Sqlite => concat!(
                "SELECT requests, failures, sketch, pool_checks, pool_exhausted FROM metric_buckets ",
                "WHERE bucket_start = $1 AND endpoint = $2"
            ),
        };
        let mut tx = self.writer().begin().await?;
        for bucket in sorted {
            let start = micros(bucket.start);
            sqlx::query(
                "INSERT INTO metric_buckets (bucket_start, endpoint, requests, failures, sketch, \
                 pool_checks, pool_exhausted) VALUES ($1, $2, 0, 0, '', 0, 0) \
                 ON CONFLICT (bucket_start, endpoint) DO NOTHING",
            )
            .bind(start)
            .bind(&bucket.endpoint)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(select)
                .bind(start)
                .bind(&bucket.endpoint)
                .fetch_one(&mut *tx)
                .await?;
            let mut stored = bucket_from_row(&row, bucket.start, &bucket.endpoint)?;
            stored.merge(bucket)?;
            let sketch = sketch_text(&stored.latency)?;
            sqlx::query(
                "UPDATE metric_buckets SET requests = $3, failures = $4, sketch = $5, \
                 pool_checks = $6, pool_exhausted = $7 WHERE bucket_start = $1 AND endpoint = $2",
            )
            .bind(start)
            .bind(&bucket.endpoint)
            .bind(stored.requests)
            .bind(stored.failures)
            .bind(sketch)
            .bind(stored.pool_checks)
            .bind(stored.pool_exhausted)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The buckets starting in `[from, to)`, oldest first.
    pub async fn metric_buckets(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<MetricBucket>, StoreError> {
        let rows = sqlx::query(
            "SELECT bucket_start, endpoint, requests, failures, sketch, pool_checks, \
             pool_exhausted FROM metric_buckets WHERE bucket_start >= $1 AND bucket_start < $2 \
             ORDER BY bucket_start, endpoint",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let start = timestamp(row.try_get("bucket_start")?, "metric bucket")?;
                let endpoint: String = row.try_get("endpoint")?;
                bucket_from_row(row, start, &endpoint)
            })
            .collect()
    }

    /// Deletes buckets that started before `before` (health is watched for days, not kept).
    pub async fn prune_metric_buckets(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM metric_buckets WHERE bucket_start < $1")
            .bind(micros(before))
            .execute(self.writer())
            .await?;
        Ok(done.rows_affected())
    }
}

/// The sketch as JSON; an empty one as `""` (its infinite min and max have no JSON form).
fn sketch_text(sketch: &DDSketch) -> Result<String, StoreError> {
    if sketch.count() == 0 {
        return Ok(String::new());
    }
    serde_json::to_string(sketch)
        .map_err(|e| StoreError::Corrupt("latency sketch".into(), e.to_string()))
}

fn bucket_from_row(
    row: &sqlx::any::AnyRow,
    start: Timestamp,
    endpoint: &str,
) -> Result<MetricBucket, StoreError> {
    let sketch: String = row.try_get("sketch")?;
    let latency = if sketch.is_empty() {
        DDSketch::new(Config::defaults())
    } else {
        serde_json::from_str(&sketch)
            .map_err(|e| StoreError::Corrupt("latency sketch".into(), e.to_string()))?
    };
    Ok(MetricBucket {
        start,
        endpoint: endpoint.to_string(),
        requests: row.try_get("requests")?,
        failures: row.try_get("failures")?,
        latency,
        pool_checks: row.try_get("pool_checks")?,
        pool_exhausted: row.try_get("pool_exhausted")?,
    })
}
