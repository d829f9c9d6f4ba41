//! Rate limits, answered with 429, `Retry-After` and a problem document (rule `rate_limit`).
//!
//! - **Sign-in** (the dashboard form, by password or token): at most
//!   [`SIGN_IN_PER_ADDRESS`] attempts a minute from one client address and
//!   [`SIGN_IN_PER_NAME`] for one user name, counted in the database
//!   ([`greenlight_store::Store::count_request`]), so every instance on it counts together.
//!   The sign-in brake (5 failures in 15 minutes per name) comes on top.
//! - **Token use** (every API request with a bearer token): at most
//!   [`FAILED_TOKENS_PER_ADDRESS`] unknown, revoked or expired tokens a minute from one
//!   address, and [`TOKEN_USES_PER_USER`] requests a minute per user and
//!   [`TOKEN_USES_PER_ADDRESS`] per address. These are counted in memory, **per instance**
//!   (a database write per API request would cost more than it protects): with N instances
//!   the bound is N times the figure.
//!
//! The client address is the TCP peer's; `X-Forwarded-For` is not trusted (behind a proxy,
//! every client shares the proxy's address and its limits).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};

use crate::problem::ApiError;
use crate::state::AppState;

/// Length of a rate-limit window, seconds.
pub const WINDOW_SECONDS: i64 = 60;
/// Sign-in attempts a minute from one address (all instances together).
pub const SIGN_IN_PER_ADDRESS: i64 = 100;
/// Sign-in attempts a minute for one user name (all instances together).
pub const SIGN_IN_PER_NAME: i64 = 30;
/// Failed token authentications a minute from one address (per instance).
pub const FAILED_TOKENS_PER_ADDRESS: u32 = 20;
/// Authenticated API requests a minute per user (per instance).
pub const TOKEN_USES_PER_USER: u32 = 30_000;
/// Authenticated API requests a minute per address (per instance).
pub const TOKEN_USES_PER_ADDRESS: u32 = 60_000;
/// Most keys an instance tracks; past it, finished windows are swept.
const MAX_KEYS: usize = 100_000;

/// The client's address (the TCP peer), when the server was started with connection info.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address of the request `parts` belong to.
    pub fn of(parts: &Parts) -> Self {
        ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        )
    }

    /// The address as a bucket key part (`unknown` without one).
    pub fn key(self) -> String {
        self.0
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr::of(parts))
    }
}

/// The start of the window holding `now`, and the seconds until it ends.
fn window(now: Timestamp) -> (Timestamp, u64) {
    let second = now.as_second();
    let start = second - second.rem_euclid(WINDOW_SECONDS);
    let left = (start + WINDOW_SECONDS - second).max(1);
    (
        Timestamp::from_second(start).unwrap_or(now),
        u64::try_from(left).unwrap_or(1),
    )
}

fn too_many(what: &str, retry_after: u64) -> ApiError {
    ApiError::TooManyRequests {
        detail: format!("rate limit: too many {what}; retry after {retry_after} s"),
        retry_after,
    }
}

/// Counts a sign-in attempt from `addr` (and for `name`, for a password) in the database;
/// refuses with 429 past the limits.
pub async fn sign_in(
    state: &AppState,
    addr: ClientAddr,
    name: Option<&str>,
) -> Result<(), ApiError> {
    let now = Timestamp::now();
    let (start, left) = window(now);
    let forget = start
        .checked_sub(SignedDuration::from_secs(WINDOW_SECONDS))
        .unwrap_or(start);
    let by_addr = format!("sign_in:addr:{}", addr.key());
    if state.store.count_request(&by_addr, start, forget).await? > SIGN_IN_PER_ADDRESS {
        return Err(too_many("sign-in attempts from this address", left));
    }
    if let Some(name) = name {
        let by_name = format!("sign_in:name:{name}");
        if state.store.count_request(&by_name, start, forget).await? > SIGN_IN_PER_NAME {
            return Err(too_many("sign-in attempts for this user", left));
        }
    }
    Ok(())
}

/// In-memory fixed-window counters of one instance.
#[derive(Debug, Default)]
pub struct Local {
    counts: Mutex<HashMap<String, (i64, u32)>>,
}

impl Local {
    /// Counts one hit for `key` (when `count`) and refuses when the window already holds
    /// `limit`; the seconds to wait.
    fn hit(&self, key: &str, limit: u32, count: bool) -> Result<(), u64> {
        let now = Timestamp::now();
        let (start, left) = window(now);
        let start = start.as_second();
        let Ok(mut counts) = self.counts.lock() else {
            return Ok(());
        };
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, (window, _)| *window == start);
        }
        let entry = counts.entry(key.to_string()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= limit {
            return Err(left);
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }

    /// Refuses an address that sent too many bad tokens this window.
    pub fn check_failed_tokens(&self, addr: ClientAddr) -> Result<(), ApiError> {
        self.hit(
            &format!("bad:{}", addr.key()),
            FAILED_TOKENS_PER_ADDRESS,
            false,
        )
        .map_err(|left| too_many("unknown, revoked or expired tokens from this address", left))
    }

    /// Counts a bad token from `addr`.
    pub fn failed_token(&self, addr: ClientAddr) {
        let _ = self.hit(&format!("bad:{}", addr.key()), u32::MAX, true);
    }

    /// Counts an authenticated request of `user` from `addr`; refuses past the limits.
    pub fn token_use(&self, addr: ClientAddr, user: &str) -> Result<(), ApiError> {
        self.hit(
            &format!("addr:{}", addr.key()),
            TOKEN_USES_PER_ADDRESS,
            true,
        )
        .map_err(|left| too_many("requests from this address", left))?;
        self.hit(&format!("user:{user}"), TOKEN_USES_PER_USER, true)
            .map_err(|left| too_many("requests with this user's tokens", left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tokens_are_limited_per_address() {
        let local = Local::default();
        let addr = ClientAddr(Some(IpAddr::from([192, 0, 2, 1])));
        let other = ClientAddr(Some(IpAddr::from([192, 0, 2, 2])));
        for _ in 0..FAILED_TOKENS_PER_ADDRESS {
            assert!(local.check_failed_tokens(addr).is_ok());
            local.failed_token(addr);
        }
        let refused = local.check_failed_tokens(addr).unwrap_err();
        assert!(
            matches!(refused, ApiError::TooManyRequests { retry_after, .. } if (1..=60).contains(&retry_after))
        );
        assert!(local.check_failed_tokens(other).is_ok(), "per address");
    }

    #[test]
    fn windows_are_whole_minutes() {
        let (start, left) = window("2026-12-01T18:00:45Z".parse().unwrap());
        assert_eq!(start, "2026-12-01T18:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(left, 15);
    }
}
