//! Managing flags: create, list, show, advance, kill and restore, each decided by the core's
//! flag rules and committed with its event and audit entry; and the scheduler's automatic
//! advance, which checks the flag's release health first.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use greenlight_core::Actor;
use greenlight_core::flags::{self, Flag, FlagEvent, FlagRelease, FlagSpec, Stage};
use greenlight_core::health::TriggerState;
use greenlight_core::{Refusal, ReleaseStatus};
use greenlight_store::{Change, StoreError, StoredFlag};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{Body, Path};
use crate::auth::Auth;
use crate::health::monitor;
use crate::health::source::Source;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// A flag as the API shows it: the flag, where its rollout stands, and its evaluations.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagView {
    /// The flag.
    #[serde(flatten)]
    pub flag: Flag,
    /// Bumped by every change.
    pub revision: i64,
    /// The current stage (`everyone 25%`); none before the rollout starts.
    pub current_stage: Option<String>,
    /// The next stage; none at the last one.
    pub next_stage: Option<String>,
    /// Seconds before the next stage may start (the policy's minimum per stage).
    pub dwell_left_seconds: i64,
    /// Evaluations per variant served by this instance since it started (Prometheus sums
    /// instances: `greenlight_flag_evaluations_total`).
    pub evaluations: BTreeMap<String, u64>,
}

/// Why the kill switch is pulled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KillRequest {
    /// What went wrong (`scores not saved on Safari`).
    pub reason: String,
}

pub(crate) fn view(state: &AppState, stored: &StoredFlag, now: Timestamp) -> FlagView {
    let flag = &stored.flag;
    let snapshot = state.flags.snapshot();
    let evaluations = snapshot
        .flags
        .get(&flag.key)
        .map(|served| {
            served
                .compiled
                .variants
                .iter()
                .map(|v| v.name.clone())
                .zip(served.counts.values())
                .collect()
        })
        .unwrap_or_default();
    let next = flag.stage.map_or(0, |s| s + 1);
    FlagView {
        flag: flag.clone(),
        revision: stored.revision,
        current_stage: flag.current_stage().map(Stage::label),
        next_stage: flag.plan.get(next).map(Stage::label),
        dwell_left_seconds: flags::dwell_left(flag, &state.policy.feature_flags, now).as_secs(),
        evaluations,
    }
}

/// Every flag with its rollout stage and dwell time left.
#[utoipa::path(get, path = "/api/v1/flags", tag = "flags",
    responses((status = 200, body = [FlagView]), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, _auth: Auth) -> ApiResult<Json<Vec<FlagView>>> {
    let now = state.clock.now();
    let flags = state.store.flags().await?;
    Ok(Json(flags.iter().map(|f| view(&state, f, now)).collect()))
}

/// One flag.
#[utoipa::path(get, path = "/api/v1/flags/{key}", tag = "flags",
    params(("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    _auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<FlagView>> {
    let stored = load(&state, &key).await?;
    Ok(Json(view(&state, &stored, state.clock.now())))
}

async fn load(state: &AppState, key: &str) -> ApiResult<StoredFlag> {
    state
        .store
        .flag(key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("flag {key} does not exist")))
}

