//! Stakeholder communications on the server: the notices a change owes go into the outbox in
//! the change's own transaction ([`outbox_for`]); the worker claims due messages, renders them
//! (minijinja, the team's overrides first), sends them through their channel and records the
//! spec's ReleaseCommunication in the same transaction that marks the message delivered.
//! Failures are retried with doubling waits, then become dead letters (`greenlight comms
//! retry`). The status page and in-app feed are served from what was recorded ([`public`]).
//!
//! **Delivery guarantee:** a message is never lost (it commits with its cause) and is recorded
//! once. A crash after a send and before its record leads to one more send, which is marked as
//! a possible duplicate (`X-Greenlight-Possible-Duplicate` header, a note in chat) and carries
//! the same email `Message-ID`.

pub mod api;
pub mod channels;
pub mod public;

use std::collections::BTreeMap;
use std::time::Duration;

use greenlight_core::comms::{self, AudienceName, Notice};
use greenlight_core::release::{Audience, CommunicationType, ReleaseCommunication};
use greenlight_core::{Event, Policy, Release};
use greenlight_store::{Change, OutboxDraft, OutboxMessage, OutboxStatus, StoreError};
use jiff::{SignedDuration, Timestamp};
use minijinja::Environment;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::state::AppState;
use channels::Outgoing;

/// Outbox topics of communications start with this (`comms.email`).
pub const TOPIC: &str = "comms.";

/// How long a claimed message is hidden from other workers while it is sent.
const LEASE: SignedDuration = SignedDuration::from_secs(120);

/// How often the worker looks for due messages when there were none.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Messages claimed at once.
const BATCH: i64 = 20;

/// The outbox messages the notices of `events` (decided for `before`) owe.
pub fn outbox_for(before: &Release, events: &[Event], policy: &Policy) -> Vec<OutboxDraft> {
    comms::notices(before, events, &policy.communications)
        .into_iter()
        .filter_map(|notice| {
            let payload = serde_json::to_value(&notice).ok()?;
            Some(OutboxDraft {
                id: Uuid::new_v4(),
                topic: format!("{TOPIC}{}", comms::channel_name(notice.channel)),
                release_id: Some(before.record.release_id),
                idempotency_key: notice.key.clone(),
                payload,
                available_at: notice.at,
            })
        })
        .collect()
}

/// Checks at start-up that every template (built in and overridden) compiles.
pub fn check_templates(policy: &Policy) -> Result<(), String> {
    let env = environment();
    for (name, _, _) in comms::TEMPLATES {
        let Some((subject, body)) = comms::template(name, &policy.communications) else {
            continue;
        };
        for (part, source) in [("subject", subject), ("body", body)] {
            env.template_from_str(source)
                .map_err(|e| format!("communications.templates.{name}.{part}: {e}"))?;
        }
    }
    Ok(())
}

/// Delivers due messages until the task is dropped.
pub fn spawn_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            match deliver_due(&state, &http).await {
                Ok(0) => tokio::time::sleep(POLL_EVERY).await,
                Ok(_) => tokio::task::yield_now().await,
                Err(err) => {
                    tracing::warn!(error = %err, "communications: outbox not readable; retrying");
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    })
}

/// Claims and delivers the due messages; how many were claimed.
pub async fn deliver_due(state: &AppState, http: &reqwest::Client) -> Result<usize, StoreError> {
    let now = state.clock.now();
    let messages = state.store.claim_outbox(TOPIC, now, LEASE, BATCH).await?;
    for message in &messages {
        if let Err(err) = deliver(state, http, message).await {
            tracing::warn!(message = %message.id, error = %err, "communications: not settled");
        }
    }
    Ok(messages.len())
}

/// What became of one attempt.
enum Outcome {
    Sent(ReleaseCommunication),
    Skipped(String),
    Failed(String),
    Unsendable(String),
}

async fn deliver(
    state: &AppState,
    http: &reqwest::Client,
    message: &OutboxMessage,
) -> Result<(), StoreError> {
    let now = state.clock.now();
    let outcome = attempt(state, http, message, now).await?;
    let policy = &state.policy.communications;
    match outcome {
        Outcome::Sent(communication) => {
            let change = Change::new(now, "greenlight", "communication.deliver");
            match state
                .store
                .deliver_communication(message.id, &communication, &change)
                .await
            {
                Err(StoreError::Conflict(why)) => {
                    tracing::info!(%why, "communications: already settled")
                }
                other => other?,
            }
            tracing::info!(
                message = %message.id,
                channel = comms::channel_name(communication.communication_type),
                audience = comms::audience_name(communication.audience),
                subject = %communication.subject,
                "communication delivered"
            );
        }
        Outcome::Skipped(why) => {
            let note = format!("not sent: {why}");
            state
                .store
                .settle_outbox(message.id, OutboxStatus::Delivered, Some(&note), None, now)
                .await?;
        }
        Outcome::Failed(why) => {
            let attempts = u32::try_from(message.attempts).unwrap_or(u32::MAX);
            match policy.retry.next_attempt(attempts, now) {
                Some(retry_at) => {
                    tracing::warn!(message = %message.id, attempts, error = %why, %retry_at, "communication failed; will retry");
                    state
                        .store
                        .settle_outbox(
                            message.id,
                            OutboxStatus::Pending,
                            Some(&why),
                            Some(retry_at),
                            now,
                        )
                        .await?;
                }
                None => dead(state, message, &why, now).await?,
            }
        }
        Outcome::Unsendable(why) => dead(state, message, &why, now).await?,
    }
    Ok(())
}

