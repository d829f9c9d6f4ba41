//! The HTTP API under `/api/v1`: routes, extractors, and the one path every release command takes.

mod admin;
mod delivery;
mod evidence;
mod log;
mod meta;
mod releases;
mod report;
pub mod stream;
pub mod views;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use greenlight_core::{Actor, Command, Context, decide};
use greenlight_store::{Change, StoreError, StoredRelease};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use views::{ReleaseView, release_view};

/// All routes.
pub fn routes() -> Router<AppState> {
    let releases = Router::new()
        .route("/", get(releases::list).post(releases::plan_release))
        .route("/{key}", get(releases::show))
        .route("/{key}/freeze", post(releases::freeze))
        .route("/{key}/candidates", post(releases::cut_candidate))
        .route("/{key}/reschedule", post(releases::reschedule))
        .route("/{key}/cancel", post(releases::cancel))
        .route(
            "/{key}/checklist",
            get(releases::checklist).post(releases::mark_checklist),
        )
        .route(
            "/{key}/gates",
            get(releases::gates).post(releases::record_gate),
        )
        .route("/{key}/gates/override", post(releases::override_gate))
        .route(
            "/{key}/approvals",
            get(releases::approvals).post(releases::approve),
        )
        .route(
            "/{key}/stakeholder-review",
            post(releases::stakeholder_review),
        )
        .route("/{key}/go-no-go", post(releases::go_no_go))
        .route("/{key}/content", post(releases::record_content))
        .route("/{key}/bugs", post(releases::report_bug))
        .route("/{key}/bugs/{bug_id}/resolve", post(releases::resolve_bug))
        .route("/{key}/deployments", post(releases::start_deployment))
        .route(
            "/{key}/deployments/current/complete",
            post(releases::complete_deployment),
        )
        .route(
            "/{key}/deployments/current/fail",
            post(releases::fail_deployment),
        )
        .route("/{key}/rollback", post(releases::start_rollback))
        .route(
            "/{key}/rollback/complete",
            post(releases::complete_rollback),
        )
        .route("/{key}/rollback/fail", post(releases::fail_rollback))
        .route(
            "/{key}/action-items/{kind}/complete",
            post(releases::complete_action_item),
        )
        .route("/{key}/runs", get(releases::runs))
        .route("/{key}/stream", get(stream::stream))
        .route("/{key}/health", get(crate::health::view::health))
        .route("/{key}/events", get(releases::events))
        .route("/{key}/report", get(report::release_report))
        .route("/{key}/retrospective", post(releases::record_retrospective))
        .route(
            "/{key}/metrics-review",
            post(releases::record_metrics_review),
        )
        .route("/{key}/audit", get(releases::audit))
        .route(
            "/{key}/communications",
            get(releases::communications).post(releases::record_communication),
        );
    let api = Router::new()
        .nest("/releases", releases)
        .route("/events", get(log::events))
        .route("/delivery-metrics", get(delivery::metrics))
        .route("/audit", get(log::audit))
        .route("/audit/verify", get(log::verify))
        .route("/environments", get(admin::environments))
        .route(
            "/environments/{environment}/baseline",
            post(admin::baseline),
        )
        .route("/me", get(admin::me))
        .route("/users", get(admin::users).post(admin::create_user))
        .route("/users/{id}", axum::routing::patch(admin::update_user))
        .route(
            "/users/{id}/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route(
            "/users/{id}/password",
            put(admin::set_password).delete(admin::clear_password),
        )
        .route("/tokens/{id}", axum::routing::delete(admin::revoke_token))
        .route("/policy", get(meta::policy))
        .route("/permissions", get(meta::permissions))
        .route("/window", get(meta::window))
        .route("/calendar", get(meta::calendar))
        .route("/home", get(meta::home))
        .route(
            "/flags",
            get(crate::flags::api::list).post(crate::flags::api::create),
        )
        .route("/flags/{key}", get(crate::flags::api::show))
        .route("/flags/{key}/advance", post(crate::flags::api::advance))
        .route("/flags/{key}/kill", post(crate::flags::api::kill))
        .route("/flags/{key}/restore", post(crate::flags::api::restore))
        .route("/comms", get(crate::comms::api::list))
        .route("/comms/{id}/retry", post(crate::comms::api::retry))
        .route(
            "/comms/recipients",
            get(crate::comms::api::recipients).post(crate::comms::api::add_recipient),
        )
        .route(
            "/comms/recipients/{audience}/{address}",
            axum::routing::delete(crate::comms::api::remove_recipient),
        )
        .route("/openapi.json", get(meta::openapi))
        .route("/_test/clock", put(meta::set_clock));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/metrics", get(meta::metrics))
        .fallback(unknown_route)
}

