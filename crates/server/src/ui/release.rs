//! The release pages: the list, a release's detail (gates by phase, checklist, approvals,
//! Go/No-Go, runbook with live progress, health charts, hotfix timer, communications, action
//! items, its story), and the actions a role may take there: record a gate, approve, vote,
//! deploy, roll back, cancel and close an action item.
//!
//! Deploy, rollback and cancel ask first: the first post decides the command without committing
//! it and shows either the rule that refuses it or a confirmation page; only the confirmed post
//! (based on the revision that was confirmed) changes the release.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use greenlight_core::gates::GatePhase;
use greenlight_core::release::{Environment, GoNoGo};
use greenlight_core::report;
use greenlight_core::runbook::RunKind;
use greenlight_core::{Action, Command, ReleaseStatus, ReleaseType, Role};
use greenlight_store::StoredRelease;
use semver::Version;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Signed, charts, local, page};
use crate::api::stream::StreamQuery;
use crate::api::views::ReleaseView;
use crate::api::{Path, Query};
use crate::problem::ApiError;
use crate::state::AppState;

/// Minutes of health history the release page charts.
const HEALTH_MINUTES: i64 = 120;

/// The release pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/releases", get(super::release_list::releases))
        .route("/ui/releases/{key}", get(release))
        .route("/ui/releases/{key}/stream", get(stream))
        .route("/ui/releases/{key}/runbook", get(runbook_section))
        .route("/ui/releases/{key}/gates", post(record_gate))
        .route("/ui/releases/{key}/approve", post(approve))
        .route("/ui/releases/{key}/go-no-go", post(vote))
        .route("/ui/releases/{key}/deploy", post(deploy))
        .route("/ui/releases/{key}/rollback", post(rollback))
        .route("/ui/releases/{key}/cancel", post(cancel))
        .route(
            "/ui/releases/{key}/action-items/{kind}",
            post(complete_item),
        )
}

async fn release(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
) -> Response {
    release_with(&state, &signed, &key, StatusCode::OK, Outcome::None).await
}

/// What the page reports about the last action.
enum Outcome {
    None,
    Done(String),
    Refused(String),
}

async fn release_with(
    state: &AppState,
    signed: &Signed,
    key: &str,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let stored = match crate::api::load(state, key).await {
        Ok(stored) => stored,
        Err(err) => {
            let mut context = signed.context();
            context["error"] = json!(err.to_string());
            context["releases"] = json!([]);
            return page(StatusCode::NOT_FOUND, "releases.html", context);
        }
    };
    let mut context = match detail(state, signed, &stored).await {
        Ok(context) => context,
        Err(err) => return err.into_response(),
    };
    match outcome {
        Outcome::None => {}
        Outcome::Done(notice) => context["notice"] = json!(notice),
        Outcome::Refused(error) => context["error"] = json!(error),
    }
    page(status, "release.html", context)
}

/// Everything the release page shows, for the signed-in user.
async fn detail(
    state: &AppState,
    signed: &Signed,
    stored: &StoredRelease,
) -> Result<Value, ApiError> {
    let now = state.clock.now();
    let view = crate::api::views::release_view(stored, &state.policy, now);
    let release = &stored.release;
    let id = release.record.release_id;
    let events = state.store.release_events(id).await?;
    let sent = state.store.communications(id).await?;
    let story: Vec<Value> = report::report(release, &events, Vec::new(), now)
        .entries
        .iter()
        .map(|e| json!({ "when": local(state, e.at), "section": e.section, "text": e.text, "by": e.by }))
        .collect();
    let record = &release.record;
    let mut context = signed.context();
    context["story"] = json!(story);
    context["freeze"] = json!(local(state, record.code_freeze_date));
    context["planned"] = json!(local(state, record.planned_date));
    context["deployed"] = json!(record.deployed_date.map(|t| local(state, t)));
    context["checklist"] = json!(checklist(&json!(release.checklist)));
    context["missing_roles"] = json!(
        view.approvals
            .missing_required
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
    );
    context["sent"] = json!(
        sent.iter()
            .map(|c| json!({
                "when": local(state, c.sent_at),
                "channel": greenlight_core::comms::channel_name(c.communication_type),
                "audience": greenlight_core::comms::audience_name(c.audience),
                "subject": c.subject,
            }))
            .collect::<Vec<_>>()
    );
    runbook(state, stored, &view, &mut context).await?;
    context["hotfix"] = hotfix(state, &view);
    if record.deployed_date.is_some() {
        context["health"] = health(state, release).await;
    }
    context["actions"] = actions(signed, &view);
    context["r"] = json!(view);
    local_gate_times(state, &view, &mut context["r"]);
    Ok(context)
}

