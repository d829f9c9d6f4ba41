//! Accounts (users with the spec's roles, API tokens) and environments.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use greenlight_core::Role;
use greenlight_core::release::Environment;
use greenlight_store::{Change, HistoryEntry, TokenRecord, TokenScope, User};
use semver::Version;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Body, Path};
use crate::auth::{Auth, new_token, token_hash};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// What is live where: each environment's deployment history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentsView {
    /// Staging's history.
    pub staging: Vec<HistoryEntry>,
    /// Production's history.
    pub production: Vec<HistoryEntry>,
}

/// Each environment's deployment history.
#[utoipa::path(get, path = "/api/v1/environments", tag = "accounts",
    responses((status = 200, body = EnvironmentsView), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn environments(
    State(state): State<AppState>,
    _auth: Auth,
) -> ApiResult<Json<EnvironmentsView>> {
    Ok(Json(EnvironmentsView {
        staging: state
            .store
            .environment_history(Environment::Staging, 1000)
            .await?,
        production: state
            .store
            .environment_history(Environment::Production, 1000)
            .await?,
    }))
}

/// The version live in an environment before Greenlight ran it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BaselineRequest {
    /// The version (`1.3.2`).
    pub version: String,
}

/// Records the version live in an environment before Greenlight (admin only), so the first
/// rollback has a target.
#[utoipa::path(post, path = "/api/v1/environments/{environment}/baseline", tag = "accounts",
    params(("environment" = Environment, Path, description = "staging or production")),
    request_body = BaselineRequest,
    responses((status = 201, body = EnvironmentsView), (status = 400, body = Problem),
        (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn baseline(
    State(state): State<AppState>,
    auth: Auth,
    Path(environment): Path<Environment>,
    Body(body): Body<BaselineRequest>,
) -> ApiResult<(StatusCode, Json<EnvironmentsView>)> {
    auth.require_admin()?;
    let text = body.version.trim().trim_start_matches('v');
    let version = Version::parse(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "version `{}` is not semver like 1.3.2: {e}",
            body.version
        ))
    })?;
    let change = Change::new(
        state.clock.now(),
        auth.actor.id.clone(),
        "environment.baseline",
    );
    state
        .store
        .record_baseline(environment, &version, &change)
        .await?;
    let Json(view) = environments(State(state), auth).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = User), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn me(auth: Auth) -> Json<User> {
    Json(auth.user)
}

/// Every user (admin only).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = [User]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn users(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    auth.require_admin()?;
    Ok(Json(state.store.users().await?))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    /// Short ID (`erin`): lowercase letters, digits, `.`, `_`, `-`.
    pub id: String,
    /// Name to show (the ID when absent).
    pub display_name: Option<String>,
    /// Release-process roles.
    #[serde(default)]
    pub roles: BTreeSet<Role>,
    /// May manage users and tokens.
    #[serde(default)]
    pub is_admin: bool,
}

fn check_user_id(id: &str) -> ApiResult<()> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    let starts_well = id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if starts_well && id.len() <= 64 && id.chars().all(valid_char) {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "user ID `{id}` must be 1-64 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit"
    )))
}

/// Creates a user (admin only).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    Body(body): Body<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    auth.require_admin()?;
    check_user_id(&body.id)?;
    let now = state.clock.now();
    let user = User {
        display_name: body
            .display_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| body.id.clone()),
        id: body.id,
        roles: body.roles,
        is_admin: body.is_admin,
        disabled: false,
        created_at: now,
    };
    let change = Change::new(now, auth.actor.id.clone(), "user.create");
    state.store.create_user(&user, &change).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    /// Name to show.
    pub display_name: Option<String>,
    /// The complete new set of roles.
    pub roles: Option<BTreeSet<Role>>,
    /// May manage users and tokens.
    pub is_admin: Option<bool>,
    /// Disabled users' tokens stop working.
    pub disabled: Option<bool>,
}

