//! Errors as `application/problem+json` (RFC 9457), naming the rule that refused.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_core::{Reason, Refusal, Rule};
use greenlight_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened, in a sentence.
    pub detail: String,
    /// The refusing rule's stable name, when a rule refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Every failing rule with what would satisfy it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
}

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A rule of the release process refused.
    #[error("{0}")]
    Refused(Refusal),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness or concurrency conflict.
    #[error("{0}")]
    Conflict(String),
    /// The release moved between load and commit (retried when the caller sent no `If-Match`).
    #[error("{0}")]
    Stale(String),
    /// No or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The request holds a NUL byte (rule `nul_byte`).
    #[error("{0}")]
    Nul(String),
    /// The caller holds as many release streams as one user may (429, rule `stream_limit`).
    #[error("{0}")]
    TooManyStreams(String),
    /// The request body is larger than the endpoint takes.
    #[error("{0}")]
    TooLarge(String),
    /// The database cannot be reached right now (503 with `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
    /// Something failed on our side.
    #[error("{0}")]
    Internal(String),
    /// A rate limit holds: 429 with `Retry-After`.
    #[error("{detail}")]
    TooManyRequests {
        /// Which limit, and when to retry.
        detail: String,
        /// Seconds to wait.
        retry_after: u64,
    },
}

/// Seconds a client is asked to wait (`Retry-After`) when the service is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 2;

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        ApiError::Refused(refusal)
    }
}

impl From<Reason> for ApiError {
    fn from(reason: Reason) -> Self {
        ApiError::Refused(reason.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} does not exist")),
            StoreError::StaleRevision { .. } | StoreError::Conflict(_) => {
                ApiError::Conflict(err.to_string())
            }
            other if other.is_unavailable() => {
                tracing::warn!(error = %other, "database unavailable");
                ApiError::Unavailable(
                    "the database is unavailable; nothing was read or changed, try again shortly"
                        .into(),
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::Internal("the database failed; the change was not saved".into())
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge(format!("request body: {}", rejection.body_text()));
        }
        ApiError::BadRequest(format!("request body: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(format!("query: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(format!("path: {}", rejection.body_text()))
    }
}

impl ApiError {
    /// The HTTP status of this error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Refused(refusal) if refusal.rule() == Some(Rule::Permission) => {
                StatusCode::FORBIDDEN
            }
            ApiError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Stale(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) | ApiError::Nul(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The problem document of this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (slug, rule, reasons) = match self {
            ApiError::Refused(refusal) => {
                let rule = refusal.rule().map(|r| r.as_str().to_string());
                (
                    rule.clone().unwrap_or_else(|| "refused".into()),
                    rule,
                    refusal.reasons.clone(),
                )
            }
            ApiError::Stale(_) => (
                "stale_revision".into(),
                Some("optimistic_concurrency".into()),
                Vec::new(),
            ),
            ApiError::Conflict(m) if m.contains("revision") => (
                "stale_revision".into(),
                Some("optimistic_concurrency".into()),
                Vec::new(),
            ),
            ApiError::Conflict(_) => ("conflict".into(), None, Vec::new()),
            ApiError::NotFound(_) => ("not_found".into(), None, Vec::new()),
            ApiError::Unauthorized(_) => (
                "unauthorized".into(),
                Some("authentication".into()),
                Vec::new(),
            ),
            ApiError::Forbidden(_) => ("forbidden".into(), Some("permission".into()), Vec::new()),
            ApiError::BadRequest(_) => ("bad_request".into(), Some("input".into()), Vec::new()),
            ApiError::Nul(_) => (
                "bad_request".into(),
                Some(crate::input::RULE.into()),
                Vec::new(),
            ),
            ApiError::TooLarge(_) => (
                "payload_too_large".into(),
                Some("body_limit".into()),
                Vec::new(),
            ),
            ApiError::TooManyStreams(_) => (
                "too_many_requests".into(),
                Some("stream_limit".into()),
                Vec::new(),
            ),
            ApiError::Unavailable(_) => ("unavailable".into(), None, Vec::new()),
            ApiError::Internal(_) => ("internal".into(), None, Vec::new()),
            ApiError::TooManyRequests { .. } => {
                ("rate_limit".into(), Some("rate_limit".into()), Vec::new())
            }
        };
        Problem {
            kind: format!("https://greenlight.invalid/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            rule,
            reasons,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let mut response = (self.status(), Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, ApiError::Unavailable(_) | ApiError::TooManyStreams(_)) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"greenlight\""),
            );
        }
        response
    }
}

/// Middleware turning every error response that is not yet a problem document (axum's 405
/// for a wrong method, tower-http's 413 for a body over the limit and 503 for a timeout, an
/// extractor's plain-text rejection) into one with the same status, keeping `Allow`,
/// `Retry-After` and `WWW-Authenticate`. `/readyz` keeps its plain answer.
pub async fn ensure_problem(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let readyz = request.uri().path() == "/readyz";
    let response = next.run(request).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_error || is_problem || readyz {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 2048)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    let (slug, rule, default) = match status {
        StatusCode::NOT_FOUND => ("not_found", None, "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            None,
            "this resource does not take that method (see Allow)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            Some("body_limit"),
            "the request body is larger than this endpoint takes",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            None,
            "the request took too long to answer; try again shortly",
        ),
        s if s.is_server_error() => ("internal", None, "the request failed on our side"),
        _ => ("bad_request", Some("input"), "the request is malformed"),
    };
    let problem = Problem {
        kind: format!("https://greenlight.invalid/problems/{slug}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail: text.unwrap_or_else(|| default.to_string()),
        rule: rule.map(str::to_string),
        reasons: Vec::new(),
    };
    let mut out = (status, Json(problem)).into_response();
    let headers = out.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was refused unread, so the connection cannot carry another request: say so,
        // or a client would reuse it and see it break.
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && !headers.contains_key(header::RETRY_AFTER) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    out
}

/// Shorthand result.
pub type ApiResult<T> = Result<T, ApiError>;
