//! The append-only, hash-chained audit trail.
//!
//! Each entry's canonical JSON (who, what, when, subject, before and after) is stored as text
//! together with `hash = sha256(prev_hash || "\n" || entry)`. Changing, removing or reordering any
//! entry breaks the chain, which [`Store::verify_audit`] walks from the start.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use crate::db::{from_json, micros, timestamp};
use crate::{Backend, Store, StoreError};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain's head as locked by a write.
pub(crate) struct Head {
    seq: i64,
    hash: String,
}

/// An entry about to be written.
pub(crate) struct AuditDraft<'a> {
    pub at: Timestamp,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// The canonical content of an entry, hashed as serialised (field order fixed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Canonical {
    seq: i64,
    at: Timestamp,
    actor: String,
    action: String,
    subject: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What (`release.freeze`).
    pub action: String,
    /// About what (`release:<uuid>`, `user:<id>`).
    pub subject: String,
    /// The subject before.
    pub before: Option<serde_json::Value>,
    /// The subject after.
    pub after: Option<serde_json::Value>,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only entries whose action starts with this.
    pub action_prefix: Option<String>,
    /// Entries after this sequence number.
    pub after_seq: Option<i64>,
    /// Entries before this sequence number (paging back from the newest).
    pub before_seq: Option<i64>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
    /// Only entries whose content (actor, action, subject, before and after as JSON text)
    /// contains this text; case-insensitive for ASCII letters.
    pub contains: Option<String>,
    /// Newest first (the limit then keeps the newest); oldest first otherwise.
    pub newest_first: bool,
    /// At most this many (default 200, at most 5000).
    pub limit: Option<i64>,
}

/// The most entries one [`Store::audit`] call returns.
pub const AUDIT_LIMIT_MAX: i64 = 5000;

/// `text` with LIKE's wildcards (`%`, `_`) and the escape character made literal, for a
/// pattern with `ESCAPE '\'`.
fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: i64,
    /// The chain is intact.
    pub valid: bool,
    /// The first broken entry and why.
    pub broken_at: Option<i64>,
    /// Why it is broken.
    pub problem: Option<String>,
    /// The head hash (what an external anchor would record).
    pub head_hash: String,
}

pub(crate) async fn lock_head(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
) -> Result<Head, StoreError> {
    let sql = match backend {
        Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        // SQLite: the single writer connection already excludes other writers.
        Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
    };
    let row = sqlx::query(sql).fetch_one(&mut **tx).await?;
    Ok(Head {
        seq: row.try_get(0)?,
        hash: row.try_get(1)?,
    })
}

fn chain_hash(prev_hash: &str, entry: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(entry.as_bytes());
    hex::encode(hasher.finalize())
}

pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    head: &Head,
    draft: &AuditDraft<'_>,
) -> Result<(), StoreError> {
    let seq = head.seq + 1;
    // The `at` column keeps microseconds; hash exactly what the column can hold.
    let at = timestamp(micros(draft.at), "audit time")?;
    let canonical = Canonical {
        seq,
        at,
        actor: draft.actor.to_string(),
        action: draft.action.to_string(),
        subject: draft.subject.to_string(),
        before: draft.before.clone(),
        after: draft.after.clone(),
    };
    let entry = serde_json::to_string(&canonical)
        .map_err(|e| StoreError::Corrupt(format!("audit entry {seq}"), e.to_string()))?;
    let hash = chain_hash(&head.hash, &entry);
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, subject, entry, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq)
    .bind(micros(at))
    .bind(draft.actor)
    .bind(draft.action)
    .bind(draft.subject)
    .bind(&entry)
    .bind(&head.hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let entry: String = row.try_get("entry")?;
    let canonical: Canonical = from_json(&entry, &format!("audit entry {seq}"))?;
    Ok(AuditEntry {
        seq,
        at: canonical.at,
        actor: canonical.actor,
        action: canonical.action,
        subject: canonical.subject,
        before: canonical.before,
        after: canonical.after,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Rows read per page when walking the chain.
const VERIFY_PAGE: i64 = 1000;

impl Store {
    /// Audit entries matching `filter`, oldest first (or newest first when asked), in one
    /// query on either backend.
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = filter.limit.unwrap_or(200).clamp(1, AUDIT_LIMIT_MAX);
        // Only the sort direction is formatted into the SQL; every value is bound.
        let order = if filter.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT seq, entry, prev_hash, hash FROM audit \
             WHERE ($1 = '' OR subject = $1) AND ($2 = '' OR actor = $2) \
             AND ($3 = '' OR action LIKE $3 || '%' ESCAPE '\\') AND seq > $4 AND seq < $5 \
             AND at >= $6 AND at < $7 \
             AND ($8 = '' OR LOWER(entry) LIKE '%' || $8 || '%' ESCAPE '\\') \
             ORDER BY seq {order} LIMIT $9"
        );
        let contains = filter
            .contains
            .as_deref()
            .map(|text| like_literal(&text.to_ascii_lowercase()))
            .unwrap_or_default();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.subject.clone().unwrap_or_default())
            .bind(filter.actor.clone().unwrap_or_default())
            .bind(
                filter
                    .action_prefix
                    .as_deref()
                    .map(like_literal)
                    .unwrap_or_default(),
            )
            .bind(filter.after_seq.unwrap_or(0))
            .bind(filter.before_seq.unwrap_or(i64::MAX))
            .bind(filter.since.map(micros).unwrap_or(i64::MIN))
            .bind(filter.until.map(micros).unwrap_or(i64::MAX))
            .bind(contains)
            .bind(limit)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Walks the whole chain: each entry's hash, its link to the previous one, its columns
    /// against its content, and the head.
    pub async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        let mut prev = GENESIS.to_string();
        let mut expected_seq = 1;
        let mut checked = 0;
        loop {
            let rows = sqlx::query(
                "SELECT seq, at, actor, action, subject, entry, prev_hash, hash FROM audit \
                 WHERE seq >= $1 ORDER BY seq LIMIT $2",
            )
            .bind(expected_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(self.reader())
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                if let Some(problem) = check_row(row, expected_seq, &prev)? {
                    return Ok(broken(checked, expected_seq, problem, prev));
                }
                prev = row.try_get("hash")?;
                expected_seq += 1;
                checked += 1;
            }
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.reader())
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        if head_seq != checked || head_hash != prev {
            let problem = format!(
                "the head says {head_seq} entries ending in {head_hash}, the table has {checked} ending in {prev}: entries were removed"
            );
            return Ok(broken(checked, checked + 1, problem, prev));
        }
        Ok(AuditVerification {
            entries: checked,
            valid: true,
            broken_at: None,
            problem: None,
            head_hash: prev,
        })
    }
}

fn broken(entries: i64, at: i64, problem: String, head_hash: String) -> AuditVerification {
    AuditVerification {
        entries,
        valid: false,
        broken_at: Some(at),
        problem: Some(problem),
        head_hash,
    }
}

/// What is wrong with one row, if anything.
fn check_row(
    row: &sqlx::any::AnyRow,
    expected_seq: i64,
    prev: &str,
) -> Result<Option<String>, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    if seq != expected_seq {
        return Ok(Some(format!(
            "entry {expected_seq} is missing (found {seq})"
        )));
    }
    let entry: String = row.try_get("entry")?;
    let prev_hash: String = row.try_get("prev_hash")?;
    let hash: String = row.try_get("hash")?;
    if prev_hash != prev {
        return Ok(Some(format!(
            "entry {seq} does not link to entry {}",
            seq - 1
        )));
    }
    if chain_hash(prev, &entry) != hash {
        return Ok(Some(format!(
            "entry {seq} was altered: its hash does not match its content"
        )));
    }
    let Ok(canonical) = serde_json::from_str::<Canonical>(&entry) else {
        return Ok(Some(format!("entry {seq} is not a valid audit entry")));
    };
    let at = timestamp(row.try_get("at")?, "audit.at")?;
    let columns_match = canonical.seq == seq
        && canonical.at == at
        && canonical.actor == row.try_get::<String, _>("actor")?
        && canonical.action == row.try_get::<String, _>("action")?
        && canonical.subject == row.try_get::<String, _>("subject")?;
    if !columns_match {
        return Ok(Some(format!(
            "entry {seq}'s columns were altered: they disagree with its hashed content"
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_literal("release.go_no_go"), "release.go\\_no\\_go");
        assert_eq!(like_literal("100%"), "100\\%");
        assert_eq!(like_literal("a\\b"), "a\\\\b");
    }

    #[test]
    fn chain_hash_depends_on_the_previous_hash_and_the_entry() {
        let a = chain_hash(GENESIS, "{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, chain_hash(GENESIS, "{ }"));
        assert_ne!(a, chain_hash(&a, "{}"));
    }
}