/// Any path no route serves: a problem document (counted under `route="unmatched"`).
async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    let path = uri.path();
    let shown: String = path.chars().take(200).collect();
    ApiError::NotFound(format!("no resource at `{shown}`"))
}

/// Routes whose bodies are larger than a command's, each with its own body limit: CI artifacts
/// and batches of health samples. Merged beside [`routes`], outside its small body limit.
pub fn bulk_routes() -> Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    use tower_http::limit::RequestBodyLimitLayer;
    // Both limits: tower-http's refuses by Content-Length before reading and caps a chunked
    // body; axum's own default (2 MiB, applied by its body extractors) must be raised to the
    // same number or it would refuse first.
    let limited = |limit: usize| {
        tower::ServiceBuilder::new()
            .layer(DefaultBodyLimit::max(limit))
            .layer(RequestBodyLimitLayer::new(limit))
    };
    Router::new()
        .route(
            "/api/v1/releases/{key}/evidence",
            post(evidence::upload).layer(limited(evidence::EVIDENCE_LIMIT)),
        )
        .route(
            "/api/v1/metrics",
            post(crate::health::ingest::ingest).layer(limited(crate::health::ingest::BODY_LIMIT)),
        )
}

/// Flag evaluation (OFREP and Greenlight's own): the hot path, merged outside the request
/// metrics and trace layers. Its state is the flags alone: axum clones a route's state for
/// every request, and cloning the whole [`AppState`] touches a shared counter per field.
pub fn evaluation_routes<S>(flags: std::sync::Arc<crate::flags::Flags>) -> Router<S> {
    use crate::flags::evaluate;
    Router::new()
        .route("/ofrep/v1/evaluate/flags", post(evaluate::bulk))
        .route("/ofrep/v1/evaluate/flags/{key}", post(evaluate::single))
        .route("/api/v1/flags/evaluate", post(evaluate::own))
        .with_state(flags)
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Greenlight",
        description = "Runs the MLC release process: plans releases, enforces the rules of the release spec, records gates, approvals, Go/No-Go, deployments and rollbacks, and keeps an audit trail. Errors are application/problem+json naming the refusing rule.",
        version = "1.0.0"
    ),
    paths(
        releases::list, releases::plan_release, releases::show, releases::freeze, releases::cut_candidate,
        releases::reschedule, releases::cancel, releases::checklist, releases::mark_checklist,
        releases::gates, releases::record_gate, releases::override_gate, releases::approvals,
        releases::approve, releases::stakeholder_review, releases::record_content, releases::go_no_go, releases::report_bug,
        releases::resolve_bug, releases::start_deployment, releases::complete_deployment,
        releases::fail_deployment, releases::start_rollback, releases::complete_rollback,
        releases::fail_rollback, releases::complete_action_item, releases::runs, stream::stream, releases::events,
        releases::audit, releases::communications, releases::record_communication,
        report::release_report, releases::record_retrospective, releases::record_metrics_review,
        log::events, log::audit, log::verify, delivery::metrics,
        admin::environments, admin::baseline, admin::me, admin::users, admin::create_user,
        admin::update_user, admin::tokens, admin::create_token, admin::revoke_token,
        admin::set_password, admin::clear_password,
        meta::policy, meta::permissions, meta::window, meta::calendar, meta::home,
        meta::healthz, meta::readyz,
        crate::health::ingest::ingest, crate::health::view::health, evidence::upload,
        crate::flags::api::list, crate::flags::api::create, crate::flags::api::show,
        crate::flags::api::advance, crate::flags::api::kill, crate::flags::api::restore,
        crate::comms::api::list, crate::comms::api::retry, crate::comms::api::recipients,
        crate::comms::api::add_recipient, crate::comms::api::remove_recipient
    ),
    components(schemas(crate::problem::Problem, meta::CalendarFormat)),
    modifiers(&Security, &ProblemResponses),
    tags(
        (name = "releases", description = "Releases and the commands of the release process"),
        (name = "log", description = "Events and the audit trail"),
        (name = "accounts", description = "Users, roles and API tokens"),
        (name = "policy", description = "The policy, permissions, windows and calendar"),
        (name = "health", description = "Liveness and readiness"),
        (name = "flags", description = "Feature flags: staged rollouts and the kill switch (evaluation: OFREP at /ofrep/v1)"),
        (name = "communications", description = "Notifications Greenlight sends: the outbox, dead letters and their retry (public status page: /status, feeds: /feed)"),
        (name = "monitoring", description = "Release health: samples in, metrics and trigger verdicts out")
    )
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents what every operation can answer besides its own responses: 400 for malformed input,
/// 401 without valid credentials, 404 for an unknown path key, 503 on timeout; and gives every
/// error response its real media type, `application/problem+json`.
struct ProblemResponses;

