//! Authentication: API tokens (`Authorization: Bearer glt_...`), stored only as SHA-256 hashes.

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use greenlight_core::{Action, Actor};
use greenlight_store::{TokenScope, User};
use sha2::{Digest, Sha256};

use crate::problem::ApiError;
use crate::state::AppState;

/// Prefix of Greenlight API tokens, so they are recognisable in secret scanners.
pub const TOKEN_PREFIX: &str = "glt_";

/// A new random API token (shown once; only its hash is stored).
pub fn new_token() -> Result<String, ApiError> {
    random_secret(TOKEN_PREFIX)
}

/// 32 random bytes as hex after `prefix` (which tells a token from a calendar link secret).
pub fn random_secret(prefix: &str) -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("no randomness for a secret: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// The stored hash of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The user.
    pub user: User,
    /// The user as the core's actor (ID and roles).
    pub actor: Actor,
    /// What the token may be used for (checked by the extractor, before any handler runs).
    pub scope: TokenScope,
}

impl Auth {
    /// The caller as an actor for `user`, with a full-scope token.
    pub fn of(user: User) -> Self {
        Auth {
            actor: Actor::user(user.id.clone(), user.roles.iter().copied()),
            user,
            scope: TokenScope::Full,
        }
    }

    /// Refuses (403, rule `permission`) unless the caller may read what `action` governs: a
    /// role the permission table lists, or an administrator for [`greenlight_core::roles::ADMIN_READS`].
    pub fn require_read(&self, action: Action) -> Result<(), ApiError> {
        if self.actor.may_read(action, self.user.is_admin) {
            return Ok(());
        }
        Err(self.actor.require(action).err().map_or_else(
            || ApiError::Forbidden(format!("{} may not {}", self.user.id, action.as_str())),
            ApiError::from,
        ))
    }

    /// Refuses unless the caller is an administrator.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.is_admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{} is not an administrator: managing users and tokens needs an admin token",
                self.user.id
            )))
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "no credentials: send `Authorization: Bearer <token>` (greenlight token create)"
                        .into(),
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header is not `Bearer <token>`".into())
            })?;
        let addr = crate::limits::ClientAddr::of(parts);
        state.limits.check_failed_tokens(addr)?;
        let Some((user, record)) = state.store.token_by_hash(&token_hash(token)).await? else {
            state.limits.failed_token(addr);
            return Err(ApiError::Unauthorized(
                "the token is unknown or revoked, or its user is disabled".into(),
            ));
        };
        if record.expires_at.is_some_and(|at| at <= state.clock.now()) {
            state.limits.failed_token(addr);
            return Err(ApiError::Unauthorized(
                "the token has expired: create a new one (greenlight token create)".into(),
            ));
        }
        state.limits.token_use(addr, &user.id)?;
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| parts.uri.path().to_string());
        if !scope_allows(record.scope, &parts.method, &route) {
            return Err(ApiError::Forbidden(format!(
                "this token's scope is `{}`: it may not {} {route}",
                record.scope.as_str(),
                parts.method
            )));
        }
        let mut auth = Auth::of(user);
        auth.scope = record.scope;
        Ok(auth)
    }
}

/// Whether a token of `scope` may call `method` on `route` (the route's template, as axum
/// matched it). The one place scopes are checked: a scope only narrows, the permission table
/// still decides what the token's user may do.
pub fn scope_allows(scope: TokenScope, method: &Method, route: &str) -> bool {
    let read = *method == Method::GET || *method == Method::HEAD;
    match scope {
        TokenScope::Full => true,
        TokenScope::Read => read,
        TokenScope::Ingest => {
            (*method == Method::POST
                && matches!(route, "/api/v1/metrics" | "/api/v1/releases/{key}/evidence"))
                || (read && route == "/api/v1/me")
        }
        TokenScope::Flags => {
            read && matches!(
                route,
                "/api/v1/flags" | "/api/v1/flags/{key}" | "/api/v1/me"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_only_narrow() {
        let get = Method::GET;
        let post = Method::POST;
        assert!(scope_allows(TokenScope::Full, &post, "/api/v1/releases"));
        assert!(scope_allows(TokenScope::Read, &get, "/api/v1/audit"));
        assert!(!scope_allows(TokenScope::Read, &post, "/api/v1/releases"));
        assert!(scope_allows(TokenScope::Ingest, &post, "/api/v1/metrics"));
        assert!(!scope_allows(TokenScope::Ingest, &get, "/api/v1/releases"));
        assert!(!scope_allows(
            TokenScope::Ingest,
            &post,
            "/api/v1/releases/{key}/rollback"
        ));
        assert!(scope_allows(TokenScope::Flags, &get, "/api/v1/flags/{key}"));
        assert!(!scope_allows(
            TokenScope::Flags,
            &post,
            "/api/v1/flags/{key}/kill"
        ));
    }

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), token_hash(&format!(" {a} ")));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
