//! What every handler shares.

use std::sync::Arc;

use greenlight_core::Policy;
use greenlight_store::Store;

use crate::clock::{Clock, TestClock};
use crate::metrics::Metrics;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// The effective policy.
    pub policy: Arc<Policy>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The settable clock when the server runs with `--test-clock`.
    pub test_clock: Option<Arc<TestClock>>,
    /// Greenlight's own metrics.
    pub metrics: Arc<Metrics>,
    /// Feature flags: the snapshot evaluation serves and its counters.
    pub flags: Arc<crate::flags::Flags>,
    /// Runbook steps as they start, for the release streams of this instance.
    pub live: tokio::sync::broadcast::Sender<crate::api::stream::StepStarted>,
    /// Outbound communication channels (SMTP, chat webhooks), secrets resolved at start.
    pub channels: Arc<crate::comms::channels::Channels>,
    /// Open release streams: their limits and the shared poll per release.
    pub streams: Arc<crate::api::stream::Streams>,
    /// The bearer token `/metrics` requires (`GREENLIGHT_METRICS_TOKEN`); open when `None`.
    pub metrics_token: Option<Arc<str>>,
    /// This instance's in-memory rate-limit counters (token use; see [`crate::limits`]).
    pub limits: Arc<crate::limits::Local>,
}
