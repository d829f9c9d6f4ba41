//! The store's suite, run against SQLite and PostgreSQL alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{TestDb, at, lead, planned};
use greenlight_core::release::{Audience, CommunicationType, Environment, ReleaseCommunication};
use greenlight_core::{Command, Context, Policy, Role};
use greenlight_store::{
    AuditFilter, Change, EventFilter, MetricBucket, OutboxDraft, OutboxStatus, ReleaseFilter,
    StoreError, TokenRecord, User,
};
use sqlx::Connection;
use uuid::Uuid;

fn change(action: &str) -> Change {
    Change::new(at("2026-11-24T18:00:00Z"), "erin", action)
}

/// Decides `command` on the stored release and commits it.
async fn run(db: &TestDb, version: &str, command: Command, now: &str) -> Result<i64, StoreError> {
    let stored = db.store.find_release(version).await.unwrap().unwrap();
    let world = db.store.world_for(&stored.release).await.unwrap();
    let policy = Policy::default();
    let actor = lead();
    let ctx = Context {
        policy: &policy,
        now: at(now),
        actor: &actor,
        world: &world,
    };
    let events = greenlight_core::decide(&stored.release, &command, &ctx).unwrap();
    let mut release = stored.release.clone();
    for event in &events {
        release.apply(event);
    }
    let change = Change::new(at(now), "erin", "release.command");
    db.store
        .commit_release(&release, stored.revision, &events, &change)
        .await
        .map(|s| s.revision)
}

