//! Releases: the aggregate stored as JSON with its revision and the columns queries filter on,
//! and the environments' deployment history.

use greenlight_core::decide::{PendingRelease, RaisedAlert};
use greenlight_core::release::Environment;
use greenlight_core::state::{Bug, Severity};
use greenlight_core::{Event, Release, ReleaseStatus, ReleaseType, World};
use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::db::{from_json, micros, timestamp, to_json, unique_to_conflict};
use crate::{Change, Store, StoreError, events};

/// A release as stored, with its revision for optimistic concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRelease {
    /// The aggregate.
    pub release: Release,
    /// Bumped by every change; a change based on an older revision is refused.
    pub revision: i64,
}

/// Which releases to list.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFilter {
    /// Only this status.
    pub status: Option<ReleaseStatus>,
    /// Only this type.
    pub release_type: Option<ReleaseType>,
    /// Planned at or after.
    pub from: Option<Timestamp>,
    /// Planned before.
    pub to: Option<Timestamp>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// One entry of an environment's history: a version went live there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// Position.
    pub seq: i64,
    /// staging or production.
    pub environment: Environment,
    /// The release whose deployment or rollback made it live.
    pub release_id: Uuid,
    /// The version now live.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: Version,
    /// `deploy` or `rollback`.
    pub kind: String,
    /// When.
    pub at: Timestamp,
}

fn release_from_row(row: &sqlx::any::AnyRow) -> Result<StoredRelease, StoreError> {
    let body: String = row.try_get("body")?;
    Ok(StoredRelease {
        release: from_json(&body, "release")?,
        revision: row.try_get("revision")?,
    })
}

fn run_in_progress(release: &Release) -> i64 {
    i64::from(release.deployment.is_some() || release.rollback.is_some())
}

fn release_json(release: &Release) -> Option<serde_json::Value> {
    serde_json::to_value(release).ok()
}

impl Store {
    /// Stores a newly planned release with its events.
    pub async fn create_release(
        &self,
        release: &Release,
        events: &[Event],
        change: &Change,
    ) -> Result<StoredRelease, StoreError> {
        let mut write = self.begin_write().await?;
        let record = &release.record;
        let version = record.version.to_string();
        sqlx::query(
            "INSERT INTO releases (release_id, version, version_major, version_minor, version_patch, \
             release_type, status, planned_at, run_in_progress, revision, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12)",
        )
        .bind(record.release_id.to_string())
        .bind(&version)
        .bind(i64::try_from(record.version.major).unwrap_or(i64::MAX))
        .bind(i64::try_from(record.version.minor).unwrap_or(i64::MAX))
        .bind(i64::try_from(record.version.patch).unwrap_or(i64::MAX))
        .bind(record.release_type.as_str())
        .bind(record.status.as_str())
        .bind(micros(record.planned_date))
        .bind(run_in_progress(release))
        .bind(to_json(release, "release")?)
        .bind(micros(record.created_at))
        .bind(micros(record.updated_at))
        .execute(&mut *write.tx)
        .await
        .map_err(|e| unique_to_conflict(e, || format!("a release {version} already exists")))?;
        events::insert(&mut write.tx, events).await?;
        let subject = format!("release:{}", record.release_id);
        self.finish_write(write, change, &subject, None, release_json(release))
            .await?;
        Ok(StoredRelease {
            release: release.clone(),
            revision: 1,
        })
    }

