//! Live progress of a release as Server-Sent Events: its events (`deployment_started`, ...) as
//! they are stored, each runbook step as it starts (`step_started`) and as it ends (`step`). The
//! CLI follows deployments with it; a browser's `EventSource` can too.
//!
//! Events and finished steps are read from the store, so a stream served by one instance shows
//! runs driven by another: one poll per followed release, shared by all its streams (each
//! stream reads its own backlog once, when it starts, or after falling behind). `step_started` is live-only: it comes from the instance running the
//! step.

// utoipa's `params(SomeQuery)` expands to a path the lint calls redundant.
#![allow(unused_qualifications)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use greenlight_store::{EventFilter, StoredEvent};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Path, Query, load};
use crate::auth::Auth;
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use greenlight_core::Action;

/// How often the store is read for new events and steps.
const POLL: Duration = Duration::from_millis(200);

/// How often an idle stream writes a comment. A stream whose client left is only noticed when
/// a write fails, and until then it holds its place in the per-user limit: a page left for
/// another (each opens its own stream) must give its place back within seconds, not axum's
/// default 15.
const KEEP_ALIVE: Duration = Duration::from_secs(2);

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
/// `step` (a finished step attempt) and `error` messages, until the client hangs up. A user may
/// hold a few streams at once (429 beyond), and the server a bounded number (503 beyond).
#[utoipa::path(get, path = "/api/v1/releases/{key}/stream", tag = "releases",
    params(("key" = String, Path, description = "Release ID or version", example = "1.4.0"), StreamQuery),
    responses((status = 403, body = Problem), (status = 200, content_type = "text/event-stream", body = String,
        description = "Server-Sent Events: event, step_started, step, error"),
        (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    auth.require_read(Action::AccessDeploymentLogs)?;
    follow(&state, &auth.actor.id, &key, query.after, &headers).await
}

/// How many release streams may be open: per user and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams open at once on this instance.
    pub max_streams: usize,
    /// Streams one user may hold open at once.
    pub max_streams_per_user: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_streams: 256,
            max_streams_per_user: 8,
        }
    }
}

/// The open streams of this instance: their limits, and one store poll per followed release
/// shared by every stream of that release.
pub struct Streams {
    limits: StreamLimits,
    open: Arc<Semaphore>,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    feeds: tokio::sync::Mutex<HashMap<Uuid, broadcast::Sender<Arc<Update>>>>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams::new(StreamLimits::default())
    }
}

impl Streams {
    /// Streams bounded by `limits`.
    pub fn new(limits: StreamLimits) -> Self {
        Streams {
            limits,
            open: Arc::new(Semaphore::new(limits.max_streams)),
            per_user: Arc::default(),
            feeds: tokio::sync::Mutex::default(),
        }
    }

    /// A place for one more stream of `user`, or the limit it would break.
    fn admit(&self, user: &str) -> ApiResult<StreamPermit> {
        let mut per_user = self
            .per_user
            .lock()
            .map_err(|_| ApiError::Internal("stream bookkeeping failed".into()))?;
        let held = per_user.get(user).copied().unwrap_or(0);
        if held >= self.limits.max_streams_per_user {
            return Err(ApiError::TooManyStreams(format!(
                "{user} already follows {held} release streams, the most one user may hold open; close one first"
            )));
        }
        let Ok(permit) = self.open.clone().try_acquire_owned() else {
            return Err(ApiError::Unavailable(format!(
                "this server already serves {} release streams, its limit; try again shortly",
                self.limits.max_streams
            )));
        };
        per_user.insert(user.to_string(), held + 1);
        Ok(StreamPermit {
            _open: permit,
            user: user.to_string(),
            per_user: self.per_user.clone(),
        })
    }

    /// Subscribes to the shared poll of `release_id`, starting it if no stream follows the
    /// release yet. The poll starts from what the store holds now, so a subscriber that reads
    /// its own backlog after subscribing misses nothing.
    async fn subscribe(
        &self,
        state: &AppState,
        release_id: Uuid,
    ) -> ApiResult<broadcast::Receiver<Arc<Update>>> {
        let mut feeds = self.feeds.lock().await;
        if let Some(feed) = feeds.get(&release_id) {
            return Ok(feed.subscribe());
        }
        let after_seq = state.store.last_event_seq(release_id).await?;
        let steps_seen = state.store.steps(release_id).await?.len();
        let (sender, receiver) = broadcast::channel(FEED_CAPACITY);
        feeds.insert(release_id, sender.clone());
        tokio::spawn(poll_release(
            state.clone(),
            release_id,
            sender,
            after_seq,
            steps_seen,
        ));
        Ok(receiver)
    }
}

/// Events read from the store at once.
const PAGE: i64 = 500;

/// Updates a feed keeps for slow subscribers before they lag (and read the store themselves).
const FEED_CAPACITY: usize = 64;

/// One stream's place in the limits, given back when the stream ends.
struct StreamPermit {
    _open: OwnedSemaphorePermit,
    user: String,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        if let Ok(mut per_user) = self.per_user.lock() {
            match per_user.get(&self.user).copied() {
                Some(held) if held > 1 => {
                    per_user.insert(self.user.clone(), held - 1);
                }
                _ => {
                    per_user.remove(&self.user);
                }
            }
        }
    }
}

/// What one poll of a release found: its new steps (numbered from `steps_from`) and events,
/// or why the store could not be read.
#[derive(Debug, Default)]
struct Update {
    steps_from: usize,
    steps: Vec<greenlight_store::StepRecord>,
    events: Vec<greenlight_store::StoredEvent>,
    error: Option<String>,
}

