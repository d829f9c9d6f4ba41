//! The audit trail's search (time range, text, paging back from the newest) and calendar
//! subscription links, on SQLite and PostgreSQL alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{TestDb, at};
use greenlight_core::Role;
use greenlight_store::{AuditFilter, Change, StoreError, User};
use uuid::Uuid;

fn user(id: &str, name: &str) -> User {
    User {
        id: id.into(),
        display_name: name.into(),
        roles: BTreeSet::from([Role::QaLead]),
        is_admin: false,
        disabled: false,
        created_at: at("2026-11-24T18:00:00Z"),
    }
}

/// Five entries: users made by two actors on three days, one name with LIKE's wildcards.
async fn seed(db: &TestDb) {
    let made = [
        ("quinn", "Quinn QA", "2026-11-20T18:00:00Z", "admin"),
        ("pat", "Pat Product", "2026-11-21T18:00:00Z", "admin"),
        ("erin", "Erin 100% Lead", "2026-11-22T18:00:00Z", "admin"),
        ("sam", "Sam_Support", "2026-11-22T19:00:00Z", "erin"),
    ];
    for (id, name, when, actor) in made {
        let change = Change::new(at(when), actor, "user.create");
        db.store
            .create_user(&user(id, name), &change)
            .await
            .unwrap();
    }
    let mut disabled = user("sam", "Sam_Support");
    disabled.disabled = true;
    let change = Change::new(at("2026-11-23T18:00:00Z"), "erin", "user.update");
    db.store.update_user(&disabled, &change).await.unwrap();
}

fn seqs(entries: &[greenlight_store::AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.seq).collect()
}

async fn audit_search_narrows_by_time_text_and_pages_from_the_newest(db: &TestDb) {
    seed(db).await;
    let all = db.store.audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3, 4, 5]);
    let find = |filter: AuditFilter| async move { seqs(&db.store.audit(&filter).await.unwrap()) };

    let window = AuditFilter {
        since: Some(at("2026-11-21T00:00:00Z")),
        until: Some(at("2026-11-22T18:30:00Z")),
        ..AuditFilter::default()
    };
    assert_eq!(find(window).await, vec![2, 3]);

    let text = |t: &str| AuditFilter {
        contains: Some(t.into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(text("QUINN")).await, vec![1], "case-insensitive");
    assert_eq!(find(text("100%")).await, vec![3], "% is literal");
    assert_eq!(find(text("sam_")).await, vec![4, 5], "_ is literal");
    assert_eq!(find(text("sam%")).await, Vec::<i64>::new());
    assert_eq!(
        find(text("qa_lead")).await.len(),
        5,
        "before and after are searched"
    );

    let prefix = |p: &str| AuditFilter {
        action_prefix: Some(p.into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(prefix("user.up")).await, vec![5]);
    assert_eq!(
        find(prefix("user_")).await,
        Vec::<i64>::new(),
        "_ is literal"
    );

    let combined = AuditFilter {
        actor: Some("erin".into()),
        contains: Some("support".into()),
        since: Some(at("2026-11-23T00:00:00Z")),
        ..AuditFilter::default()
    };
    assert_eq!(find(combined).await, vec![5]);

    let newest = AuditFilter {
        newest_first: true,
        limit: Some(2),
        ..AuditFilter::default()
    };
    assert_eq!(find(newest).await, vec![5, 4]);
    let older = AuditFilter {
        newest_first: true,
        before_seq: Some(4),
        limit: Some(2),
        ..AuditFilter::default()
    };
    assert_eq!(find(older).await, vec![3, 2]);
    let newer = AuditFilter {
        after_seq: Some(3),
        limit: Some(2),
        ..AuditFilter::default()
    };
    assert_eq!(find(newer).await, vec![4, 5]);
}

async fn calendar_links_are_hashed_revocable_and_audited(db: &TestDb) {
    seed(db).await;
    let made = Change::new(at("2026-11-24T18:00:00Z"), "quinn", "calendar_feed.create");
    let first = db
        .store
        .create_calendar_feed(Uuid::new_v4(), "quinn", &"ab".repeat(32), &made)
        .await
        .unwrap();
    let found = db.store.calendar_feed_user(&"ab".repeat(32)).await.unwrap();
    assert_eq!(found.map(|u| u.id).as_deref(), Some("quinn"));
    assert_eq!(
        db.store.calendar_feed("quinn").await.unwrap().map(|f| f.id),
        Some(first.id)
    );

    // A new link replaces the old one, which stops working.
    let second = db
        .store
        .create_calendar_feed(Uuid::new_v4(), "quinn", &"cd".repeat(32), &made)
        .await
        .unwrap();
    assert!(
        db.store
            .calendar_feed_user(&"ab".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .calendar_feed_user(&"cd".repeat(32))
            .await
            .unwrap()
            .is_some()
    );
    let taken = db
        .store
        .create_calendar_feed(Uuid::new_v4(), "pat", &"cd".repeat(32), &made)
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    assert_eq!(
        db.store.calendar_feed("quinn").await.unwrap().map(|f| f.id),
        Some(second.id),
        "the refused write changed nothing"
    );

    // A disabled user's link grants nothing.
    let mut off = user("quinn", "Quinn QA");
    off.disabled = true;
    let update = Change::new(at("2026-11-24T19:00:00Z"), "admin", "user.update");
    db.store.update_user(&off, &update).await.unwrap();
    assert!(
        db.store
            .calendar_feed_user(&"cd".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    db.store
        .update_user(&user("quinn", "Quinn QA"), &update)
        .await
        .unwrap();

    let revoke = Change::new(at("2026-11-25T18:00:00Z"), "quinn", "calendar_feed.revoke");
    let revoked = db
        .store
        .revoke_calendar_feed("quinn", &revoke)
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at("2026-11-25T18:00:00Z")));
    assert!(
        db.store
            .calendar_feed_user(&"cd".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.store.calendar_feed("quinn").await.unwrap().is_none());
    let again = db.store.revoke_calendar_feed("quinn", &revoke).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");

    let trail = db
        .store
        .audit(&AuditFilter {
            action_prefix: Some("calendar_feed.".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "calendar_feed.create",
            "calendar_feed.create",
            "calendar_feed.revoke"
        ]
    );
    assert!(trail.iter().all(|e| e.subject == "user:quinn"));
    let text = serde_json::to_string(&trail).unwrap();
    assert!(
        !text.contains(&"cd".repeat(32)),
        "the hash stays out of the trail"
    );
    assert!(db.store.verify_audit().await.unwrap().valid);
}

both_backends!(
    audit_search_narrows_by_time_text_and_pages_from_the_newest,
    calendar_links_are_hashed_revocable_and_audited,
);
