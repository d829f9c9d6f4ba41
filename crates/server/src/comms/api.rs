//! `/api/v1/comms`: the communications outbox as people see it (pending, delivered, dead
//! letters with their last error), the retry of a dead letter once its cause is fixed, and the
//! email recipients of each audience managed beside the policy's.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use greenlight_core::comms::{AudienceName, audience_name};
use greenlight_core::roles::Action;
use greenlight_store::{Change, OutboxMessage, OutboxStatus, Recipient, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::{Body, Path, Query};
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// One communication in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommsMessage {
    /// Outbox message ID (for `retry`).
    pub id: Uuid,
    /// Channel: `email`, `slack`, `status_page` or `in_app`.
    pub channel: String,
    /// What it says (template name: `rollback_completed`).
    pub notice: String,
    /// Who it is for.
    pub audience: String,
    /// The release it is about.
    pub release_id: Option<Uuid>,
    /// `pending`, `delivered` or `dead`.
    #[schema(value_type = String)]
    pub status: OutboxStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// Due (or next attempt) at.
    #[schema(value_type = String)]
    pub available_at: jiff::Timestamp,
    /// The last failure, or why it was not sent.
    pub last_error: Option<String>,
    /// When it was delivered or given up.
    #[schema(value_type = Option<String>)]
    pub done_at: Option<jiff::Timestamp>,
}

impl From<OutboxMessage> for CommsMessage {
    fn from(m: OutboxMessage) -> Self {
        let text = |key: &str| m.payload[key].as_str().unwrap_or_default().to_string();
        CommsMessage {
            channel: m.topic.trim_start_matches(super::TOPIC).to_string(),
            notice: text("template"),
            audience: text("audience"),
            id: m.id,
            release_id: m.release_id,
            status: m.status,
            attempts: m.attempts,
            available_at: m.available_at,
            last_error: m.last_error,
            done_at: m.done_at,
        }
    }
}

/// Filter of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommsQuery {
    /// `pending`, `delivered` or `dead`; all when absent.
    pub status: Option<String>,
    /// Most messages returned (default 100).
    pub limit: Option<i64>,
}

/// Communications in the outbox, newest first.
#[utoipa::path(get, path = "/api/v1/comms", tag = "communications", params(CommsQuery),
    responses((status = 403, body = Problem), (status = 200, body = [CommsMessage]), (status = 400, body = Problem),
        (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(query): Query<CommsQuery>,
) -> ApiResult<Json<Vec<CommsMessage>>> {
    auth.require_read(Action::ReadCommunications)?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some("pending") => Some(OutboxStatus::Pending),
        Some("delivered") => Some(OutboxStatus::Delivered),
        Some("dead") => Some(OutboxStatus::Dead),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status `{other}` is not one of pending, delivered, dead"
            )));
        }
    };
    let limit = query.limit.unwrap_or(100);
    let messages = state.store.outbox(super::TOPIC, status, limit).await?;
    Ok(Json(messages.into_iter().map(CommsMessage::from).collect()))
}

/// Puts a dead letter back in the queue, due at once (after its cause is fixed).
#[utoipa::path(post, path = "/api/v1/comms/{id}/retry", tag = "communications",
    params(("id" = String, Path, description = "Outbox message ID")),
    responses((status = 200, body = CommsMessage), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "the message is not a dead letter", body = Problem)),
    security(("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CommsMessage>> {
    auth.actor.require(Action::CommunicateMaintenance)?;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::BadRequest(format!("`{id}` is not a message ID (a UUID)")))?;
    let missing = || ApiError::NotFound(format!("no communication {id} in the outbox"));
    let message = state.store.outbox_message(id).await?.ok_or_else(missing)?;
    if !message.topic.starts_with(super::TOPIC) {
        return Err(missing());
    }
    let change = Change::new(
        state.clock.now(),
        auth.actor.id.clone(),
        "communication.retry",
    );
    state
        .store
        .retry_outbox(id, &change)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(why) => ApiError::Conflict(why),
            other => other.into(),
        })?;
    let message = state.store.outbox_message(id).await?.ok_or_else(missing)?;
    Ok(Json(message.into()))
}