/// `GET /ui/releases/{key}/runbook`: the page's runbook section alone, which the page's script
/// swaps in as steps start and end (no report, communications or health queries).
async fn runbook_section(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
) -> Response {
    let stored = match crate::api::load(&state, &key).await {
        Ok(stored) => stored,
        Err(err) => return err.into_response(),
    };
    let view = crate::api::views::release_view(&stored, &state.policy, state.clock.now());
    let mut context = signed.context();
    match runbook(&state, &stored, &view, &mut context).await {
        Ok(()) => page(StatusCode::OK, "runbook.html", context),
        Err(err) => err.into_response(),
    }
}

/// What the runbook section shows: the steps run so far, the run in progress, and where the
/// live stream starts.
async fn runbook(
    state: &AppState,
    stored: &StoredRelease,
    view: &ReleaseView,
    context: &mut Value,
) -> Result<(), ApiError> {
    let release = &stored.release;
    let id = release.record.release_id;
    let steps = state.store.steps(id).await?;
    context["version"] = json!(release.record.version.to_string());
    context["run_steps"] = json!(view.run_steps);
    context["steps"] = json!(
        steps
            .iter()
            .map(|s| json!({
                "when": local(state, s.started_at),
                "run": s.run_kind,
                "step": s.step,
                "outcome": s.outcome,
                "seconds": format!("{:.1}", s.duration_ms as f64 / 1000.0),
            }))
            .collect::<Vec<_>>()
    );
    context["running"] = json!(RunKind::in_progress(release).map(|(kind, _)| kind.as_str()));
    context["last_seq"] = json!(state.store.last_event_seq(id).await?);
    Ok(())
}

/// Shows when each gate was recorded in the policy's zone, like every other time on the page.
fn local_gate_times(state: &AppState, view: &ReleaseView, shown: &mut Value) {
    for (p, phase) in view.phases.iter().enumerate() {
        for (g, gate) in phase.gates.iter().enumerate() {
            if let Some(at) = gate.at {
                shown["phases"][p]["gates"][g]["at"] = json!(local(state, at));
            }
        }
    }
}

/// The forms the signed-in user may use on this release, by what the release allows now.
fn actions(signed: &Signed, view: &ReleaseView) -> Value {
    let actor = &signed.actor;
    let status = view.record.status;
    let idle = view.deployment.is_none() && view.rollback.is_none();
    let next = match status {
        ReleaseStatus::Planned => Some(Environment::Staging),
        ReleaseStatus::Staging => Some(Environment::Production),
        _ => None,
    };
    let may_deploy = match next {
        Some(Environment::Staging) => actor.may(Action::DeployToStaging),
        Some(Environment::Production) if view.record.release_type == ReleaseType::Hotfix => {
            actor.may(Action::ExecuteHotfixDeployment)
        }
        Some(Environment::Production) => actor.may(Action::ExecuteProductionDeployment),
        None => false,
    };
    let open_phases: Vec<&str> = view
        .phases
        .iter()
        .filter(|p| !p.passed)
        .map(|p| p.phase.as_str())
        .collect();
    let open_items: Vec<&str> = view
        .action_items
        .iter()
        .filter(|i| i.done_at.is_none())
        .map(|i| i.kind.as_str())
        .collect();
    let before_production = matches!(status, ReleaseStatus::Planned | ReleaseStatus::Staging);
    json!({
        "approve": roles_for(signed, &view.approvals.required, &view.approvals.optional,
            |role| !view.approvals.approvals.iter().any(|a| a.role == role)),
        "vote": roles_for(signed, &view.go_no_go.participants, &[], |_| true),
        "gate_phases": if actor.may(Action::RecordGateResult) { open_phases } else { Vec::new() },
        "deploy": (may_deploy && idle).then(|| next.map(Environment::as_str)).flatten(),
        "override_window": actor.may(Action::OverrideDeploymentWindow),
        "rollback": actor.may(Action::InitiateRollback) && idle && status == ReleaseStatus::Deployed,
        "cancel": actor.may(Action::CancelRelease) && idle && before_production,
        "items": if actor.may(Action::CompleteActionItem) { open_items } else { Vec::new() },
    })
}

