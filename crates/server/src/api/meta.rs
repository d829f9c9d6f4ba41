//! The policy, permissions, windows, calendar, OpenAPI document, health and metrics.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_core::calendar::release_calendar;
use greenlight_core::ics::calendar_to_ics;
use greenlight_core::roles::PERMISSIONS;
use greenlight_core::{Action, ReleaseType, Role};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::views::{WindowView, window_view};
use super::{ApiDoc, Body, Query};
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The effective policy (the spec's defaults merged with the config file).
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy",
    responses((status = 200, description = "The policy", body = Object), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn policy(State(state): State<AppState>, _auth: Auth) -> Json<greenlight_core::Policy> {
    Json(state.policy.as_ref().clone())
}

/// One row of the permission table.
#[derive(Debug, Serialize, ToSchema)]
pub struct Permission {
    /// The action.
    pub action: Action,
    /// Roles that may take it.
    pub roles: Vec<Role>,
}

/// The spec's permission table: each action with the roles that may take it.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "policy",
    responses((status = 200, body = [Permission]), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn permissions(_auth: Auth) -> Json<Vec<Permission>> {
    Json(
        PERMISSIONS
            .iter()
            .map(|(action, roles)| Permission {
                action: *action,
                roles: roles.to_vec(),
            })
            .collect(),
    )
}

/// Which window to judge.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// The instant (RFC 3339); now when absent.
    pub at: Option<Timestamp>,
    /// Release type (standard when absent).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub release_type: Option<ReleaseType>,
}

/// Whether a deployment may start at an instant, with every matching window rule.
#[utoipa::path(get, path = "/api/v1/window", tag = "policy", params(WindowQuery),
    responses((status = 200, body = WindowView), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn window(
    State(state): State<AppState>,
    _auth: Auth,
    Query(query): Query<WindowQuery>,
) -> Json<WindowView> {
    let at = query.at.unwrap_or_else(|| state.clock.now());
    let release_type = query.release_type.unwrap_or(ReleaseType::Standard);
    Json(window_view(&state.policy, at, release_type))
}

/// Which dates the calendar covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// First date (today when absent).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    /// Last date (8 weeks after `from` when absent; at most 2 years after it).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
    /// `ics` for an iCalendar file instead of JSON.
    pub format: Option<CalendarFormat>,
}

/// Calendar output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CalendarFormat {
    /// JSON.
    Json,
    /// iCalendar (`text/calendar`).
    Ics,
}

/// The planned releases of a date range with their milestones, as JSON or iCalendar.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "policy", params(CalendarQuery),
    responses((status = 200, description = "Planned releases (JSON array, or text/calendar with format=ics)",
            content(([Object] = "application/json"), (String = "text/calendar"))),
        (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn calendar(
    State(state): State<AppState>,
    _auth: Auth,
    Query(query): Query<CalendarQuery>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let today = now.to_zoned(state.policy.tz().clone()).date();
    let from = query.from.unwrap_or(today);
    let to = match query.to {
        Some(to) => to,
        None => from.checked_add(8.weeks()).unwrap_or(from),
    };
    let longest = from.checked_add(2.years()).unwrap_or(from);
    if to < from || to > longest {
        return Err(ApiError::BadRequest(format!(
            "calendar range {from}..{to}: `to` must be on or after `from` and at most 2 years after it"
        )));
    }
    let releases = release_calendar(state.policy.as_ref(), from, to);
    if query.format == Some(CalendarFormat::Ics) {
        let mut response = calendar_to_ics(&releases, now).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        );
        return Ok(response);
    }
    Ok(Json(releases).into_response())
}

/// The OpenAPI 3.1 document of this API.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Sets the test clock.
#[derive(Debug, Deserialize)]
pub struct ClockRequest {
    /// The time the clock should read now.
    pub now: Timestamp,
}

/// Moves the clock (only on a server started with `--test-clock`; 404 otherwise).
pub async fn set_clock(
    State(state): State<AppState>,
    auth: Auth,
    Body(body): Body<ClockRequest>,
) -> ApiResult<StatusCode> {
    let clock = state
        .test_clock
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("the clock is settable only with --test-clock".into()))?;
    auth.require_admin()?;
    clock.set(body.now);
    Ok(StatusCode::NO_CONTENT)
}

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = String), (status = 503, body = String)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Prometheus metrics: requests, latencies, releases by status. With a metrics token set
/// (`GREENLIGHT_METRICS_TOKEN`), only a scraper sending it as a bearer token reads them.
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(given.trim(), expected) {
            return ApiError::Unauthorized(
                "/metrics needs the metrics token (GREENLIGHT_METRICS_TOKEN) as a bearer token"
                    .into(),
            )
            .into_response();
        }
    }
    if let Ok(counts) = state.store.release_counts().await {
        state.metrics.set_release_counts(&counts);
    }
    let mut text = state.metrics.render();
    let flags = state.flags.render_metrics();
    match text.rfind("# EOF") {
        Some(at) => text.insert_str(at, &flags),
        None => text.push_str(&flags),
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Compares two secrets without an early exit on the first differing byte: both are hashed
/// first, so the comparison's time says nothing about how much of `given` was right.
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The caller's home: the release live in production (`now`), the releases in flight in train
/// order with their phase and countdowns (`next`), what each waits on and who can unblock it,
/// the caller's own part first (`waiting`), the next blackout, and flags rolling out or killed.
/// Bounded: never reads the whole history. `greenlight status` prints it.
#[utoipa::path(get, path = "/api/v1/home", tag = "policy",
    responses((status = 200, description = "now, next, waiting, blackout and flags", body = Object),
        (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn home(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let mut home = crate::ui::home::home_data(&state, &auth.actor).await?;
    // The charts are the page's drawing; the API keeps the numbers.
    // (`pointer_mut`, not indexing: indexing would turn a null `now` into an object.)
    if let Some(charts) = home
        .pointer_mut("/now/health/charts")
        .and_then(Value::as_array_mut)
    {
        for chart in charts.iter_mut().filter_map(|c| c.as_object_mut()) {
            chart.remove("svg");
        }
    }
    Ok(Json(home))
}
