//! Feature flags on the server: the immutable snapshot evaluation reads (swapped atomically on
//! change, never read from the database per request), the refresher that keeps it current
//! (PostgreSQL `LISTEN greenlight_flags` for an instant reload, plus a version poll every second
//! as a safety net and for SQLite), per-variant evaluation counts, and the scheduler that
//! advances flags whose dwell time has passed while their release is healthy.
//!
//! **Invariant:** evaluation never waits on the database. If the database is unreachable the
//! last snapshot keeps serving; the refresher logs and tries again.

pub mod api;
pub mod evaluate;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use greenlight_core::flags::{CompiledFlag, Reason, Resolution, Segment};
use greenlight_store::{Store, StoreError, StoredFlag};

/// How often the flags' version is polled, besides notifications.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// How often flags with automatic advance are checked.
pub const ADVANCE_EVERY: Duration = Duration::from_secs(5);

/// Evaluations of one flag, per variant (index as in the flag's variants), since start.
#[derive(Debug, Default)]
pub struct VariantCounts(Vec<AtomicU64>);

impl VariantCounts {
    fn new(variants: usize) -> Self {
        VariantCounts((0..variants).map(|_| AtomicU64::new(0)).collect())
    }

    /// Counts one evaluation of variant `index`.
    pub fn count(&self, index: usize) {
        if let Some(counter) = self.0.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts, in variant order.
    pub fn values(&self) -> Vec<u64> {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }
}

/// One flag as evaluation serves it.
#[derive(Debug)]
pub struct Served {
    /// The prepared flag.
    pub compiled: CompiledFlag,
    /// Its counters (kept across snapshots while the variants stay the same).
    pub counts: Arc<VariantCounts>,
    /// The OFREP single-evaluation answer per variant and reason, rendered once per change so
    /// the hot path copies bytes instead of serializing.
    answers: Vec<[Box<[u8]>; Reason::ALL.len()]>,
}

impl Served {
    fn new(compiled: CompiledFlag, counts: Arc<VariantCounts>) -> Served {
        let answers = compiled
            .variants
            .iter()
            .map(|variant| {
                Reason::ALL.map(|reason| evaluate::answer(&compiled.key, variant, reason))
            })
            .collect();
        Served {
            compiled,
            counts,
            answers,
        }
    }

    /// The OFREP answer for `resolution`, as JSON.
    pub fn answer(&self, resolution: Resolution) -> Option<&[u8]> {
        let by_reason = self.answers.get(resolution.variant)?;
        Some(&by_reason[resolution.reason as usize])
    }
}

/// Every flag at one version of the store.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The store's flags version this was built from.
    pub version: i64,
    /// Flags by key.
    pub flags: HashMap<String, Served>,
}

/// The live snapshot and the counters that outlive it.
#[derive(Default)]
pub struct Flags {
    snapshot: ArcSwap<Snapshot>,
    counters: Mutex<HashMap<String, Arc<VariantCounts>>>,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Flags(version {})", self.snapshot.load().version)
    }
}