    /// Stores the release after `events`, if it is still at `expected_revision`.
    pub async fn commit_release(
        &self,
        release: &Release,
        expected_revision: i64,
        events: &[Event],
        change: &Change,
    ) -> Result<StoredRelease, StoreError> {
        let mut write = self.begin_write().await?;
        let id = release.record.release_id.to_string();
        let current = sqlx::query("SELECT body, revision FROM releases WHERE release_id = $1")
            .bind(&id)
            .fetch_optional(&mut *write.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("release {id}")))?;
        let current = release_from_row(&current)?;
        if current.revision != expected_revision {
            return Err(StoreError::StaleRevision {
                release: release.record.version.to_string(),
                current: current.revision,
                expected: expected_revision,
            });
        }
        let record = &release.record;
        sqlx::query(
            "UPDATE releases SET status = $1, planned_at = $2, run_in_progress = $3, \
             revision = revision + 1, body = $4, updated_at = $5 \
             WHERE release_id = $6 AND revision = $7",
        )
        .bind(record.status.as_str())
        .bind(micros(record.planned_date))
        .bind(run_in_progress(release))
        .bind(to_json(release, "release")?)
        .bind(micros(record.updated_at))
        .bind(&id)
        .bind(expected_revision)
        .execute(&mut *write.tx)
        .await
        .map_err(|e| {
            unique_to_conflict(e, || {
                "another deployment or rollback is in progress: one at a time".to_string()
            })
        })?;
        events::insert(&mut write.tx, events).await?;
        record_history(&mut write.tx, events).await?;
        let subject = format!("release:{id}");
        let before = release_json(&current.release);
        self.finish_write(write, change, &subject, before, release_json(release))
            .await?;
        Ok(StoredRelease {
            release: release.clone(),
            revision: expected_revision + 1,
        })
    }

    /// A release by ID.
    pub async fn release(&self, id: Uuid) -> Result<Option<StoredRelease>, StoreError> {
        let row = sqlx::query("SELECT body, revision FROM releases WHERE release_id = $1")
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(release_from_row).transpose()
    }

    /// A release by ID or by version (`1.4.0` or `v1.4.0`).
    pub async fn find_release(&self, key: &str) -> Result<Option<StoredRelease>, StoreError> {
        if let Ok(id) = Uuid::parse_str(key) {
            return self.release(id).await;
        }
        let version = key.trim().trim_start_matches('v');
        let row = sqlx::query("SELECT body, revision FROM releases WHERE version = $1")
            .bind(version)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(release_from_row).transpose()
    }

    /// Releases matching `filter`, latest planned first.
    pub async fn releases(&self, filter: &ReleaseFilter) -> Result<Vec<StoredRelease>, StoreError> {
        let rows = sqlx::query(
            "SELECT body, revision FROM releases WHERE ($1 = '' OR status = $1) \
             AND ($2 = '' OR release_type = $2) AND planned_at >= $3 AND planned_at < $4 \
             ORDER BY planned_at DESC, version_major DESC, version_minor DESC, version_patch DESC LIMIT $5",
        )
        .bind(filter.status.map(|s| s.as_str()).unwrap_or(""))
        .bind(filter.release_type.map(|t| t.as_str()).unwrap_or(""))
        .bind(filter.from.map(micros).unwrap_or(i64::MIN))
        .bind(filter.to.map(micros).unwrap_or(i64::MAX))
        .bind(filter.limit.unwrap_or(100).clamp(1, 1000))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(release_from_row).collect()
    }

    /// Number of releases per status, for `/metrics`.
    pub async fn release_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT status, COUNT(*) FROM releases GROUP BY status ORDER BY status")
                .fetch_all(self.reader())
                .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Releases with a deployment or rollback in progress (after a restart: runs to settle).
    pub async fn releases_running(&self) -> Result<Vec<StoredRelease>, StoreError> {
        let rows = sqlx::query("SELECT body, revision FROM releases WHERE run_in_progress = 1")
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(release_from_row).collect()
    }

    /// An environment's history, newest first.
    pub async fn environment_history(
        &self,
        environment: Environment,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, environment, release_id, version, kind, at FROM environment_history \
             WHERE environment = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(environment.as_str())
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(history_from_row).collect()
    }

    /// The facts about other releases that `decide` needs for `release`.
    pub async fn world_for(&self, release: &Release) -> Result<World, StoreError> {
        let id = release.record.release_id;
        let other_run = sqlx::query(
            "SELECT version FROM releases WHERE run_in_progress = 1 AND release_id <> $1 LIMIT 1",
        )
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?;
        let production = self
            .environment_history(Environment::Production, 1000)
            .await?;
        let other_run = other_run
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?
            .map(|text| parse_version(&text))
            .transpose()?;
        let production_version = production.first().map(|h| h.version.clone());
        let (production_sev1_bugs, production_health_alerts) =
            self.production_health(production_version.as_ref()).await?;
        Ok(World {
            production_version,
            previous_production_version: live_before(&production, id),
            other_run_in_progress: other_run,
            active_release_branch: self.active_release_branch().await?,
            pending_releases: self.pending_releases(Some(id)).await?,
            production_sev1_bugs,
            production_health_alerts,
        })
    }

    /// The facts for planning a new release (no release yet).
    pub async fn world(&self) -> Result<World, StoreError> {
        let production = self.environment_history(Environment::Production, 1).await?;
        Ok(World {
            production_version: production.first().map(|h| h.version.clone()),
            pending_releases: self.pending_releases(None).await?,
            ..World::default()
        })
    }

    /// Releases not in production (planned, staging, rolled back), but `except`.
    async fn pending_releases(
        &self,
        except: Option<Uuid>,
    ) -> Result<Vec<PendingRelease>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, planned_at, status FROM releases \
             WHERE status IN ('planned', 'staging', 'rolled_back') AND release_id <> $1",
        )
        .bind(except.unwrap_or(Uuid::nil()).to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let version: String = row.try_get(0)?;
                let status: String = row.try_get(2)?;
                Ok(PendingRelease {
                    planned_date: timestamp(row.try_get(1)?, &version)?,
                    status: status
                        .parse()
                        .map_err(|e| StoreError::Corrupt(version.clone(), format!("{e}")))?,
                    version: parse_version(&version)?,
                })
            })
            .collect()
    }

    /// The live release's active incidents: its open Severity 1 bugs and the latest health
    /// alert of each kind raised on it (the Go/No-Go's production health check).
    async fn production_health(
        &self,
        live: Option<&Version>,
    ) -> Result<(Vec<Bug>, Vec<RaisedAlert>), StoreError> {
        let Some(live) = live else {
            return Ok((Vec::new(), Vec::new()));
        };
        let Some(stored) = self.find_release(&live.to_string()).await? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let release = &stored.release;
        let bugs = release
            .bugs
            .iter()
            .filter(|b| b.open && b.severity == Severity::SEV1)
            .cloned()
            .collect();
        let rows = sqlx::query(
            "SELECT body FROM events WHERE release_id = $1 AND event = 'health_alert_raised' \
             ORDER BY seq DESC LIMIT 50",
        )
        .bind(release.record.release_id.to_string())
        .fetch_all(self.reader())
        .await?;
        let mut alerts: Vec<RaisedAlert> = Vec::new();
        for row in &rows {
            let event: Event = from_json(&row.try_get::<String, _>(0)?, "event")?;
            let Event::HealthAlertRaised {
                alert,
                detail,
                timestamp,
                ..
            } = event
            else {
                continue;
            };
            if !alerts.iter().any(|a| a.alert == alert) {
                alerts.push(RaisedAlert {
                    alert,
                    detail,
                    raised_at: timestamp,
                });
            }
        }
        Ok((bugs, alerts))
    }

    /// The branch of the lowest planned or staging release that is not a hotfix.
    async fn active_release_branch(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT version FROM releases WHERE status IN ('planned', 'staging') \
             AND release_type <> 'hotfix' \
             ORDER BY version_major, version_minor, version_patch LIMIT 1",
        )
        .fetch_optional(self.reader())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get(0)?;
        let version =
            Version::parse(&text).map_err(|e| StoreError::Corrupt(text, e.to_string()))?;
        Ok(Some(greenlight_core::version::release_branch(&version)))
    }
}

