//! The outbox: messages written in the same transaction as the change that causes them, so a
//! crash can never lose one. Workers claim due messages, deliver, and mark them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::db::{from_json, micros, timestamp, to_json};
use crate::{Change, Store, StoreError};

/// A message to write with a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxDraft {
    /// Unique ID.
    pub id: Uuid,
    /// What kind of message (`notification.email`, `hook.run`).
    pub topic: String,
    /// The release it is about.
    pub release_id: Option<Uuid>,
    /// Unique key: the same key is never enqueued twice.
    pub idempotency_key: String,
    /// The message.
    pub payload: serde_json::Value,
    /// Not before this time.
    pub available_at: Timestamp,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting to be delivered (or retried).
    Pending,
    /// Delivered.
    Delivered,
    /// Gave up after the retries: needs a person.
    Dead,
}

impl OutboxStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Dead => "dead",
        }
    }

    fn parse(text: &str) -> OutboxStatus {
        match text {
            "delivered" => OutboxStatus::Delivered,
            "dead" => OutboxStatus::Dead,
            _ => OutboxStatus::Pending,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Unique ID.
    pub id: Uuid,
    /// Kind.
    pub topic: String,
    /// Release.
    pub release_id: Option<Uuid>,
    /// Idempotency key.
    pub idempotency_key: String,
    /// The message.
    pub payload: serde_json::Value,
    /// Status.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Next attempt not before.
    pub available_at: Timestamp,
    /// When written.
    pub created_at: Timestamp,
    /// The last failure.
    pub last_error: Option<String>,
    /// When delivered or declared dead.
    pub done_at: Option<Timestamp>,
}

/// Inserts `draft` unless a message with its idempotency key exists: enqueuing is idempotent,
/// so replaying the change that owes a message never fails the change or sends it twice.
pub(crate) async fn insert(
    tx: &mut Transaction<'static, Any>,
    draft: &OutboxDraft,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (id, topic, release_id, idempotency_key, payload, status, attempts, available_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(draft.id.to_string())
    .bind(&draft.topic)
    .bind(draft.release_id.map(|id| id.to_string()))
    .bind(&draft.idempotency_key)
    .bind(to_json(&draft.payload, "outbox payload")?)
    .bind(micros(draft.available_at))
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Writes messages on their own (the change is still audited).
    pub async fn enqueue(&self, change: &Change) -> Result<(), StoreError> {
        let write = self.begin_write().await?;
        let subject = format!("outbox:{}", change.outbox.len());
        self.finish_write(write, change, &subject, None, None).await
    }

    /// Claims up to `limit` due messages of topics starting with `topic_prefix` for `lease`:
    /// each claimed message is invisible to other claimers until the lease ends (a crashed worker's
    /// messages come back). Counts an attempt.
    pub async fn claim_outbox(
        &self,
        topic_prefix: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let until = now.checked_add(lease).unwrap_or(now);
        let mut write = self.begin_write().await?;
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM outbox WHERE status = 'pending' AND available_at <= $1 \
             AND topic LIKE $2 || '%' ORDER BY available_at, created_at LIMIT $3",
        )
        .bind(micros(now))
        .bind(topic_prefix)
        .bind(limit.clamp(1, 500))
        .fetch_all(&mut *write.tx)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "UPDATE outbox SET available_at = $1, attempts = attempts + 1 WHERE id = $2 \
                 RETURNING id, topic, release_id, idempotency_key, payload, status, attempts, available_at, created_at, last_error, done_at",
            )
            .bind(micros(until))
            .bind(&id)
            .fetch_one(&mut *write.tx)
            .await?;
            claimed.push(message_from_row(&row)?);
        }
        // Claims are bookkeeping, not changes of record: commit without an audit entry.
        write.tx.commit().await?;
        Ok(claimed)
    }

    /// Marks a message delivered, failed (retry at `retry_at`) or dead.
    pub async fn settle_outbox(
        &self,
        id: Uuid,
        status: OutboxStatus,
        error: Option<&str>,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let done_at = (status != OutboxStatus::Pending).then_some(micros(now));
        sqlx::query(
            "UPDATE outbox SET status = $1, last_error = $2, available_at = COALESCE($3, available_at), done_at = $4 WHERE id = $5",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(retry_at.map(micros))
        .bind(done_at)
        .bind(id.to_string())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// One message by ID.
    pub async fn outbox_message(&self, id: Uuid) -> Result<Option<OutboxMessage>, StoreError> {
        let row = sqlx::query(
            "SELECT id, topic, release_id, idempotency_key, payload, status, attempts, available_at, created_at, last_error, done_at FROM outbox WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Messages of topics starting with `topic_prefix` (`""`: all), newest first, optionally of
    /// one status.
    pub async fn outbox(
        &self,
        topic_prefix: &str,
        status: Option<OutboxStatus>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, topic, release_id, idempotency_key, payload, status, attempts, available_at, created_at, last_error, done_at FROM outbox \
             WHERE topic LIKE $1 || '%' AND ($2 = '' OR status = $2) ORDER BY created_at DESC LIMIT $3",
        )
        .bind(topic_prefix)
        .bind(status.map(|s| s.as_str()).unwrap_or(""))
        .bind(limit.clamp(1, 5000))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(message_from_row).collect()
    }
}

fn message_from_row(row: &sqlx::any::AnyRow) -> Result<OutboxMessage, StoreError> {
    let id: String = row.try_get("id")?;
    let what = format!("outbox {id}");
    let parse_id = |text: &str| {
        Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(what.clone(), e.to_string()))
    };
    let release_id: Option<String> = row.try_get("release_id")?;
    let done_at: Option<i64> = row.try_get("done_at")?;
    Ok(OutboxMessage {
        id: parse_id(&id)?,
        topic: row.try_get("topic")?,
        release_id: release_id.as_deref().map(parse_id).transpose()?,
        idempotency_key: row.try_get("idempotency_key")?,
        payload: from_json(&row.try_get::<String, _>("payload")?, &what)?,
        status: OutboxStatus::parse(&row.try_get::<String, _>("status")?),
        attempts: row.try_get("attempts")?,
        available_at: timestamp(row.try_get("available_at")?, &what)?,
        created_at: timestamp(row.try_get("created_at")?, &what)?,
        last_error: row.try_get("last_error")?,
        done_at: done_at.map(|t| timestamp(t, &what)).transpose()?,
    })
}
