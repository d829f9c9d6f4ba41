//! The web dashboard: server-rendered pages (minijinja, autoescaped; templates, CSS and one
//! small script embedded in the binary, no CDN, no build step) for the release list, a
//! release's detail with its actions (gates, approvals, Go/No-Go, deploy, roll back, cancel),
//! feature flags with the kill switch, and delivery metrics.
//!
//! **Sign-in and forms:** a browser signs in with a password or an API token and gets a session cookie
//! (random secret; the store keeps its SHA-256) that is `HttpOnly`, `SameSite=Strict`, scoped
//! to `/ui`, `Secure` when the public URL is https, and expires after [`SESSION_HOURS`]. Every
//! form carries the session's CSRF token; a post without it is refused. The sign-in form itself
//! carries a login token that must match a cookie set with the form (double submit), so another
//! site cannot sign a browser into an account of its choosing (login CSRF); the login token is
//! signed by the server and expires ([`login_token`]), so an equal cookie and field made up
//! elsewhere do not pass. Over https every cookie is `__Host-` prefixed and `Secure`. Actions show only
//! to roles that may take them, and the core's permission check still decides.

mod audit;
mod calendar;
mod charts;
mod flags;
pub(crate) mod home;
pub mod login_token;
mod metrics;
mod params;
mod release;
mod release_list;
mod sign_in;

use std::sync::OnceLock;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use greenlight_core::roles::Actor;
use greenlight_store::Session;
use jiff::Timestamp;
use minijinja::Environment;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::token_hash;
use crate::problem::ApiError;
use crate::state::AppState;

/// How long a dashboard session lasts.
pub const SESSION_HOURS: i64 = 12;

const COOKIE: &str = "gl_session";

/// The cookie holding the sign-in form's login token.
const LOGIN_COOKIE: &str = "gl_login";

/// How long a served sign-in form stays usable.
const LOGIN_FORM_MINUTES: i64 = 60;

/// The dashboard's routes, under `/ui`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/home") }))
        .route("/ui", get(|| async { Redirect::to("/ui/home") }))
        .route("/ui/home", get(home::page))
        .route("/ui/login", get(login_page).post(sign_in::sign_in))
        .route("/ui/logout", post(logout))
        .merge(release::routes())
        .merge(flags::routes())
        .route("/ui/metrics", get(metrics::page))
        .route("/ui/assets/app.css", get(css))
        .route("/ui/assets/live.js", get(live_js))
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
            ("runbook.html", include_str!("templates/runbook.html")),
            ("flags.html", include_str!("templates/flags.html")),
            ("metrics.html", include_str!("templates/metrics.html")),
            ("confirm.html", include_str!("templates/confirm.html")),
            ("calendar.html", include_str!("templates/calendar.html")),
            ("audit.html", include_str!("templates/audit.html")),
            ("home.html", include_str!("templates/home.html")),
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
    secure: bool,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/ui/login").into_response();
        let secure = secure(state);
        let Some(secret) = cookie(&parts.headers, COOKIE, secure) else {
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
        Ok(Signed {
            session,
            actor,
            secure,
        })
    }
}

impl Signed {
    /// The context every page shares; `logs` says whether the user may follow runbook output
    /// (the live stream), so the page offers it only then.
    fn context(&self) -> Value {
        let logs = self
            .actor
            .may(greenlight_core::Action::AccessDeploymentLogs);
        json!({ "user": self.session.user.id, "csrf": self.session.csrf, "logs": logs })
    }

    /// The refusal (403, the release list page saying why) when the signed-in user may not
    /// read what `action` governs; none when they may (see [`crate::auth::Auth::require_read`]).
    fn read_refusal(&self, action: greenlight_core::Action) -> Option<Response> {
        if self.actor.may_read(action, self.session.user.is_admin) {
            return None;
        }
        let why = self
            .actor
            .require(action)
            .err()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let mut context = self.context();
        context["error"] = json!(why);
        context["releases"] = json!([]);
        Some(page(StatusCode::FORBIDDEN, "releases.html", context))
    }

    /// The refusal of a form without this session's CSRF token; none when it carries it.
    fn csrf_refusal(&self, given: &str) -> Option<Response> {
        if !given.is_empty() && login_token::same_secret(given, &self.session.csrf) {
            return None;
        }
        Some(login_form(
            self.secure,
            StatusCode::FORBIDDEN,
            json!({ "error": "This form is not from your session (missing or wrong CSRF token). Reload the page and try again." }),
        ))
    }
}

/// Whether the dashboard is served over https (the public URL says so): cookies are then
/// `Secure` and carry the `__Host-` prefix (no `Domain`, path `/`), so neither plain http nor a
/// sibling subdomain can set or overwrite them.
fn secure(state: &AppState) -> bool {
    state
        .policy
        .communications
        .public_url
        .starts_with("https://")
}

/// The name cookie `name` has on the wire: `__Host-` prefixed when `secure`.
fn cookie_name(name: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{name}")
    } else {
        name.to_string()
    }
}

/// The value of dashboard cookie `name` (by its wire name, see [`cookie_name`]).
fn cookie(headers: &HeaderMap, name: &str, secure: bool) -> Option<String> {
    let name = cookie_name(name, secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name.as_str())
        .map(|(_, v)| v.to_string())
}

async fn login_page(State(state): State<AppState>) -> Response {
    login_form(secure(&state), StatusCode::OK, json!({}))
}

/// The sign-in page with a fresh login token (signed by the server, see [`login_token`]), in
/// the form and in a cookie: only a form this server served to this browser can sign it in.
fn login_form(secure: bool, status: StatusCode, mut context: Value) -> Response {
    let expires = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(LOGIN_FORM_MINUTES))
        .unwrap_or_else(|_| Timestamp::now());
    let Some(token) = login_token::issue(expires) else {
        return ApiError::Internal("no randomness for a login token".into()).into_response();
    };
    let cookie = set_cookie(LOGIN_COOKIE, &token, LOGIN_FORM_MINUTES * 60, secure);
    context["login_csrf"] = Value::String(token);
    let mut response = page(status, "login.html", context);
    if let Ok(cookie) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
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
    if let Some(secret) = cookie(&headers, COOKIE, signed.secure)
        && let Err(err) = state.store.delete_session(&token_hash(&secret)).await
    {
        return ApiError::from(err).into_response();
    }
    let expired = set_cookie(COOKIE, "", 0, signed.secure);
    ([(header::SET_COOKIE, expired)], Redirect::to("/ui/login")).into_response()
}

/// A `Set-Cookie` value for dashboard cookie `name`: `HttpOnly`, `SameSite=Strict`, kept
/// `max_age` seconds (0 deletes it); over https `__Host-` prefixed, `Secure` and on path `/`
/// (the prefix requires both), otherwise scoped to `/ui`.
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let wire = cookie_name(name, secure);
    let (path, secure) = if secure {
        ("/", "; Secure")
    } else {
        ("/ui", "")
    };
    format!("{wire}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// `Thu 2026-12-10 14:00 PST` in the policy's zone.
fn local(state: &AppState, at: Timestamp) -> String {
    at.to_zoned(state.policy.tz().clone())
        .strftime("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The release page's live runbook progress (EventSource); the page works without it.
async fn live_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("templates/live.js"),
    )
        .into_response()
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
