//! The flags page: each flag's rollout stage, dwell time left (only while a stage is served and
//! waiting to advance), exposure per variant, and the kill switch and its restore button for the
//! roles that may pull it.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use greenlight_core::flags;
use greenlight_core::roles::Action;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Signed;
use crate::api::Path;
use crate::problem::ApiError;
use crate::state::AppState;

/// The flags pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/flags", get(page))
        .route("/ui/flags/{key}/kill", post(kill))
        .route("/ui/flags/{key}/restore", post(restore))
}

async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    flags_with(&state, &signed, StatusCode::OK, None, None).await
}

async fn flags_with(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let stored = match state.store.flags().await {
        Ok(stored) => stored,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let now = state.clock.now();
    let rows: Vec<Value> = stored
        .iter()
        .map(|s| {
            let view = crate::flags::api::view(state, s, now);
            let exposure: Vec<String> = view
                .evaluations
                .iter()
                .map(|(variant, n)| format!("{variant}: {n}"))
                .collect();
            let dwell = view.dwell_left_seconds;
            // Dwell applies to a served stage with a next one, and not while killed.
            let applies = s.flag.killed.is_none()
                && view.current_stage.is_some()
                && view.next_stage.is_some();
            json!({
                "key": s.flag.key,
                "stage": view.current_stage.unwrap_or_else(|| "not started".into()),
                "dwell": (applies && dwell > 0).then(|| format!("{} min", (dwell + 59) / 60)),
                "dwell_applies": applies,
                "exposure": exposure.join(", "),
                "killed": s.flag.killed.as_ref().map(|k| k.reason.clone()),
            })
        })
        .collect();
    let mut context = signed.context();
    context["flags"] = json!(rows);
    context["may_kill"] = json!(signed.actor.may(Action::KillFeatureFlag));
    context["error"] = json!(error);
    context["notice"] = json!(notice);
    super::page(status, "flags.html", context)
}

#[derive(Deserialize)]
struct KillForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// Pulls a flag's kill switch from the flags page.
async fn kill(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<KillForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let actor = signed.actor.clone();
    let result =
        crate::flags::api::change(&state, &signed.actor, &key, "flag.kill", |flag, now| {
            flags::kill(flag, &form.reason, &actor, now)
        })
        .await;
    match result {
        Ok(_) => {
            let notice = format!("{key} is killed: everyone gets its off variant.");
            flags_with(&state, &signed, StatusCode::OK, None, Some(notice)).await
        }
        Err(err) => {
            let status = err.status();
            flags_with(&state, &signed, status, Some(err.to_string()), None).await
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Releases a flag's kill switch from the flags page: its current stage is served again.
async fn restore(
    State(state): State<AppState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let actor = signed.actor.clone();
    let result =
        crate::flags::api::change(&state, &signed.actor, &key, "flag.restore", |flag, now| {
            flags::restore(flag, &actor, now)
        })
        .await;
    match result {
        Ok(_) => {
            let notice = format!("{key} is restored: its current stage is served again.");
            flags_with(&state, &signed, StatusCode::OK, None, Some(notice)).await
        }
        Err(err) => {
            let status = err.status();
            flags_with(&state, &signed, status, Some(err.to_string()), None).await
        }
    }
}
