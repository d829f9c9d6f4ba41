//! Greenlight's storage: one [`Store`] over SQLite (the embedded default) and PostgreSQL (for
//! several instances), through sqlx's `Any` driver so both run the same SQL and the same tests.
//!
//! Every write is one transaction that takes the audit chain's head first: the state change, its
//! events, its audit entry (hash-chained to the previous one) and its outbox rows commit together
//! or not at all, and writes are ordered the same way in every table. Releases carry a revision
//! number; a write based on a stale revision is refused ([`StoreError::StaleRevision`]).
//!
//! **Architecture invariant:** the store decides nothing about the release process. It persists
//! what `greenlight-core` decided and answers queries; the only core knowledge it uses is which
//! events move a version into an environment (for the deployment history).

mod audit;
mod comms;
mod db;
mod events;
mod feeds;
mod flags;
mod metrics;
mod outbox;
mod passwords;
mod releases;
mod runs;
mod sessions;
mod users;

use std::sync::{Arc, Once};

use jiff::Timestamp;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

pub use audit::{AUDIT_LIMIT_MAX, AuditEntry, AuditFilter, AuditVerification};
pub use comms::Recipient;
pub use events::{EventFilter, StoredEvent};
pub use feeds::CalendarFeed;
pub use flags::{FLAGS_CHANNEL, FlagListener, StoredFlag};
pub use metrics::MetricBucket;
pub use outbox::{OutboxDraft, OutboxMessage, OutboxStatus};
pub use passwords::{PasswordChanged, SignInClaim};
pub use releases::{HistoryEntry, ReleaseFilter, StoredRelease};
pub use runs::StepRecord;
pub use sessions::Session;
pub use sketches_ddsketch::DDSketch;
pub use users::{TokenRecord, TokenScope, User};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (WAL mode).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Optimistic concurrency: the release changed since it was read.
    #[error(
        "release {release} changed: it is at revision {current}, the change was based on revision {expected}; reload and try again"
    )]
    StaleRevision {
        /// The release.
        release: String,
        /// Its revision now.
        current: i64,
        /// The revision the change was based on.
        expected: i64,
    },
    /// A uniqueness rule: the version exists, another deployment is running, the user exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database URL is not one Greenlight understands.
    #[error("unsupported database URL `{0}`: use sqlite://FILE or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// A stored record could not be read back.
    #[error("stored record {0} is unreadable: {1}")]
    Corrupt(String, String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the database could not be reached or refused for a while (connection refused
    /// or lost, pool exhausted, server shutting down or out of connections, SQLite busy): the
    /// request may succeed if retried later, unlike a bad query or a broken record.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (class 08), admin or crash shutdown,
                // cannot connect now, too many connections. SQLite: busy and locked.
                code.starts_with("08")
                    || matches!(
                        code.as_ref(),
                        "57P01" | "57P02" | "57P03" | "53300" | "5" | "6" | "261" | "262" | "517"
                    )
            }),
            _ => false,
        }
    }
}

/// What one write is: when, by whom, what kind of action (for the audit trail), and the outbox
/// messages that must be sent because of it.
#[derive(Debug, Clone)]
pub struct Change {
    /// When.
    pub at: Timestamp,
    /// Who (user ID, or `greenlight`).
    pub actor: String,
    /// What, as `noun.verb` (`release.freeze`, `user.create`).
    pub action: String,
    /// Messages to send because of this change, written in the same transaction.
    pub outbox: Vec<OutboxDraft>,
}

impl Change {
    /// A change with no outbox messages.
    pub fn new(at: Timestamp, actor: impl Into<String>, action: impl Into<String>) -> Self {
        Change {
            at,
            actor: actor.into(),
            action: action.into(),
            outbox: Vec::new(),
        }
    }
}

/// The store. Cheap to clone; all clones share the connection pools.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// Writes go here. For SQLite a single connection: one writer at a time, no lock upgrades.
    writer: AnyPool,
    /// Reads go here. For PostgreSQL the same pool as `writer`.
    reader: AnyPool,
    /// The URL, on PostgreSQL, for connections of their own (`LISTEN`).
    postgres_url: Option<String>,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens (creating if needed) the database at `url` and runs pending migrations.
    ///
    /// `sqlite://greenlight.db` (relative or absolute path), `sqlite:///abs/path.db`, or
    /// `postgres://user@host:port/db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::open_postgres(url).await;
        }
        if url.starts_with("sqlite:") {
            return Self::open_sqlite(url).await;
        }
        Err(StoreError::UnsupportedUrl(redact(url)))
    }

    async fn open_sqlite(url: &str) -> Result<Store, StoreError> {
        let url = if url.contains("mode=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(sqlite_pragmas)
            .connect(&url)
            .await?;
        sqlx::raw_sql("PRAGMA journal_mode = WAL;")
            .execute(&writer)
            .await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        let reader = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(sqlite_pragmas)
            .connect(&url)
            .await?;
        Ok(Store {
            inner: Arc::new(Inner {
                backend: Backend::Sqlite,
                writer,
                reader,
                postgres_url: None,
            }),
        })
    }

    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        // At start the server may be coming up: wait as long as it takes within 10 s.
        let starting = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        starting.close().await;
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Store {
            inner: Arc::new(Inner {
                backend: Backend::Postgres,
                writer: pool.clone(),
                reader: pool,
                postgres_url: Some(url.to_string()),
            }),
        })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.inner.reader).await?;
        Ok(())
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        self.inner.reader.close().await;
    }

    fn reader(&self) -> &AnyPool {
        &self.inner.reader
    }

    fn writer(&self) -> &AnyPool {
        &self.inner.writer
    }
}

/// Per-connection SQLite settings: wait for locks, enforce foreign keys, fsync every commit.
fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        sqlx::raw_sql(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// How long a PostgreSQL operation waits for a connection (from the pool, or a new one) before
/// it fails as unavailable. Short, so that a database outage answers 503 within a second rather
/// than holding every request for the pool's usual 10-30 s; 16 connections serve the write
/// queue of a busy instance well within it.
pub const POSTGRES_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

/// A URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/greenlight"),
            "postgres://app:***@db:5432/greenlight"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(redact("sqlite://greenlight.db"), "sqlite://greenlight.db");
    }
}
