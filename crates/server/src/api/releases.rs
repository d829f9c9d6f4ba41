//! Releases and the commands of the release process. Every command takes the same path:
//! [`execute`] loads the release, checks `If-Match`, asks the core to decide, and commits.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use greenlight_core::release::ReleaseCommunication;
use greenlight_core::{
    Action, Command, Context, PlanRelease, Release, ReleaseStatus, ReleaseType, plan,
};
use greenlight_store::{
    AuditEntry, AuditFilter, Change, EventFilter, ReleaseFilter, StepRecord, StoredEvent,
};
use jiff::Timestamp;
use semver::Version;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::views::{
    ApproveRequest, BugRequest, ChecklistRequest, CommunicationRequest, DeployRequest, GateRequest,
    MetricsReviewRequest, NotesRequest, OverrideRequest, PlanRequest, ReasonRequest, ReleaseView,
    RescheduleRequest, RetrospectiveRequest, ReviewRequest, RollbackRequest, VoteRequest,
    approvals_view, phase_views, release_view,
};
use greenlight_core::content::ReleaseContent;

use super::{Body, IfMatch, Path, Query, Released, execute, load};
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::runner;
use crate::state::AppState;

/// Filters of the release list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<ReleaseStatus>,
    /// Only this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub release_type: Option<ReleaseType>,
    /// Planned at or after this time.
    pub from: Option<Timestamp>,
    /// Planned before this time.
    pub to: Option<Timestamp>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

fn parse_version(text: &str) -> ApiResult<Version> {
    let bare = text.trim().trim_start_matches('v');
    Version::parse(bare).map_err(|e| {
        ApiError::BadRequest(format!("version `{text}` is not semver like 1.4.0: {e}"))
    })
}

