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

/// The dashboard session secret of `caller`.
fn session_secret(caller: Caller) -> String {
    format!("gls_test_{}", caller.token())
}

/// How far the release is prepared before a case runs.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Planned,
    Frozen,
    GatesPassed,
    StagingRunning,
    Staging,
    /// Deployed to production (1.3.0 live before it), inside Thursday's window.
    Production,
    /// A rollback to 1.3.0 started by the on-call engineer and still running.
    RollingBack,
}

/// Who starts the rollback of `Stage::RollingBack`.
const ROLLBACK_INITIATOR: Role = Role::OnCallEngineer;

/// When the production deployment starts: Thursday 10 December 2026, 14:30 in Los Angeles,
/// inside the 14:00-16:00 window with a standard deployment's 45 minutes, and more than the
/// standard release's 7 days after its code freeze (`env`'s clock, 1 December).
const PRODUCTION_AT: &str = "2026-12-10T22:30:00Z";

struct Env {
    app: Router,
    store: Store,
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
    let clock = state.test_clock.clone().expect("a test clock");
    let now = "2026-12-01T18:00:00Z".parse().unwrap();
    clock.set(now);
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
            user_id: id.clone(),
            name: "test".into(),
            token_hash: token_hash(&caller.token()),
            created_at: now,
            revoked_at: None,
            scope: greenlight_store::TokenScope::Full,
            expires_at: None,
        };
        store.create_token(&token, &change).await.unwrap();
        let expires = "2026-12-02T18:00:00Z".parse().unwrap();
        let hash = token_hash(&session_secret(caller));
        let change = Change::new(now, id.clone(), "session.create");
        store
            .create_session(&hash, &id, None, "csrf", expires, &change)
            .await
            .unwrap();
    }
    let app = greenlight_server::app(state);
    prepare(&app, &clock, stage).await;
    Env {
        app,
        store,
        _dir: dir,
    }
}

