//! Every endpoint × every role against the spec's permission table (`roles::PERMISSIONS`): an
//! endpoint answers 403 with rule `permission` exactly for the roles the table does not list.
//! In-process (the axum app over a SQLite store); each case starts from a release prepared to
//! the state where the command makes sense, rebuilt after any call that changed it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use greenlight_core::decide::go_no_go_participants;
use greenlight_core::gates::GatePhase;
use greenlight_core::{Action, Policy, ReleaseType, Role};
use greenlight_server::auth::token_hash;
use greenlight_store::{Change, Store, TokenRecord, User};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

/// Who calls: one user per role, one with no role, and an admin with no role.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Role(Role),
    NoRole,
    Admin,
}

impl Caller {
    fn all() -> Vec<Caller> {
        let mut all: Vec<Caller> = Role::ALL.iter().map(|r| Caller::Role(*r)).collect();
        all.extend([Caller::NoRole, Caller::Admin]);
        all
    }

    fn token(self) -> String {
        match self {
            Caller::Role(role) => format!("glt_test_{}", role.as_str()),
            Caller::NoRole => "glt_test_norole".into(),
            Caller::Admin => "glt_test_admin".into(),
        }
    }

    fn role(self) -> Option<Role> {
        match self {
            Caller::Role(role) => Some(role),
            _ => None,
        }
    }
}

/// How far the release is prepared before a case runs.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Planned,
    Frozen,
    GatesPassed,
    StagingRunning,
    Staging,
}

struct Env {
    app: Router,
    _dir: tempfile::TempDir,
}

async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn env(stage: Stage) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.unwrap();
    let state = greenlight_server::state(store.clone(), Policy::default(), true);
    let now = "2026-12-01T18:00:00Z".parse().unwrap();
    if let Some(clock) = &state.test_clock {
        clock.set(now);
    }
    for caller in Caller::all() {
        let id = format!("{caller:?}")
            .to_lowercase()
            .replace(['(', ')'], "_");
        let user = User {
            id: id.clone(),
            display_name: id.clone(),
            roles: caller.role().into_iter().collect::<BTreeSet<_>>(),
            is_admin: caller == Caller::Admin,
            disabled: false,
            created_at: now,
        };
        let change = Change::new(now, "test", "user.create");
        store.create_user(&user, &change).await.unwrap();
        let token = TokenRecord {
            id: Uuid::new_v4(),
            user_id: id,
            name: "test".into(),
            token_hash: token_hash(&caller.token()),
            created_at: now,
            revoked_at: None,
        };
        store.create_token(&token, &change).await.unwrap();
    }
    let app = greenlight_server::app(state);
    prepare(&app, stage).await;
    Env { app, _dir: dir }
}

async fn prepare(app: &Router, stage: Stage) {
    let lead = Caller::Role(Role::EngineeringLead).token();
    let qa = Caller::Role(Role::QaLead).token();
    let mut steps = vec![
        (
            Stage::Planned,
            lead.clone(),
            "/api/v1/releases".to_string(),
            json!({"release_type": "standard", "version": "1.4.0"}),
        ),
        (
            Stage::Planned,
            lead.clone(),
            "/api/v1/flags".to_string(),
            json!({"key": "rhythm"}),
        ),
    ];
    steps.push((
        Stage::Frozen,
        lead.clone(),
        "/api/v1/releases/1.4.0/freeze".into(),
        json!({}),
    ));
    for gate in Policy::default().gates.of(GatePhase::Planning) {
        steps.push((
            Stage::GatesPassed,
            qa.clone(),
            "/api/v1/releases/1.4.0/gates".into(),
            json!({"phase": "planning", "gate": gate.name, "passed": true}),
        ));
    }
    steps.push((
        Stage::StagingRunning,
        lead.clone(),
        "/api/v1/releases/1.4.0/deployments".into(),
        json!({"environment": "staging"}),
    ));
    steps.push((
        Stage::Staging,
        lead.clone(),
        "/api/v1/releases/1.4.0/deployments/current/complete".into(),
        json!({}),
    ));
    for (needed, token, path, body) in steps {
        if needed > stage {
            break;
        }
        let (status, answer) = call(app, Method::POST, &path, Some(&token), Some(body)).await;
        assert!(status.is_success(), "setup {path}: {status} {answer}");
    }
}

/// Who may: the roles the table lists for `action`.
fn table(action: Action) -> Vec<Role> {
    action.roles().to_vec()
}

struct Case {
    path: &'static str,
    stage: Stage,
    /// Roles that pass the permission check; `None` means "the caller's own role" (approve,
    /// go-no-go: you act in a role you hold).
    permitted: Option<Vec<Role>>,
    body: fn(Caller) -> Value,
}

fn own_role(caller: Caller) -> Value {
    json!(caller.role().unwrap_or(Role::EngineeringLead).as_str())
}