async fn dead(
    state: &AppState,
    message: &OutboxMessage,
    why: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    tracing::error!(message = %message.id, attempts = message.attempts, error = %why, "communication is a dead letter: `greenlight comms retry {}` after fixing the cause", message.id);
    state
        .store
        .settle_outbox(message.id, OutboxStatus::Dead, Some(why), None, now)
        .await
}

async fn attempt(
    state: &AppState,
    http: &reqwest::Client,
    message: &OutboxMessage,
    now: Timestamp,
) -> Result<Outcome, StoreError> {
    let notice: Notice = match serde_json::from_value(message.payload.clone()) {
        Ok(notice) => notice,
        Err(e) => return Ok(Outcome::Unsendable(format!("unreadable message: {e}"))),
    };
    let Some(release_id) = message.release_id else {
        return Ok(Outcome::Unsendable("the message names no release".into()));
    };
    let Some(stored) = state.store.release(release_id).await? else {
        return Ok(Outcome::Unsendable(format!("release {release_id} is gone")));
    };
    let release = &stored.release;
    if !comms::still_due(release, &notice) {
        return Ok(Outcome::Skipped(
            "the release was rescheduled, cancelled or already deployed".into(),
        ));
    }
    let (subject, body) = match render(&state.policy, release, &notice) {
        Ok(parts) => parts,
        Err(e) => return Ok(Outcome::Unsendable(e)),
    };
    let outgoing = Outgoing {
        subject: &subject,
        body: &body,
        message_key: &message.idempotency_key,
        possible_duplicate: message.attempts > 1 && message.last_error.is_none(),
    };
    let audience = AudienceName::from(notice.audience);
    let sent = match notice.channel {
        CommunicationType::Email => {
            let to = recipients(state, audience).await?;
            if to.is_empty() {
                return Ok(Outcome::Skipped(
                    "no email recipients for the audience".into(),
                ));
            }
            state.channels.send_email(&to, &outgoing).await
        }
        CommunicationType::Slack => state.channels.send_chat(http, audience, &outgoing).await,
        CommunicationType::StatusPage | CommunicationType::InApp => Ok(()),
    };
    Ok(match sent {
        Ok(()) => Outcome::Sent(ReleaseCommunication {
            communication_id: Uuid::new_v4(),
            release_id,
            communication_type: notice.channel,
            audience: notice.audience,
            subject,
            message: body,
            sent_at: now,
            sent_by: "greenlight".into(),
            created_at: now,
        }),
        Err(why) => Outcome::Failed(why),
    })
}

/// The email recipients of `audience`: the policy's, then those added through the API.
pub async fn recipients(
    state: &AppState,
    audience: AudienceName,
) -> Result<Vec<String>, StoreError> {
    let mut to = state
        .policy
        .communications
        .recipients
        .get(&audience)
        .cloned()
        .unwrap_or_default();
    for recipient in state.store.recipients().await? {
        if recipient.audience == audience && !to.contains(&recipient.address) {
            to.push(recipient.address);
        }
    }
    Ok(to)
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    env
}

/// Renders the notice's subject and body for `release`.
pub fn render(
    policy: &Policy,
    release: &Release,
    notice: &Notice,
) -> Result<(String, String), String> {
    let (subject, body) = comms::template(&notice.template, &policy.communications)
        .ok_or_else(|| format!("no template `{}`", notice.template))?;
    let context = context(policy, release, notice);
    let env = environment();
    let part = |name: &str, source: &str| {
        env.render_str(source, &context)
            .map_err(|e| format!("template {}.{name}: {e}", notice.template))
    };
    let subject = part("subject", subject)?;
    Ok((
        subject
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        part("body", body)?,
    ))
}

fn context(policy: &Policy, release: &Release, notice: &Notice) -> Value {
    let record = &release.record;
    let deploy_at = notice.deploy_at.unwrap_or(record.planned_date);
    let deploy_local = deploy_at
        .to_zoned(policy.tz().clone())
        .strftime("%A %-d %B %Y, %H:%M %Z")
        .to_string();
    let notes = match notice.audience {
        Audience::Internal | Audience::BetaTesters => record.changelog.clone(),
        Audience::Subscribers | Audience::AllUsers => String::new(),
    };
    let base = policy.communications.public_url.trim_end_matches('/');
    let facts: BTreeMap<&str, &str> = notice
        .facts
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    json!({
        "release": record,
        "title": release.title,
        "branch": release.branch,
        "deploy_local": deploy_local,
        "notes": notes,
        "reason": facts.get("reason").copied().unwrap_or_default(),
        "url": format!("{base}/api/v1/releases/{}", record.version),
    })
}
