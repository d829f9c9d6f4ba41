//! Greenlight's service: the HTTP API over the store, accounts and roles, and metrics.
//!
//! **API boundary:** this crate turns HTTP into core commands and store calls and back. It
//! decides nothing about the release process itself: every rule lives in `greenlight-core`, and
//! every command takes one path ([`api`]'s `execute`: load, check revision, decide, commit).

pub mod api;
pub mod auth;
pub mod clock;
pub mod comms;
mod content;
pub mod flags;
pub mod headers;
pub mod health;
pub mod input;
pub mod limits;
pub mod metrics;
pub mod passwords;
pub mod problem;
pub mod runner;
pub mod state;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use greenlight_core::Policy;
use greenlight_store::{Change, Store, StoreError, TokenRecord, User};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock, TestClock};
use crate::metrics::Metrics;
use crate::state::AppState;

/// Largest request body accepted (a release command is well under 1 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

/// Longest a request may take before it is answered 503 (SQLite busy waits included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds on the connections a server holds, so idle or slow clients cannot exhaust its file
/// descriptors or keep others out for long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once; further ones wait in the kernel's accept queue until
    /// one closes.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, counted from the connection's start
    /// or the end of the previous response: a half-sent request and an idle keep-alive
    /// connection are both closed after it.
    pub header_read_timeout: Duration,
    /// How long a shutdown waits for open connections (streams included) before it drops them.
    pub shutdown_grace: Duration,
    /// How many release streams (Server-Sent Events) may be open, per user and in all.
    pub streams: api::stream::StreamLimits,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            streams: api::stream::StreamLimits::default(),
        }
    }
}

/// How a server starts.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `sqlite://greenlight.db` or `postgres://...`.
    pub database_url: String,
    /// The effective policy.
    pub policy: Policy,
    /// Let tests set the clock (`PUT /api/v1/_test/clock`).
    pub test_clock: bool,
    /// The bootstrap admin token to use on first run instead of a random one.
    pub bootstrap_token: Option<String>,
    /// The bearer token `/metrics` requires; `None` leaves it open (for a loopback scraper).
    pub metrics_token: Option<String>,
    /// Connection limit and timeouts.
    pub limits: ConnectionLimits,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// The bootstrap token is unusable.
    #[error("{0}")]
    Bootstrap(String),
    /// A serve option is out of range.
    #[error("{0}")]
    Config(String),
    /// The policy's `[git] repository` is not a repository the server can read.
    #[error(
        "policy git.repository: {0}; set it to a local clone, or to \"\" to record content with `greenlight release content`"
    )]
    Repository(String),
    /// A communications channel or template is unusable.
    #[error("{0}")]
    Communications(String),
}

/// Builds the application (routes and layers) over `state`.
pub fn app(state: AppState) -> Router {
    let refuse_nul = || axum::middleware::from_fn(input::refuse_nul);
    let timeout =
        || TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT);
    let security =
        || axum::middleware::from_fn_with_state(state.clone(), headers::security_headers);
    api::routes()
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(api::bulk_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(timeout())
        .layer(axum::middleware::from_fn(problem::ensure_problem))
        .layer(TraceLayer::new_for_http())
        .layer(refuse_nul())
        .layer(security())
        // Flag evaluation never reaches the database, so a NUL there is harmless, and its
        // answers are JSON for SDKs: it stays outside every layer (see
        // `api::evaluation_routes`).
        .merge(api::evaluation_routes(state.flags.clone()))
        // The pages get the same time bound as the API, so a client trickling a form body
        // cannot hold a handler (a stream's body is not bounded by it: only its start is).
        .merge(
            comms::public::routes()
                .layer(timeout())
                .layer(refuse_nul())
                .layer(security()),
        )
        .merge(
            ui::routes()
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                .layer(timeout())
                .layer(refuse_nul())
                .layer(security()),
        )
        .with_state(state)
}

/// The state of a server over `store`.
pub fn state(store: Store, policy: Policy, test_clock: bool) -> AppState {
    let (clock, test_clock): (Arc<dyn Clock>, _) = if test_clock {
        let clock = Arc::new(TestClock::default());
        (clock.clone(), Some(clock))
    } else {
        (Arc::new(SystemClock), None)
    };
    AppState {
        store,
        policy: Arc::new(policy),
        clock,
        test_clock,
        metrics: Arc::new(Metrics::default()),
        flags: Arc::default(),
        live: tokio::sync::broadcast::channel(256).0,
        channels: Arc::default(),
        metrics_token: None,
        streams: Arc::default(),
        limits: Arc::default(),
    }
}

