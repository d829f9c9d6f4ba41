//! `GET /api/v1/releases/{key}/report`: a release's whole story in time order, from its events,
//! runbook steps, communications and the hotfixes that followed it; JSON or Markdown.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use greenlight_core::comms::{audience_name, channel_name};
use greenlight_core::delivery::hotfixes_following;
use greenlight_core::report::{self, Entry, Report};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Path, Query, load};
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The shape of the report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default) or `markdown`.
    pub format: Option<String>,
}

/// The release report.
#[utoipa::path(get, path = "/api/v1/releases/{key}/report", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"), ReportQuery),
    responses((status = 200, description = "the report (JSON), or Markdown with format=markdown",
            content((Report = "application/json"), (String = "text/markdown"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn release_report(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let markdown = match query.format.as_deref() {
        None | Some("json") => false,
        Some("markdown") | Some("md") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format `{other}` is not json or markdown"
            )));
        }
    };
    let stored = load(&state, &key).await?;
    let id = stored.release.record.release_id;
    let now = state.clock.now();
    let events = state.store.release_events(id).await?;
    let mut extra = Vec::new();
    for step in state.store.steps(id).await? {
        let attempt = if step.attempt > 1 {
            format!(" (attempt {})", step.attempt)
        } else {
            String::new()
        };
        let text = format!(
            "{} step `{}` {}{attempt} in {:.1} s",
            step.run_kind,
            step.step,
            step.outcome,
            step.duration_ms as f64 / 1000.0
        );
        extra.push(Entry::new(
            step.started_at,
            "deployment",
            text,
            "greenlight",
        ));
    }
    for sent in state.store.communications(id).await? {
        let text = format!(
            "{} to {}: {}",
            channel_name(sent.communication_type),
            audience_name(sent.audience),
            sent.subject
        );
        extra.push(Entry::new(
            sent.sent_at,
            "communications",
            text,
            &sent.sent_by,
        ));
    }
    let history = state.store.release_history(now).await?;
    for hotfix in hotfixes_following(&history, id) {
        let started = format!("Hotfix {} started", hotfix.version);
        extra.push(Entry::new(
            hotfix.started_at,
            "hotfix",
            started,
            "greenlight",
        ));
        if let Some(at) = hotfix.deployed_at {
            let done = format!("Hotfix {} deployed to production", hotfix.version);
            extra.push(Entry::new(at, "hotfix", done, "greenlight"));
        }
    }
    let report = report::report(&stored.release, &events, extra, now);
    if markdown {
        let text = report::markdown(&report, state.policy.tz());
        return Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            text,
        )
            .into_response());
    }
    Ok(Json(report).into_response())
}
