//! The release list with filters by type and status (`/ui/releases?type=patch&status=planned`):
//! the names are the core's; a name it does not know is a 400 page that lists the ones it does.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use greenlight_core::{ReleaseStatus, ReleaseType};
use greenlight_store::ReleaseFilter;
use serde_json::{Value, json};

use super::params::Params;
use super::{Signed, local, page};
use crate::problem::ApiError;
use crate::state::AppState;

/// `/ui/releases`: every release, newest plan first, narrowed by `type` and `status`.
pub(super) async fn releases(
    State(state): State<AppState>,
    signed: Signed,
    params: Params,
) -> Response {
    let mut context = signed.context();
    let release_type = params.get("type");
    let status = params.get("status");
    context["types"] = json!(ReleaseType::ALL.map(|t| t.as_str()));
    context["statuses"] = json!(ReleaseStatus::ALL.map(|s| s.as_str()));
    context["type"] = json!(release_type);
    context["status"] = json!(status);
    let parsed = (
        release_type.map(str::parse::<ReleaseType>).transpose(),
        status.map(str::parse::<ReleaseStatus>).transpose(),
    );
    let (release_type, status) = match parsed {
        (Ok(t), Ok(s)) => (t, s),
        (Err(err), _) | (_, Err(err)) => {
            context["error"] = json!(format!("Filter refused: {err}."));
            context["releases"] = json!([]);
            context["filtered"] = json!(true);
            return page(StatusCode::BAD_REQUEST, "releases.html", context);
        }
    };
    let filter = ReleaseFilter {
        status,
        release_type,
        ..ReleaseFilter::default()
    };
    let stored = match state.store.releases(&filter).await {
        Ok(stored) => stored,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let rows: Vec<Value> = stored
        .iter()
        .map(|s| {
            let r = &s.release.record;
            json!({
                "version": r.version.to_string(),
                "title": s.release.title,
                "release_type": r.release_type.as_str(),
                "status": r.status.as_str(),
                "freeze": local(&state, r.code_freeze_date),
                "planned": local(&state, r.planned_date),
            })
        })
        .collect();
    context["releases"] = json!(rows);
    context["filtered"] = json!(release_type.is_some() || status.is_some());
    page(StatusCode::OK, "releases.html", context)
}
