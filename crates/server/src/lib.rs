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
pub mod health;
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
    api::routes()
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(api::bulk_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .merge(api::evaluation_routes(state.flags.clone()))
        .merge(comms::public::routes())
        .merge(ui::routes().layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
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
        Ok(Server {
            listener,
            state,
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
        let app = app(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        monitor.abort();
        flags.abort();
        comms.abort();
        store.close().await;
        Ok(())
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