impl ProblemResponses {
    fn problem() -> utoipa::openapi::Response {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        ResponseBuilder::new()
            .description("A problem document (RFC 9457) naming the refusing rule")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    }
}

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_key = path.contains('{');
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.is_some();
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(response)) = (is_error, response)
                        && let Some(content) = response.content.shift_remove("application/json")
                    {
                        response
                            .content
                            .insert("application/problem+json".into(), content);
                    }
                }
                let mut extra = vec!["400", "503"];
                if secured {
                    extra.push("401");
                }
                if has_key {
                    extra.push("404");
                }
                for status in extra {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::T(Self::problem()));
                }
            }
        }
    }
}

/// A JSON body whose rejections are problem documents.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !is_json {
            return Err(ApiError::BadRequest(
                "request body: expected `Content-Type: application/json`".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(format!("request body: {}", rejection.body_text()))
                } else {
                    ApiError::BadRequest(format!("request body: {}", rejection.body_text()))
                }
            })?;
        if crate::input::json_has_nul(&bytes) {
            return Err(crate::input::refused("the request body"));
        }
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        Ok(Body(value))
    }
}

/// A query string whose rejections are problem documents.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// Path parameters whose rejections are problem documents.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// The `If-Match` header: the revision the caller's change is based on.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        let bare = text.trim_start_matches("W/").trim_matches('"');
        bare.parse::<i64>().map(|r| IfMatch(Some(r))).map_err(|_| {
            ApiError::BadRequest(format!(
                "If-Match `{text}` is not a release revision like \"3\" (the ETag of GET /releases/KEY)"
            ))
        })
    }
}

/// A release response with its revision as the ETag.
pub struct Released {
    status: StatusCode,
    view: ReleaseView,
}

impl IntoResponse for Released {
    fn into_response(self) -> Response {
        let etag = format!("\"{}\"", self.view.revision);
        let mut response = (self.status, Json(self.view)).into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(ETAG, value);
        }
        response
    }
}

impl Released {
    fn new(status: StatusCode, stored: &StoredRelease, state: &AppState) -> Self {
        Released {
            status,
            view: release_view(stored, &state.policy, state.clock.now()),
        }
    }
}