/// A hotfix's stages against their targets, with what the page's timer counts from.
fn hotfix(state: &AppState, view: &ReleaseView) -> Value {
    let Some(timeline) = &view.hotfix_timeline else {
        return Value::Null;
    };
    let stages: Vec<Value> = timeline
        .stages
        .iter()
        .map(|s| {
            json!({
                "name": s.name.replace('_', " "),
                "state": s.state,
                "elapsed": s.elapsed_minutes,
                "target": s.target_minutes,
                "over": s.over_target,
                "started": s.started_at.map(|t| t.as_second()),
                "ended": s.ended_at.map(|t| local(state, t)),
            })
        })
        .collect();
    let urgency = timeline.urgency.as_ref().map(|u| {
        json!({
            "severity": u8::from(u.severity),
            "trigger": u.title,
            "deadline": local(state, u.deadline),
            "minutes": timeline.minutes_to_deadline.map(i64::unsigned_abs),
            "past": timeline.past_deadline,
            "met": timeline.deadline_met,
        })
    });
    json!({
        "urgency": urgency,
        "elapsed": timeline.elapsed_minutes,
        "min": timeline.target_minutes_min,
        "max": timeline.target_minutes_max,
        "over": timeline.over_target,
        "finished": timeline.finished,
        "started": local(state, timeline.started_at),
        "stages": stages,
    })
}

/// Each health metric over the last [`HEALTH_MINUTES`] as an SVG line chart with its target and
/// rollback threshold, and the triggers' verdicts.
pub(super) async fn health(state: &AppState, release: &greenlight_core::Release) -> Value {
    let view = crate::health::view::health_view(state, release, HEALTH_MINUTES).await;
    let charts: Vec<Value> = view
        .metrics
        .iter()
        .map(|m| {
            let last = m
                .points
                .last()
                .map(|p| format!("{:.2} {}", p.value, m.unit));
            json!({
                "name": m.name,
                "unit": m.unit,
                "target": m.target,
                "threshold": m.rollback_threshold,
                "last": last,
                "error": m.error,
                "svg": charts::line(m, view.from, view.to),
            })
        })
        .collect();
    let verdicts: Vec<Value> = view
        .assessment
        .iter()
        .flat_map(|a| &a.verdicts)
        .map(|v| json!({ "metric": v.trigger.metric.to_string(), "state": v.state, "detail": v.detail }))
        .collect();
    json!({
        "charts": charts,
        "verdicts": verdicts,
        "classification": view.classification,
        "source": view.source,
    })
}

/// The checklist's yes/no items as `(item, done)`, in the spec's order.
fn checklist(value: &Value) -> Vec<(String, bool)> {
    const ITEMS: [&str; 15] = [
        "code_freeze_complete",
        "release_notes_drafted",
        "stakeholders_notified",
        "quality_gates_phase1_passed",
        "staging_deployed",
        "smoke_tests_passed",
        "qa_validation_complete",
        "browser_testing_complete",
        "performance_testing_complete",
        "quality_gates_phase2_passed",
        "production_deployed",
        "post_deployment_smoke_tests_passed",
        "quality_gates_phase3_passed",
        "monitoring_complete",
        "release_retrospective_scheduled",
    ];
    ITEMS
        .iter()
        .map(|item| (item.replace('_', " "), value[item] == true))
        .collect()
}

