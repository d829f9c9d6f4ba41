//! Small helpers shared by the store's modules: time columns, JSON columns, error mapping, and
//! the write transaction that every change goes through.

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{Any, Transaction};

use crate::audit::{self, AuditDraft};
use crate::outbox;
use crate::{Change, Store, StoreError};

/// A timestamp as stored: microseconds since the Unix epoch.
pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

/// A stored time back to a timestamp.
pub fn timestamp(micros: i64, what: &str) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(what.to_string(), e.to_string()))
}

/// A value as a JSON column.
pub fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(what.to_string(), e.to_string()))
}

/// A JSON column back to a value.
pub fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(what.to_string(), e.to_string()))
}

/// Maps a unique-constraint violation to a conflict with `message`; other errors pass through.
pub fn unique_to_conflict(err: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    let unique = err
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation());
    if unique {
        StoreError::Conflict(message())
    } else {
        StoreError::Database(err)
    }
}

/// An open write transaction that holds the audit chain's head.
pub struct Write {
    /// The transaction.
    pub tx: Transaction<'static, Any>,
    head: audit::Head,
}

impl Store {
    /// Begins a write: takes the audit head (serialising writers), so audit entries, events and
    /// outbox rows are ordered the same way as the commits.
    pub(crate) async fn begin_write(&self) -> Result<Write, StoreError> {
        let mut tx = self.writer().begin().await?;
        let head = audit::lock_head(&mut tx, self.backend()).await?;
        Ok(Write { tx, head })
    }

    /// Finishes a write: appends its audit entry and outbox rows, then commits.
    pub(crate) async fn finish_write(
        &self,
        mut write: Write,
        change: &Change,
        subject: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<(), StoreError> {
        let draft = AuditDraft {
            at: change.at,
            actor: &change.actor,
            action: &change.action,
            subject,
            before,
            after,
        };
        audit::append(&mut write.tx, &write.head, &draft).await?;
        for message in &change.outbox {
            outbox::insert(&mut write.tx, message, change.at).await?;
        }
        write.tx.commit().await?;
        Ok(())
    }
}