async fn prepare(app: &Router, clock: &greenlight_server::clock::TestClock, stage: Stage) {
    let lead = Caller::Role(Role::EngineeringLead).token();
    let qa = Caller::Role(Role::QaLead).token();
    let policy = Policy::default();
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
    for gate in policy.gates.of(GatePhase::StagingValidation) {
        steps.push((
            Stage::Production,
            qa.clone(),
            "/api/v1/releases/1.4.0/gates".into(),
            json!({"phase": "staging_validation", "gate": gate.name, "passed": true}),
        ));
    }
    for role in [Role::EngineeringLead, Role::QaLead, Role::ProductOwner] {
        steps.push((
            Stage::Production,
            Caller::Role(role).token(),
            "/api/v1/releases/1.4.0/approvals".into(),
            json!({"role": role.as_str()}),
        ));
    }
    for role in go_no_go_participants(&policy, ReleaseType::Standard) {
        steps.push((
            Stage::Production,
            Caller::Role(role).token(),
            "/api/v1/releases/1.4.0/go-no-go".into(),
            json!({"role": role.as_str(), "vote": "go"}),
        ));
    }
    steps.push((
        Stage::Production,
        Caller::Admin.token(),
        "/api/v1/environments/production/baseline".into(),
        json!({"version": "1.3.0"}),
    ));
    // The steps from here on run at `PRODUCTION_AT`.
    let deploy_from = steps.len();
    steps.push((
        Stage::Production,
        lead.clone(),
        "/api/v1/releases/1.4.0/deployments".into(),
        json!({"environment": "production"}),
    ));
    steps.push((
        Stage::Production,
        lead.clone(),
        "/api/v1/releases/1.4.0/deployments/current/complete".into(),
        json!({}),
    ));
    steps.push((
        Stage::RollingBack,
        Caller::Role(ROLLBACK_INITIATOR).token(),
        "/api/v1/releases/1.4.0/rollback".into(),
        json!({"reason": "high_error_rate"}),
    ));
    for (i, (needed, token, path, body)) in steps.into_iter().enumerate() {
        if needed > stage {
            break;
        }
        if i == deploy_from {
            clock.set(PRODUCTION_AT.parse().unwrap());
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

/// Who may end a run (the core's `require_run_owner`): whoever started it, or a role the table
/// lists for starting one. Each role is one user here, so the initiator is their role's user.
fn run_owner(initiator: Role, action: Action) -> Vec<Role> {
    let mut roles = table(action);
    if !roles.contains(&initiator) {
        roles.push(initiator);
    }
    roles
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
        Case {
            path: "/api/v1/releases/1.4.0/rollback/complete",
            stage: Stage::RollingBack,
            permitted: Some(run_owner(ROLLBACK_INITIATOR, InitiateRollback)),
            body: |_| json!({}),
        },
        Case {
            path: "/api/v1/releases/1.4.0/rollback/fail",
            stage: Stage::RollingBack,
            permitted: Some(run_owner(ROLLBACK_INITIATOR, InitiateRollback)),
            body: |_| json!({"reason": "rollback_hook_failed"}),
        },
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
            "/api/v1/metrics",
            Stage::Planned,
            IngestHealthSamples,
            |_| json!({"samples": [{"kind": "pool", "exhausted": false}]}),
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

/// Who may read an endpoint.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// Every valid token (`roles::OPEN_READS`).
    Open,
    /// The roles the table lists for the action (and administrators for `ADMIN_READS`).
    Table(Action),
    /// Administrators only.
    Admin,
}

impl Read {
    fn allows(self, caller: Caller) -> bool {
        let admin = caller == Caller::Admin;
        match self {
            Read::Open => true,
            Read::Admin => admin,
            Read::Table(action) => {
                let actor = greenlight_core::Actor::user("u", caller.role());
                actor.may_read(action, admin)
            }
        }
    }
}

/// Every read endpoint of the API (as the OpenAPI document names it) and who may read it.
fn api_reads() -> Vec<(&'static str, Read)> {
    use Action::*;
    let mut reads: Vec<(&'static str, Read)> = greenlight_core::roles::OPEN_READS
        .iter()
        .map(|path| (*path, Read::Open))
        .collect();
    reads.extend([
        (
            "/api/v1/releases/{key}/runs",
            Read::Table(AccessDeploymentLogs),
        ),
        (
            "/api/v1/releases/{key}/stream",
            Read::Table(AccessDeploymentLogs),
        ),
        ("/api/v1/releases/{key}/audit", Read::Table(ReadAuditTrail)),
        ("/api/v1/audit", Read::Table(ReadAuditTrail)),
        ("/api/v1/audit/verify", Read::Table(ReadAuditTrail)),
        (
            "/api/v1/releases/{key}/communications",
            Read::Table(ReadCommunications),
        ),
        ("/api/v1/comms", Read::Table(ReadCommunications)),
        ("/api/v1/comms/recipients", Read::Table(ReadRecipients)),
        ("/api/v1/users", Read::Admin),
    ]);
    reads
}

/// Reads that need no token at all: the API's description and the probes.
const PUBLIC_READS: &[&str] = &["/healthz", "/readyz"];

/// Reads covered by their own tests (`accounts_are_for_admins`: the user or an admin).
const OTHER_READS: &[&str] = &["/api/v1/users/{id}/tokens"];

fn concrete(template: &str) -> String {
    template
        .replace(
            "{key}",
            if template.contains("/flags/") {
                "rhythm"
            } else {
                "1.4.0"
            },
        )
        .replace("{id}", "norole")
}

/// GET without reading an event stream's endless body.
async fn get_status(
    app: &Router,
    path: &str,
    token: Option<&str>,
    cookie: Option<&str>,
) -> StatusCode {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn every_read_endpoint_is_in_the_table_and_follows_it() {
    let current = env(Stage::Frozen).await;
    let (_, doc) = call(
        &current.app,
        Method::GET,
        "/api/v1/openapi.json",
        None,
        None,
    )
    .await;
    let reads = api_reads();
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(path, _)| path.clone())
        .collect();
    documented.sort();
    let mut covered: Vec<String> = reads
        .iter()
        .map(|(p, _)| p.to_string())
        .chain(
            PUBLIC_READS
                .iter()
                .chain(OTHER_READS)
                .map(|p| p.to_string()),
        )
        .collect();
    covered.sort();
    assert_eq!(
        documented, covered,
        "every GET of the OpenAPI document needs its decision here"
    );
    for (template, read) in reads {
        let path = concrete(template);
        let status = get_status(&current.app, &path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} without a token");
        for caller in Caller::all() {
            let status = get_status(&current.app, &path, Some(&caller.token()), None).await;
            if read.allows(caller) {
                assert_eq!(status, StatusCode::OK, "{path} as {caller:?}");
            } else {
                let (status, problem) = call(
                    &current.app,
                    Method::GET,
                    &path,
                    Some(&caller.token()),
                    None,
                )
                .await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{path} as {caller:?}");
                assert_eq!(problem["rule"], "permission", "{path} as {caller:?}");
            }
        }
    }
}

/// The dashboard's pages that show what the API guards: the same decisions, by session.
#[tokio::test]
async fn dashboard_reads_follow_the_table() {
    use Action::*;
    let current = env(Stage::Frozen).await;
    let pages: [(&str, Read); 10] = [
        ("/ui/home", Read::Open),
        ("/ui/releases", Read::Open),
        ("/ui/releases/1.4.0", Read::Open),
        ("/ui/releases/1.4.0/runbook", Read::Open),
        ("/ui/flags", Read::Open),
        ("/ui/calendar", Read::Open),
        (
            "/ui/releases/1.4.0/stream",
            Read::Table(AccessDeploymentLogs),
        ),
        ("/ui/audit", Read::Table(ReadAuditTrail)),
        ("/ui/audit/export.csv", Read::Table(ReadAuditTrail)),
        ("/ui/audit/export.json", Read::Table(ReadAuditTrail)),
    ];
    for (path, read) in pages {
        for caller in Caller::all() {
            let cookie = format!("gl_session={}", session_secret(caller));
            let status = get_status(&current.app, path, None, Some(&cookie)).await;
            let expected = if read.allows(caller) {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{path} as {caller:?}");
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

/// Scoped tokens of an engineering lead: each scope lets through only its own endpoints
/// (403, rule `permission`, for the rest), checked before the permission table; an expired
/// token is refused like an unknown one.
#[tokio::test]
async fn scoped_and_expired_tokens() {
    use greenlight_store::TokenScope;
    let current = env(Stage::Frozen).await;
    let lead = "role_engineeringlead_";
    let now: jiff::Timestamp = "2026-12-01T18:00:00Z".parse().unwrap();
    let mut tokens = Vec::new();
    for (i, (scope, expires)) in [
        (TokenScope::Read, None),
        (TokenScope::Ingest, None),
        (TokenScope::Flags, None),
        (TokenScope::Full, Some("2026-12-01T17:00:00Z")),
        (TokenScope::Full, Some("2026-12-02T17:00:00Z")),
    ]
    .into_iter()
    .enumerate()
    {
        let secret = format!("glt_scoped_{}_{i}", scope.as_str());
        let record = TokenRecord {
            id: Uuid::new_v4(),
            user_id: lead.into(),
            name: "scoped".into(),
            token_hash: token_hash(&secret),
            created_at: now,
            revoked_at: None,
            scope,
            expires_at: expires.map(|e| e.parse().unwrap()),
        };
        let change = Change::new(now, "test", "token.create");
        current.store.create_token(&record, &change).await.unwrap();
        tokens.push(secret);
    }
    let [read, ingest, flags, expired, live] = tokens.try_into().unwrap();
    let sample = || Some(json!({"samples": [{"kind": "pool", "exhausted": false}]}));
    let checks: Vec<(&str, Method, &str, Option<Value>, StatusCode)> = vec![
        (
            &read,
            Method::GET,
            "/api/v1/releases/1.4.0",
            None,
            StatusCode::OK,
        ),
        (&read, Method::GET, "/api/v1/audit", None, StatusCode::OK),
        (
            &read,
            Method::POST,
            "/api/v1/releases/1.4.0/cancel",
            Some(json!({"reason": "x"})),
            StatusCode::FORBIDDEN,
        ),
        (
            &read,
            Method::POST,
            "/api/v1/metrics",
            sample(),
            StatusCode::FORBIDDEN,
        ),
        (
            &ingest,
            Method::POST,
            "/api/v1/metrics",
            sample(),
            StatusCode::ACCEPTED,
        ),
        (
            &ingest,
            Method::GET,
            "/api/v1/releases",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &ingest,
            Method::POST,
            "/api/v1/flags/rhythm/kill",
            Some(json!({"reason": "x"})),
            StatusCode::FORBIDDEN,
        ),
        (
            &flags,
            Method::GET,
            "/api/v1/flags/rhythm",
            None,
            StatusCode::OK,
        ),
        (
            &flags,
            Method::GET,
            "/api/v1/releases",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &flags,
            Method::POST,
            "/api/v1/flags/rhythm/kill",
            Some(json!({"reason": "x"})),
            StatusCode::FORBIDDEN,
        ),
        (
            &expired,
            Method::GET,
            "/api/v1/me",
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (&live, Method::GET, "/api/v1/me", None, StatusCode::OK),
    ];
    for (token, method, path, body, expected) in checks {
        let (status, problem) = call(&current.app, method.clone(), path, Some(token), body).await;
        assert_eq!(status, expected, "{method} {path} with {token}: {problem}");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(problem["rule"], "permission", "{method} {path}");
        }
    }
}

/// Every operation of the OpenAPI document that changes something has its decision in this
/// file: a command case (the table), or one of the account and recipient checks below.
#[tokio::test]
async fn every_command_of_the_openapi_document_is_covered() {
    let current = env(Stage::Planned).await;
    let (_, doc) = call(
        &current.app,
        Method::GET,
        "/api/v1/openapi.json",
        None,
        None,
    )
    .await;
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    documented.sort();
    let template = |path: &str| -> String {
        let path = path.split('?').next().unwrap_or(path);
        path.replace("/1.4.0", "/{key}")
            .replace("/rhythm", "/{key}")
            .replace("/MLC-9/", "/{bug_id}/")
            .replace("/root_cause/", "/{kind}/")
            .replace("/00000000-0000-0000-0000-000000000000/", "/{id}/")
    };
    let mut covered: Vec<String> = cases()
        .iter()
        .map(|c| format!("POST {}", template(c.path)))
        .chain(OTHER_COMMANDS.iter().map(|c| c.to_string()))
        .collect();
    covered.sort();
    covered.dedup();
    assert_eq!(documented, covered, "every command needs its decision here");
}

/// Commands decided outside the role table, each tested in this file: accounts (admin, or
/// the user themselves), baselines (admin), recipients (the table, by DELETE).
const OTHER_COMMANDS: &[&str] = &[
    "POST /api/v1/users",
    "PATCH /api/v1/users/{id}",
    "POST /api/v1/users/{id}/tokens",
    "PUT /api/v1/users/{id}/password",
    "DELETE /api/v1/users/{id}/password",
    "DELETE /api/v1/tokens/{id}",
    "POST /api/v1/environments/{environment}/baseline",
    "DELETE /api/v1/comms/recipients/{audience}/{address}",
];

/// Removing a recipient follows `communicate_maintenance`; another user's password and
/// tokens are the user's or an admin's.
#[tokio::test]
async fn recipients_passwords_and_token_revocation() {
    let current = env(Stage::Planned).await;
    let lead = Caller::Role(Role::EngineeringLead).token();
    let (status, _) = call(
        &current.app,
        Method::POST,
        "/api/v1/comms/recipients",
        Some(&lead),
        Some(json!({"audience": "subscribers", "address": "admins@school.test"})),
    )
    .await;
    assert!(status.is_success(), "{status}");
    let path = "/api/v1/comms/recipients/subscribers/admins@school.test";
    for caller in Caller::all() {
        let (status, problem) = call(
            &current.app,
            Method::DELETE,
            path,
            Some(&caller.token()),
            None,
        )
        .await;
        let allowed = caller
            .role()
            .is_some_and(|r| Action::CommunicateMaintenance.roles().contains(&r));
        if allowed {
            assert_ne!(status, StatusCode::FORBIDDEN, "{caller:?}: {problem}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{caller:?}");
            assert_eq!(problem["rule"], "permission");
        }
    }
    let qa = Caller::Role(Role::QaLead).token();
    let body = json!({"password": "a long enough passphrase"});
    for (method, body) in [(Method::PUT, Some(body)), (Method::DELETE, None)] {
        let (status, _) = call(
            &current.app,
            method.clone(),
            "/api/v1/users/norole/password",
            Some(&qa),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} another's password");
    }
    let admin = Caller::Admin.token();
    let (_, tokens) = call(
        &current.app,
        Method::GET,
        "/api/v1/users/norole/tokens",
        Some(&admin),
        None,
    )
    .await;
    let id = tokens[0]["id"].as_str().unwrap().to_string();
    let revoke = format!("/api/v1/tokens/{id}");
    let (status, _) = call(&current.app, Method::DELETE, &revoke, Some(&qa), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "revoking another's token");
    let (status, _) = call(&current.app, Method::DELETE, &revoke, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an admin revokes it");
}
