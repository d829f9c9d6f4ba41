//! Flag evaluation, the hot path: the OpenFeature Remote Evaluation Protocol (OFREP) single and
//! bulk endpoints, so OpenFeature SDKs work unchanged, and Greenlight's own
//! `/api/v1/flags/evaluate`. Each request reads the in-memory snapshot only: a pointer load, a
//! hash and a few comparisons per flag. These routes sit outside the request-metrics and trace
//! layers (their counts are per flag and variant instead) and need no token: they reveal flag
//! values, never their configuration.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use greenlight_core::flags::{Context, Reason, Resolution, Variant};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::sync::Arc;

use super::{Flags, Served, Snapshot};
use crate::BODY_LIMIT;

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

impl<'a> Evaluated<'a> {
    fn new(key: &'a str, variant: &'a Variant, reason: Reason) -> Self {
        Evaluated {
            key,
            value: &variant.value,
            reason,
            variant: &variant.name,
            metadata: Metadata {},
        }
    }
}

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
        Ok(bytes) => json_bytes(status, bytes),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// The OFREP single-evaluation answer for `variant` of flag `key` with `reason`, rendered once
/// per flag change (see [`super::Served`]).
pub(super) fn answer(key: &str, variant: &Variant, reason: Reason) -> Box<[u8]> {
    // A key, a JSON value and two names always serialize; the fallback is OFREP's error shape.
    serde_json::to_vec(&Evaluated::new(key, variant, reason))
        .unwrap_or_else(|_| {
            br#"{"errorCode":"GENERAL","errorDetails":"the variant could not be rendered"}"#
                .to_vec()
        })
        .into_boxed_slice()
}

/// Reads an evaluation request's body, at most [`BODY_LIMIT`] bytes. A body that arrives in
/// one piece, as every SDK's small JSON request does, is not copied.
///
/// These routes sit outside the request timeout (see `api::evaluation_routes`), so the body
/// is bounded in time here: a client trickling it is answered 408 after
/// [`BODY_READ_TIMEOUT`]. A body that is already there when the handler starts, as a small
/// SDK request's is, takes no timer.
async fn read_body(body: Body) -> Result<Bytes, Response> {
    use futures_util::FutureExt;
    let mut chunks = body.into_data_stream();
    let first = match chunks.next().now_or_never() {
        Some(first) => first,
        None => tokio::time::timeout(BODY_READ_TIMEOUT, chunks.next())
            .await
            .map_err(|_| too_slow())?,
    };
    let Some(first) = first.transpose().map_err(unreadable)? else {
        return Ok(Bytes::new());
    };
    if first.len() > BODY_LIMIT {
        return Err(too_large());
    }
    let second = match chunks.next().now_or_never() {
        Some(None) => return Ok(first),
        Some(Some(chunk)) => Some(chunk.map_err(unreadable)?),
        None => None,
    };
    let rest = async move {
        let mut joined = first.to_vec();
        if let Some(chunk) = second {
            joined.extend_from_slice(&chunk);
        }
        loop {
            if joined.len() > BODY_LIMIT {
                return Err(too_large());
            }
            match chunks.next().await.transpose().map_err(unreadable)? {
                Some(chunk) => joined.extend_from_slice(&chunk),
                None => return Ok(Bytes::from(joined)),
            }
        }
    };
    tokio::time::timeout(BODY_READ_TIMEOUT, rest)
        .await
        .map_err(|_| too_slow())?
}

/// Longest an evaluation request's body may take to arrive (its first piece, then the rest).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// OFREP's answer to a body that did not arrive in time.
fn too_slow() -> Response {
    json(
        StatusCode::REQUEST_TIMEOUT,
        &Failure {
            key: "",
            error_code: "GENERAL",
            error_details: format!(
                "the request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        },
    )
}

/// OFREP's 413 for a body over [`BODY_LIMIT`].
fn too_large() -> Response {
    json(
        StatusCode::PAYLOAD_TOO_LARGE,
        &Failure {
            key: "",
            error_code: "INVALID_CONTEXT",
            error_details: format!("the request body must be at most {BODY_LIMIT} bytes"),
        },
    )
}

/// OFREP's 400 for a body the connection broke off.
fn unreadable(err: axum::Error) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &Failure {
            key: "",
            error_code: "INVALID_CONTEXT",
            error_details: format!("the request body could not be read: {err}"),
        },
    )
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

/// Evaluates flag `key` for `context` and counts the evaluation; `None` when there is no such
/// flag.
fn resolve<'a>(
    snapshot: &'a Snapshot,
    key: &str,
    context: &Context,
) -> Option<(&'a Served, Resolution)> {
    let served = snapshot.flags.get(key)?;
    let resolution = served.compiled.evaluate(context);
    served.counts.count(resolution.variant);
    Some((served, resolution))
}

fn evaluate<'a>(snapshot: &'a Snapshot, key: &'a str, context: &Context) -> Option<Evaluated<'a>> {
    let (served, resolution) = resolve(snapshot, key, context)?;
    let variant = served.compiled.variants.get(resolution.variant)?;
    Some(Evaluated::new(key, variant, resolution.reason))
}

/// `POST /ofrep/v1/evaluate/flags/{key}`: one flag. The answer was rendered when the flag last
/// changed; evaluating picks it.
pub async fn single(
    State(flags): State<Arc<Flags>>,
    Path(key): Path<String>,
    body: Body,
) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request = match parse(&body) {
        Ok(request) => request,
        Err(err) => return invalid(&key, &err),
    };
    let context = request.context.unwrap_or_default();
    let snapshot = flags.current();
    let answer = resolve(&snapshot, &key, &context)
        .and_then(|(served, resolution)| served.answer(resolution));
    match answer {
        Some(answer) => json_bytes(StatusCode::OK, answer.to_vec()),
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
pub async fn bulk(State(flags): State<Arc<Flags>>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request = match parse(&body) {
        Ok(request) => request,
        Err(err) => return invalid("", &err),
    };
    let snapshot = flags.current();
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
pub async fn own(State(flags): State<Arc<Flags>>, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let request = match parse(&body) {
        Ok(request) => request,
        Err(err) => return invalid("", &err),
    };
    let snapshot = flags.current();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_prepared_answer_is_the_ofrep_evaluation_with_its_text_escaped() {
        let variant = Variant {
            name: "blue \"sky\"".into(),
            value: serde_json::json!({"color": "blue", "sizes": [1, 2]}),
            weight: 1,
        };
        let answer = answer("theme\n2", &variant, Reason::TargetingMatch);
        let parsed: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "key": "theme\n2",
                "value": {"color": "blue", "sizes": [1, 2]},
                "reason": "TARGETING_MATCH",
                "variant": "blue \"sky\"",
                "metadata": {}
            })
        );
    }
}