/// An email recipient and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    /// `internal`, `subscribers`, `all_users` or `beta_testers`.
    pub audience: String,
    /// Email address.
    pub address: String,
    /// `policy` (the policy file; change it there) or `api` (removable here).
    pub source: String,
    /// Who added it (API only).
    pub added_by: Option<String>,
}

/// A recipient to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientRequest {
    /// `internal`, `subscribers`, `all_users` or `beta_testers`.
    #[schema(value_type = String, example = "subscribers")]
    pub audience: AudienceName,
    /// Email address (`Name <a@b.example>` or `a@b.example`).
    #[schema(example = "admins@school.example")]
    pub address: String,
}

/// Every email recipient, by audience: the policy's and those added through the API.
#[utoipa::path(get, path = "/api/v1/comms/recipients", tag = "communications",
    responses((status = 403, body = Problem), (status = 200, body = [RecipientView]), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn recipients(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<RecipientView>>> {
    auth.require_read(Action::ReadRecipients)?;
    let mut out: Vec<RecipientView> = Vec::new();
    for (audience, addresses) in &state.policy.communications.recipients {
        for address in addresses {
            out.push(RecipientView {
                audience: audience_name((*audience).into()).into(),
                address: address.clone(),
                source: "policy".into(),
                added_by: None,
            });
        }
    }
    for recipient in state.store.recipients().await? {
        out.push(RecipientView {
            audience: audience_name(recipient.audience.into()).into(),
            address: recipient.address,
            source: "api".into(),
            added_by: Some(recipient.added_by),
        });
    }
    out.sort_by(|a, b| (&a.audience, &a.address).cmp(&(&b.audience, &b.address)));
    Ok(Json(out))
}

/// Adds an email recipient to an audience (school admins subscribing, say).
#[utoipa::path(post, path = "/api/v1/comms/recipients", tag = "communications",
    request_body = RecipientRequest,
    responses((status = 201, body = RecipientView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_recipient(
    State(state): State<AppState>,
    auth: Auth,
    Body(body): Body<RecipientRequest>,
) -> ApiResult<(StatusCode, Json<RecipientView>)> {
    auth.actor.require(Action::CommunicateMaintenance)?;
    let address = body.address.trim().to_string();
    address.parse::<lettre::message::Mailbox>().map_err(|e| {
        ApiError::BadRequest(format!(
            "`{address}` is not an email address ({e}); use a@b.example or Name <a@b.example>"
        ))
    })?;
    let now = state.clock.now();
    let recipient = Recipient {
        audience: body.audience,
        address,
        added_by: auth.actor.id.clone(),
        added_at: now,
    };
    let change = Change::new(now, auth.actor.id.clone(), "recipient.add");
    state.store.add_recipient(&recipient, &change).await?;
    Ok((
        StatusCode::CREATED,
        Json(RecipientView {
            audience: audience_name(recipient.audience.into()).into(),
            address: recipient.address,
            source: "api".into(),
            added_by: Some(recipient.added_by),
        }),
    ))
}

/// Removes an email recipient added through the API.
#[utoipa::path(delete, path = "/api/v1/comms/recipients/{audience}/{address}", tag = "communications",
    params(("audience" = String, Path, description = "internal, subscribers, all_users or beta_testers"),
        ("address" = String, Path, description = "The address as added")),
    responses((status = 204, description = "removed"), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn remove_recipient(
    State(state): State<AppState>,
    auth: Auth,
    Path((audience, address)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    auth.actor.require(Action::CommunicateMaintenance)?;
    let audience: AudienceName =
        serde_json::from_value(serde_json::Value::String(audience.clone())).map_err(|_| {
            ApiError::BadRequest(format!(
                "audience `{audience}` is not one of internal, subscribers, all_users, beta_testers"
            ))
        })?;
    let change = Change::new(state.clock.now(), auth.actor.id.clone(), "recipient.remove");
    state
        .store
        .remove_recipient(audience, &address, &change)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(why) => ApiError::NotFound(format!(
                "{why} through the API (policy recipients change in the policy file)"
            )),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
