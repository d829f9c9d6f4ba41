//! Dashboard passwords: each user's password as an opaque PHC string (the server hashes with
//! argon2id; the store never sees a password), and the failed sign-ins the brake counts.
//!
//! Setting or clearing a password is audited like every change, but the audit entry only says
//! *that* the user has a password or not: the hash never reaches the audit trail. Either change
//! also ends the user's dashboard sessions, so a reset locks out whoever held the old password.

use jiff::Timestamp;
use sqlx::Row;

use crate::db::{micros, timestamp};
use crate::users::user_from_row;
use crate::{Change, Store, StoreError, User};

/// The answer to a claimed password sign-in attempt (see [`Store::claim_sign_in_attempt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInClaim {
    /// The attempt is counted; the password may be checked.
    Counted,
    /// The brake holds: the name's counted attempts within the window (oldest first); the
    /// password must not be checked.
    Braked(Vec<Timestamp>),
}

/// What a password change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordChanged {
    /// The user had a password before the change.
    pub had_password: bool,
    /// Dashboard sessions of the user the change ended.
    pub sessions_ended: u64,
}

/// The audit entry's view of a user's password: whether there is one, never the hash.
fn password_state(has: bool) -> serde_json::Value {
    serde_json::json!({ "password": if has { "set" } else { "none" } })
}

impl Store {
    /// Sets (or replaces) the password of user `user_id` to the PHC string `phc`, and ends the
    /// user's dashboard sessions. [`StoreError::NotFound`] when there is no such user.
    pub async fn set_password(
        &self,
        user_id: &str,
        phc: &str,
        change: &Change,
    ) -> Result<PasswordChanged, StoreError> {
        let mut write = self.begin_write().await?;
        let had_password = Self::password_exists(&mut write, user_id).await?;
        sqlx::query(
            "INSERT INTO passwords (user_id, phc, set_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET phc = excluded.phc, set_at = excluded.set_at",
        )
        .bind(user_id)
        .bind(phc)
        .bind(micros(change.at))
        .execute(&mut *write.tx)
        .await?;
        let sessions_ended = Self::end_sessions(&mut write, user_id).await?;
        let subject = format!("user:{user_id}");
        let mut after = password_state(true);
        after["sessions_ended"] = sessions_ended.into();
        self.finish_write(
            write,
            change,
            &subject,
            Some(password_state(had_password)),
            Some(after),
        )
        .await?;
        Ok(PasswordChanged {
            had_password,
            sessions_ended,
        })
    }

