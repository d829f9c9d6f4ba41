//! Flag evaluation, the hot path: the OpenFeature Remote Evaluation Protocol (OFREP) single and
//! bulk endpoints, so OpenFeature SDKs work unchanged, and Greenlight's own
//! `/api/v1/flags/evaluate`. Each request reads the in-memory snapshot only: a pointer load, a
//! hash and a few comparisons per flag. These routes sit outside the request-metrics and trace
//! layers (their counts are per flag and variant instead) and need no token: they reveal flag
//! values, never their configuration.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_core::flags::{Context, Reason};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::sync::Arc;

use super::{Flags, Snapshot};

/// An evaluation request: the context (`targetingKey`, `groups`, `email`, ...).
#[derive(Debug, Default, Deserialize)]
struct Request {
    #[serde(default)]
    context: Option<Context>,
    /// Greenlight's own endpoint: only these flags (default: all).
    #[serde(default)]
    flags: Option<Vec<String>>,
}

/// One flag's evaluation in OFREP's shape.
#[derive(Debug, Serialize)]
struct Evaluated<'a> {
    key: &'a str,
    value: &'a Value,
    reason: Reason,
    variant: &'a str,
    metadata: Metadata,
}

#[derive(Debug, Serialize)]
struct Metadata {}

/// OFREP's failure shape.
#[derive(Debug, Serialize)]
struct Failure<'a> {
    key: &'a str,
    #[serde(rename = "errorCode")]
    error_code: &'static str,
    #[serde(rename = "errorDetails")]
    error_details: String,
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The request, or why it is not one (an empty body is an empty context).
fn parse(body: &[u8]) -> Result<Request, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Request::default());
    }
    serde_json::from_slice(body)
}

/// OFREP's 400 for a body that is not an evaluation request.
fn invalid(key: &str, err: &serde_json::Error) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &Failure {
            key,
            error_code: "INVALID_CONTEXT",
            error_details: format!(
                "the body must be {{\"context\": {{\"targetingKey\": \"...\"}}}}: {err}"
            ),
        },
    )
}

fn evaluate<'a>(snapshot: &'a Snapshot, key: &'a str, context: &Context) -> Option<Evaluated<'a>> {
    let served = snapshot.flags.get(key)?;
    let resolution = served.compiled.evaluate(context);
    served.counts.count(resolution.variant);
    let variant = served.compiled.variants.get(resolution.variant)?;
    Some(Evaluated {
        key,
        value: &variant.value,
        reason: resolution.reason,
        variant: &variant.name,
        metadata: Metadata {},
    })
}

/// `POST /ofrep/v1/evaluate/flags/{key}`: one flag.
pub async fn single(
    State(flags): State<Arc<Flags>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let request = match parse(&body) {
        Ok(request) => request,
        Err(err) => return invalid(&key, &err),
    };
    let snapshot = flags.snapshot();
    let context = request.context.unwrap_or_default();
    match evaluate(&snapshot, &key, &context) {
        Some(evaluated) => json(StatusCode::OK, &evaluated),
        None => json(
            StatusCode::NOT_FOUND,
            &Failure {
                key: &key,
                error_code: "FLAG_NOT_FOUND",
                error_details: format!("no flag {key}; `greenlight flag list` shows the flags"),
            },
        ),
    }
}

/// The ETag of a bulk evaluation: the snapshot's version and the request body's hash, so an
/// SDK polling with `If-None-Match` gets 304 until a flag changes.
fn etag(snapshot: &Snapshot, body: &[u8]) -> String {
    format!(
        "\"{}-{:016x}\"",
        snapshot.version,
        xxhash_rust::xxh3::xxh3_64(body)
    )
}

/// `POST /ofrep/v1/evaluate/flags`: every flag, with an ETag.
pub async fn bulk(State(flags): State<Arc<Flags>>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match parse(&body) {
        Ok(request) => request,
        Err(err) => return invalid("", &err),
    };
    let snapshot = flags.snapshot();
    let tag = etag(&snapshot, &body);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let Ok(tag_header) = HeaderValue::from_str(&tag) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if unchanged {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag_header)]).into_response();
    }
    let context = request.context.unwrap_or_default();
    let mut keys: Vec<&String> = snapshot.flags.keys().collect();
    keys.sort();
    let flags: Vec<Evaluated<'_>> = keys
        .into_iter()
        .filter_map(|key| evaluate(&snapshot, key, &context))
        .collect();
    let mut response = json(StatusCode::OK, &serde_json::json!({ "flags": flags }));
    response.headers_mut().insert(header::ETAG, tag_header);
    response
}

/// `POST /api/v1/flags/evaluate`: the named flags (or all) as `{key: {value, variant, reason}}`.
pub async fn own(State(flags): State<Arc<Flags>>, body: Bytes) -> Response {
    let request = match parse(&body) {
        Ok(request) => request,
        Err(err) => return invalid("", &err),
    };
    let snapshot = flags.snapshot();
    let context = request.context.unwrap_or_default();
    let keys: Vec<String> = match request.flags {
        Some(keys) => keys,
        None => snapshot.flags.keys().cloned().collect(),
    };
    let mut out = serde_json::Map::new();
    for key in &keys {
        let entry = match evaluate(&snapshot, key, &context) {
            Some(e) => {
                serde_json::json!({"value": e.value, "variant": e.variant, "reason": e.reason})
            }
            None => serde_json::json!({"error": "FLAG_NOT_FOUND"}),
        };
        out.insert(key.clone(), entry);
    }
    json(
        StatusCode::OK,
        &serde_json::json!({ "version": snapshot.version, "flags": out }),
    )
}
