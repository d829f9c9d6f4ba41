//! Accounts: users with the spec's roles, and API tokens stored only as hashes.

use std::collections::BTreeSet;

use greenlight_core::Role;
use greenlight_core::release::ReleaseCommunication;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_json, micros, timestamp, to_json, unique_to_conflict};
use crate::{Change, Store, StoreError};

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// User ID (a short name, `erin`).
    pub id: String,
    /// Name to show.
    pub display_name: String,
    /// Release-process roles held.
    pub roles: BTreeSet<Role>,
    /// May manage users and tokens.
    pub is_admin: bool,
    /// Signed-in sessions and tokens no longer work.
    pub disabled: bool,
    /// When created.
    pub created_at: Timestamp,
}

/// What an API token may be used for; a scope only ever narrows what its user's roles allow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Everything the user may do (a person's token).
    #[default]
    Full,
    /// Reads only (GET): dashboards, reports, CI that checks a release's state.
    Read,
    /// Sending health samples and CI evidence only (`POST /api/v1/metrics`,
    /// `POST /api/v1/releases/{key}/evidence`).
    Ingest,
    /// Reading feature flags only (`GET /api/v1/flags...`), for platforms that evaluate them.
    Flags,
}

impl TokenScope {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Full => "full",
            TokenScope::Read => "read",
            TokenScope::Ingest => "ingest",
            TokenScope::Flags => "flags",
        }
    }

    /// The scope named `name`, if any.
    pub fn parse(name: &str) -> Option<TokenScope> {
        [
            TokenScope::Full,
            TokenScope::Read,
            TokenScope::Ingest,
            TokenScope::Flags,
        ]
        .into_iter()
        .find(|s| s.as_str() == name.trim())
    }
}

/// An API token as stored: only its SHA-256 hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRecord {
    /// Token ID (shown in lists; not the secret).
    pub id: Uuid,
    /// Owner.
    pub user_id: String,
    /// What it is for (`ci`, `laptop`).
    pub name: String,
    /// Hex SHA-256 of the secret.
    #[serde(skip_serializing)]
    pub token_hash: String,
    /// When created.
    pub created_at: Timestamp,
    /// When revoked.
    pub revoked_at: Option<Timestamp>,
    /// What it may be used for.
    #[serde(default)]
    pub scope: TokenScope,
    /// When it stops working (none: until revoked).
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

pub(crate) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let id: String = row.try_get("id")?;
    let what = format!("user {id}");
    Ok(User {
        roles: from_json(&row.try_get::<String, _>("roles")?, &what)?,
        display_name: row.try_get("display_name")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: timestamp(row.try_get("created_at")?, &what)?,
        id,
    })
}

fn user_json(user: &User) -> Option<serde_json::Value> {
    serde_json::to_value(user).ok()
}

