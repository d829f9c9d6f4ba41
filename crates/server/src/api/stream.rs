//! Live progress of a release as Server-Sent Events: its events (`deployment_started`, ...) as
//! they are stored, each runbook step as it starts (`step_started`) and as it ends (`step`). The
//! CLI follows deployments with it; a browser's `EventSource` can too.
//!
//! Events and finished steps are read from the store, so a stream served by one instance shows
//! runs driven by another. `step_started` is live-only: it comes from the instance running the
//! step.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use greenlight_store::EventFilter;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Path, Query, load};
use crate::auth::Auth;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use greenlight_core::Action;

/// How often the store is read for new events and steps.
const POLL: Duration = Duration::from_millis(200);

/// A runbook step that has just started (sent to streams of its release).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepStarted {
    /// The release.
    pub release_id: Uuid,
    /// staging, production, rollback or database_rollback.
    pub run_kind: String,
    /// When the run started (tells runs of one release apart).
    pub run_started_at: Timestamp,
    /// The step's name.
    pub step: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// When the attempt started.
    pub started_at: Timestamp,
    /// Its timeout, seconds.
    pub timeout_seconds: u64,
}

/// Where a stream starts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Send only events after this sequence number (also taken from `Last-Event-ID`); without
    /// it, the release's whole history comes first.
    pub after: Option<i64>,
}

/// Follows a release: `event` (a stored event, `id` = its sequence number), `step_started`,
/// `step` (a finished step attempt) and `error` messages, until the client hangs up.
#[utoipa::path(get, path = "/api/v1/releases/{key}/stream", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"), StreamQuery),
    responses((status = 403, body = Problem), (status = 200, content_type = "text/event-stream", body = String,
        description = "Server-Sent Events: event, step_started, step, error"),
        (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    auth.require_read(Action::AccessDeploymentLogs)?;
    follow(&state, &key, query.after, &headers).await
}

/// The stream of release `key` after event `after` (or `Last-Event-ID`); the API and the
/// dashboard (signed in by session) both serve it.
pub(crate) async fn follow(
    state: &AppState,
    key: &str,
    after: Option<i64>,
    headers: &HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>>> {
    let stored = load(state, key).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let follower = Follower {
        live: state.live.subscribe(),
        state: state.clone(),
        release_id: stored.release.record.release_id,
        after_seq: after.or(last_event_id).unwrap_or(0),
        steps_sent: 0,
        ready: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        let message = follower.next().await;
        Some((Ok(message), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One client's place in a release's stream.
struct Follower {
    state: AppState,
    live: broadcast::Receiver<StepStarted>,
    release_id: Uuid,
    after_seq: i64,
    steps_sent: usize,
    ready: VecDeque<SseEvent>,
}

impl Follower {
    /// The next message, waiting for one as long as it takes.
    async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(message) = self.ready.pop_front() {
                return message;
            }
            self.read_store().await;
            if !self.ready.is_empty() {
                continue;
            }
            tokio::select! {
                started = self.live.recv() => self.take_live(started),
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    fn take_live(&mut self, started: Result<StepStarted, broadcast::error::RecvError>) {
        let Ok(started) = started else { return };
        if started.release_id == self.release_id {
            self.ready.push_back(json_message("step_started", &started));
        }
    }

    /// Queues what the store holds that this client has not seen. Events are read before
    /// steps but queued after them: a run records its steps before the event that ends it, so
    /// a client never sees a run end before its last step.
    async fn read_store(&mut self) {
        let filter = EventFilter {
            release_id: Some(self.release_id),
            after_seq: Some(self.after_seq),
            limit: Some(500),
            ..EventFilter::default()
        };
        let events = match self.state.store.events(&filter).await {
            Ok(events) => events,
            Err(err) => return self.failed(err.to_string()).await,
        };
        let steps = match self.state.store.steps(self.release_id).await {
            Ok(steps) => steps,
            Err(err) => return self.failed(err.to_string()).await,
        };
        for step in steps.iter().skip(self.steps_sent) {
            self.ready.push_back(json_message("step", step));
        }
        self.steps_sent = self.steps_sent.max(steps.len());
        for event in events {
            self.after_seq = event.seq;
            let message = json_message("event", &event).id(event.seq.to_string());
            self.ready.push_back(message);
        }
    }

    /// Tells the client the store could not be read, after a pause so a broken database does
    /// not turn into a busy loop.
    async fn failed(&mut self, detail: String) {
        tracing::warn!(error = %detail, "release stream could not read the store");
        tokio::time::sleep(POLL).await;
        let detail = serde_json::json!({ "detail": detail });
        self.ready.push_back(json_message("error", &detail));
    }
}

fn json_message<T: Serialize>(name: &str, value: &T) -> SseEvent {
    let data = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    SseEvent::default().event(name).data(data)
}