/// Loads a release by ID or version.
pub(crate) async fn load(state: &AppState, key: &str) -> ApiResult<StoredRelease> {
    state.store.find_release(key).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no release `{key}` (give a version like 1.4.0 or a release ID)"
        ))
    })
}

/// How often a command without `If-Match` is re-decided after losing a race to another writer.
const RETRIES_WITHOUT_IF_MATCH: u64 = 40;

/// The one path of every release command: load, check the revision, decide, apply, commit.
///
/// With `If-Match` the change is refused (409) if the release moved. Without it the caller did
/// not base the change on a revision, so a lost race is re-decided against the new state (the
/// rules still see every concurrent change; two conflicting commands can never both win).
pub(crate) async fn execute(
    state: &AppState,
    auth: &Auth,
    key: &str,
    if_match: IfMatch,
    action: &str,
    command: Command,
) -> ApiResult<Released> {
    let attempts = if if_match.0.is_some() {
        1
    } else {
        RETRIES_WITHOUT_IF_MATCH
    };
    let mut last = None;
    for attempt in 0..attempts {
        match execute_once(state, auth, key, if_match.0, action, &command).await {
            Err(ApiError::Stale(message)) => last = Some(message),
            Ok(released) if matches!(command, Command::Freeze) => {
                crate::content::record_in_background(state, key.to_string());
                return Ok(released);
            }
            other => return other,
        }
        // Back off a little more each time so racing writers spread out.
        tokio::time::sleep(std::time::Duration::from_millis(attempt.min(10))).await;
    }
    Err(ApiError::Conflict(last.unwrap_or_default()))
}

async fn execute_once(
    state: &AppState,
    auth: &Auth,
    key: &str,
    if_match: Option<i64>,
    action: &str,
    command: &Command,
) -> ApiResult<Released> {
    let stored = load(state, key).await?;
    if let Some(expected) = if_match.filter(|r| *r != stored.revision) {
        return Err(ApiError::Conflict(format!(
            "release {} changed: it is at revision {}, the change was based on revision {expected}; reload and try again",
            stored.release.record.version, stored.revision
        )));
    }
    let saved = decide_and_commit(state, &auth.actor, &stored, action, command).await?;
    Ok(Released::new(StatusCode::OK, &saved, state))
}

/// Decides `command` on `stored` as `actor` at `now` without committing anything: the events it
/// would emit, or the refusal. The dashboard asks this before it shows a confirmation.
pub(crate) async fn decide_at(
    state: &AppState,
    actor: &Actor,
    stored: &StoredRelease,
    command: &Command,
    now: jiff::Timestamp,
) -> ApiResult<Vec<greenlight_core::Event>> {
    let world = state.store.world_for(&stored.release).await?;
    let ctx = Context {
        policy: &state.policy,
        now,
        actor,
        world: &world,
    };
    Ok(decide(&stored.release, command, &ctx)?)
}

/// Decides `command` on `stored` as `actor`, applies the events and commits them with the new
/// state, refusing with `Stale` if the release moved since `stored` was read. People's commands
/// (`execute`) and Greenlight's own (`runner::settle`) both take this path.
pub(crate) async fn decide_and_commit(
    state: &AppState,
    actor: &Actor,
    stored: &StoredRelease,
    action: &str,
    command: &Command,
) -> ApiResult<StoredRelease> {
    let now = state.clock.now();
    let events = decide_at(state, actor, stored, command, now).await?;
    let mut release = stored.release.clone();
    for event in &events {
        release.apply(event);
    }
    let mut change = Change::new(now, actor.id.clone(), action);
    change.outbox = crate::comms::outbox_for(&stored.release, &events, &state.policy);
    let saved = state
        .store
        .commit_release(&release, stored.revision, &events, &change)
        .await
        .map_err(|err| match err {
            StoreError::StaleRevision { .. } => ApiError::Stale(err.to_string()),
            other => other.into(),
        })?;
    tracing::info!(release = %release.record.version, action, actor = %actor.id, "release changed");
    Ok(saved)
}
