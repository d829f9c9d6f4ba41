//! Security headers on every response of the API, the dashboard and the public pages.
//!
//! - `Content-Security-Policy`: scripts and styles only from this origin (no inline script or
//!   style anywhere: the dashboard's one script is `/ui/assets/live.js`, the status page's style
//!   `/status/status.css`), no plugins, forms post only here, no framing (`frame-ancestors
//!   'none'`, with `X-Frame-Options: DENY` for older browsers).
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (a calendar link carries
//!   its secret in the URL).
//! - `Cache-Control: no-store` on the dashboard's pages (signed in) and the API (tokens are
//!   answered there), unless the handler chose its own; the dashboard's assets may be cached.
//! - `Strict-Transport-Security` when the policy's public URL is https.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The dashboard's and status page's content security policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// HSTS for a server reached over https: a year, subdomains left to their own servers.
const HSTS: &str = "max-age=31536000";

/// Middleware adding the headers above.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let no_store =
        (path.starts_with("/ui") && !path.starts_with("/ui/assets/")) || path.starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if no_store && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state
        .policy
        .communications
        .public_url
        .to_ascii_lowercase()
        .starts_with("https://")
    {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}
