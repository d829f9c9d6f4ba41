//! Calendar subscription links: calendar apps cannot send an Authorization header, so a user
//! gets a link with its own random secret that serves the release calendar and nothing else.
//! The store keeps only the secret's SHA-256; a user has at most one live link (a new one
//! revokes the old), and a revoked link, or one of a disabled user, never matches.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{micros, timestamp};
use crate::users::user_from_row;
use crate::{Change, Store, StoreError, User};

/// A calendar subscription link as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarFeed {
    /// The link's ID (in the audit trail; not the secret).
    pub id: Uuid,
    /// Whose calendar it is.
    pub user_id: String,
    /// When created.
    pub created_at: Timestamp,
    /// When revoked.
    pub revoked_at: Option<Timestamp>,
}

/// A user's live link.
const LIVE_FEED: &str = "SELECT id, user_id, created_at, revoked_at FROM calendar_feeds \
                         WHERE user_id = $1 AND revoked_at IS NULL";

fn feed_from_row(row: &sqlx::any::AnyRow) -> Result<CalendarFeed, StoreError> {
    let id: String = row.try_get("id")?;
    let what = format!("calendar feed {id}");
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    Ok(CalendarFeed {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(what.clone(), e.to_string()))?,
        user_id: row.try_get("user_id")?,
        created_at: timestamp(row.try_get("created_at")?, &what)?,
        revoked_at: revoked.map(|t| timestamp(t, &what)).transpose()?,
    })
}

impl Store {
    /// Creates `user_id`'s calendar link with this secret hash, revoking the live one if any;
    /// audited (subject `user:<id>`) with the link's ID, never its hash.
    pub async fn create_calendar_feed(
        &self,
        id: Uuid,
        user_id: &str,
        secret_hash: &str,
        change: &Change,
    ) -> Result<CalendarFeed, StoreError> {
        let mut write = self.begin_write().await?;
        let before = sqlx::query(LIVE_FEED)
            .bind(user_id)
            .fetch_optional(&mut *write.tx)
            .await?
            .map(|row| feed_from_row(&row))
            .transpose()?;
        sqlx::query(
            "UPDATE calendar_feeds SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(micros(change.at))
        .bind(user_id)
        .execute(&mut *write.tx)
        .await?;
        sqlx::query(
            "INSERT INTO calendar_feeds (id, user_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(user_id)
        .bind(secret_hash)
        .bind(micros(change.at))
        .execute(&mut *write.tx)
        .await
        .map_err(|e| {
            crate::db::unique_to_conflict(e, || "that calendar link secret is taken".into())
        })?;
        let feed = CalendarFeed {
            id,
            user_id: user_id.to_string(),
            created_at: change.at,
            revoked_at: None,
        };
        let subject = format!("user:{user_id}");
        let before = before.and_then(|f| serde_json::to_value(f).ok());
        let after = serde_json::to_value(&feed).ok();
        self.finish_write(write, change, &subject, before, after)
            .await?;
        Ok(feed)
    }

    /// `user_id`'s live calendar link, if any.
    pub async fn calendar_feed(&self, user_id: &str) -> Result<Option<CalendarFeed>, StoreError> {
        sqlx::query(LIVE_FEED)
            .bind(user_id)
            .fetch_optional(self.reader())
            .await?
            .map(|row| feed_from_row(&row))
            .transpose()
    }

    /// The enabled user whose live calendar link has this secret hash.
    pub async fn calendar_feed_user(&self, secret_hash: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(
            "SELECT u.* FROM calendar_feeds f JOIN users u ON u.id = f.user_id \
             WHERE f.secret_hash = $1 AND f.revoked_at IS NULL AND u.disabled = 0",
        )
        .bind(secret_hash)
        .fetch_optional(self.reader())
        .await?
        .map(|row| user_from_row(&row))
        .transpose()
    }

    /// Revokes `user_id`'s live calendar link (audited); [`StoreError::NotFound`] without one.
    pub async fn revoke_calendar_feed(
        &self,
        user_id: &str,
        change: &Change,
    ) -> Result<CalendarFeed, StoreError> {
        let mut write = self.begin_write().await?;
        let row = sqlx::query(LIVE_FEED)
            .bind(user_id)
            .fetch_optional(&mut *write.tx)
            .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!(
                "{user_id} has no live calendar link"
            )));
        };
        let before = feed_from_row(&row)?;
        sqlx::query("UPDATE calendar_feeds SET revoked_at = $1 WHERE id = $2")
            .bind(micros(change.at))
            .bind(before.id.to_string())
            .execute(&mut *write.tx)
            .await?;
        let after = CalendarFeed {
            revoked_at: Some(change.at),
            ..before.clone()
        };
        let subject = format!("user:{user_id}");
        self.finish_write(
            write,
            change,
            &subject,
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&after).ok(),
        )
        .await?;
        Ok(after)
    }
}