/// The signed-in user's roles among `roles` and `more` that pass `open`, as names.
fn roles_for(
    signed: &Signed,
    roles: &[Role],
    more: &[Role],
    open: impl Fn(Role) -> bool,
) -> Vec<&'static str> {
    roles
        .iter()
        .chain(more)
        .copied()
        .filter(|role| signed.session.user.roles.contains(role) && open(*role))
        .map(|role| role.as_str())
        .collect()
}

/// Follows the release's events and runbook steps (Server-Sent Events) for the page's live
/// progress, with the session instead of a bearer token.
async fn stream(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    // The stream carries each step's output: deployment logs.
    if let Some(refused) = signed.read_refusal(Action::AccessDeploymentLogs) {
        return refused;
    }
    let user = signed.actor.id.clone();
    match crate::api::stream::follow(&state, &user, &key, query.after, &headers).await {
        Ok(sse) => sse.into_response(),
        Err(err) => err.into_response(),
    }
}

/// A posted form, or why it could not be read.
type Posted<T> = Result<Form<T>, FormRejection>;

/// The posted form, or the release page with the reason it could not be read (400).
async fn read<T>(
    state: &AppState,
    signed: &Signed,
    key: &str,
    form: Posted<T>,
) -> Result<T, Response> {
    let rejection = match form {
        Ok(Form(form)) => return Ok(form),
        Err(rejection) => rejection,
    };
    let why = format!(
        "The form could not be read ({}); reload the page and try again.",
        rejection.body_text()
    );
    let refused = Outcome::Refused(why);
    Err(release_with(state, signed, key, StatusCode::BAD_REQUEST, refused).await)
}

#[derive(Deserialize)]
struct GateForm {
    #[serde(default)]
    csrf: String,
    phase: GatePhase,
    gate: String,
    result: GateResult,
    #[serde(default)]
    reason: String,
}

#[derive(Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum GateResult {
    Pass,
    Fail,
}

async fn record_gate(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    form: Posted<GateForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let passed = form.result == GateResult::Pass;
    let done = format!(
        "Recorded {}: {}.",
        form.gate,
        if passed { "passed" } else { "failed" }
    );
    let command = Command::RecordGate {
        phase: form.phase,
        gate: form.gate,
        passed,
        reason: non_empty(form.reason),
    };
    let request = Request::new(&key, &form.csrf, "gate.record", command);
    Ok(act(&state, &signed, request, done).await)
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    role: Role,
    #[serde(default)]
    vote: Option<GoNoGo>,
}

async fn approve(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    form: Posted<RoleForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let command = Command::Approve { role: form.role };
    let done = format!("Approved as {}.", form.role.as_str());
    let request = Request::new(&key, &form.csrf, "release.approve", command);
    Ok(act(&state, &signed, request, done).await)
}

async fn vote(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    form: Posted<RoleForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let Some(vote) = form.vote else {
        let refused = Outcome::Refused("Choose go or no-go.".to_string());
        return Err(release_with(&state, &signed, &key, StatusCode::BAD_REQUEST, refused).await);
    };
    let command = Command::GoNoGo {
        role: form.role,
        vote,
        notes: None,
    };
    let done = format!("Voted {} as {}.", vote_name(vote), form.role.as_str());
    let request = Request::new(&key, &form.csrf, "release.go_no_go", command);
    Ok(act(&state, &signed, request, done).await)
}

fn vote_name(vote: GoNoGo) -> &'static str {
    match vote {
        GoNoGo::Go => "go",
        _ => "no-go",
    }
}

#[derive(Deserialize)]
struct DeployForm {
    #[serde(default)]
    csrf: String,
    environment: Environment,
    #[serde(default)]
    override_reason: String,
    #[serde(default)]
    revision: Option<i64>,
}

async fn deploy(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    form: Posted<DeployForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let environment = form.environment.as_str();
    let command = Command::StartDeployment {
        environment: form.environment,
        override_window: non_empty(form.override_reason.clone()),
    };
    let mut request = Request::new(&key, &form.csrf, "deployment.start", command);
    request.revision = form.revision;
    let mut fields = vec![("environment", environment.to_string())];
    if !form.override_reason.trim().is_empty() {
        fields.push(("override_reason", form.override_reason));
    }
    let ask = Confirmation {
        title: format!("Deploy {key} to {environment}?"),
        button: format!("Deploy {key} to {environment}"),
        path: "deploy",
        fields,
        typed: None,
    };
    let done = format!("Deployment of {key} to {environment} started.");
    Ok(ask_or_act(&state, &signed, request, ask, done).await)
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    revision: Option<i64>,
}