async fn releases_are_created_and_found(db: &TestDb) {
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    let stored = db
        .store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    assert_eq!(stored.revision, 1);
    let by_version = db.store.find_release("v1.4.0").await.unwrap().unwrap();
    assert_eq!(by_version.release, release);
    let by_id = db
        .store
        .find_release(&release.record.release_id.to_string())
        .await
        .unwrap();
    assert_eq!(by_id.map(|s| s.release), Some(release.clone()));
    assert!(db.store.find_release("9.9.9").await.unwrap().is_none());
    let again = db
        .store
        .create_release(&release, &events, &change("release.plan"))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let listed = db.store.releases(&ReleaseFilter::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    let none = db
        .store
        .releases(&ReleaseFilter {
            status: Some(greenlight_core::ReleaseStatus::Deployed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn a_stale_revision_is_refused(db: &TestDb) {
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    let rev = run(db, "1.4.0", Command::Freeze, "2026-11-30T17:00:00Z")
        .await
        .unwrap();
    assert_eq!(rev, 2);
    let stored = db.store.find_release("1.4.0").await.unwrap().unwrap();
    let stale = db
        .store
        .commit_release(&stored.release, 1, &[], &change("release.command"))
        .await;
    assert!(
        matches!(
            stale,
            Err(StoreError::StaleRevision {
                current: 2,
                expected: 1,
                ..
            })
        ),
        "{stale:?}"
    );
}

async fn concurrent_conflicting_writes_have_exactly_one_winner(db: &TestDb) {
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = db.store.clone();
        let release = release.clone();
        tasks.push(tokio::spawn(async move {
            let mut next = release.clone();
            next.record.updated_by = format!("writer-{i}");
            store
                .commit_release(
                    &next,
                    1,
                    &[],
                    &Change::new(
                        at("2026-11-25T00:00:00Z"),
                        format!("writer-{i}"),
                        "release.touch",
                    ),
                )
                .await
        }));
    }
    let mut won = 0;
    let mut stale = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::StaleRevision { .. }) => stale += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((won, stale), (1, 49));
    let audit = db.store.verify_audit().await.unwrap();
    assert!(audit.valid, "{audit:?}");
    assert_eq!(audit.entries, 2);
}

async fn events_are_stored_and_filtered(db: &TestDb) {
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    run(db, "1.4.0", Command::Freeze, "2026-11-30T17:00:00Z")
        .await
        .unwrap();
    let all = db.store.events(&EventFilter::default()).await.unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["release_planned", "code_freeze_started"]);
    assert_eq!(all[1].body["release_candidate"], "1.4.0-rc.1");
    let frozen = db
        .store
        .events(&EventFilter {
            event: Some("code_freeze_started".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(frozen.len(), 1);
    let since = db
        .store
        .events(&EventFilter {
            since: Some(at("2026-11-29T00:00:00Z")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(since.len(), 1);
    let other = db
        .store
        .events(&EventFilter {
            release_id: Some(Uuid::new_v4()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(other.is_empty());
    let history = db
        .store
        .release_events(release.record.release_id)
        .await
        .unwrap();
    let replayed = greenlight_core::Release::replay(&history).unwrap();
    assert_eq!(
        replayed,
        db.store
            .find_release("1.4.0")
            .await
            .unwrap()
            .unwrap()
            .release
    );
}

async fn the_audit_chain_detects_tampering(db: &TestDb) {
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    run(db, "1.4.0", Command::Freeze, "2026-11-30T17:00:00Z")
        .await
        .unwrap();
    let entries = db.store.audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    assert!(entries[1].before.is_some() && entries[1].after.is_some());
    assert!(db.store.verify_audit().await.unwrap().valid);

    sqlx::any::install_default_drivers();
    let mut raw = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
        .execute(&mut raw)
        .await
        .unwrap();
    let verdict = db.store.verify_audit().await.unwrap();
    assert!(!verdict.valid);
    assert_eq!(verdict.broken_at, Some(1));
    sqlx::raw_sql("UPDATE audit SET actor = 'erin' WHERE seq = 1")
        .execute(&mut raw)
        .await
        .unwrap();
    assert!(db.store.verify_audit().await.unwrap().valid);
    sqlx::raw_sql("DELETE FROM audit WHERE seq = 2")
        .execute(&mut raw)
        .await
        .unwrap();
    let verdict = db.store.verify_audit().await.unwrap();
    assert!(!verdict.valid, "{verdict:?}");
}

async fn one_deployment_at_a_time_across_releases(db: &TestDb) {
    let (mut a, events_a) = planned("1.4.0", "2026-11-24T18:00:00Z");
    let (mut b, events_b) = planned("1.5.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&a, &events_a, &change("release.plan"))
        .await
        .unwrap();
    db.store
        .create_release(&b, &events_b, &change("release.plan"))
        .await
        .unwrap();
    let run = greenlight_core::state::DeploymentRun {
        environment: Environment::Staging,
        started_by: "erin".into(),
        started_at: at("2026-12-01T18:00:00Z"),
    };
    a.deployment = Some(run.clone());
    b.deployment = Some(run);
    db.store
        .commit_release(&a, 1, &[], &change("release.deploy"))
        .await
        .unwrap();
    let second = db
        .store
        .commit_release(&b, 1, &[], &change("release.deploy"))
        .await;
    assert!(
        matches!(second, Err(StoreError::Conflict(ref m)) if m.contains("one at a time")),
        "{second:?}"
    );
    let world = db.store.world_for(&b).await.unwrap();
    assert_eq!(
        world.other_run_in_progress.map(|v| v.to_string()),
        Some("1.4.0".into())
    );
}

async fn production_history_defines_the_rollback_target(db: &TestDb) {
    db.store
        .record_baseline(
            Environment::Production,
            &semver::Version::new(1, 3, 0),
            &change("environment.baseline"),
        )
        .await
        .unwrap();
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    let world = db.store.world_for(&release).await.unwrap();
    assert_eq!(
        world.production_version.map(|v| v.to_string()),
        Some("1.3.0".into())
    );
    // 1.4.0 is its own release: the world holds the other releases.
    assert!(world.pending_releases.is_empty());
    let planning = db.store.world().await.unwrap();
    let pending: Vec<String> = planning
        .pending_releases
        .iter()
        .map(|p| format!("{} {}", p.version, p.status))
        .collect();
    assert_eq!(pending, ["1.4.0 planned"]);
    let deployed = greenlight_core::Event::DeploymentCompleted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_type: release.record.release_type,
        duration_minutes: 30,
        deployed_by: "erin".into(),
        timestamp: at("2026-12-10T22:30:00Z"),
    };
    let mut after = release.clone();
    after.apply(&deployed);
    db.store
        .commit_release(&after, 1, &[deployed], &change("release.deploy"))
        .await
        .unwrap();
    let world = db.store.world_for(&after).await.unwrap();
    assert_eq!(
        world.production_version.map(|v| v.to_string()),
        Some("1.4.0".into())
    );
    assert_eq!(
        world.previous_production_version.map(|v| v.to_string()),
        Some("1.3.0".into())
    );
    let history = db
        .store
        .environment_history(Environment::Production, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].kind, "deploy");
}

/// The Go/No-Go's production health check reads the live release's open Severity 1 bugs and its
/// latest health alert of each kind.
async fn production_health_comes_from_the_live_release(db: &TestDb) {
    let (release, events) = planned("1.3.0", "2026-11-24T18:00:00Z");
    db.store
        .create_release(&release, &events, &change("release.plan"))
        .await
        .unwrap();
    let id = release.record.release_id;
    let deployed = greenlight_core::Event::DeploymentCompleted {
        release_id: id,
        version: release.record.version.clone(),
        release_type: release.record.release_type,
        duration_minutes: 30,
        deployed_by: "erin".into(),
        timestamp: at("2026-12-10T22:30:00Z"),
    };
    let bug = |bug_id: &str, severity: u8| greenlight_core::Event::BugReported {
        release_id: id,
        bug_id: bug_id.into(),
        severity: severity.try_into().unwrap(),
        title: "scores not saved".into(),
        workaround: None,
        reported_by: "quinn".into(),
        timestamp: at("2026-12-10T23:00:00Z"),
    };
    let alert = |detail: &str, when: &str| greenlight_core::Event::HealthAlertRaised {
        release_id: id,
        version: release.record.version.clone(),
        alert: greenlight_core::health::AlertKind::HealthDataInconclusive,
        detail: detail.into(),
        timestamp: at(when),
    };
    let history = [
        deployed,
        bug("MLC-1", 1),
        bug("MLC-2", 2),
        alert("no samples", "2026-12-10T23:00:00Z"),
        alert("stale samples", "2026-12-10T23:30:00Z"),
    ];
    let mut after = release.clone();
    for event in &history {
        after.apply(event);
    }
    db.store
        .commit_release(&after, 1, &history, &change("release.command"))
        .await
        .unwrap();
    let world = db.store.world_for(&after).await.unwrap();
    let bugs: Vec<&str> = world
        .production_sev1_bugs
        .iter()
        .map(|b| b.bug_id.as_str())
        .collect();
    assert_eq!(bugs, ["MLC-1"]);
    assert_eq!(world.production_health_alerts.len(), 1);
    assert_eq!(world.production_health_alerts[0].detail, "stale samples");
    assert_eq!(
        world.production_health_alerts[0].raised_at,
        at("2026-12-10T23:30:00Z")
    );
}

async fn users_and_tokens(db: &TestDb) {
    assert_eq!(db.store.user_count().await.unwrap(), 0);
    let user = User {
        id: "quinn".into(),
        display_name: "Quinn QA".into(),
        roles: BTreeSet::from([Role::QaLead]),
        is_admin: false,
        disabled: false,
        created_at: at("2026-11-24T18:00:00Z"),
    };
    db.store
        .create_user(&user, &change("user.create"))
        .await
        .unwrap();
    let dup = db.store.create_user(&user, &change("user.create")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let token = TokenRecord {
        id: Uuid::new_v4(),
        user_id: "quinn".into(),
        name: "laptop".into(),
        token_hash: "ab".repeat(32),
        created_at: at("2026-11-24T18:00:00Z"),
        revoked_at: None,
    };
    db.store
        .create_token(&token, &change("token.create"))
        .await
        .unwrap();
    let found = db.store.user_by_token_hash(&"ab".repeat(32)).await.unwrap();
    assert_eq!(found, Some(user.clone()));
    assert!(
        db.store
            .user_by_token_hash(&"cd".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    let mut disabled = user.clone();
    disabled.disabled = true;
    db.store
        .update_user(&disabled, &change("user.update"))
        .await
        .unwrap();
    assert!(
        db.store
            .user_by_token_hash(&"ab".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    db.store
        .update_user(&user, &change("user.update"))
        .await
        .unwrap();
    db.store
        .revoke_token(token.id, &change("token.revoke"))
        .await
        .unwrap();
    assert!(
        db.store
            .user_by_token_hash(&"ab".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    let tokens = db.store.tokens("quinn").await.unwrap();
    assert!(tokens[0].revoked_at.is_some());
    assert!(db.store.verify_audit().await.unwrap().valid);
}

async fn outbox_messages_commit_with_their_change_and_are_claimed_once(db: &TestDb) {
    let (release, events) = planned("1.4.0", "2026-11-24T18:00:00Z");
    let mut plan = change("release.plan");
    plan.outbox.push(OutboxDraft {
        id: Uuid::new_v4(),
        topic: "notification.email".into(),
        release_id: Some(release.record.release_id),
        idempotency_key: "plan-1.4.0-email".into(),
        payload: serde_json::json!({"subject": "1.4.0 planned"}),
        available_at: at("2026-11-24T18:00:00Z"),
    });
    db.store
        .create_release(&release, &events, &plan)
        .await
        .unwrap();
    let now = at("2026-11-24T18:01:00Z");
    let lease = jiff::SignedDuration::from_secs(60);
    let first = db
        .store
        .claim_outbox("notification.", now, lease, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    let second = db
        .store
        .claim_outbox("notification.", now, lease, 10)
        .await
        .unwrap();
    assert!(second.is_empty(), "claimed messages are leased");
    let later = at("2026-11-24T18:03:00Z");
    let again = db
        .store
        .claim_outbox("notification.", later, lease, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "an expired lease returns the message");
    db.store
        .settle_outbox(
            again[0].id,
            OutboxStatus::Dead,
            Some("smtp down"),
            None,
            later,
        )
        .await
        .unwrap();
    let dead = db
        .store
        .outbox("", Some(OutboxStatus::Dead), 10)
        .await
        .unwrap();
    assert_eq!(dead[0].last_error.as_deref(), Some("smtp down"));
    assert_eq!(dead[0].attempts, 2);

    // The same key again: no second message, and the change still commits.
    let mut again_change = change("communication.enqueue");
    again_change.outbox = plan.outbox.clone();
    again_change.outbox[0].id = Uuid::new_v4();
    db.store.enqueue(&again_change).await.unwrap();
    assert_eq!(
        db.store
            .outbox("notification.", None, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // A dead letter goes back by hand; delivery and its record commit together, once.
    let retry = change("communication.retry");
    db.store.retry_outbox(dead[0].id, &retry).await.unwrap();
    let err = db.store.retry_outbox(dead[0].id, &retry).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    let claimed = db
        .store
        .claim_outbox("notification.", later, lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed[0].attempts, 1, "a retried letter starts over");
    let communication = ReleaseCommunication {
        communication_id: Uuid::new_v4(),
        release_id: release.record.release_id,
        communication_type: CommunicationType::StatusPage,
        audience: Audience::AllUsers,
        subject: "Scheduled maintenance".into(),
        message: "<b>1.4.0</b>".into(),
        sent_at: later,
        sent_by: "greenlight".into(),
        created_at: later,
    };
    let deliver = change("communication.deliver");
    db.store
        .deliver_communication(claimed[0].id, &communication, &deliver)
        .await
        .unwrap();
    let twice = db
        .store
        .deliver_communication(claimed[0].id, &communication, &deliver)
        .await
        .unwrap_err();
    assert!(matches!(twice, StoreError::Conflict(_)), "{twice}");
    let published = db
        .store
        .published(&[CommunicationType::StatusPage], 10)
        .await
        .unwrap();
    assert_eq!(published, vec![communication]);
    assert!(
        db.store
            .published(&[CommunicationType::InApp], 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.store.verify_audit().await.unwrap().valid);
}

/// Regression: a change timed with nanoseconds (as the system clock gives) used to hash a time
/// the microsecond `at` column could not hold, so the chain failed to verify.
async fn audit_verifies_with_sub_microsecond_times(db: &TestDb) {
    let at = jiff::Timestamp::from_nanosecond(1_764_000_000_123_456_789).unwrap();
    let user = User {
        id: "nano".into(),
        display_name: "Nano".into(),
        roles: BTreeSet::new(),
        is_admin: false,
        disabled: false,
        created_at: at,
    };
    let change = Change::new(at, "admin", "user.create");
    db.store.create_user(&user, &change).await.unwrap();
    let verdict = db.store.verify_audit().await.unwrap();
    assert!(verdict.valid, "{verdict:?}");
}

/// Health samples merge into their bucket, from concurrent writers too, and keep quantiles.
async fn metric_buckets_merge_counts_and_sketches(db: &TestDb) {
    let start = at("2026-11-24T18:00:00Z");
    let batch = |latency: f64, failures: i64| {
        let mut bucket = MetricBucket::new(start, "score_recording");
        bucket.requests = 10;
        bucket.failures = failures;
        for _ in 0..10 {
            bucket.latency.add(latency);
        }
        let mut pool = MetricBucket::new(start, "");
        pool.pool_checks = 1;
        vec![bucket, pool]
    };
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = db.store.clone();
            let batch = batch(if i % 2 == 0 { 100.0 } else { 900.0 }, i % 2);
            tokio::spawn(async move { store.merge_metric_buckets(&batch).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let end = at("2026-11-24T18:01:00Z");
    let stored = db.store.metric_buckets(start, end).await.unwrap();
    assert_eq!(
        stored.len(),
        2,
        "the pool's bucket (no latencies) and the endpoint's"
    );
    assert_eq!(stored[0].pool_checks, 8);
    assert_eq!((stored[1].requests, stored[1].failures), (80, 4));
    let p95 = stored[1].latency.quantile(0.95).unwrap().unwrap();
    assert!((p95 - 900.0).abs() < 9.0 * 2.0, "p95 {p95}");
    assert_eq!(db.store.prune_metric_buckets(end).await.unwrap(), 2);
    assert!(
        db.store
            .metric_buckets(start, end)
            .await
            .unwrap()
            .is_empty()
    );
}

both_backends!(
    metric_buckets_merge_counts_and_sketches,
    audit_verifies_with_sub_microsecond_times,
    releases_are_created_and_found,
    a_stale_revision_is_refused,
    concurrent_conflicting_writes_have_exactly_one_winner,
    events_are_stored_and_filtered,
    the_audit_chain_detects_tampering,
    one_deployment_at_a_time_across_releases,
    production_history_defines_the_rollback_target,
    production_health_comes_from_the_live_release,
    users_and_tokens,
    outbox_messages_commit_with_their_change_and_are_claimed_once,
);