fn cases() -> Vec<Case> {
    use Action::*;
    let case = |path, stage, action: Action, body: fn(Caller) -> Value| Case {
        path,
        stage,
        permitted: Some(table(action)),
        body,
    };
    vec![
        case(
            "/api/v1/releases",
            Stage::Planned,
            PlanRelease,
            |_| json!({"release_type": "standard", "version": "1.5.0"}),
        ),
        case(
            "/api/v1/releases",
            Stage::Planned,
            CreateHotfixBranch,
            |_| json!({"release_type": "hotfix", "version": "1.3.1", "title": "score fix", "trigger": "score_recording_failure"}),
        ),
        case(
            "/api/v1/releases/1.4.0/freeze",
            Stage::Planned,
            CreateReleaseBranch,
            |_| json!({}),
        ),
        case(
            "/api/v1/releases/1.4.0/evidence?gate=unit_tests",
            Stage::Frozen,
            RecordGateResult,
            |_| json!({"p95_ms": 120.0, "error_rate_percent": 0.1}),
        ),
        case(
            "/api/v1/releases/1.4.0/candidates",
            Stage::Frozen,
            CutReleaseCandidate,
            |_| json!({}),
        ),
        case(
            "/api/v1/releases/1.4.0/reschedule",
            Stage::Planned,
            RescheduleRelease,
            |_| json!({"planned_date": "2026-12-17T22:00:00Z", "reason": "holiday load"}),
        ),
        case(
            "/api/v1/releases/1.4.0/cancel",
            Stage::Planned,
            CancelRelease,
            |_| json!({"reason": "scope moved"}),
        ),
        case(
            "/api/v1/releases/1.4.0/checklist",
            Stage::Frozen,
            MarkChecklistItem,
            |_| json!({"item": "release_notes_drafted"}),
        ),
        case(
            "/api/v1/releases/1.4.0/gates",
            Stage::Frozen,
            RecordGateResult,
            |_| json!({"phase": "planning", "gate": "unit_tests", "passed": true}),
        ),
        case(
            "/api/v1/releases/1.4.0/gates/override",
            Stage::Frozen,
            OverrideQualityGate,
            |_| json!({"phase": "planning", "gate": "unit_tests", "justification": "flaky runner, verified by hand"}),
        ),
        case(
            "/api/v1/releases/1.4.0/bugs",
            Stage::Frozen,
            ReportBug,
            |_| json!({"bug_id": "MLC-1", "severity": 3, "title": "typo"}),
        ),
        case(
            "/api/v1/releases/1.4.0/bugs/MLC-9/resolve",
            Stage::Frozen,
            ResolveBug,
            |_| json!({}),
        ),
        case(
            "/api/v1/releases/1.4.0/content",
            Stage::Frozen,
            RecordReleaseContent,
            |_| json!({"changelog": "## [1.4.0]", "included_features": ["#41"], "included_fixes": [], "breaking_changes": false, "migration_required": true}),
        ),
        case(
            "/api/v1/releases/1.4.0/stakeholder-review",
            Stage::Staging,
            RecordStakeholderReview,
            |_| json!({"notes": "ok"}),
        ),
        case(
            "/api/v1/releases/1.4.0/deployments",
            Stage::GatesPassed,
            DeployToStaging,
            |_| json!({"environment": "staging"}),
        ),
        case(
            "/api/v1/releases/1.4.0/deployments",
            Stage::Staging,
            ExecuteProductionDeployment,
            |_| json!({"environment": "production"}),
        ),
        case(
            "/api/v1/releases/1.4.0/deployments/current/complete",
            Stage::StagingRunning,
            DeployToStaging,
            |_| json!({}),
        ),
        case(
            "/api/v1/releases/1.4.0/deployments/current/fail",
            Stage::StagingRunning,
            DeployToStaging,
            |_| json!({"reason": "smoke tests failed"}),
        ),
        case(
            "/api/v1/releases/1.4.0/rollback",
            Stage::Staging,
            InitiateRollback,
            |_| json!({"reason": "errors"}),
        ),
        case(
            "/api/v1/releases/1.4.0/action-items/root_cause/complete",
            Stage::Staging,
            CompleteActionItem,
            |_| json!({}),
        ),
        case(
            "/api/v1/releases/1.4.0/communications",
            Stage::Planned,
            CommunicateMaintenance,
            |_| json!({"communication_type": "email", "audience": "internal", "subject": "s", "message": "m"}),
        ),
        case(
            "/api/v1/releases/1.4.0/retrospective",
            Stage::Planned,
            MarkChecklistItem,
            |_| json!({"notes": "went well"}),
        ),
        case(
            "/api/v1/releases/1.4.0/metrics-review",
            Stage::Planned,
            MarkChecklistItem,
            |_| json!({"values": {"error_rate_percent": 0.2}}),
        ),
        case(
            "/api/v1/comms/recipients",
            Stage::Planned,
            CommunicateMaintenance,
            |_| json!({"audience": "subscribers", "address": "admins@school.test"}),
        ),
        case(
            "/api/v1/comms/00000000-0000-0000-0000-000000000000/retry",
            Stage::Planned,
            CommunicateMaintenance,
            |_| json!({}),
        ),
        case(
            "/api/v1/flags",
            Stage::Planned,
            ManageFeatureFlags,
            |_| json!({"key": "other"}),
        ),
        case(
            "/api/v1/flags/rhythm/advance",
            Stage::Planned,
            ManageFeatureFlags,
            |_| json!({}),
        ),
        case(
            "/api/v1/flags/rhythm/kill",
            Stage::Planned,
            KillFeatureFlag,
            |_| json!({"reason": "scores lost"}),
        ),
        case(
            "/api/v1/flags/rhythm/restore",
            Stage::Planned,
            KillFeatureFlag,
            |_| json!({}),
        ),
        Case {
            path: "/api/v1/releases/1.4.0/approvals",
            stage: Stage::Staging,
            permitted: None,
            body: |c| json!({"role": own_role(c)}),
        },
        Case {
            path: "/api/v1/releases/1.4.0/go-no-go",
            stage: Stage::Staging,
            permitted: None,
            body: |c| json!({"role": own_role(c), "vote": "go"}),
        },
    ]
}