/// Creates a flag (not started: everyone gets its off variant until the first advance).
#[utoipa::path(post, path = "/api/v1/flags", tag = "flags", request_body = FlagSpec,
    responses((status = 201, body = FlagView), (status = 400, body = Problem),
        (status = 403, body = Problem),
        (status = 404, description = "the release named in `release` does not exist", body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Body(spec): Body<FlagSpec>,
) -> ApiResult<(StatusCode, Json<FlagView>)> {
    let release = match &spec.release {
        Some(version) => {
            let stored = crate::api::load(&state, version).await?;
            Some(FlagRelease {
                release_id: stored.release.record.release_id,
                version: stored.release.record.version.to_string(),
            })
        }
        None => None,
    };
    let now = state.clock.now();
    let event = flags::create(
        &spec,
        release,
        &state.policy.feature_flags,
        &auth.actor,
        now,
    )?;
    let FlagEvent::FlagCreated { flag, .. } = &event else {
        return Err(ApiError::Internal("creating a flag yielded no flag".into()));
    };
    let change = Change::new(now, auth.actor.id.clone(), "flag.create");
    let stored = state.store.create_flag(flag, &event, &change).await?;
    refresh(&state).await;
    Ok((StatusCode::CREATED, Json(view(&state, &stored, now))))
}

/// Moves the rollout to its next stage (refused before the dwell time has passed).
#[utoipa::path(post, path = "/api/v1/flags/{key}/advance", tag = "flags",
    params(("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn advance(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<FlagView>> {
    let policy = state.policy.clone();
    let actor = auth.actor.clone();
    let stored = change(&state, &auth.actor, &key, "flag.advance", |flag, now| {
        flags::advance(flag, &policy.feature_flags, &actor, now, false, policy.tz())
    })
    .await?;
    Ok(Json(view(&state, &stored, state.clock.now())))
}

/// Pulls the kill switch: every instance serves the off variant within a second.
#[utoipa::path(post, path = "/api/v1/flags/{key}/kill", tag = "flags", request_body = KillRequest,
    params(("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn kill(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Body(body): Body<KillRequest>,
) -> ApiResult<Json<FlagView>> {
    let actor = auth.actor.clone();
    let stored = change(&state, &auth.actor, &key, "flag.kill", |flag, now| {
        flags::kill(flag, &body.reason, &actor, now)
    })
    .await?;
    Ok(Json(view(&state, &stored, state.clock.now())))
}

/// Releases the kill switch: the current stage is served again and its dwell starts over.
#[utoipa::path(post, path = "/api/v1/flags/{key}/restore", tag = "flags",
    params(("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn restore(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
) -> ApiResult<Json<FlagView>> {
    let actor = auth.actor.clone();
    let stored = change(&state, &auth.actor, &key, "flag.restore", |flag, now| {
        flags::restore(flag, &actor, now)
    })
    .await?;
    Ok(Json(view(&state, &stored, state.clock.now())))
}

/// Times a change is re-decided when another write moved the flag in between.
const ATTEMPTS: usize = 5;

/// Loads, decides, applies and commits one change to flag `key`, then reloads this instance's
/// snapshot so the change is served at once here (other instances follow within a second).
pub(crate) async fn change(
    state: &AppState,
    actor: &Actor,
    key: &str,
    action: &str,
    decide: impl Fn(&Flag, Timestamp) -> Result<FlagEvent, Refusal>,
) -> ApiResult<StoredFlag> {
    for _ in 0..ATTEMPTS {
        let stored = load(state, key).await?;
        let now = state.clock.now();
        let event = decide(&stored.flag, now)?;
        let mut flag = stored.flag.clone();
        flag.apply(&event);
        let change = Change::new(now, actor.id.clone(), action);
        match state
            .store
            .commit_flag(&flag, stored.revision, &event, &change)
            .await
        {
            Err(StoreError::StaleRevision { .. }) => continue,
            result => {
                let saved = result?;
                tracing::info!(flag = %key, action, actor = %actor.id, "flag changed");
                refresh(state).await;
                return Ok(saved);
            }
        }
    }
    Err(ApiError::Conflict(format!(
        "flag {key} kept changing; try again"
    )))
}

async fn refresh(state: &AppState) {
    let segments = &state.policy.feature_flags.segments;
    if let Err(err) = state.flags.refresh(&state.store, segments).await {
        tracing::warn!(error = %err, "flag snapshot not refreshed after a change");
    }
}

/// Advances every started flag with `auto_advance` whose dwell time has passed and whose
/// release is healthy. Several instances may try at once: the revision check lets one win.
pub async fn advance_due(state: &AppState) {
    let Ok(stored) = state.store.flags().await else {
        return;
    };
    let now = state.clock.now();
    let policy = &state.policy.feature_flags;
    for StoredFlag { flag, .. } in stored {
        let due = flag.auto_advance
            && flag.killed.is_none()
            && flag.stage.is_some_and(|s| s + 1 < flag.plan.len())
            && flags::dwell_left(&flag, policy, now).is_zero();
        if !due {
            continue;
        }
        if let Err(hold) = healthy(state, &flag, now).await {
            tracing::info!(flag = %flag.key, "automatic advance held: {hold}");
            continue;
        }
        let system = Actor::system();
        let result = change(state, &system, &flag.key, "flag.advance", |f, at| {
            flags::advance(f, policy, &system, at, true, state.policy.tz())
        })
        .await;
        if let Err(err) = result {
            tracing::info!(flag = %flag.key, error = %err, "automatic advance not taken");
        }
    }
}

/// `Ok` when the flag's release (if any) is live in production and no automatic rollback
/// trigger holds, is building, or lacks data; else why not.
async fn healthy(state: &AppState, flag: &Flag, now: Timestamp) -> Result<(), String> {
    let Some(release_id) = flag.release_id else {
        return Ok(());
    };
    let stored = state
        .store
        .release(release_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("its release no longer exists")?;
    let record = &stored.release.record;
    let Some(deployed_at) = record
        .deployed_date
        .filter(|_| record.status == ReleaseStatus::Deployed)
    else {
        return Err(format!(
            "release {} is not deployed to production",
            record.version
        ));
    };
    let source = Source::from_policy(&state.policy, &state.store);
    let assessment = monitor::assess(state, &source, deployed_at, now).await;
    let unhealthy: Vec<String> = assessment
        .verdicts
        .iter()
        .filter(|v| v.state != TriggerState::Clear)
        .map(|v| v.detail.clone())
        .collect();
    if unhealthy.is_empty() {
        Ok(())
    } else {
        Err(unhealthy.join("; "))
    }
}
