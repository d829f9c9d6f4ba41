//! Stored events: the releases' history and the spec's telemetry, queryable by release, type and
//! time.

use greenlight_core::Event;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::db::{from_json, micros, timestamp, to_json};
use crate::{Store, StoreError};

/// One stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredEvent {
    /// Position in the global event log.
    pub seq: i64,
    /// The release.
    pub release_id: Uuid,
    /// The event's name.
    pub event: String,
    /// When it happened.
    pub at: Timestamp,
    /// Who caused it.
    pub actor: String,
    /// The event in its JSON shape (the spec's, for telemetry events).
    pub body: serde_json::Value,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this release.
    pub release_id: Option<Uuid>,
    /// Only events of this name.
    pub event: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// After this sequence number (for following the log).
    pub after_seq: Option<i64>,
    /// At most this many (default 500, at most 5000).
    pub limit: Option<i64>,
}

pub(crate) async fn insert(
    tx: &mut Transaction<'static, Any>,
    events: &[Event],
) -> Result<(), StoreError> {
    for event in events {
        sqlx::query(
            "INSERT INTO events (release_id, event, at, actor, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.release_id().to_string())
        .bind(event.name())
        .bind(micros(event.timestamp()))
        .bind(event.actor())
        .bind(to_json(event, "event")?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Events matching `filter`, in the order they happened.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = filter.limit.unwrap_or(500).clamp(1, 5000);
        let rows = sqlx::query(
            "SELECT seq, release_id, event, at, actor, body FROM events \
             WHERE ($1 = '' OR release_id = $1) AND ($2 = '' OR event = $2) \
             AND at >= $3 AND at < $4 AND seq > $5 ORDER BY seq LIMIT $6",
        )
        .bind(
            filter
                .release_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        )
        .bind(filter.event.clone().unwrap_or_default())
        .bind(filter.since.map(micros).unwrap_or(i64::MIN))
        .bind(filter.until.map(micros).unwrap_or(i64::MAX))
        .bind(filter.after_seq.unwrap_or(0))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Every release's events before `until`, as core events in log order (flag events, which
    /// belong to no release, left out): the input of the delivery metrics.
    pub async fn release_history(&self, until: Timestamp) -> Result<Vec<Event>, StoreError> {
        let rows =
            sqlx::query("SELECT body FROM events WHERE release_id <> $1 AND at < $2 ORDER BY seq")
                .bind(Uuid::nil().to_string())
                .bind(micros(until))
                .fetch_all(self.reader())
                .await?;
        rows.iter()
            .map(|row| from_json(&row.try_get::<String, _>(0)?, "event"))
            .collect()
    }

    /// The sequence number of the release's newest event (0 without events): where a page that
    /// shows the release now should start following it.
    pub async fn last_event_seq(&self, release_id: Uuid) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM events WHERE release_id = $1")
            .bind(release_id.to_string())
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The whole history of one release, as core events (for replay and reports).
    pub async fn release_events(&self, release_id: Uuid) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query("SELECT body FROM events WHERE release_id = $1 ORDER BY seq")
            .bind(release_id.to_string())
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| from_json(&row.try_get::<String, _>(0)?, "event"))
            .collect()
    }
}

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<StoredEvent, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let what = format!("event {seq}");
    let release_id: String = row.try_get("release_id")?;
    Ok(StoredEvent {
        seq,
        release_id: Uuid::parse_str(&release_id)
            .map_err(|e| StoreError::Corrupt(what.clone(), e.to_string()))?,
        event: row.try_get("event")?,
        at: timestamp(row.try_get("at")?, &what)?,
        actor: row.try_get("actor")?,
        body: from_json(&row.try_get::<String, _>("body")?, &what)?,
    })
}