/// Changes a user's roles, name, admin or disabled flag (admin only).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = String, Path, description = "User ID")), request_body = UpdateUserRequest,
    responses((status = 200, body = User), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Body(body): Body<UpdateUserRequest>,
) -> ApiResult<Json<User>> {
    auth.require_admin()?;
    let mut user = state
        .store
        .user(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user `{id}`")))?;
    if id == auth.user.id && (body.disabled == Some(true) || body.is_admin == Some(false)) {
        return Err(ApiError::BadRequest(
            "you cannot disable yourself or drop your own admin flag; ask another admin".into(),
        ));
    }
    if let Some(name) = body.display_name.filter(|n| !n.trim().is_empty()) {
        user.display_name = name;
    }
    user.roles = body.roles.unwrap_or(user.roles);
    user.is_admin = body.is_admin.unwrap_or(user.is_admin);
    user.disabled = body.disabled.unwrap_or(user.disabled);
    let change = Change::new(state.clock.now(), auth.actor.id.clone(), "user.update");
    state.store.update_user(&user, &change).await?;
    Ok(Json(user))
}

fn require_self_or_admin(auth: &Auth, user_id: &str) -> ApiResult<()> {
    if auth.user.id == user_id {
        return Ok(());
    }
    auth.require_admin()
}

/// A user's tokens, without secrets (the user or an admin).
#[utoipa::path(get, path = "/api/v1/users/{id}/tokens", tag = "accounts",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, body = [TokenRecord]), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn tokens(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TokenRecord>>> {
    require_self_or_admin(&auth, &id)?;
    Ok(Json(state.store.tokens(&id).await?))
}

/// A new token's name, scope and expiry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTokenRequest {
    /// What it is for (`ci`, `laptop`).
    pub name: String,
    /// What it may be used for: `full` (default), `read` (GETs only), `ingest` (health samples
    /// and CI evidence only), `flags` (reading flags only). A scope only narrows the user's
    /// roles.
    #[serde(default)]
    pub scope: TokenScope,
    /// When it stops working (RFC 3339, in the future); never when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<jiff::Timestamp>,
}

/// A new token: the secret is in this response only.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    /// Token ID (to revoke it).
    pub id: Uuid,
    /// Owner.
    pub user_id: String,
    /// What it is for.
    pub name: String,
    /// The secret; Greenlight keeps only its hash, so it cannot be shown again.
    pub token: String,
    /// What it may be used for.
    pub scope: TokenScope,
    /// When it stops working.
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<jiff::Timestamp>,
}

/// Creates an API token for a user (the user or an admin); the secret is shown once.
#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "accounts",
    params(("id" = String, Path, description = "User ID")), request_body = CreateTokenRequest,
    responses((status = 201, body = NewToken), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Body(body): Body<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewToken>)> {
    require_self_or_admin(&auth, &id)?;
    let name = body.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::BadRequest(
            "a token needs a name (`ci`, `laptop`)".into(),
        ));
    }
    if state.store.user(&id).await?.is_none() {
        return Err(ApiError::NotFound(format!("no user `{id}`")));
    }
    let now = state.clock.now();
    if body.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::BadRequest(
            "expires_at must be in the future".into(),
        ));
    }
    let secret = new_token()?;
    let record = TokenRecord {
        id: Uuid::new_v4(),
        user_id: id.clone(),
        name: name.clone(),
        token_hash: token_hash(&secret),
        created_at: now,
        revoked_at: None,
        scope: body.scope,
        expires_at: body.expires_at,
    };
    let change = Change::new(now, auth.actor.id.clone(), "token.create");
    state.store.create_token(&record, &change).await?;
    let token = NewToken {
        id: record.id,
        user_id: id,
        name,
        token: secret,
        scope: record.scope,
        expires_at: record.expires_at,
    };
    Ok((StatusCode::CREATED, Json(token)))
}

/// Revokes a token (its owner or an admin); the dashboard sessions signed in with it end.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "Token ID")),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let owns = state
        .store
        .tokens(&auth.user.id)
        .await?
        .iter()
        .any(|t| t.id == id);
    if !owns {
        auth.require_admin()?;
    }
    let change = Change::new(state.clock.now(), auth.actor.id.clone(), "token.revoke");
    state.store.revoke_token(id, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new dashboard password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetPasswordRequest {
    /// The password: at least 12 characters, at most 1024 bytes. Only its argon2id hash is
    /// kept.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    /// The caller's current password, needed to change one's own password: a token alone
    /// does not set it. An administrator setting another user's password leaves it out; a
    /// user without a password gets their first one from an administrator.
    #[serde(default)]
    pub current_password: Option<String>,
}

/// Where a user's dashboard password stands after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordStatus {
    /// The user.
    pub user_id: String,
    /// The user can sign in to the dashboard with a password.
    pub has_password: bool,
    /// Whether this request changed anything (clearing an absent password does not).
    pub changed: bool,
    /// The user's dashboard sessions the change ended (they sign in again).
    pub sessions_ended: u64,
}