/// On first run (no users), creates the `admin` user and returns its token, to be shown once.
pub async fn bootstrap(
    state: &AppState,
    token: Option<String>,
) -> Result<Option<String>, ServeError> {
    if state.store.user_count().await? > 0 {
        return Ok(None);
    }
    let secret = match token {
        Some(t) if t.trim().len() >= 16 => t.trim().to_string(),
        Some(_) => {
            return Err(ServeError::Bootstrap(
                "GREENLIGHT_BOOTSTRAP_TOKEN must be at least 16 characters".into(),
            ));
        }
        None => auth::new_token().map_err(|e| ServeError::Bootstrap(e.to_string()))?,
    };
    let now = state.clock.now();
    let admin = User {
        id: "admin".into(),
        display_name: "Administrator".into(),
        roles: Default::default(),
        is_admin: true,
        disabled: false,
        created_at: now,
    };
    let change = Change::new(now, "greenlight", "user.bootstrap");
    state.store.create_user(&admin, &change).await?;
    let token = TokenRecord {
        id: Uuid::new_v4(),
        user_id: admin.id,
        name: "bootstrap".into(),
        token_hash: auth::token_hash(&secret),
        created_at: now,
        revoked_at: None,
        scope: greenlight_store::TokenScope::Full,
        expires_at: None,
    };
    let change = Change::new(now, "greenlight", "token.bootstrap");
    state.store.create_token(&token, &change).await?;
    Ok(Some(secret))
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    /// The admin token created on first run, to show once.
    pub bootstrap_token: Option<String>,
}

impl Server {
    /// Opens the store (running migrations), bootstraps the admin, and binds the address.
    pub async fn start(config: ServeConfig) -> Result<Server, ServeError> {
        // Webhook steps and Prometheus queries speak TLS through rustls with ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        content::check_repository(&config.policy).map_err(ServeError::Repository)?;
        comms::check_templates(&config.policy).map_err(ServeError::Communications)?;
        let channels = comms::channels::Channels::from_policy(&config.policy.communications)
            .map_err(|e| ServeError::Communications(e.to_string()))?;
        let store = Store::open(&config.database_url).await?;
        let fresh = auth::random_secret("").map_err(|e| ServeError::Bootstrap(e.to_string()))?;
        let login_key = store.server_secret("login_token_key", &fresh).await?;
        ui::login_token::install_key(&login_key);
        let mut state = state(store, config.policy, config.test_clock);
        state.channels = Arc::new(channels);
        state.streams = Arc::new(api::stream::Streams::new(config.limits.streams));
        state.metrics_token = match config.metrics_token.map(|t| t.trim().to_string()) {
            Some(t) if t.len() >= 16 => Some(t.into()),
            Some(_) => {
                return Err(ServeError::Config(
                    "GREENLIGHT_METRICS_TOKEN must be at least 16 characters".into(),
                ));
            }
            None => None,
        };
        let bootstrap_token = bootstrap(&state, config.bootstrap_token).await?;
        runner::interrupt_stale_runs(&state)
            .await
            .map_err(|e| ServeError::Bootstrap(format!("settling interrupted runs: {e}")))?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.bind,
                source,
            })?;
        if config.limits.max_connections == 0 || config.limits.header_read_timeout.is_zero() {
            return Err(ServeError::Config(
                "the connection limit and the header read timeout must be above zero".into(),
            ));
        }
        Ok(Server {
            listener,
            state,
            limits: config.limits,
            bootstrap_token,
        })
    }

    /// The address actually bound (port 0 picks a free one).
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let store = self.state.store.clone();
        let monitor = health::monitor::spawn(self.state.clone());
        let segments = &self.state.policy.feature_flags.segments;
        if let Err(err) = self.state.flags.refresh(&store, segments).await {
            tracing::warn!(error = %err, "flags not loaded at start; retrying every second");
        }
        let flags = flags::spawn_refresher(self.state.clone());
        let comms = comms::spawn_worker(self.state.clone());
        serve_connections(self.listener, app(self.state), self.limits, shutdown).await;
        monitor.abort();
        flags.abort();
        comms.abort();
        store.close().await;
        Ok(())
    }
}

/// Accepts connections while fewer than `limits.max_connections` are open and serves each over
/// HTTP/1.1 with the header-read timeout, until `shutdown` completes; then stops accepting and
/// lets open connections finish for at most `limits.shutdown_grace`.
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // pause briefly rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer's address, for the per-address rate limits (`limits::ClientAddr`).
        let app = app
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let service = TowerToHyperService::new(app);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("connections still open after the shutdown grace period; closing them");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
