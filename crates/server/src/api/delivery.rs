//! `GET /api/v1/delivery-metrics`: the delivery metrics of a period (deployment frequency, lead
//! time for changes, change failure rate, time to restore, gate failure and on-time rates) as
//! JSON, or its deployment rows as CSV.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use greenlight_core::delivery::{self, DeliveryMetrics};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::IntoParams;

use super::Query;
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The period and the shape of the answer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Start (inclusive; default: 28 days before `to`).
    pub from: Option<Timestamp>,
    /// End (exclusive; default: now).
    pub to: Option<Timestamp>,
    /// `json` (default) or `csv` (one row per deployment).
    pub format: Option<String>,
}

/// Delivery metrics of a period.
#[utoipa::path(get, path = "/api/v1/delivery-metrics", tag = "log", params(DeliveryQuery),
    responses((status = 200,
            description = "the metrics (JSON), or with format=csv one row per deployment",
            content((DeliveryMetrics = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    _auth: Auth,
    Query(query): Query<DeliveryQuery>,
) -> ApiResult<Response> {
    let to = query.to.unwrap_or_else(|| state.clock.now());
    let from = query.from.unwrap_or_else(|| {
        to.checked_sub(SignedDuration::from_hours(28 * 24))
            .unwrap_or(to)
    });
    if from >= to {
        return Err(ApiError::BadRequest(format!(
            "the period is empty: from {from} is not before to {to}"
        )));
    }
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format `{other}` is not json or csv"
            )));
        }
    };
    let events = state.store.release_history(to).await?;
    let metrics = delivery::delivery_metrics(&events, from, to, state.policy.tz());
    if csv {
        let body = delivery::csv(&metrics);
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response());
    }
    Ok(Json(metrics).into_response())
}