fn expected_forbidden(case: &Case, caller: Caller, policy: &Policy) -> bool {
    match (&case.permitted, caller.role()) {
        (Some(roles), Some(role)) => !roles.contains(&role),
        (Some(_), None) => true,
        // Acting in your own role: approvals need only holding it (the matrix rule is separate);
        // Go/No-Go votes also need the role to be a participant.
        (None, None) => true,
        (None, Some(role)) if case.path.ends_with("go-no-go") => {
            !go_no_go_participants(policy, ReleaseType::Standard).contains(&role)
        }
        (None, Some(_)) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_endpoint_follows_the_permission_table() {
    let policy = Policy::default();
    let mut checked = 0;
    for case in cases() {
        let mut current = env(case.stage).await;
        for caller in Caller::all() {
            let token = caller.token();
            let (status, problem) = call(
                &current.app,
                Method::POST,
                case.path,
                Some(&token),
                Some((case.body)(caller)),
            )
            .await;
            let forbidden = expected_forbidden(&case, caller, &policy);
            if forbidden {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} as {caller:?}: {problem}",
                    case.path
                );
                assert_eq!(problem["rule"], "permission", "{} as {caller:?}", case.path);
            } else {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{} as {caller:?} is allowed by the table: {problem}",
                    case.path
                );
            }
            if status.is_success() {
                current = env(case.stage).await;
            }
            checked += 1;
        }
    }
    assert_eq!(checked, cases().len() * Caller::all().len());
}

#[tokio::test]
async fn reads_need_a_token_and_are_open_to_every_role() {
    let current = env(Stage::Frozen).await;
    let reads = [
        "/api/v1/releases",
        "/api/v1/releases/1.4.0",
        "/api/v1/releases/1.4.0/checklist",
        "/api/v1/releases/1.4.0/gates",
        "/api/v1/releases/1.4.0/approvals",
        "/api/v1/releases/1.4.0/events",
        "/api/v1/releases/1.4.0/audit",
        "/api/v1/releases/1.4.0/communications",
        "/api/v1/releases/1.4.0/runs",
        "/api/v1/releases/1.4.0/health",
        "/api/v1/events",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/environments",
        "/api/v1/me",
        "/api/v1/policy",
        "/api/v1/permissions",
        "/api/v1/window",
        "/api/v1/calendar",
        "/api/v1/home",
        "/api/v1/comms",
        "/api/v1/comms/recipients",
    ];
    for path in reads {
        let (status, _) = call(&current.app, Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} without a token");
        for caller in Caller::all() {
            let (status, body) =
                call(&current.app, Method::GET, path, Some(&caller.token()), None).await;
            assert_eq!(status, StatusCode::OK, "{path} as {caller:?}: {body}");
        }
    }
}

#[tokio::test]
async fn accounts_are_for_admins() {
    let current = env(Stage::Planned).await;
    let admin_only: [(Method, &str, Value); 4] = [
        (Method::GET, "/api/v1/users", Value::Null),
        (Method::POST, "/api/v1/users", json!({"id": "newbie"})),
        (
            Method::PATCH,
            "/api/v1/users/norole",
            json!({"display_name": "N"}),
        ),
        (
            Method::POST,
            "/api/v1/environments/production/baseline",
            json!({"version": "1.3.0"}),
        ),
    ];
    for (method, path, body) in admin_only {
        let body = (!body.is_null()).then_some(body);
        for caller in Caller::all() {
            let (status, problem) = call(
                &current.app,
                method.clone(),
                path,
                Some(&caller.token()),
                body.clone(),
            )
            .await;
            if caller == Caller::Admin {
                assert!(
                    status.is_success(),
                    "{method} {path} as admin: {status} {problem}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as {caller:?}"
                );
                assert_eq!(problem["rule"], "permission");
            }
        }
    }
    let qa = Caller::Role(Role::QaLead).token();
    let (status, _) = call(
        &current.app,
        Method::GET,
        "/api/v1/users/norole/tokens",
        Some(&qa),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another user's tokens");
    let (status, _) = call(
        &current.app,
        Method::POST,
        "/api/v1/users/norole/tokens",
        Some(&qa),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a token for another user");
    let (status, _) = call(
        &current.app,
        Method::GET,
        "/api/v1/users/role_qalead_/tokens",
        Some(&qa),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "your own tokens");
}