impl Store {
    /// Number of users (0 means first run: bootstrap an admin).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Creates a user.
    pub async fn create_user(&self, user: &User, change: &Change) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users (id, display_name, roles, is_admin, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.display_name)
        .bind(to_json(&user.roles, "roles")?)
        .bind(i64::from(user.is_admin))
        .bind(i64::from(user.disabled))
        .bind(micros(user.created_at))
        .execute(&mut *write.tx)
        .await
        .map_err(|e| unique_to_conflict(e, || format!("user `{}` already exists", user.id)))?;
        let subject = format!("user:{}", user.id);
        self.finish_write(write, change, &subject, None, user_json(user))
            .await
    }

    /// Replaces a user's roles, admin flag and disabled flag.
    pub async fn update_user(&self, user: &User, change: &Change) -> Result<(), StoreError> {
        let before = self
            .user(&user.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", user.id)))?;
        let mut write = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET display_name = $1, roles = $2, is_admin = $3, disabled = $4 WHERE id = $5",
        )
        .bind(&user.display_name)
        .bind(to_json(&user.roles, "roles")?)
        .bind(i64::from(user.is_admin))
        .bind(i64::from(user.disabled))
        .bind(&user.id)
        .execute(&mut *write.tx)
        .await?;
        let subject = format!("user:{}", user.id);
        self.finish_write(write, change, &subject, user_json(&before), user_json(user))
            .await
    }

    /// A user by ID.
    pub async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every user, by ID.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY id")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Stores a token's hash.
    pub async fn create_token(
        &self,
        token: &TokenRecord,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, revoked_at, scope, expires_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
        )
        .bind(token.id.to_string())
        .bind(&token.user_id)
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(micros(token.created_at))
        .bind(token.scope.as_str())
        .bind(token.expires_at.map(micros))
        .execute(&mut *write.tx)
        .await
        .map_err(|e| unique_to_conflict(e, || "token already exists".to_string()))?;
        let subject = format!("user:{}", token.user_id);
        let after = serde_json::json!({
            "token_id": token.id, "name": token.name, "scope": token.scope,
            "expires_at": token.expires_at,
        });
        self.finish_write(write, change, &subject, None, Some(after))
            .await
    }

    /// Revokes a token and ends the dashboard sessions opened with it, in one transaction; how
    /// many sessions ended.
    pub async fn revoke_token(&self, id: Uuid, change: &Change) -> Result<u64, StoreError> {
        let mut write = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING user_id",
        )
        .bind(micros(change.at))
        .bind(id.to_string())
        .fetch_optional(&mut *write.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("active token {id}")))?;
        let user_id: String = row.try_get(0)?;
        let sessions_ended = sqlx::query("DELETE FROM sessions WHERE token_id = $1")
            .bind(id.to_string())
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        let subject = format!("user:{user_id}");
        let after = serde_json::json!({
            "token_id": id, "revoked": true, "sessions_ended": sessions_ended,
        });
        self.finish_write(write, change, &subject, None, Some(after))
            .await?;
        Ok(sessions_ended)
    }

    /// The tokens of a user (hashes not included in JSON).
    pub async fn tokens(&self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, token_hash, created_at, revoked_at, scope, expires_at \
             FROM api_tokens WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// The enabled user owning the unrevoked token with this hash.
    pub async fn user_by_token_hash(&self, hash: &str) -> Result<Option<User>, StoreError> {
        Ok(self.token_by_hash(hash).await?.map(|(user, _)| user))
    }

    /// The unrevoked token with this hash and its enabled user (whether it has expired is the
    /// caller's to check against its clock: [`TokenRecord::expires_at`]).
    pub async fn token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(User, TokenRecord)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.*, t.id AS token_id, t.name AS token_name, t.token_hash AS token_token_hash, \
             t.created_at AS token_created_at, t.revoked_at AS token_revoked_at, \
             t.scope AS token_scope, t.expires_at AS token_expires_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
        )
        .bind(hash)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let token = token_from_columns(&row, "token_", user.id.clone())?;
        Ok(Some((user, token)))
    }

    /// Records a communication that was sent (the spec's ReleaseCommunication).
    pub async fn record_communication(
        &self,
        communication: &ReleaseCommunication,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        let value = self.insert_communication(&mut write, communication).await?;
        let subject = format!("release:{}", communication.release_id);
        self.finish_write(write, change, &subject, None, Some(value))
            .await
    }

    /// Inserts `communication` in `write`; its JSON, for the audit entry.
    pub(crate) async fn insert_communication(
        &self,
        write: &mut crate::db::Write,
        communication: &ReleaseCommunication,
    ) -> Result<serde_json::Value, StoreError> {
        let body = to_json(communication, "communication")?;
        let value: serde_json::Value = from_json(&body, "communication")?;
        sqlx::query(
            "INSERT INTO communications (communication_id, release_id, communication_type, audience, sent_at, body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(communication.communication_id.to_string())
        .bind(communication.release_id.to_string())
        .bind(value["communication_type"].as_str().unwrap_or_default())
        .bind(value["audience"].as_str().unwrap_or_default())
        .bind(micros(communication.sent_at))
        .bind(&body)
        .execute(&mut *write.tx)
        .await
        .map_err(|e| unique_to_conflict(e, || "communication already recorded".to_string()))?;
        Ok(value)
    }

    /// The communications of a release, oldest first.
    pub async fn communications(
        &self,
        release_id: Uuid,
    ) -> Result<Vec<ReleaseCommunication>, StoreError> {
        let rows = sqlx::query(
            "SELECT body FROM communications WHERE release_id = $1 ORDER BY sent_at, communication_id",
        )
        .bind(release_id.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| from_json(&row.try_get::<String, _>(0)?, "communication"))
            .collect()
    }
}

fn token_from_row(row: &sqlx::any::AnyRow) -> Result<TokenRecord, StoreError> {
    token_from_columns(row, "", row.try_get("user_id")?)
}

/// A token from the columns named `prefix` + its field names.
fn token_from_columns(
    row: &sqlx::any::AnyRow,
    prefix: &str,
    user_id: String,
) -> Result<TokenRecord, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    let id: String = row.try_get(column("id").as_str())?;
    let what = format!("token {id}");
    let revoked: Option<i64> = row.try_get(column("revoked_at").as_str())?;
    let expires: Option<i64> = row.try_get(column("expires_at").as_str())?;
    let scope: String = row.try_get(column("scope").as_str())?;
    let scope = TokenScope::parse(&scope)
        .ok_or_else(|| StoreError::Corrupt(what.clone(), format!("unknown scope `{scope}`")))?;
    Ok(TokenRecord {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(what.clone(), e.to_string()))?,
        user_id,
        name: row.try_get(column("name").as_str())?,
        token_hash: row.try_get(column("token_hash").as_str())?,
        created_at: timestamp(row.try_get(column("created_at").as_str())?, &what)?,
        revoked_at: revoked.map(|t| timestamp(t, &what)).transpose()?,
        scope,
        expires_at: expires.map(|t| timestamp(t, &what)).transpose()?,
    })
}
