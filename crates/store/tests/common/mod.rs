//! The shared harness: every store test runs against SQLite (a temp file) and PostgreSQL (a fresh
//! database on the server at `GREENLIGHT_TEST_POSTGRES`, default 127.0.0.1:5432, user postgres).
//! Without a reachable PostgreSQL the PostgreSQL variants are skipped with a message, unless
//! `GREENLIGHT_REQUIRE_POSTGRES=1` (as in CI), which makes them fail.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use greenlight_core::{
    Actor, Context, Event, PlanRelease, Policy, Release, ReleaseType, Role, World,
};
use greenlight_store::Store;
use semver::Version;
use sqlx::Connection;
use uuid::Uuid;

/// A store on a throwaway database, removed when dropped.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        let store = self.store.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                store.close().await;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("greenlight.db").display());
    let store = Store::open(&url).await.unwrap();
    TestDb {
        store,
        url,
        _dir: Some(dir),
        pg: None,
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("GREENLIGHT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh PostgreSQL database, or `None` (test skipped) when no server answers.
pub async fn postgres() -> Option<TestDb> {
    let admin = postgres_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(err) => {
            if std::env::var("GREENLIGHT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL is required but unreachable at {admin}: {err}");
            }
            eprintln!(
                "skipped: PostgreSQL unreachable at {admin} ({err}); start one or set GREENLIGHT_TEST_POSTGRES to run the PostgreSQL variant"
            );
            return None;
        }
    };
    let name = format!("gl_test_{}", Uuid::new_v4().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("bad admin url {admin}"),
    };
    let store = Store::open(&url).await.unwrap();
    Some(TestDb {
        store,
        url,
        _dir: None,
        pg: Some((admin, name)),
    })
}

/// Runs an async test body against both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db = $crate::common::sqlite().await;
                    super::$name(&db).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let Some(db) = $crate::common::postgres().await else { return };
                    super::$name(&db).await;
                }
            }
        )*
    };
}

pub fn lead() -> Actor {
    Actor::user("erin", [Role::EngineeringLead])
}

pub fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// A standard release `version` planned at `now` by the engineering lead.
pub fn planned(version: &str, now: &str) -> (Release, Vec<Event>) {
    let policy = Policy::default();
    let world = World::default();
    let actor = lead();
    let ctx = Context {
        policy: &policy,
        now: at(now),
        actor: &actor,
        world: &world,
    };
    let cmd = PlanRelease {
        release_id: Uuid::new_v4(),
        checklist_id: Uuid::new_v4(),
        release_type: ReleaseType::Standard,
        version: Some(Version::parse(version).unwrap()),
        planned_date: None,
        title: None,
        from_version: None,
        trigger: None,
        severity: None,
    };
    let events = greenlight_core::plan(&cmd, &ctx).unwrap();
    (Release::replay(&events).unwrap(), events)
}