/// Sets a user's dashboard password (the user with their current password, or an admin for
/// another user), ending their dashboard sessions. Refused by `password_length` unless it has
/// at least 12 characters and at most 1024 bytes; by `permission` when changing one's own
/// password without the right current one (the check counts toward the sign-in brake), or when
/// a user without a password and without the admin flag sets one.
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "accounts",
    params(("id" = String, Path, description = "User ID")), request_body = SetPasswordRequest,
    responses((status = 200, body = PasswordStatus), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_password(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Body(body): Body<SetPasswordRequest>,
) -> ApiResult<Json<PasswordStatus>> {
    require_self_or_admin(&auth, &id)?;
    greenlight_core::password::check_new_password(&body.password)?;
    if state.store.user(&id).await?.is_none() {
        return Err(ApiError::NotFound(format!("no user `{id}`")));
    }
    if id == auth.user.id {
        check_current_password(&state, &auth, body.current_password).await?;
    }
    let phc = crate::passwords::hash(body.password).await?;
    let change = Change::new(
        state.clock.now(),
        auth.actor.id.clone(),
        "user.password.set",
    );
    let done = state.store.set_password(&id, &phc, &change).await?;
    Ok(Json(PasswordStatus {
        user_id: id,
        has_password: true,
        changed: true,
        sessions_ended: done.sessions_ended,
    }))
}

/// Refuses a change of the caller's own password unless `current` is their password (counted
/// by the sign-in brake like a sign-in), or they have none and are an administrator.
async fn check_current_password(
    state: &AppState,
    auth: &Auth,
    current: Option<String>,
) -> ApiResult<()> {
    let name = auth.user.id.as_str();
    let Some(current) = current.filter(|c| !c.is_empty()) else {
        if !state.store.has_password(name).await? && auth.user.is_admin {
            return Ok(());
        }
        return Err(ApiError::Forbidden(format!(
            "{name} cannot set a password with a token alone: give the current password \
             (current_password; greenlight user password --current), or, without one, ask an \
             administrator to set the first"
        )));
    };
    let now = state.clock.now();
    let brake = greenlight_core::password::Brake::default();
    let claim = state
        .store
        .claim_sign_in_attempt(name, now, brake.since(now), brake.max_failures)
        .await?;
    if let greenlight_store::SignInClaim::Braked(_) = claim {
        return Err(ApiError::Forbidden(format!(
            "the sign-in brake holds for {name}: too many wrong passwords; try again later"
        )));
    }
    let phc = state
        .store
        .password_for_sign_in(name)
        .await?
        .map(|(_, phc)| phc);
    let matches = current.len() <= greenlight_core::password::MAX_BYTES
        && crate::passwords::verify(current, phc).await?;
    if !matches {
        return Err(ApiError::Forbidden(format!(
            "the current password given for {name} is wrong"
        )));
    }
    state.store.clear_sign_in_failures(name).await?;
    Ok(())
}

/// Removes a user's dashboard password (the user, or an admin for anyone): password sign-in
/// stops and their dashboard sessions end; API tokens keep working.
#[utoipa::path(delete, path = "/api/v1/users/{id}/password", tag = "accounts",
    params(("id" = String, Path, description = "User ID")),
    responses((status = 200, body = PasswordStatus), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn clear_password(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PasswordStatus>> {
    require_self_or_admin(&auth, &id)?;
    let change = Change::new(
        state.clock.now(),
        auth.actor.id.clone(),
        "user.password.clear",
    );
    let done = state.store.clear_password(&id, &change).await?;
    Ok(Json(PasswordStatus {
        user_id: id,
        has_password: false,
        changed: done.had_password,
        sessions_ended: done.sessions_ended,
    }))
}