/// The rollback form: why, and whether to restore the database too (the spec's high-risk
/// procedure: maintenance mode, restore, application rollback), confirmed by typing the version
/// returned to.
#[derive(Deserialize)]
struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    revision: Option<i64>,
    /// The "restore the database too" box (`on` when ticked).
    #[serde(default)]
    database: Option<String>,
    /// The version typed on the confirmation page.
    #[serde(default)]
    confirm: String,
}

async fn rollback(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    form: Posted<RollbackForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let database = form.database.is_some();
    let asking = form.revision.is_none();
    // Asking about a database rollback: the page asks to type the version returned to, and the
    // dry run assumes it typed, so it lists everything confirming will record.
    let target = match (database, asking) {
        (true, true) => previous_production_version(&state, &key).await,
        _ => None,
    };
    let typed = non_empty(form.confirm);
    let command = Command::StartRollback {
        reason: form.reason.trim().to_string(),
        to_version: None,
        database,
        confirm: target.as_ref().map(ToString::to_string).or(typed),
    };
    let mut request = Request::new(&key, &form.csrf, "rollback.start", command);
    request.revision = form.revision;
    let mut fields = vec![("reason", form.reason)];
    if database {
        fields.push(("database", "on".into()));
    }
    let what = if database {
        "production and its database"
    } else {
        "production"
    };
    let ask = Confirmation {
        title: format!("Roll {what} back from {key}?"),
        button: format!("Roll back {key}"),
        path: "rollback",
        fields,
        typed: target.map(|t| t.to_string()),
    };
    let done = format!("Rollback of {key} started.");
    Ok(ask_or_act(&state, &signed, request, ask, done).await)
}

/// The version live in production before release `key`, the one a rollback returns to.
async fn previous_production_version(state: &AppState, key: &str) -> Option<Version> {
    let stored = crate::api::load(state, key).await.ok()?;
    let world = state.store.world_for(&stored.release).await.ok()?;
    world.previous_production_version
}

async fn cancel(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    form: Posted<ReasonForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let command = Command::Cancel {
        reason: form.reason.trim().to_string(),
    };
    let mut request = Request::new(&key, &form.csrf, "release.cancel", command);
    request.revision = form.revision;
    let ask = Confirmation {
        title: format!("Cancel release {key}?"),
        button: format!("Cancel {key}"),
        path: "cancel",
        fields: vec![("reason", form.reason)],
        typed: None,
    };
    let done = format!("Release {key} is cancelled.");
    Ok(ask_or_act(&state, &signed, request, ask, done).await)
}

#[derive(Deserialize)]
struct NotesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    notes: String,
}

async fn complete_item(
    State(state): State<AppState>,
    signed: Signed,
    Path((key, kind)): Path<(String, String)>,
    form: Posted<NotesForm>,
) -> Result<Response, Response> {
    let form = read(&state, &signed, &key, form).await?;
    let done = format!("Marked {} done.", kind.replace('_', " "));
    let command = Command::CompleteActionItem {
        kind,
        notes: non_empty(form.notes),
    };
    let request = Request::new(&key, &form.csrf, "action_item.complete", command);
    Ok(act(&state, &signed, request, done).await)
}

fn non_empty(text: String) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A release command posted from a page.
struct Request<'a> {
    key: &'a str,
    csrf: &'a str,
    action: &'static str,
    command: Command,
    /// The revision the user confirmed; the command is refused if the release moved since.
    /// Without one, the command is not confirmed yet.
    revision: Option<i64>,
}

impl<'a> Request<'a> {
    fn new(key: &'a str, csrf: &'a str, action: &'static str, command: Command) -> Self {
        Request {
            key,
            csrf,
            action,
            command,
            revision: None,
        }
    }

