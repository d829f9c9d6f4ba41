//! The web dashboard (first slice): server-rendered pages (minijinja, autoescaped; templates
//! and CSS embedded in the binary, no CDN, no build step) for the release list, a release's
//! detail (gates by phase, approvals, Go/No-Go, action items, its story), and feature flags
//! with the kill switch.
//!
//! **Sign-in and forms:** a browser signs in with an API token and gets a session cookie
//! (random secret; the store keeps its SHA-256) that is `HttpOnly`, `SameSite=Strict`, scoped
//! to `/ui`, `Secure` when the public URL is https, and expires after [`SESSION_HOURS`]. Every
//! form carries the session's CSRF token; a post without it is refused. Actions show only to
//! roles that may take them, and the core's permission check still decides.

mod audit;
mod calendar;
mod params;
mod release_list;

use std::sync::OnceLock;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use greenlight_core::flags;
use greenlight_core::report;
use greenlight_core::roles::{Action, Actor};
use greenlight_store::{Change, Session};
use jiff::{SignedDuration, Timestamp};
use minijinja::Environment;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Path;
use crate::auth::{new_token, token_hash};
use crate::problem::ApiError;
use crate::state::AppState;

/// How long a dashboard session lasts.
pub const SESSION_HOURS: i64 = 12;

const COOKIE: &str = "gl_session";

/// The dashboard's routes, under `/ui`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/releases") }))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/releases", get(release_list::releases))
        .route("/ui/releases/{key}", get(release))
        .route("/ui/releases/{key}/approve", post(approve))
        .route("/ui/releases/{key}/go-no-go", post(vote))
        .route("/ui/flags", get(flags_page))
        .route("/ui/metrics", get(metrics))
        .route("/ui/flags/{key}/kill", post(kill))
        .route("/ui/assets/app.css", get(css))
        .route("/ui/calendar", get(calendar::calendar_page))
        .route("/ui/calendar/subscription", post(calendar::create_link))
        .route(
            "/ui/calendar/subscription/revoke",
            post(calendar::revoke_link),
        )
        .route("/calendar/{file}", get(calendar::feed))
        .route("/ui/audit", get(audit::audit_page))
        .route("/ui/audit/export.csv", get(audit::export_csv))
        .route("/ui/audit/export.json", get(audit::export_json))
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        let sources = [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("releases.html", include_str!("templates/releases.html")),
            ("release.html", include_str!("templates/release.html")),
            ("flags.html", include_str!("templates/flags.html")),
            ("metrics.html", include_str!("templates/metrics.html")),
            ("calendar.html", include_str!("templates/calendar.html")),
            ("audit.html", include_str!("templates/audit.html")),
        ];
        for (name, source) in sources {
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(template = name, error = %err, "dashboard template does not compile");
            }
        }
        env
    })
}

/// Renders `name` with `context`, as a page with `status`.
fn page(status: StatusCode, name: &str, context: Value) -> Response {
    match templates()
        .get_template(name)
        .and_then(|t| t.render(context))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(template = name, error = %err, "dashboard page not rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "page not rendered").into_response()
        }
    }
}

/// A signed-in browser; pages redirect to the sign-in form without one.
pub struct Signed {
    session: Session,
    actor: Actor,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/ui/login").into_response();
        let Some(secret) = cookie(&parts.headers, COOKIE) else {
            return Err(to_login());
        };
        let found = state
            .store
            .session(&token_hash(&secret), state.clock.now())
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let Some(session) = found else {
            return Err(to_login());
        };
        let actor = Actor::user(session.user.id.clone(), session.user.roles.iter().copied());
        Ok(Signed { session, actor })
    }
}

impl Signed {
    /// The context every page shares.
    fn context(&self) -> Value {
        json!({ "user": self.session.user.id, "csrf": self.session.csrf })
    }

    /// The refusal of a form without this session's CSRF token; none when it carries it.
    fn csrf_refusal(&self, given: &str) -> Option<Response> {
        if !given.is_empty() && given == self.session.csrf {
            return None;
        }
        Some(page(
            StatusCode::FORBIDDEN,
            "login.html",
            json!({ "error": "This form is not from your session (missing or wrong CSRF token). Reload the page and try again." }),
        ))
    }
}