/// The version live in production just before `release_id` was last deployed there; when it was
/// never deployed, the one before the current.
fn live_before(history_newest_first: &[HistoryEntry], release_id: Uuid) -> Option<Version> {
    let deployed_at = history_newest_first
        .iter()
        .position(|h| h.release_id == release_id && h.kind == "deploy")
        .unwrap_or(0);
    history_newest_first
        .iter()
        .skip(deployed_at + 1)
        .map(|h| h.version.clone())
        .next()
}

fn parse_version(text: &str) -> Result<Version, StoreError> {
    Version::parse(text).map_err(|e| StoreError::Corrupt(text.to_string(), e.to_string()))
}

fn history_from_row(row: &sqlx::any::AnyRow) -> Result<HistoryEntry, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let what = format!("environment history {seq}");
    let corrupt = |e: String| StoreError::Corrupt(what.clone(), e);
    let environment: String = row.try_get("environment")?;
    let release_id: String = row.try_get("release_id")?;
    let version: String = row.try_get("version")?;
    Ok(HistoryEntry {
        seq,
        environment: environment.parse().map_err(|e| corrupt(format!("{e}")))?,
        release_id: Uuid::parse_str(&release_id).map_err(|e| corrupt(e.to_string()))?,
        version: Version::parse(&version).map_err(|e| corrupt(e.to_string()))?,
        kind: row.try_get("kind")?,
        at: timestamp(row.try_get("at")?, &what)?,
    })
}

/// Versions that went live with these events: staging and production deployments, rollbacks.
async fn record_history(
    tx: &mut Transaction<'static, Any>,
    events: &[Event],
) -> Result<(), StoreError> {
    for event in events {
        let entry = match event {
            Event::StagingDeploymentCompleted {
                release_id,
                version,
                timestamp,
                ..
            } => (
                Environment::Staging,
                release_id,
                version,
                "deploy",
                timestamp,
            ),
            Event::DeploymentCompleted {
                release_id,
                version,
                timestamp,
                ..
            } => (
                Environment::Production,
                release_id,
                version,
                "deploy",
                timestamp,
            ),
            Event::RollbackCompleted {
                release_id,
                to_version,
                timestamp,
                ..
            } => (
                Environment::Production,
                release_id,
                to_version,
                "rollback",
                timestamp,
            ),
            _ => continue,
        };
        let (environment, release_id, version, kind, at) = entry;
        sqlx::query(
            "INSERT INTO environment_history (environment, release_id, version, kind, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(environment.as_str())
        .bind(release_id.to_string())
        .bind(version.to_string())
        .bind(kind)
        .bind(micros(*at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Records that `version` is live in `environment` without a release record (the version
    /// that was in production before Greenlight, so the first rollback has a target).
    pub async fn record_baseline(
        &self,
        environment: Environment,
        version: &Version,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO environment_history (environment, release_id, version, kind, at) VALUES ($1, $2, $3, 'baseline', $4)",
        )
        .bind(environment.as_str())
        .bind(Uuid::nil().to_string())
        .bind(version.to_string())
        .bind(micros(change.at))
        .execute(&mut *write.tx)
        .await?;
        let subject = format!("environment:{}", environment.as_str());
        let after = serde_json::json!({ "version": version.to_string() });
        self.finish_write(write, change, &subject, None, Some(after))
            .await
    }
}