    /// The runbook run the command starts (deploy, rollback), if any.
    fn run(&self) -> Option<RunKind> {
        match &self.command {
            Command::StartDeployment { environment, .. } => Some(RunKind::deploy(*environment)),
            Command::StartRollback { database: true, .. } => Some(RunKind::DatabaseRollback),
            Command::StartRollback { .. } => Some(RunKind::Rollback),
            _ => None,
        }
    }
}

/// What the confirmation page asks, and the fields it posts back.
struct Confirmation {
    title: String,
    button: String,
    /// The action's path under the release (`deploy`).
    path: &'static str,
    fields: Vec<(&'static str, String)>,
    /// Text the person must type to confirm (a database rollback's target version).
    typed: Option<String>,
}

/// A confirmed request runs; one not confirmed yet gets the confirmation page.
async fn ask_or_act(
    state: &AppState,
    signed: &Signed,
    request: Request<'_>,
    ask: Confirmation,
    done: String,
) -> Response {
    match request.revision {
        Some(_) => act(state, signed, request, done).await,
        None => confirm(state, signed, request, ask).await,
    }
}

/// Decides the command without committing it: the refusal in the release page, or a page that
/// says what will happen and asks to confirm.
async fn confirm(
    state: &AppState,
    signed: &Signed,
    request: Request<'_>,
    ask: Confirmation,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(request.csrf) {
        return refused;
    }
    let key = request.key;
    let checked = match crate::api::load(state, key).await {
        Ok(stored) => {
            let now = state.clock.now();
            crate::api::decide_at(state, &signed.actor, &stored, &request.command, now)
                .await
                .map(|events| (stored, events))
        }
        Err(err) => Err(err),
    };
    let (stored, events) = match checked {
        Ok(checked) => checked,
        Err(err) => return refused(state, signed, key, err).await,
    };
    let steps: Vec<String> = request
        .run()
        .map(|kind| state.policy.runbooks.plan(kind))
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.name)
        .collect();
    let mut context = signed.context();
    context["title"] = json!(ask.title);
    context["button"] = json!(ask.button);
    context["action"] = json!(format!("/ui/releases/{key}/{}", ask.path));
    context["back"] = json!(format!("/ui/releases/{key}"));
    context["fields"] = json!(ask.fields);
    context["typed"] = json!(ask.typed);
    context["revision"] = json!(stored.revision);
    context["events"] = json!(events.iter().map(|e| e.name()).collect::<Vec<_>>());
    context["steps"] = json!(steps);
    page(StatusCode::OK, "confirm.html", context)
}

/// Runs a release command from a form through the core, like the API; the page shows the
/// outcome, or the rule that refused it and what would satisfy it.
async fn act(state: &AppState, signed: &Signed, request: Request<'_>, done: String) -> Response {
    if let Some(refused) = signed.csrf_refusal(request.csrf) {
        return refused;
    }
    let key = request.key;
    match commit(state, signed, &request).await {
        Ok(()) => release_with(state, signed, key, StatusCode::OK, Outcome::Done(done)).await,
        Err(err) => refused(state, signed, key, err).await,
    }
}

async fn commit(state: &AppState, signed: &Signed, request: &Request<'_>) -> Result<(), ApiError> {
    let stored = crate::api::load(state, request.key).await?;
    if let Some(confirmed) = request.revision.filter(|r| *r != stored.revision) {
        return Err(ApiError::Conflict(format!(
            "release {} changed since you confirmed (revision {confirmed}, now {}); review it again",
            stored.release.record.version, stored.revision
        )));
    }
    let saved = crate::api::decide_and_commit(
        state,
        &signed.actor,
        &stored,
        request.action,
        &request.command,
    )
    .await?;
    if request.run().is_some() {
        crate::runner::start(state, saved.release.record.release_id).await?;
    }
    Ok(())
}

/// The release page with `err` (its status, and the rule's words) in it.
async fn refused(state: &AppState, signed: &Signed, key: &str, err: ApiError) -> Response {
    let status = err.status();
    release_with(
        state,
        signed,
        key,
        status,
        Outcome::Refused(err.to_string()),
    )
    .await
}
