//! Sign-in with a user and password (argon2id, see [`crate::passwords`]) or with an API
//! token: the sign-in form offers both and posts here. Either way the browser gets the same
//! session cookie.
//!
//! A failure says only "unknown user or wrong password": an unknown user, a user without a
//! password, a disabled user and a wrong password get the same answer after the same work (a
//! dummy hash is verified when there is no real one). The sign-in brake of
//! [`greenlight_core::password::Brake`] refuses password sign-in for a user name after
//! repeated failures, saying when to retry; the attempts are kept in the store, so every
//! instance on one database counts them together. Each attempt is counted before its password
//! is checked, atomically with the count ([`greenlight_store::Store::claim_sign_in_attempt`]),
//! so parallel guesses get at most the brake's number of argon2 checks; a success forgets them.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use greenlight_core::password::{Brake, MAX_BYTES};
use greenlight_store::{Change, SignInClaim, TokenScope, User};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;

use super::{COOKIE, LOGIN_COOKIE, SESSION_HOURS, cookie, login_form, page, set_cookie};
use crate::auth::{new_token, token_hash};
use crate::limits::ClientAddr;
use crate::problem::ApiError;
use crate::state::AppState;

/// The one answer to every failed password sign-in.
pub(super) const FAILED: &str = "Unknown user or wrong password.";

/// Longest user name worth looking up (user IDs have at most 64 characters); longer input is
/// cut there, so the brake's bookkeeping stays small whatever is typed.
const NAME_CHARS: usize = 64;

/// The sign-in form: a user and password, or an API token, and the form's login token.
#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    login_csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

/// `POST /ui/login`: signs in with whichever of password or token the form carries, when the
/// form was served to this browser.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let secure = super::secure(&state);
    let served = cookie(&headers, LOGIN_COOKIE, secure);
    if !super::login_token::verify(&form.login_csrf, served.as_deref(), Timestamp::now()) {
        return login_form(
            secure,
            StatusCode::FORBIDDEN,
            json!({ "error": "Refused by login_csrf: this sign-in form was not served to this browser, or it is over an hour old. Sign in with the form on this page." }),
        );
    }
    let has_token = !form.token.trim().is_empty();
    let has_password = !form.password.is_empty();
    // Rate limits (per address, and per name for a password), counted in the database.
    let name = has_password.then(|| sign_in_name(&form.user));
    if let Err(err) = crate::limits::sign_in(&state, addr, name.as_deref()).await {
        let retry = match &err {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        let Some(retry) = retry else {
            return err.into_response();
        };
        let mut response = again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Refused by the rate limit: too many sign-in attempts. Try again in {retry} seconds."
            ),
            form.user.trim(),
            &form.login_csrf,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(retry));
        return response;
    }
    let refused = |status, why| again(status, why, form.user.trim(), &form.login_csrf);
    match (has_password, has_token) {
        (false, true) => with_token(&state, &form.token, &form.login_csrf).await,
        (true, false) => with_password(&state, &form.user, form.password, &form.login_csrf).await,
        (true, true) => refused(
            StatusCode::BAD_REQUEST,
            "Give either your password or an API token, not both.",
        ),
        (false, false) => refused(
            StatusCode::BAD_REQUEST,
            "Give your user and password, or an API token.",
        ),
    }
}

/// The sign-in form again after a refusal: why, the user name typed, and the same login token
/// (the form was served to this browser).
fn again(status: StatusCode, why: &str, user_name: &str, login_csrf: &str) -> Response {
    page(
        status,
        "login.html",
        json!({ "error": why, "user_name": user_name, "login_csrf": login_csrf }),
    )
}