/// The shared poll of one release: reads the store every [`POLL`] while any stream follows
/// the release, and ends (leaving the map) when none does.
async fn poll_release(
    state: AppState,
    release_id: Uuid,
    sender: broadcast::Sender<Arc<Update>>,
    mut after_seq: i64,
    mut steps_seen: usize,
) {
    loop {
        tokio::time::sleep(POLL).await;
        {
            let mut feeds = state.streams.feeds.lock().await;
            if sender.receiver_count() == 0 {
                feeds.remove(&release_id);
                return;
            }
        }
        state.metrics.count_stream_poll();
        let mut update = Update {
            steps_from: steps_seen,
            ..Update::default()
        };
        let filter = EventFilter {
            release_id: Some(release_id),
            after_seq: Some(after_seq),
            limit: Some(PAGE),
            ..EventFilter::default()
        };
        match state.store.events(&filter).await {
            Ok(events) => update.events = events,
            Err(err) => update.error = Some(err.to_string()),
        }
        if update.error.is_none() {
            match state.store.steps(release_id).await {
                Ok(steps) => update.steps = steps.into_iter().skip(steps_seen).collect(),
                Err(err) => update.error = Some(err.to_string()),
            }
        }
        if update.error.is_none() && update.events.is_empty() && update.steps.is_empty() {
            continue;
        }
        if let Some(last) = update.events.last() {
            after_seq = last.seq;
        }
        steps_seen += update.steps.len();
        if let Some(error) = &update.error {
            tracing::warn!(%error, "release stream could not read the store");
        }
        let _ = sender.send(Arc::new(update));
    }
}

/// The stream of release `key` for `user` after event `after` (or `Last-Event-ID`); the API
/// and the dashboard (signed in by session) both serve it.
pub(crate) async fn follow(
    state: &AppState,
    user: &str,
    key: &str,
    after: Option<i64>,
    headers: &HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>>> {
    let stored = load(state, key).await?;
    let permit = state.streams.admit(user)?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let release_id = stored.release.record.release_id;
    // Subscribe first, then read the backlog: whatever the shared poll has not sent yet is
    // either in the backlog or sent after subscribing (duplicates are skipped by position).
    let live = state.live.subscribe();
    let feed = state.streams.subscribe(state, release_id).await?;
    let mut follower = Follower {
        _permit: permit,
        live,
        feed,
        state: state.clone(),
        release_id,
        after_seq: after.or(last_event_id).unwrap_or(0),
        steps_sent: 0,
        ready: VecDeque::new(),
    };
    follower.read_store().await;
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        let message = follower.next().await;
        Some((Ok(message), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One client's place in a release's stream.
struct Follower {
    _permit: StreamPermit,
    state: AppState,
    live: broadcast::Receiver<StepStarted>,
    feed: broadcast::Receiver<Arc<Update>>,
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
            tokio::select! {
                started = self.live.recv() => self.take_live(started),
                update = self.feed.recv() => match update {
                    Ok(update) => self.take_update(&update),
                    // Too slow for the shared poll: catch up from the store.
                    Err(broadcast::error::RecvError::Lagged(_)) => self.read_store().await,
                    Err(broadcast::error::RecvError::Closed) => {
                        // The poll ended (no stream followed a moment ago): join a new one.
                        match self.state.streams.subscribe(&self.state, self.release_id).await {
                            Ok(feed) => self.feed = feed,
                            Err(err) => self.failed(err.to_string()).await,
                        }
                        self.read_store().await;
                    }
                },
            }
        }
    }

    fn take_live(&mut self, started: Result<StepStarted, broadcast::error::RecvError>) {
        let Ok(started) = started else { return };
        if started.release_id == self.release_id {
            self.ready.push_back(json_message("step_started", &started));
        }
    }

    /// Queues what a shared poll found that this client has not seen.
    fn take_update(&mut self, update: &Update) {
        if let Some(error) = &update.error {
            let detail = serde_json::json!({ "detail": error });
            self.ready.push_back(json_message("error", &detail));
            return;
        }
        self.queue(update.steps_from, &update.steps, &update.events);
    }

    /// Queues steps numbered from `steps_from` and events this client has not seen. Steps
    /// come before events: a run records its steps before the event that ends it, so a client
    /// never sees a run end before its last step.
    fn queue(
        &mut self,
        steps_from: usize,
        steps: &[greenlight_store::StepRecord],
        events: &[greenlight_store::StoredEvent],
    ) {
        for (i, step) in steps.iter().enumerate() {
            if steps_from + i >= self.steps_sent {
                self.ready.push_back(json_message("step", step));
                self.steps_sent = steps_from + i + 1;
            }
        }
        for event in events {
            if event.seq <= self.after_seq {
                continue;
            }
            self.after_seq = event.seq;
            let message = json_message("event", event).id(event.seq.to_string());
            self.ready.push_back(message);
        }
    }

    /// Queues what the store holds that this client has not seen (its backlog, or a catch-up
    /// after lagging). Events are read before steps.
    async fn read_store(&mut self) {
        let mut events = Vec::new();
        loop {
            let filter = EventFilter {
                release_id: Some(self.release_id),
                after_seq: Some(
                    events
                        .last()
                        .map_or(self.after_seq, |e: &StoredEvent| e.seq),
                ),
                limit: Some(PAGE),
                ..EventFilter::default()
            };
            match self.state.store.events(&filter).await {
                Ok(page) => {
                    let full = page.len() >= PAGE as usize;
                    events.extend(page);
                    if !full {
                        break;
                    }
                }
                Err(err) => return self.failed(err.to_string()).await,
            }
        }
        let steps = match self.state.store.steps(self.release_id).await {
            Ok(steps) => steps,
            Err(err) => return self.failed(err.to_string()).await,
        };
        self.queue(0, &steps, &events);
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
