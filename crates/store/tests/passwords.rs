//! Dashboard passwords in the store, on SQLite and PostgreSQL: set, read for sign-in, clear;
//! disabled users never get theirs back; the audit trail says that a password changed but
//! never holds the hash; the sign-in brake's failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{TestDb, at};
use greenlight_core::Role;
use greenlight_store::{AuditFilter, Change, SignInClaim, Store, StoreError, User};

const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE";

fn change(action: &str) -> Change {
    Change::new(at("2026-11-24T18:00:00Z"), "admin", action)
}

fn quinn() -> User {
    User {
        id: "quinn".into(),
        display_name: "Quinn QA".into(),
        roles: BTreeSet::from([Role::QaLead]),
        is_admin: false,
        disabled: false,
        created_at: at("2026-11-24T18:00:00Z"),
    }
}

async fn passwords_are_set_read_and_cleared_and_never_audited(db: &TestDb) {
    let user = quinn();
    db.store
        .create_user(&user, &change("user.create"))
        .await
        .unwrap();
    assert!(
        db.store
            .password_for_sign_in("quinn")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!db.store.has_password("quinn").await.unwrap());
    let missing = db
        .store
        .set_password("nobody", PHC, &change("user.password.set"))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    // A session ends when the password changes.
    let expires = at("2026-11-25T06:00:00Z");
    db.store
        .create_session(
            "secret-hash",
            "quinn",
            None,
            "csrf",
            expires,
            &change("session.create"),
        )
        .await
        .unwrap();
    let set = db
        .store
        .set_password("quinn", PHC, &change("user.password.set"))
        .await
        .unwrap();
    assert!(!set.had_password);
    assert_eq!(set.sessions_ended, 1);
    let now = at("2026-11-24T19:00:00Z");
    assert!(
        db.store
            .session("secret-hash", now)
            .await
            .unwrap()
            .is_none()
    );
    let (found, phc) = db
        .store
        .password_for_sign_in("quinn")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, phc.as_str()), (user.clone(), PHC));
    assert!(db.store.has_password("quinn").await.unwrap());
    let again = db
        .store
        .set_password("quinn", "$argon2id$other", &change("user.password.set"))
        .await
        .unwrap();
    assert!(again.had_password);
    let (_, phc) = db
        .store
        .password_for_sign_in("quinn")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(phc, "$argon2id$other");

    // A disabled user's password is never handed out for sign-in.
    let mut disabled = user.clone();
    disabled.disabled = true;
    db.store
        .update_user(&disabled, &change("user.update"))
        .await
        .unwrap();
    assert!(
        db.store
            .password_for_sign_in("quinn")
            .await
            .unwrap()
            .is_none()
    );
    db.store
        .update_user(&user, &change("user.update"))
        .await
        .unwrap();
    assert!(
        db.store
            .password_for_sign_in("quinn")
            .await
            .unwrap()
            .is_some()
    );

    let cleared = db
        .store
        .clear_password("quinn", &change("user.password.clear"))
        .await
        .unwrap();
    assert!(cleared.had_password);
    assert!(
        db.store
            .password_for_sign_in("quinn")
            .await
            .unwrap()
            .is_none()
    );
    let nothing = db
        .store
        .clear_password("quinn", &change("user.password.clear"))
        .await
        .unwrap();
    assert!(!nothing.had_password, "clearing nothing changes nothing");

    let entries = db
        .store
        .audit(&AuditFilter {
            subject: Some("user:quinn".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("user.password"))
            .count(),
        3,
        "two sets and one clear (clearing nothing is not audited): {actions:?}"
    );
    for entry in &entries {
        let text = serde_json::to_string(entry).unwrap();
        assert!(
            !text.contains("argon2"),
            "a hash in the audit trail: {text}"
        );
    }
    let first_set = entries
        .iter()
        .find(|e| e.action == "user.password.set")
        .unwrap();
    assert_eq!(first_set.before.as_ref().unwrap()["password"], "none");
    assert_eq!(first_set.after.as_ref().unwrap()["password"], "set");
    assert_eq!(first_set.after.as_ref().unwrap()["sessions_ended"], 1);
    assert!(db.store.verify_audit().await.unwrap().valid);
}

async fn sign_in_failures_are_counted_per_name_and_forgotten(db: &TestDb) {
    for minute in 0..3 {
        let when = at(&format!("2026-11-24T18:0{minute}:00Z"));
        db.store
            .record_sign_in_failure("ghost", when, at("2026-11-24T17:00:00Z"))
            .await
            .unwrap();
    }
    db.store
        .record_sign_in_failure(
            "quinn",
            at("2026-11-24T18:05:00Z"),
            at("2026-11-24T17:00:00Z"),
        )
        .await
        .unwrap();
    let since = at("2026-11-24T18:00:00Z");
    let ghost = db.store.sign_in_failures("ghost", since).await.unwrap();
    assert_eq!(
        ghost,
        vec![at("2026-11-24T18:01:00Z"), at("2026-11-24T18:02:00Z")],
        "after `since`, oldest first"
    );
    // The next failure sweeps everything older than its cut-off, whoever it was for.
    db.store
        .record_sign_in_failure(
            "quinn",
            at("2026-11-24T18:06:00Z"),
            at("2026-11-24T18:01:30Z"),
        )
        .await
        .unwrap();
    let early = at("2026-11-24T17:00:00Z");
    assert_eq!(
        db.store
            .sign_in_failures("ghost", early)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        db.store
            .sign_in_failures("quinn", early)
            .await
            .unwrap()
            .len(),
        2
    );
    db.store.clear_sign_in_failures("quinn").await.unwrap();
    assert!(
        db.store
            .sign_in_failures("quinn", early)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store
            .sign_in_failures("ghost", early)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// 200 parallel attempts on one name, half through a second store on the same database (a
/// second instance): exactly 5 are counted (may check a password), the rest braked; a success
/// then forgets them.
async fn parallel_sign_in_attempts_count_atomically(db: &TestDb) {
    let other = Store::open(&db.url).await.unwrap();
    let now = at("2026-11-24T18:00:00Z");
    let since = at("2026-11-24T17:45:00Z");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .claim_sign_in_attempt("erin", now, since, 5)
                .await
                .unwrap()
        }));
    }
    let mut counted = 0;
    for task in tasks {
        match task.await.unwrap() {
            SignInClaim::Counted => counted += 1,
            SignInClaim::Braked(times) => assert_eq!(times.len(), 5),
        }
    }
    assert_eq!(counted, 5, "exactly the brake's number of checks");
    assert_eq!(
        db.store
            .claim_sign_in_attempt("someone_else", now, since, 5)
            .await
            .unwrap(),
        SignInClaim::Counted,
        "names are counted apart"
    );
    db.store.clear_sign_in_failures("erin").await.unwrap();
    assert_eq!(
        other
            .claim_sign_in_attempt("erin", now, since, 5)
            .await
            .unwrap(),
        SignInClaim::Counted
    );
    other.close().await;
}

both_backends!(
    passwords_are_set_read_and_cleared_and_never_audited,
    sign_in_failures_are_counted_per_name_and_forgotten,
    parallel_sign_in_attempts_count_atomically,
);