/// Token sign-in: the token's user, unless the token is unknown, revoked or its user disabled.
async fn with_token(state: &AppState, token: &str, login_csrf: &str) -> Response {
    match state.store.token_by_hash(&token_hash(token)).await {
        Ok(Some((user, token)))
            if token.scope == TokenScope::Full
                && token.expires_at.is_none_or(|at| at > state.clock.now()) =>
        {
            start_session(state, &user, Some(token.id)).await
        }
        Ok(Some(_)) => again(
            StatusCode::UNAUTHORIZED,
            "That token is scoped or expired: sign in with a full token or your password.",
            "",
            login_csrf,
        ),
        Ok(None) => again(
            StatusCode::UNAUTHORIZED,
            "That token is unknown, revoked or its user disabled.",
            "",
            login_csrf,
        ),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The user name as the brake and the rate limits count it: trimmed, lower case, cut at
/// [`NAME_CHARS`].
fn sign_in_name(user: &str) -> String {
    user.trim()
        .to_ascii_lowercase()
        .chars()
        .take(NAME_CHARS)
        .collect()
}

/// Password sign-in for `user`: the brake first, then the hash, then the session.
async fn with_password(
    state: &AppState,
    user: &str,
    password: String,
    login_csrf: &str,
) -> Response {
    let name = sign_in_name(user);
    let answer = |status, why| again(status, why, &name, login_csrf);
    if name.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            "Give your user name with the password.",
        );
    }
    let now = state.clock.now();
    let brake = Brake::default();
    // The attempt is counted before the password is checked, in one step with the count, so
    // parallel guesses cannot slip past the brake while earlier ones are being hashed.
    let claim = state
        .store
        .claim_sign_in_attempt(&name, now, brake.since(now), brake.max_failures)
        .await;
    match claim {
        Ok(SignInClaim::Counted) => {}
        Ok(SignInClaim::Braked(failures)) => {
            let retry = brake
                .retry_at(&failures, now)
                .unwrap_or_else(|| now.checked_add(brake.window).unwrap_or(now));
            let why = format!(
                "Refused by the sign-in brake: {} failed password sign-ins for {name} within {} minutes. Try again after {}, or sign in with an API token.",
                brake.max_failures,
                brake.window.as_mins(),
                super::local(state, retry),
            );
            let wait = retry.duration_since(now).as_secs_f64().ceil().max(1.0) as u64;
            let mut response = answer(StatusCode::TOO_MANY_REQUESTS, &why);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
            return response;
        }
        Err(err) => return ApiError::from(err).into_response(),
    }
    let found = match state.store.password_for_sign_in(&name).await {
        Ok(found) => found,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let (user, phc) = found.unzip();
    // An over-long password cannot be one we stored; refusing it unhashed bounds the work an
    // anonymous request can cause.
    let matches = if password.len() > MAX_BYTES {
        false
    } else {
        match crate::passwords::verify(password, phc).await {
            Ok(matches) => matches,
            Err(err) => return err.into_response(),
        }
    };
    let Some(user) = user.filter(|_| matches) else {
        tracing::warn!(user = ?name, "password sign-in failed");
        return answer(StatusCode::UNAUTHORIZED, FAILED);
    };
    // Success forgets the name's counted attempts, this one included.
    if let Err(err) = state.store.clear_sign_in_failures(&name).await {
        return ApiError::from(err).into_response();
    }
    start_session(state, &user, None).await
}

/// Opens a dashboard session for `user` (audited as `session.create`) and answers with its
/// cookie and a redirect to the releases; `token_id` is the API token signed in with, whose
/// revocation ends the session.
async fn start_session(state: &AppState, user: &User, token_id: Option<uuid::Uuid>) -> Response {
    let (Ok(secret), Ok(csrf)) = (new_token(), new_token()) else {
        return ApiError::Internal("no randomness for a session".into()).into_response();
    };
    let now = state.clock.now();
    let expires = now
        .checked_add(SignedDuration::from_hours(SESSION_HOURS))
        .unwrap_or(now);
    let change = Change::new(now, user.id.clone(), "session.create");
    if let Err(err) = state
        .store
        .create_session(
            &token_hash(&secret),
            &user.id,
            token_id,
            &csrf,
            expires,
            &change,
        )
        .await
    {
        return ApiError::from(err).into_response();
    }
    let secure = super::secure(state);
    let cookie = set_cookie(COOKIE, &secret, SESSION_HOURS * 3600, secure);
    let used = set_cookie(LOGIN_COOKIE, "", 0, secure);
    (
        AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, used)]),
        Redirect::to("/ui/home"),
    )
        .into_response()
}
