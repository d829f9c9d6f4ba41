//! What runbook steps did: one row per attempt, written as the run goes, so a run interrupted by a
//! crash still shows how far it got.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{micros, timestamp};
use crate::{Change, Store, StoreError};

/// One attempt of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepRecord {
    /// The release.
    pub release_id: Uuid,
    /// staging, production or rollback.
    pub run_kind: String,
    /// When the run started (tells runs of one release apart).
    pub run_started_at: Timestamp,
    /// The step's name.
    pub step: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// succeeded, failed or timed_out.
    pub outcome: String,
    /// The command's exit code or the webhook's HTTP status.
    pub exit_code: Option<i64>,
    /// When the attempt started.
    pub started_at: Timestamp,
    /// How long it took.
    pub duration_ms: i64,
    /// Output (stdout and stderr), bounded, secrets masked.
    pub output: String,
}

impl Store {
    /// Records one step attempt.
    pub async fn record_step(&self, step: &StepRecord, change: &Change) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO run_steps (release_id, run_kind, run_started_at, step, attempt, outcome, \
             exit_code, started_at, duration_ms, output) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(step.release_id.to_string())
        .bind(&step.run_kind)
        .bind(micros(step.run_started_at))
        .bind(&step.step)
        .bind(i64::from(step.attempt))
        .bind(&step.outcome)
        .bind(step.exit_code)
        .bind(micros(step.started_at))
        .bind(step.duration_ms)
        .bind(&step.output)
        .execute(&mut *write.tx)
        .await?;
        let subject = format!("release:{}", step.release_id);
        let after = serde_json::json!({
            "run": step.run_kind, "step": step.step, "attempt": step.attempt,
            "outcome": step.outcome, "exit_code": step.exit_code, "duration_ms": step.duration_ms,
        });
        self.finish_write(write, change, &subject, None, Some(after))
            .await
    }

    /// The step attempts of a release, oldest first.
    pub async fn steps(&self, release_id: Uuid) -> Result<Vec<StepRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT release_id, run_kind, run_started_at, step, attempt, outcome, exit_code, \
             started_at, duration_ms, output FROM run_steps WHERE release_id = $1 ORDER BY seq",
        )
        .bind(release_id.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(step_from_row).collect()
    }
}

fn step_from_row(row: &sqlx::any::AnyRow) -> Result<StepRecord, StoreError> {
    let id: String = row.try_get("release_id")?;
    let what = format!("run step of {id}");
    Ok(StepRecord {
        release_id: Uuid::parse_str(&id)
            .map_err(|e| StoreError::Corrupt(what.clone(), e.to_string()))?,
        run_kind: row.try_get("run_kind")?,
        run_started_at: timestamp(row.try_get("run_started_at")?, &what)?,
        step: row.try_get("step")?,
        attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(u32::MAX),
        outcome: row.try_get("outcome")?,
        exit_code: row.try_get("exit_code")?,
        started_at: timestamp(row.try_get("started_at")?, &what)?,
        duration_ms: row.try_get("duration_ms")?,
        output: row.try_get("output")?,
    })
}