impl Flags {
    /// The current snapshot (a pointer load; no lock).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The current snapshot for one evaluation: like [`Flags::snapshot`] without touching the
    /// shared reference count (hold it briefly, never across an `.await`).
    pub fn current(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Reloads from the store when its version moved; `Ok(true)` when the snapshot changed.
    pub async fn refresh(
        &self,
        store: &Store,
        segments: &std::collections::BTreeMap<String, Segment>,
    ) -> Result<bool, StoreError> {
        let current = self.snapshot.load().version;
        if store.flags_version().await? == current && current != 0 {
            return Ok(false);
        }
        let (version, flags) = store.flags_with_version().await?;
        if version == self.snapshot.load().version && version != 0 {
            return Ok(false);
        }
        Ok(self.install(version, &flags, segments))
    }

    /// Builds and swaps in the snapshot of `flags` at `version`, unless a newer one is already
    /// in: a change's own refresh and the refresher may read concurrently, and the slower one
    /// must not bring back what a kill switched off. `false` when `version` was older.
    pub fn install(
        &self,
        version: i64,
        flags: &[StoredFlag],
        segments: &std::collections::BTreeMap<String, Segment>,
    ) -> bool {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if version < self.snapshot.load().version {
            return false;
        }
        let served = flags
            .iter()
            .map(|stored| {
                let compiled = CompiledFlag::new(&stored.flag, segments);
                let n = compiled.variants.len();
                let counts = counters
                    .entry(stored.flag.key.clone())
                    .and_modify(|c| {
                        if c.0.len() != n {
                            *c = Arc::new(VariantCounts::new(n));
                        }
                    })
                    .or_insert_with(|| Arc::new(VariantCounts::new(n)))
                    .clone();
                (stored.flag.key.clone(), Served::new(compiled, counts))
            })
            .collect();
        self.snapshot.store(Arc::new(Snapshot {
            version,
            flags: served,
        }));
        true
    }

    /// Evaluation counts as OpenMetrics lines (`greenlight_flag_evaluations_total`).
    pub fn render_metrics(&self) -> String {
        let snapshot = self.snapshot();
        let mut out = String::from(
            "# TYPE greenlight_flag_evaluations counter\n\
             # HELP greenlight_flag_evaluations Flag evaluations by flag and variant on this instance.\n",
        );
        let mut keys: Vec<&String> = snapshot.flags.keys().collect();
        keys.sort();
        for key in keys {
            let Some(served) = snapshot.flags.get(key) else {
                continue;
            };
            for (variant, count) in served.compiled.variants.iter().zip(served.counts.values()) {
                let _ = writeln!(
                    out,
                    "greenlight_flag_evaluations_total{{flag=\"{}\",variant=\"{}\"}} {count}",
                    label(key),
                    label(&variant.name)
                );
            }
        }
        out
    }
}

/// Escapes an OpenMetrics label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Keeps `state`'s snapshot current: a notification (PostgreSQL) or the poll triggers a reload;
/// failures are logged and retried, and the snapshot keeps serving meanwhile.
pub fn spawn_refresher(state: crate::state::AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let segments = state.policy.feature_flags.segments.clone();
        let mut listener = None;
        let mut failing = false;
        let mut last_advance = tokio::time::Instant::now();
        loop {
            if listener.is_none() {
                listener = state.store.listen_flags().await.ok().flatten();
            }
            match state.flags.refresh(&state.store, &segments).await {
                Ok(_) if failing => {
                    tracing::info!("flag snapshot refreshed again");
                    failing = false;
                }
                Ok(_) => {}
                Err(err) if !failing => {
                    tracing::warn!(error = %err, "flags cannot be reloaded; serving the last snapshot");
                    failing = true;
                }
                Err(_) => {}
            }
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.changed().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = notified => if result.is_err() { listener = None },
                () = tokio::time::sleep(POLL_EVERY) => {}
            }
            if last_advance.elapsed() >= ADVANCE_EVERY {
                last_advance = tokio::time::Instant::now();
                api::advance_due(&state).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use greenlight_core::flags::{FlagEvent, FlagSpec, create};
    use greenlight_core::roles::{Actor, Role};

    use super::*;

    fn stored(key: &str) -> StoredFlag {
        let spec = FlagSpec {
            key: key.into(),
            description: String::new(),
            variants: vec![],
            off_variant: None,
            stickiness: None,
            plan: None,
            release: None,
            auto_advance: false,
            kind: None,
        };
        let actor = Actor::user("erin", [Role::EngineeringLead]);
        let now = "2026-11-24T18:00:00Z".parse().unwrap();
        let event = create(&spec, None, &Default::default(), &actor, now).unwrap();
        let FlagEvent::FlagCreated { flag, .. } = event else {
            panic!("not a creation")
        };
        StoredFlag {
            flag: *flag,
            revision: 1,
        }
    }

    #[test]
    fn a_slower_reload_of_an_older_version_does_not_replace_a_newer_snapshot() {
        let flags = Flags::default();
        let segments = Default::default();
        assert!(flags.install(2, &[stored("after-the-kill")], &segments));
        assert!(!flags.install(1, &[stored("before-the-kill")], &segments));
        let snapshot = flags.snapshot();
        assert_eq!(snapshot.version, 2);
        assert!(snapshot.flags.contains_key("after-the-kill"));
        assert!(!snapshot.flags.contains_key("before-the-kill"));
        assert!(flags.install(3, &[stored("later")], &segments));
    }
}