/// The value of cookie `name`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn login_page() -> Response {
    page(StatusCode::OK, "login.html", json!({}))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let refused = |why: &str| {
        page(
            StatusCode::UNAUTHORIZED,
            "login.html",
            json!({ "error": why }),
        )
    };
    if form.token.trim().is_empty() {
        return refused("Give an API token.");
    }
    let user = match state
        .store
        .user_by_token_hash(&token_hash(&form.token))
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => return refused("That token is unknown, revoked or its user disabled."),
        Err(err) => return ApiError::from(err).into_response(),
    };
    let (Ok(secret), Ok(csrf)) = (new_token(), new_token()) else {
        return ApiError::Internal("no randomness for a session".into()).into_response();
    };
    let now = state.clock.now();
    let expires = now
        .checked_add(SignedDuration::from_hours(SESSION_HOURS))
        .unwrap_or(now);
    let change = Change::new(now, user.id.clone(), "session.create");
    if let Err(err) = state
        .store
        .create_session(&token_hash(&secret), &user.id, &csrf, expires, &change)
        .await
    {
        return ApiError::from(err).into_response();
    }
    let secure = if state
        .policy
        .communications
        .public_url
        .starts_with("https://")
    {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={secret}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ui/releases")).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    if let Some(secret) = cookie(&headers, COOKIE)
        && let Err(err) = state.store.delete_session(&token_hash(&secret)).await
    {
        return ApiError::from(err).into_response();
    }
    let expired = format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, expired)], Redirect::to("/ui/login")).into_response()
}