/// Lists releases, newest planned date first.
#[utoipa::path(get, path = "/api/v1/releases", tag = "releases", params(ListQuery),
    responses((status = 200, body = [ReleaseView]), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _auth: Auth,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Vec<ReleaseView>>> {
    let filter = ReleaseFilter {
        status: query.status,
        release_type: query.release_type,
        from: query.from,
        to: query.to,
        limit: query.limit,
    };
    let now = state.clock.now();
    let releases = state.store.releases(&filter).await?;
    Ok(Json(
        releases
            .iter()
            .map(|r| release_view(r, &state.policy, now))
            .collect(),
    ))
}

/// Plans a release; version and dates are proposed from the policy when not given.
#[utoipa::path(post, path = "/api/v1/releases", tag = "releases", request_body = PlanRequest,
    responses((status = 201, body = ReleaseView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn plan_release(
    State(state): State<AppState>,
    auth: Auth,
    Body(body): Body<PlanRequest>,
) -> ApiResult<Released> {
    let version = body.version.as_deref().map(parse_version).transpose()?;
    let from_version = body
        .from_version
        .as_deref()
        .map(parse_version)
        .transpose()?;
    let command = PlanRelease {
        release_id: Uuid::new_v4(),
        checklist_id: Uuid::new_v4(),
        release_type: body.release_type,
        version,
        planned_date: body.planned_date,
        title: body.title,
        from_version,
        trigger: body.trigger,
        severity: body.severity,
    };
    let world = state.store.world().await?;
    let now = state.clock.now();
    let ctx = Context {
        policy: &state.policy,
        now,
        actor: &auth.actor,
        world: &world,
    };
    let events = plan(&command, &ctx)?;
    let release = Release::replay(&events)
        .ok_or_else(|| ApiError::Internal("planning yielded no release".into()))?;
    let mut change = Change::new(now, auth.actor.id.clone(), "release.plan");
    change.outbox = crate::comms::outbox_for(&release, &events, &state.policy);
    let stored = state
        .store
        .create_release(&release, &events, &change)
        .await?;
    tracing::info!(release = %release.record.version, actor = %auth.actor.id, "release planned");
    crate::content::record_in_background(&state, release.record.version.to_string());
    Ok(Released::new(StatusCode::CREATED, &stored, &state))
}

/// One release, by ID or version; its revision is the ETag.
#[utoipa::path(get, path = "/api/v1/releases/{key}", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version (1.4.0)", example = "1.4.0")),
    responses((status = 200, body = ReleaseView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Released> {
    let stored = load(&state, &key).await?;
    Ok(Released::new(StatusCode::OK, &stored, &state))
}

/// Declares a handler that runs one command on a release.
macro_rules! command_handler {
    (
        $(#[$doc:meta])*
        $name:ident, $path:literal, $action:literal, $body:ty, |$b:ident| $command:expr
    ) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "releases",
            params(("key" = String, Path, description = "Release ID or version (1.4.0)", example = "1.4.0"),
                ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
            request_body = $body,
            responses((status = 200, body = ReleaseView), (status = 400, body = Problem),
                (status = 401, body = Problem), (status = 403, body = Problem),
                (status = 404, body = Problem), (status = 409, body = Problem),
                (status = 422, body = Problem)),
            security(("bearer" = [])))]
        pub async fn $name(
            State(state): State<AppState>,
            auth: Auth,
            Path(key): Path<String>,
            if_match: IfMatch,
            Body($b): Body<$body>,
        ) -> ApiResult<Released> {
            let command = $command;
            execute(&state, &auth, &key, if_match, $action, command).await
        }
    };
}

/// Declares a handler that runs a command without a body.
macro_rules! bare_command_handler {
    (
        $(#[$doc:meta])*
        $name:ident, $path:literal, $action:literal, $command:expr
    ) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = "releases",
            params(("key" = String, Path, description = "Release ID or version (1.4.0)", example = "1.4.0"),
                ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
            responses((status = 200, body = ReleaseView), (status = 401, body = Problem),
                (status = 403, body = Problem), (status = 404, body = Problem),
                (status = 409, body = Problem), (status = 422, body = Problem)),
            security(("bearer" = [])))]
        pub async fn $name(
            State(state): State<AppState>,
            auth: Auth,
            Path(key): Path<String>,
            if_match: IfMatch,
        ) -> ApiResult<Released> {
            execute(&state, &auth, &key, if_match, $action, $command).await
        }
    };
}

bare_command_handler!(
    /// Code freeze: creates the release branch and the first release candidate.
    freeze, "/api/v1/releases/{key}/freeze", "release.freeze", Command::Freeze
);
bare_command_handler!(
    /// Cuts the next release candidate.
    cut_candidate, "/api/v1/releases/{key}/candidates", "release.cut_candidate",
    Command::CutReleaseCandidate
);
bare_command_handler!(
    /// The running deployment finished.
    complete_deployment, "/api/v1/releases/{key}/deployments/current/complete",
    "deployment.complete", Command::CompleteDeployment
);
bare_command_handler!(
    /// The running rollback finished.
    complete_rollback, "/api/v1/releases/{key}/rollback/complete", "rollback.complete",
    Command::CompleteRollback
);

command_handler!(
    /// Moves the planned deployment.
    reschedule, "/api/v1/releases/{key}/reschedule", "release.reschedule", RescheduleRequest,
    |b| Command::Reschedule { planned_date: b.planned_date, reason: b.reason }
);
command_handler!(
    /// Cancels a release that has not reached production.
    cancel, "/api/v1/releases/{key}/cancel", "release.cancel", ReasonRequest,
    |b| Command::Cancel { reason: b.reason }
);
command_handler!(
    /// Records a Phase 4 metrics review (score recording below the policy minimum is a finding).
    record_metrics_review, "/api/v1/releases/{key}/metrics-review", "release.metrics_review",
    MetricsReviewRequest,
    |b| Command::RecordMetricsReview { values: b.values, notes: b.notes }
);
command_handler!(
    /// Records the retrospective: notes, the process changes it led to, and action items.
    record_retrospective, "/api/v1/releases/{key}/retrospective", "release.retrospective",
    RetrospectiveRequest,
    |b| Command::RecordRetrospective { notes: b.notes, outputs: b.outputs, items: b.items }
);
command_handler!(
    /// Ticks a checklist item that is not derived from gates or deployments.
    mark_checklist, "/api/v1/releases/{key}/checklist", "checklist.mark", ChecklistRequest,
    |b| Command::MarkChecklist { item: b.item }
);
command_handler!(
    /// Records a quality gate result.
    record_gate, "/api/v1/releases/{key}/gates", "gate.record", GateRequest,
    |b| Command::RecordGate { phase: b.phase, gate: b.gate, passed: b.passed, reason: b.reason }
);
command_handler!(
    /// Overrides a gate (engineering lead, with a justification).
    override_gate, "/api/v1/releases/{key}/gates/override", "gate.override", OverrideRequest,
    |b| Command::OverrideGate { phase: b.phase, gate: b.gate, justification: b.justification }
);
command_handler!(
    /// Approves the release in one of the caller's roles.
    approve, "/api/v1/releases/{key}/approvals", "release.approve", ApproveRequest,
    |b| Command::Approve { role: b.role }
);
command_handler!(
    /// Records a major release's stakeholder review.
    stakeholder_review, "/api/v1/releases/{key}/stakeholder-review", "release.stakeholder_review",
    ReviewRequest, |b| Command::StakeholderReview { notes: b.notes }
);
command_handler!(
    /// Records what the release contains, drafted from its history (`greenlight release
    /// content`): changelog, features, fixes, breaking changes, migration, risk notes.
    record_content, "/api/v1/releases/{key}/content", "release.content", ReleaseContent,
    |b| Command::RecordContent(b)
);
command_handler!(
    /// Votes in the Go/No-Go decision.
    go_no_go, "/api/v1/releases/{key}/go-no-go", "release.go_no_go", VoteRequest,
    |b| Command::GoNoGo { role: b.role, vote: b.vote, notes: b.notes }
);
command_handler!(
    /// Reports a bug against the release.
    report_bug, "/api/v1/releases/{key}/bugs", "bug.report", BugRequest,
    |b| Command::ReportBug { bug_id: b.bug_id, severity: b.severity, title: b.title, workaround: b.workaround }
);
/// Starts a deployment after checking every rule of its phase (window, gates, approvals, Go,
/// blocking bugs, one run at a time). With a runbook in the policy Greenlight runs its steps and
/// records the outcome; without one, people report completion or failure.
#[utoipa::path(post, path = "/api/v1/releases/{key}/deployments", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"),
        ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
    request_body = DeployRequest,
    responses((status = 200, body = ReleaseView), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn start_deployment(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    if_match: IfMatch,
    Body(body): Body<DeployRequest>,
) -> ApiResult<Released> {
    let environment = body.environment;
    let command = Command::StartDeployment {
        environment,
        override_window: body.override_window,
    };
    let released = execute(&state, &auth, &key, if_match, "deployment.start", command).await?;
    runner::start(&state, released.view.record.release_id).await?;
    Ok(released)
}

/// Every step attempt of the release's runbook runs, oldest first.
#[utoipa::path(get, path = "/api/v1/releases/{key}/runs", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    responses((status = 200, body = [StepRecord]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn runs(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<StepRecord>>> {
    let stored = load(&state, &key).await?;
    Ok(Json(
        state.store.steps(stored.release.record.release_id).await?,
    ))
}
command_handler!(
    /// The running deployment failed.
    fail_deployment, "/api/v1/releases/{key}/deployments/current/fail", "deployment.fail",
    ReasonRequest, |b| Command::FailDeployment { reason: b.reason }
);
command_handler!(
    /// The running rollback failed.
    fail_rollback, "/api/v1/releases/{key}/rollback/fail", "rollback.fail", ReasonRequest,
    |b| Command::FailRollback { reason: b.reason }
);

/// Resolves a reported bug.
#[utoipa::path(post, path = "/api/v1/releases/{key}/bugs/{bug_id}/resolve", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"),
        ("bug_id" = String, Path, description = "Tracker ID"),
        ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
    responses((status = 200, body = ReleaseView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn resolve_bug(
    State(state): State<AppState>,
    auth: Auth,
    Path((key, bug_id)): Path<(String, String)>,
    if_match: IfMatch,
) -> ApiResult<Released> {
    let command = Command::ResolveBug { bug_id };
    execute(&state, &auth, &key, if_match, "bug.resolve", command).await
}

/// Starts rolling production back (engineering lead or on-call engineer).
#[utoipa::path(post, path = "/api/v1/releases/{key}/rollback", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"),
        ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
    request_body = RollbackRequest,
    responses((status = 200, body = ReleaseView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn start_rollback(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    if_match: IfMatch,
    Body(body): Body<RollbackRequest>,
) -> ApiResult<Released> {
    let to_version = body.to_version.as_deref().map(parse_version).transpose()?;
    let command = Command::StartRollback {
        reason: body.reason,
        to_version,
        database: body.database,
        confirm: body.confirm,
    };
    let released = execute(&state, &auth, &key, if_match, "rollback.start", command).await?;
    runner::start(&state, released.view.record.release_id).await?;
    Ok(released)
}

/// Marks an action item (post-rollback follow-up, hotfix backport) done.
#[utoipa::path(post, path = "/api/v1/releases/{key}/action-items/{kind}/complete", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"),
        ("kind" = String, Path, description = "The action item's kind"),
        ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
    request_body = NotesRequest,
    responses((status = 200, body = ReleaseView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn complete_action_item(
    State(state): State<AppState>,
    auth: Auth,
    Path((key, kind)): Path<(String, String)>,
    if_match: IfMatch,
    Body(body): Body<NotesRequest>,
) -> ApiResult<Released> {
    let command = Command::CompleteActionItem {
        kind,
        notes: body.notes,
    };
    execute(
        &state,
        &auth,
        &key,
        if_match,
        "action_item.complete",
        command,
    )
    .await
}

/// The release's deployment checklist (the spec's DeploymentChecklist).
#[utoipa::path(get, path = "/api/v1/releases/{key}/checklist", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    responses((status = 200, body = greenlight_core::release::DeploymentChecklist), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn checklist(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<greenlight_core::release::DeploymentChecklist>> {
    Ok(Json(load(&state, &key).await?.release.checklist))
}

/// The release's gates by phase with their latest results.
#[utoipa::path(get, path = "/api/v1/releases/{key}/gates", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    responses((status = 200, body = [super::views::PhaseView]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn gates(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<super::views::PhaseView>>> {
    let stored = load(&state, &key).await?;
    Ok(Json(phase_views(&stored.release, &state.policy)))
}

/// The approval matrix of the release and where it stands.
#[utoipa::path(get, path = "/api/v1/releases/{key}/approvals", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    responses((status = 200, body = super::views::ApprovalsView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn approvals(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<super::views::ApprovalsView>> {
    let stored = load(&state, &key).await?;
    Ok(Json(approvals_view(&stored.release, &state.policy)))
}

/// Filters of a release's events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseEventsQuery {
    /// Only events of this name (`deployment_started`).
    pub event: Option<String>,
    /// At most this many (default 500, at most 5000).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
}

/// The release's events in the spec's shapes, oldest first.
#[utoipa::path(get, path = "/api/v1/releases/{key}/events", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"), ReleaseEventsQuery),
    responses((status = 200, body = [StoredEvent]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    Query(query): Query<ReleaseEventsQuery>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    let stored = load(&state, &key).await?;
    let filter = EventFilter {
        release_id: Some(stored.release.record.release_id),
        event: query.event,
        limit: query.limit,
        ..EventFilter::default()
    };
    Ok(Json(state.store.events(&filter).await?))
}

/// The release's audit entries, oldest first.
#[utoipa::path(get, path = "/api/v1/releases/{key}/audit", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    responses((status = 200, body = [AuditEntry]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let stored = load(&state, &key).await?;
    let filter = AuditFilter {
        subject: Some(format!("release:{}", stored.release.record.release_id)),
        limit: Some(5000),
        ..AuditFilter::default()
    };
    Ok(Json(state.store.audit(&filter).await?))
}

/// The communications sent about the release (the spec's ReleaseCommunication).
#[utoipa::path(get, path = "/api/v1/releases/{key}/communications", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    responses((status = 200, body = [ReleaseCommunication]), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn communications(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<ReleaseCommunication>>> {
    let stored = load(&state, &key).await?;
    let id = stored.release.record.release_id;
    Ok(Json(state.store.communications(id).await?))
}

/// Records a communication that was sent about the release.
#[utoipa::path(post, path = "/api/v1/releases/{key}/communications", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0")),
    request_body = CommunicationRequest,
    responses((status = 201, body = ReleaseCommunication), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn record_communication(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Body(body): Body<CommunicationRequest>,
) -> ApiResult<(StatusCode, Json<ReleaseCommunication>)> {
    auth.actor.require(Action::CommunicateMaintenance)?;
    if body.subject.trim().is_empty() || body.message.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a communication needs a non-empty subject and message".into(),
        ));
    }
    let stored = load(&state, &key).await?;
    let now = state.clock.now();
    let communication = ReleaseCommunication {
        communication_id: Uuid::new_v4(),
        release_id: stored.release.record.release_id,
        communication_type: body.communication_type,
        audience: body.audience,
        subject: body.subject,
        message: body.message,
        sent_at: body.sent_at.unwrap_or(now),
        sent_by: auth.actor.id.clone(),
        created_at: now,
    };
    let change = Change::new(now, auth.actor.id.clone(), "communication.record");
    state
        .store
        .record_communication(&communication, &change)
        .await?;
    Ok((StatusCode::CREATED, Json(communication)))
}
