//! Communications as the outbox delivers them: a delivered message and its ReleaseCommunication
//! record commit together (so a crash cannot record a send twice or lose the record), dead
//! letters go back to the queue by hand, and the public channels (status page, in-app feed)
//! read what was published.

use greenlight_core::release::{CommunicationType, ReleaseCommunication};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_json, micros};
use crate::{Change, Store, StoreError};

impl Store {
    /// Marks outbox message `message_id` delivered and records `communication`, together.
    /// `Conflict` if the message is no longer pending (another worker settled it).
    pub async fn deliver_communication(
        &self,
        message_id: Uuid,
        communication: &ReleaseCommunication,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        let settled = sqlx::query(
            "UPDATE outbox SET status = 'delivered', last_error = NULL, done_at = $1 \
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(micros(change.at))
        .bind(message_id.to_string())
        .execute(&mut *write.tx)
        .await?;
        if settled.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "outbox message {message_id} is no longer pending"
            )));
        }
        let value = self.insert_communication(&mut write, communication).await?;
        let subject = format!("release:{}", communication.release_id);
        self.finish_write(write, change, &subject, None, Some(value))
            .await
    }

    /// Puts a dead letter back in the queue, due at once, with its attempts reset.
    /// `NotFound` if there is no such dead message.
    pub async fn retry_outbox(&self, id: Uuid, change: &Change) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, available_at = $1, done_at = NULL \
             WHERE id = $2 AND status = 'dead'",
        )
        .bind(micros(change.at))
        .bind(id.to_string())
        .execute(&mut *write.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!(
                "no dead outbox message {id} (only dead letters are retried)"
            )));
        }
        let subject = format!("outbox:{id}");
        self.finish_write(write, change, &subject, None, None).await
    }

    /// Communications published on `channels`, newest first.
    pub async fn published(
        &self,
        channels: &[CommunicationType],
        limit: i64,
    ) -> Result<Vec<ReleaseCommunication>, StoreError> {
        let names: Vec<&str> = channels
            .iter()
            .map(|c| greenlight_core::comms::channel_name(*c))
            .collect();
        let rows = sqlx::query(
            "SELECT body FROM communications WHERE communication_type IN ($1, $2, $3, $4) \
             ORDER BY sent_at DESC, communication_id LIMIT $5",
        )
        .bind(names.first().copied().unwrap_or(""))
        .bind(names.get(1).copied().unwrap_or(""))
        .bind(names.get(2).copied().unwrap_or(""))
        .bind(names.get(3).copied().unwrap_or(""))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| from_json(&row.try_get::<String, _>(0)?, "communication"))
            .collect()
    }
}
