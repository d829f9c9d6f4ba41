//! Communications as the outbox delivers them: a delivered message and its ReleaseCommunication
//! record commit together (so a crash cannot record a send twice or lose the record), dead
//! letters go back to the queue by hand, and the public channels (status page, in-app feed)
//! read what was published.

use greenlight_core::comms::{AudienceName, audience_name};
use greenlight_core::release::{CommunicationType, ReleaseCommunication};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_json, micros, timestamp, unique_to_conflict};
use crate::{Change, Store, StoreError};

/// An email recipient of an audience, managed through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipient {
    /// `internal`, `subscribers`, `all_users` or `beta_testers`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub audience: AudienceName,
    /// Email address.
    pub address: String,
    /// Who added it.
    pub added_by: String,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub added_at: Timestamp,
}

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

    /// Adds an email recipient to an audience; `Conflict` if it is there already.
    pub async fn add_recipient(
        &self,
        recipient: &Recipient,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        let audience = audience_name(recipient.audience.into());
        sqlx::query(
            "INSERT INTO recipients (audience, address, added_by, added_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(audience)
        .bind(&recipient.address)
        .bind(&recipient.added_by)
        .bind(micros(recipient.added_at))
        .execute(&mut *write.tx)
        .await
        .map_err(|e| {
            unique_to_conflict(e, || {
                format!("{} already receives {audience} email", recipient.address)
            })
        })?;
        let subject = format!("recipients:{audience}");
        let after = serde_json::json!({ "audience": audience, "address": recipient.address });
        self.finish_write(write, change, &subject, None, Some(after))
            .await
    }

    /// Removes an email recipient; `NotFound` if it was not one.
    pub async fn remove_recipient(
        &self,
        audience: AudienceName,
        address: &str,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        let name = audience_name(audience.into());
        let removed = sqlx::query("DELETE FROM recipients WHERE audience = $1 AND address = $2")
            .bind(name)
            .bind(address)
            .execute(&mut *write.tx)
            .await?;
        if removed.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!(
                "{address} is not a recipient of {name} email"
            )));
        }
        let subject = format!("recipients:{name}");
        let before = serde_json::json!({ "audience": name, "address": address });
        self.finish_write(write, change, &subject, Some(before), None)
            .await
    }

    /// Recipients added through the API, by audience then address.
    pub async fn recipients(&self) -> Result<Vec<Recipient>, StoreError> {
        let rows = sqlx::query(
            "SELECT audience, address, added_by, added_at FROM recipients ORDER BY audience, address",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let audience: String = row.try_get(0)?;
                let what = format!("recipient of {audience}");
                Ok(Recipient {
                    audience: serde_json::from_value(serde_json::Value::String(audience))
                        .map_err(|e| StoreError::Corrupt(what.clone(), e.to_string()))?,
                    address: row.try_get(1)?,
                    added_by: row.try_get(2)?,
                    added_at: timestamp(row.try_get(3)?, &what)?,
                })
            })
            .collect()
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
