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
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::Internal("the database failed; the change was not saved".into())
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
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
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
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

/// Shorthand result.
pub type ApiResult<T> = Result<T, ApiError>;
