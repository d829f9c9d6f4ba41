//! Input no handler should see: NUL bytes (U+0000). PostgreSQL refuses them in text (SQLite
//! keeps them), so a NUL in a key, a filter, a name or a user name would be a 500 on one backend
//! and stored on the other. They are refused here, before any handler, as a 400 problem
//! document naming the rule `nul_byte`: in the path and query of every request, in URL-encoded
//! form bodies (the dashboard's forms, sign-in included) by [`refuse_nul`], and in JSON bodies
//! by the API's `Body` extractor through [`json_has_nul`].

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The stable name of the rule.
pub const RULE: &str = "nul_byte";

/// Whether `text` holds `%00` (a percent-encoded NUL, any case) or a raw NUL byte.
fn has_encoded_nul(text: &[u8]) -> bool {
    text.contains(&0)
        || text
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Whether a JSON document holds a NUL in any string or key. Cheap when it does not: the
/// document is only parsed again when its text has a `\u0000` escape.
pub fn json_has_nul(bytes: &[u8]) -> bool {
    let escaped = bytes.windows(6).any(|w| {
        w[0] == b'\\' && (w[1] == b'u' || w[1] == b'U') && w[2..].iter().all(|b| *b == b'0')
    });
    if !escaped {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => value_has_nul(&value),
        Err(_) => false,
    }
}

fn value_has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(value_has_nul),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('\0') || value_has_nul(v)),
        _ => false,
    }
}

/// The refusal.
pub fn refused(where_: &str) -> ApiError {
    ApiError::Nul(format!(
        "{where_} contains a NUL byte (U+0000), which no key, name or filter may hold"
    ))
}

/// Largest form body read here (the dashboard's forms are well under it).
const FORM_LIMIT: usize = 256 * 1024;

/// Middleware refusing a NUL in the path, the query, or a URL-encoded form body.
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if has_encoded_nul(uri.path().as_bytes()) {
        return refused("the path").into_response();
    }
    if uri.query().is_some_and(|q| has_encoded_nul(q.as_bytes())) {
        return refused("the query string").into_response();
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
    if !is_form {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::TooLarge(format!(
                "a form body may be at most {} KiB",
                FORM_LIMIT / 1024
            ))
            .into_response();
        }
    };
    if has_encoded_nul(&bytes) {
        return refused("the form").into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_encoded_raw_and_escaped() {
        assert!(has_encoded_nul(b"/api/v1/releases/1.4%000"));
        assert!(has_encoded_nul(b"user=a\0b"));
        assert!(!has_encoded_nul(b"/api/v1/releases/1.4.0?x=%20"));
        assert!(json_has_nul(br#"{"id":"a\u0000b"}"#));
        assert!(json_has_nul(br#"{"roles":["x\u0000"]}"#));
        assert!(
            !json_has_nul(br#"{"id":"a\\u0000b"}"#),
            "an escaped backslash is text"
        );
        assert!(!json_has_nul(br#"{"id":"ab"}"#));
    }
}
