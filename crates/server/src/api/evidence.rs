//! `POST /api/v1/releases/{key}/evidence`: a CI artifact (JUnit, LCOV, Cobertura, SARIF, audits,
//! Lighthouse, latency) decides a quality gate. The artifact is parsed with bounds; a malformed
//! or hostile file is a 400 that changes nothing.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use greenlight_core::Command;
use greenlight_core::gates::GatePhase;
use greenlight_evidence::{Evidence, Format, Limits, Verdict, judge, parse_any};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::ReleaseView;
use super::{IfMatch, Path, Query, execute, load};
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Largest artifact accepted, bytes.
pub const EVIDENCE_LIMIT: usize = 50 * 1024 * 1024;

/// Which gate the artifact decides.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// The gate (`unit_tests`, `code_coverage`, `security_scan`).
    pub gate: String,
    /// The gate's phase; found from the gate's name when it is in one phase only.
    pub phase: Option<GatePhase>,
    /// The artifact's format; recognised from its content when absent.
    pub format: Option<String>,
}

/// What the artifact showed and what became of the gate.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceResult {
    /// The format read.
    pub format: String,
    /// The parsed numbers.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// The gate passed on this evidence.
    pub passed: bool,
    /// What the evidence shows, in one line.
    pub summary: String,
    /// Each threshold missed.
    pub reasons: Vec<String>,
    /// The release after the gate was recorded.
    pub release: ReleaseView,
}

/// Decides a quality gate from a CI artifact sent as the request body.
#[utoipa::path(post, path = "/api/v1/releases/{key}/evidence", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"),
        EvidenceQuery,
        ("If-Match" = Option<String>, Header, description = "The revision the change is based on")),
    request_body(content = String, content_type = "application/octet-stream",
        description = "The artifact, as the tool wrote it"),
    responses((status = 200, body = EvidenceResult), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Query(query): Query<EvidenceQuery>,
    if_match: IfMatch,
    body: Bytes,
) -> ApiResult<Json<EvidenceResult>> {
    let release = load(&state, &key).await?.release;
    let phase = gate_phase(&state, &query, release.release_type())?;
    let format = match query.format.as_deref() {
        Some(name) => Some(Format::from_name(name).ok_or_else(|| unknown_format(name))?),
        None => None,
    };
    let (format, evidence) =
        tokio::task::spawn_blocking(move || parse_any(format, &body, &Limits::default()))
            .await
            .map_err(|e| ApiError::Internal(format!("evidence parser stopped: {e}")))?
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let verdict = judge(&evidence, &state.policy);
    let command = command(phase, &query.gate, format, &verdict);
    let released = execute(&state, &auth, &key, if_match, "gate.evidence", command).await?;
    Ok(Json(result(format, &evidence, verdict, released.view)))
}

fn unknown_format(name: &str) -> ApiError {
    let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    ApiError::BadRequest(format!(
        "unknown format `{name}`; known: {}",
        known.join(", ")
    ))
}

/// The phase named, or the one phase of the release type that has the gate.
fn gate_phase(
    state: &AppState,
    query: &EvidenceQuery,
    release_type: greenlight_core::ReleaseType,
) -> ApiResult<GatePhase> {
    if let Some(phase) = query.phase {
        return Ok(phase);
    }
    let phases: Vec<GatePhase> = GatePhase::for_type(release_type)
        .iter()
        .copied()
        .filter(|p| {
            state
                .policy
                .gates
                .of(*p)
                .iter()
                .any(|g| g.name == query.gate)
        })
        .collect();
    match phases.as_slice() {
        [one] => Ok(*one),
        [] => Err(ApiError::BadRequest(format!(
            "no phase of this release has a gate `{}` (see GET /api/v1/policy)",
            query.gate
        ))),
        many => Err(ApiError::BadRequest(format!(
            "gate `{}` is in several phases ({}); name one with `phase`",
            query.gate,
            many.iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn command(phase: GatePhase, gate: &str, format: Format, verdict: &Verdict) -> Command {
    Command::AttachEvidence {
        phase,
        gate: gate.to_string(),
        format: format.as_str().to_string(),
        summary: verdict.summary.clone(),
        reasons: verdict.reasons.clone(),
    }
}

fn result(
    format: Format,
    evidence: &Evidence,
    verdict: Verdict,
    release: ReleaseView,
) -> EvidenceResult {
    EvidenceResult {
        format: format.as_str().to_string(),
        evidence: serde_json::to_value(evidence).unwrap_or_default(),
        passed: verdict.passed,
        summary: verdict.summary,
        reasons: verdict.reasons,
        release,
    }
}
