//! Dashboard sessions: a signed-in browser holds a random secret in a cookie; the store keeps
//! its SHA-256, the user, the form token (CSRF) and the expiry. Expired sessions never match.

use jiff::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::db::micros;
use crate::users::user_from_row;
use crate::{Change, Store, StoreError, User};

/// A live session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Who is signed in.
    pub user: User,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

impl Store {
    /// Opens a session for `user_id` (audited as a sign-in); `token_id` is the API token it
    /// was opened with (none for a password), whose revocation ends it.
    pub async fn create_session(
        &self,
        secret_hash: &str,
        user_id: &str,
        token_id: Option<Uuid>,
        csrf: &str,
        expires_at: Timestamp,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (secret_hash, user_id, token_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(secret_hash)
        .bind(user_id)
        .bind(token_id.map(|id| id.to_string()))
        .bind(csrf)
        .bind(micros(change.at))
        .bind(micros(expires_at))
        .execute(&mut *write.tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(micros(change.at))
            .execute(&mut *write.tx)
            .await?;
        let subject = format!("user:{user_id}");
        self.finish_write(write, change, &subject, None, None).await
    }

    /// The live session with this secret hash at `now`, for an enabled user; a session opened
    /// with a token lives only as long as the token (not revoked, not expired).
    pub async fn session(
        &self,
        secret_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf AS session_csrf, s.expires_at AS session_expires FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             LEFT JOIN api_tokens t ON t.id = s.token_id \
             WHERE s.secret_hash = $1 AND s.expires_at > $2 AND u.disabled = 0 \
             AND (s.token_id IS NULL OR (t.id IS NOT NULL AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > $3)))",
        )
        .bind(secret_hash)
        .bind(micros(now))
        .bind(micros(now))
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires: i64 = row.try_get("session_expires")?;
        Ok(Some(Session {
            user: user_from_row(&row)?,
            csrf: row.try_get("session_csrf")?,
            expires_at: crate::db::timestamp(expires, "session")?,
        }))
    }

    /// The shared secret `name`: `fresh` stored when it has none yet (the first instance to
    /// ask wins a race; every instance on the database then reads the same value). Never
    /// audited or logged.
    pub async fn server_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(self.writer())
        .await?;
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.writer())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Counts one request in rate-limit `bucket` for the window starting at `window_start`
    /// and answers the window's count so far, this one included. One atomic statement
    /// (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`) on both backends, so every instance on
    /// the database counts together. The first request of a window sweeps windows that ended
    /// before `forget_before`. Bookkeeping, not audited.
    pub async fn count_request(
        &self,
        bucket: &str,
        window_start: Timestamp,
        forget_before: Timestamp,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO rate_limits (bucket, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1 \
             RETURNING count",
        )
        .bind(bucket)
        .bind(micros(window_start))
        .fetch_one(self.writer())
        .await?;
        let count: i64 = row.try_get(0)?;
        if count == 1 {
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(micros(forget_before))
                .execute(self.writer())
                .await?;
        }
        Ok(count)
    }

    /// Ends a session (sign-out); nothing happens if it is gone already.
    pub async fn delete_session(&self, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE secret_hash = $1")
            .bind(secret_hash)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
