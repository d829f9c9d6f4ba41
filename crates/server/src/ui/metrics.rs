//! The delivery metrics page: deployment frequency, lead time, change failure rate and time to
//! restore over the last [`METRIC_WEEKS`] weeks, with per-week SVG charts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use serde_json::json;

use super::{Signed, charts};
use crate::problem::ApiError;
use crate::state::AppState;

/// Weeks the metrics page covers.
const METRIC_WEEKS: i64 = 12;

/// The delivery metrics page: the last weeks' DORA figures with per-week charts.
pub(super) async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    let now = state.clock.now();
    let week = SignedDuration::from_hours(7 * 24);
    let from = now.checked_sub(week * METRIC_WEEKS as i32).unwrap_or(now);
    let events = match state.store.release_history(now).await {
        Ok(events) => events,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let tz = state.policy.tz();
    let whole = greenlight_core::delivery::delivery_metrics(&events, from, now, tz);
    let mut weeks = Vec::new();
    for n in 0..METRIC_WEEKS as i32 {
        let start = from.checked_add(week * n).unwrap_or(from);
        let end = start.checked_add(week).unwrap_or(start);
        let m = greenlight_core::delivery::delivery_metrics(&events, start, end, tz);
        let label = start.to_zoned(tz.clone()).strftime("%m-%d").to_string();
        weeks.push((label, m));
    }
    let deployments: Vec<(String, f64, f64)> = weeks
        .iter()
        .map(|(l, m)| {
            (
                l.clone(),
                f64::from(m.deployments),
                f64::from(m.failed_deployments),
            )
        })
        .collect();
    let lead: Vec<(String, f64, f64)> = weeks
        .iter()
        .map(|(l, m)| (l.clone(), m.lead_time_hours.unwrap_or(0.0), 0.0))
        .collect();
    let charts = json!([
        { "title": "Production deployments per week (failed ones in red)", "svg": charts::bars(&deployments, "deployments") },
        { "title": "Lead time for changes per week, median hours", "svg": charts::bars(&lead, "hours") },
    ]);
    let mut context = signed.context();
    context["m"] = json!(whole);
    context["weeks"] = json!(METRIC_WEEKS);
    context["charts"] = charts;
    super::page(StatusCode::OK, "metrics.html", context)
}