/// `Thu 2026-12-10 14:00 PST` in the policy's zone.
fn local(state: &AppState, at: Timestamp) -> String {
    at.to_zoned(state.policy.tz().clone())
        .strftime("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

async fn release(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
) -> Response {
    release_with(&state, &signed, &key, StatusCode::OK, None, None).await
}

async fn release_with(
    state: &AppState,
    signed: &Signed,
    key: &str,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
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
    let now = state.clock.now();
    let view = crate::api::views::release_view(&stored, &state.policy, now);
    let id = stored.release.record.release_id;
    let events = match state.store.release_events(id).await {
        Ok(events) => events,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let story: Vec<Value> = report::report(&stored.release, &events, Vec::new(), now)
        .entries
        .iter()
        .map(|e| json!({ "when": local(state, e.at), "section": e.section, "text": e.text, "by": e.by }))
        .collect();
    let record = &stored.release.record;
    let mut context = signed.context();
    context["r"] = json!(view);
    context["story"] = json!(story);
    context["freeze"] = json!(local(state, record.code_freeze_date));
    context["planned"] = json!(local(state, record.planned_date));
    context["deployed"] = json!(record.deployed_date.map(|t| local(state, t)));
    context["may_approve"] = json!(roles_for(
        signed,
        &view.approvals.required,
        &view.approvals.optional,
        |role| { !view.approvals.approvals.iter().any(|a| a.role == role) }
    ));
    context["checklist"] = json!(checklist(&json!(stored.release.checklist)));
    context["missing_roles"] = json!(
        view.approvals
            .missing_required
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
    );
    let (sent, steps) = match (
        state.store.communications(id).await,
        state.store.steps(id).await,
    ) {
        (Ok(sent), Ok(steps)) => (sent, steps),
        (Err(err), _) | (_, Err(err)) => return ApiError::from(err).into_response(),
    };
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
    context["may_vote"] = json!(roles_for(signed, &view.go_no_go.participants, &[], |_| {
        true
    }));
    context["error"] = json!(error);
    context["notice"] = json!(notice);
    page(status, "release.html", context)
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
    roles: &[greenlight_core::Role],
    more: &[greenlight_core::Role],
    open: impl Fn(greenlight_core::Role) -> bool,
) -> Vec<&'static str> {
    roles
        .iter()
        .chain(more)
        .copied()
        .filter(|role| signed.session.user.roles.contains(role) && open(*role))
        .map(|role| role.as_str())
        .collect()
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    role: greenlight_core::Role,
    #[serde(default)]
    vote: Option<greenlight_core::release::GoNoGo>,
}

async fn approve(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let command = greenlight_core::Command::Approve { role: form.role };
    let done = format!("Approved as {}.", form.role.as_str());
    act(
        &state,
        &signed,
        &key,
        &form.csrf,
        "release.approve",
        command,
        done,
    )
    .await
}

async fn vote(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let Some(vote) = form.vote else {
        let error = Some("Choose go or no-go.".to_string());
        return release_with(&state, &signed, &key, StatusCode::BAD_REQUEST, error, None).await;
    };
    let command = greenlight_core::Command::GoNoGo {
        role: form.role,
        vote,
        notes: None,
    };
    let done = format!("Voted {vote:?} as {}.", form.role.as_str());
    act(
        &state,
        &signed,
        &key,
        &form.csrf,
        "release.go_no_go",
        command,
        done,
    )
    .await
}

/// Runs a release command from a form through the core, like the API; the page shows the
/// outcome, or the rule that refused it and what would satisfy it.
async fn act(
    state: &AppState,
    signed: &Signed,
    key: &str,
    csrf: &str,
    action: &str,
    command: greenlight_core::Command,
    done: String,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(csrf) {
        return refused;
    }
    let result = match crate::api::load(state, key).await {
        Ok(stored) => {
            crate::api::decide_and_commit(state, &signed.actor, &stored, action, &command).await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => release_with(state, signed, key, StatusCode::OK, None, Some(done)).await,
        Err(err) => {
            let status = err.status();
            release_with(state, signed, key, status, Some(err.to_string()), None).await
        }
    }
}

async fn flags_page(State(state): State<AppState>, signed: Signed) -> Response {
    flags_with(&state, &signed, StatusCode::OK, None, None).await
}

async fn flags_with(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let stored = match state.store.flags().await {
        Ok(stored) => stored,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let now = state.clock.now();
    let rows: Vec<Value> = stored
        .iter()
        .map(|s| {
            let view = crate::flags::api::view(state, s, now);
            let exposure: Vec<String> = view
                .evaluations
                .iter()
                .map(|(variant, n)| format!("{variant}: {n}"))
                .collect();
            let dwell = view.dwell_left_seconds;
            json!({
                "key": s.flag.key,
                "stage": view.current_stage.unwrap_or_else(|| "not started".into()),
                "dwell": if dwell > 0 { format!("{} min", (dwell + 59) / 60) } else { "-".into() },
                "exposure": exposure.join(", "),
                "killed": s.flag.killed.as_ref().map(|k| k.reason.clone()),
            })
        })
        .collect();
    let mut context = signed.context();
    context["flags"] = json!(rows);
    context["may_kill"] = json!(signed.actor.may(Action::KillFeatureFlag));
    context["error"] = json!(error);
    context["notice"] = json!(notice);
    page(status, "flags.html", context)
}

#[derive(Deserialize)]
struct KillForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn kill(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<KillForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let actor = signed.actor.clone();
    let result =
        crate::flags::api::change(&state, &signed.actor, &key, "flag.kill", |flag, now| {
            flags::kill(flag, &form.reason, &actor, now)
        })
        .await;
    match result {
        Ok(_) => {
            let notice = format!("{key} is killed: everyone gets its off variant.");
            flags_with(&state, &signed, StatusCode::OK, None, Some(notice)).await
        }
        Err(err) => {
            let status = err.status();
            flags_with(&state, &signed, status, Some(err.to_string()), None).await
        }
    }
}

/// Weeks the metrics page covers.
const METRIC_WEEKS: i64 = 12;

async fn metrics(State(state): State<AppState>, signed: Signed) -> Response {
    let now = state.clock.now();
    let week = SignedDuration::from_hours(7 * 24);
    let from = now.checked_sub(week * METRIC_WEEKS as i32).unwrap_or(now);
    let events = match state.store.release_history(now).await {
        Ok(events) => events,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let tz = state.policy.tz();
    let whole = greenlight_core::delivery::delivery_metrics(&events, from, now, tz);
    let mut weeks = Vec::new();
    for n in 0..METRIC_WEEKS as i32 {
        let start = from.checked_add(week * n).unwrap_or(from);
        let end = start.checked_add(week).unwrap_or(start);
        let m = greenlight_core::delivery::delivery_metrics(&events, start, end, tz);
        let label = start.to_zoned(tz.clone()).strftime("%m-%d").to_string();
        weeks.push((label, m));
    }
    let deployments: Vec<(String, f64, f64)> = weeks
        .iter()
        .map(|(l, m)| {
            (
                l.clone(),
                f64::from(m.deployments),
                f64::from(m.failed_deployments),
            )
        })
        .collect();
    let lead: Vec<(String, f64, f64)> = weeks
        .iter()
        .map(|(l, m)| (l.clone(), m.lead_time_hours.unwrap_or(0.0), 0.0))
        .collect();
    let charts = json!([
        { "title": "Production deployments per week (failed ones in red)", "svg": bars(&deployments, "deployments") },
        { "title": "Lead time for changes per week, median hours", "svg": bars(&lead, "hours") },
    ]);
    let mut context = signed.context();
    context["m"] = json!(whole);
    context["weeks"] = json!(METRIC_WEEKS);
    context["charts"] = charts;
    page(StatusCode::OK, "metrics.html", context)
}

/// A bar chart as inline SVG: one bar per `(label, value, part)`, `part` of it drawn in red.
/// Labels are dates and the numbers are ours, so nothing user-written reaches the SVG.
fn bars(series: &[(String, f64, f64)], unit: &str) -> String {
    let (width, height, bar) = (640.0, 180.0, 640.0 / series.len().max(1) as f64);
    let top = series
        .iter()
        .map(|(_, v, _)| *v)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let scale = (height - 30.0) / top;
    let mut svg = format!(
        r#"<svg role="img" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{unit} per week, highest {top}</title>"#
    );
    for (i, (label, value, part)) in series.iter().enumerate() {
        let x = i as f64 * bar + 4.0;
        let h = value * scale;
        let red = part * scale;
        svg.push_str(&format!(
            r##"<g><title>week of {label}: {value} {unit}</title><rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#0b6b2e"/><rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{red:.1}" fill="#a50e0e"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{label}</text></g>"##,
            height - 16.0 - h,
            bar - 8.0,
            height - 16.0 - red,
            bar - 8.0,
            x + (bar - 8.0) / 2.0,
            height - 3.0,
        ));
    }
    svg.push_str("</svg>");
    svg
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("templates/app.css"),
    )
        .into_response()
}
