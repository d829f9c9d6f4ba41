//! The event log and the audit trail, across releases.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use greenlight_store::{AuditEntry, AuditFilter, AuditVerification, EventFilter, StoredEvent};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{Query, load};
use crate::auth::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use greenlight_core::Action;

/// Filters of the event log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only this release (ID or version).
    pub release: Option<String>,
    /// Only events of this name (`rollback_initiated`).
    pub event: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Only events after this sequence number (to follow the log).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many (default 500, at most 5000).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
}

/// Events in the spec's shapes, filtered by release, name and time, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "log", params(EventsQuery),
    responses((status = 200, body = [StoredEvent]), (status = 400, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    _auth: Auth,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    let release_id = match query.release.as_deref() {
        Some(key) => Some(release_id(&state, key).await?),
        None => None,
    };
    let filter = EventFilter {
        release_id,
        event: query.event,
        since: query.since,
        until: query.until,
        after_seq: query.after,
        limit: query.limit,
    };
    Ok(Json(state.store.events(&filter).await?))
}

async fn release_id(state: &AppState, key: &str) -> ApiResult<Uuid> {
    Ok(load(state, key).await?.release.record.release_id)
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this subject (`release:<id>`, `user:<id>`, `environment:production`).
    pub subject: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this (`release.`, `gate.`).
    pub action: Option<String>,
    /// Only entries after this sequence number.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many (default 200, at most 5000).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
}

/// Audit entries (who, what, when, before and after), oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "log", params(AuditQuery),
    responses((status = 403, body = Problem), (status = 200, body = [AuditEntry]), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    auth: Auth,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    auth.require_read(Action::ReadAuditTrail)?;
    let filter = AuditFilter {
        subject: query.subject,
        actor: query.actor,
        action_prefix: query.action,
        after_seq: query.after,
        limit: query.limit,
        ..AuditFilter::default()
    };
    Ok(Json(state.store.audit(&filter).await?))
}

/// Walks the whole audit chain and reports the first broken link, if any.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "log",
    responses((status = 403, body = Problem), (status = 200, body = AuditVerification), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<AuditVerification>> {
    auth.require_read(Action::ReadAuditTrail)?;
    Ok(Json(state.store.verify_audit().await?))
}
