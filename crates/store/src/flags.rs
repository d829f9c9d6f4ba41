//! Feature flags: each stored as JSON with a revision (optimistic concurrency, as releases), its
//! events in the event log (under its release, or the nil UUID when it has none) and an audit
//! entry, all in one transaction. Every write bumps `flags_version`; on PostgreSQL it also
//! sends `NOTIFY greenlight_flags`, delivered at commit, so other instances reload at once.

use greenlight_core::flags::{Flag, FlagEvent};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::db::{from_json, micros, to_json, unique_to_conflict};
use crate::{Backend, Change, Store, StoreError};

/// The PostgreSQL notification channel flag writes signal on (spelled out in `NOTIFY` too).
pub const FLAGS_CHANNEL: &str = "greenlight_flags";

/// A flag with its revision (the ETag of its API resource).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFlag {
    /// The flag.
    pub flag: Flag,
    /// Bumped by every change.
    pub revision: i64,
}

fn flag_from_row(row: &sqlx::any::AnyRow) -> Result<StoredFlag, StoreError> {
    Ok(StoredFlag {
        flag: from_json(&row.try_get::<String, _>("body")?, "flag")?,
        revision: row.try_get("revision")?,
    })
}

impl Store {
    /// Stores a new flag from its `flag_created` event; a key in use is a conflict.
    pub async fn create_flag(
        &self,
        flag: &Flag,
        event: &FlagEvent,
        change: &Change,
    ) -> Result<StoredFlag, StoreError> {
        let mut write = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO flags (flag_key, revision, release_id, body, updated_at) VALUES ($1, 1, $2, $3, $4)",
        )
        .bind(&flag.key)
        .bind(flag.release_id.map(|id| id.to_string()))
        .bind(to_json(flag, "flag")?)
        .bind(micros(flag.updated_at))
        .execute(&mut *write.tx)
        .await
        .map_err(|e| unique_to_conflict(e, || format!("flag {} already exists", flag.key)))?;
        self.flag_written(&mut write.tx, flag, event).await?;
        let after = serde_json::to_value(flag).ok();
        self.finish_write(write, change, &format!("flag:{}", flag.key), None, after)
            .await?;
        Ok(StoredFlag {
            flag: flag.clone(),
            revision: 1,
        })
    }

    /// Commits a changed flag with its event, refused as stale if the flag moved since
    /// `expected_revision`.
    pub async fn commit_flag(
        &self,
        flag: &Flag,
        expected_revision: i64,
        event: &FlagEvent,
        change: &Change,
    ) -> Result<StoredFlag, StoreError> {
        let mut write = self.begin_write().await?;
        let current = sqlx::query("SELECT body, revision FROM flags WHERE flag_key = $1")
            .bind(&flag.key)
            .fetch_optional(&mut *write.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("flag {}", flag.key)))?;
        let current = flag_from_row(&current)?;
        if current.revision != expected_revision {
            return Err(StoreError::StaleRevision {
                release: format!("flag {}", flag.key),
                current: current.revision,
                expected: expected_revision,
            });
        }
        sqlx::query(
            "UPDATE flags SET revision = revision + 1, body = $1, updated_at = $2 \
             WHERE flag_key = $3 AND revision = $4",
        )
        .bind(to_json(flag, "flag")?)
        .bind(micros(flag.updated_at))
        .bind(&flag.key)
        .bind(expected_revision)
        .execute(&mut *write.tx)
        .await?;
        self.flag_written(&mut write.tx, flag, event).await?;
        let before = serde_json::to_value(&current.flag).ok();
        let after = serde_json::to_value(flag).ok();
        self.finish_write(write, change, &format!("flag:{}", flag.key), before, after)
            .await?;
        Ok(StoredFlag {
            flag: flag.clone(),
            revision: expected_revision + 1,
        })
    }

    /// The event, the version bump and (PostgreSQL) the notification of a flag write.
    async fn flag_written(
        &self,
        tx: &mut Transaction<'static, Any>,
        flag: &Flag,
        event: &FlagEvent,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (release_id, event, at, actor, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(flag.release_id.unwrap_or(Uuid::nil()).to_string())
        .bind(event.name())
        .bind(micros(event.timestamp()))
        .bind(event.actor())
        .bind(to_json(event, "flag event")?)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE flags_version SET version = version + 1 WHERE id = 1")
            .execute(&mut **tx)
            .await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("NOTIFY greenlight_flags")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// A flag by key.
    pub async fn flag(&self, key: &str) -> Result<Option<StoredFlag>, StoreError> {
        let row = sqlx::query("SELECT body, revision FROM flags WHERE flag_key = $1")
            .bind(key)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(flag_from_row).transpose()
    }

    /// Every flag, by key.
    pub async fn flags(&self) -> Result<Vec<StoredFlag>, StoreError> {
        let rows = sqlx::query("SELECT body, revision FROM flags ORDER BY flag_key")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(flag_from_row).collect()
    }

    /// Every flag with the version they are at, read together.
    pub async fn flags_with_version(&self) -> Result<(i64, Vec<StoredFlag>), StoreError> {
        let mut tx = self.reader().begin().await?;
        let version: i64 = sqlx::query("SELECT version FROM flags_version WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let rows = sqlx::query("SELECT body, revision FROM flags ORDER BY flag_key")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let flags = rows.iter().map(flag_from_row).collect::<Result<_, _>>()?;
        Ok((version, flags))
    }

    /// The flags' version: it changes with every flag write.
    pub async fn flags_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT version FROM flags_version WHERE id = 1")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// A connection listening for flag writes of every instance (PostgreSQL); `None` on SQLite,
    /// where one process is the only writer.
    pub async fn listen_flags(&self) -> Result<Option<FlagListener>, StoreError> {
        let Some(url) = self.inner.postgres_url.as_deref() else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(FLAGS_CHANNEL).await?;
        Ok(Some(FlagListener(listener)))
    }
}

/// Notifications of flag writes (PostgreSQL `LISTEN greenlight_flags`).
pub struct FlagListener(sqlx::postgres::PgListener);

impl FlagListener {
    /// Waits for the next flag write; an error means the connection was lost (it reconnects
    /// on the next call, and notifications sent meanwhile are missed: poll as well).
    pub async fn changed(&mut self) -> Result<(), StoreError> {
        self.0.recv().await?;
        Ok(())
    }
}