    /// Removes the password of user `user_id` (password sign-in stops; tokens still work) and
    /// ends the user's dashboard sessions. Without a password nothing changes and nothing is
    /// audited (`had_password` is false). [`StoreError::NotFound`] when there is no such user.
    pub async fn clear_password(
        &self,
        user_id: &str,
        change: &Change,
    ) -> Result<PasswordChanged, StoreError> {
        let mut write = self.begin_write().await?;
        if !Self::password_exists(&mut write, user_id).await? {
            write.tx.rollback().await?;
            return Ok(PasswordChanged {
                had_password: false,
                sessions_ended: 0,
            });
        }
        sqlx::query("DELETE FROM passwords WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *write.tx)
            .await?;
        let sessions_ended = Self::end_sessions(&mut write, user_id).await?;
        let subject = format!("user:{user_id}");
        let mut after = password_state(false);
        after["sessions_ended"] = sessions_ended.into();
        self.finish_write(
            write,
            change,
            &subject,
            Some(password_state(true)),
            Some(after),
        )
        .await?;
        Ok(PasswordChanged {
            had_password: true,
            sessions_ended,
        })
    }

    /// The user `user_id` with their password's PHC string, for sign-in: `None` when there is
    /// no such user, they have no password, or they are disabled (a disabled user never signs
    /// in).
    pub async fn password_for_sign_in(
        &self,
        user_id: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.*, p.phc AS password_phc FROM passwords p JOIN users u ON u.id = p.user_id \
             WHERE u.id = $1 AND u.disabled = 0",
        )
        .bind(user_id)
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((user_from_row(&row)?, row.try_get("password_phc")?)))
    }

    /// Whether user `user_id` has a password.
    pub async fn has_password(&self, user_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM passwords WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.reader())
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// The times of failed password sign-ins for `user_name` after `since`, oldest first.
    pub async fn sign_in_failures(
        &self,
        user_name: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let rows = sqlx::query(
            "SELECT at FROM sign_in_failures WHERE user_name = $1 AND at > $2 ORDER BY at",
        )
        .bind(user_name)
        .bind(micros(since))
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| timestamp(row.try_get("at")?, "sign-in failure"))
            .collect()
    }

    /// Records a failed password sign-in for `user_name` at `at`, and forgets every failure
    /// (of any name) from before `forget_before`, so the table stays as small as the brake's
    /// window. Like sessions, these rows are bookkeeping, not changes, and are not audited.
    pub async fn record_sign_in_failure(
        &self,
        user_name: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(micros(forget_before))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sign_in_failures (user_name, at) VALUES ($1, $2)")
            .bind(user_name)
            .bind(micros(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a password sign-in attempt for `user_name` at `at` *before* its password is
    /// checked, unless `max` attempts after `since` are counted already: then nothing is
    /// counted and the answer is [`SignInClaim::Braked`]. Count and insert are one step, so
    /// parallel attempts (on one instance or several on one database) never get more than
    /// `max` checks between them: PostgreSQL serialises attempts on a name with a transaction
    /// advisory lock, SQLite with its single writer (the first statement takes the write lock).
    /// A successful sign-in then forgets the name's attempts ([`Store::clear_sign_in_failures`]).
    /// Attempts from before `since` (any name) are swept.
    pub async fn claim_sign_in_attempt(
        &self,
        user_name: &str,
        at: Timestamp,
        since: Timestamp,
        max: usize,
    ) -> Result<SignInClaim, StoreError> {
        let mut tx = self.writer().begin().await?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query(
                "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(7321, hashtext($1))) AS l",
            )
            .bind(user_name)
            .fetch_all(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM sign_in_failures WHERE at <= $1")
            .bind(micros(since))
            .execute(&mut *tx)
            .await?;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let counted = sqlx::query(
            "INSERT INTO sign_in_failures (user_name, at) SELECT $1, $2 \
             WHERE (SELECT COUNT(*) FROM sign_in_failures WHERE user_name = $3 AND at > $4) < $5",
        )
        .bind(user_name)
        .bind(micros(at))
        .bind(user_name)
        .bind(micros(since))
        .bind(max)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let claim = if counted {
            SignInClaim::Counted
        } else {
            let rows = sqlx::query(
                "SELECT at FROM sign_in_failures WHERE user_name = $1 AND at > $2 ORDER BY at",
            )
            .bind(user_name)
            .bind(micros(since))
            .fetch_all(&mut *tx)
            .await?;
            let times = rows
                .iter()
                .map(|row| timestamp(row.try_get("at")?, "sign-in attempt"))
                .collect::<Result<Vec<_>, _>>()?;
            SignInClaim::Braked(times)
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Forgets the failed sign-ins of `user_name` (after a successful one).
    pub async fn clear_sign_in_failures(&self, user_name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE user_name = $1")
            .bind(user_name)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Whether user `user_id` has a password, inside `write`;
    /// [`StoreError::NotFound`] when there is no such user.
    async fn password_exists(
        write: &mut crate::db::Write,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(p.user_id) FROM users u LEFT JOIN passwords p ON p.user_id = u.id \
             WHERE u.id = $1 GROUP BY u.id",
        )
        .bind(user_id)
        .fetch_optional(&mut *write.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Ends every dashboard session of `user_id` inside `write`; how many there were.
    async fn end_sessions(write: &mut crate::db::Write, user_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *write.tx)
            .await?;
        Ok(done.rows_affected())
    }
}
