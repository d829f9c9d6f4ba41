//! The release's content recorded by the server itself: when a release is planned or its code
//! frozen and the policy's `[git] repository` names a local clone, the changelog and facts of
//! the release's range are drafted with `greenlight-git` and recorded as Greenlight
//! (`release_content_recorded`), the same command `release content` sends from a checkout.
//!
//! Drafting is best effort: the plan or freeze has already been committed, so a repository that
//! cannot be read is logged and leaves the release as it was.

use std::path::PathBuf;

use greenlight_core::content::ReleaseContent;
use greenlight_core::{Actor, Command, Policy};

use crate::api::{decide_and_commit, load};
use crate::problem::ApiError;
use crate::state::AppState;

/// Times a commit is retried when the release moved in between.
const ATTEMPTS: usize = 3;

/// Checks at start-up that the policy's repository, when it names one, can be opened, so a
/// typo is found before the first release is planned rather than in a log line after it.
pub(crate) fn check_repository(policy: &Policy) -> Result<(), String> {
    let path = policy.git.repository.trim();
    if path.is_empty() {
        return Ok(());
    }
    greenlight_git::open(&PathBuf::from(path))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Starts recording release `key`'s content in the background when the policy names a
/// repository; does nothing otherwise.
pub(crate) fn record_in_background(state: &AppState, key: String) {
    if state.policy.git.repository.trim().is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        match record(&state, &key).await {
            Ok(source) => tracing::info!(release = %key, %source, "release content recorded"),
            Err(err) => tracing::warn!(release = %key, "release content not recorded: {err}"),
        }
    });
}

/// Drafts and records the content of release `key`; returns the range it came from.
async fn record(state: &AppState, key: &str) -> Result<String, ApiError> {
    let stored = load(state, key).await?;
    let version = stored.release.record.version.to_string();
    let branch = stored.release.branch.clone();
    let policy = state.policy.clone();
    let content = tokio::task::spawn_blocking(move || draft(&policy, &branch, &version))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let command = Command::RecordContent(content.clone());
    let mut stored = stored;
    for _ in 0..ATTEMPTS {
        match decide_and_commit(
            state,
            &Actor::system(),
            &stored,
            "release.content",
            &command,
        )
        .await
        {
            Err(ApiError::Stale(_)) => stored = load(state, key).await?,
            other => return other.map(|_| content.source),
        }
    }
    Err(ApiError::Conflict(format!(
        "release {key} kept changing; its content was not recorded"
    )))
}

/// The release's content: from the nearest release tag to its release branch when it exists,
/// else to the policy's main branch.
fn draft(policy: &Policy, branch: &str, version: &str) -> Result<ReleaseContent, ApiError> {
    let path = PathBuf::from(&policy.git.repository);
    let failed = |e: greenlight_git::GitError| ApiError::Internal(e.to_string());
    let repo = greenlight_git::open(&path).map_err(failed)?;
    let end = if greenlight_git::history::resolve(&repo, branch).is_ok() {
        branch
    } else {
        policy.git.main_branch.as_str()
    };
    let history = greenlight_git::history::read_to(&repo, end, &policy.git).map_err(failed)?;
    let draft =
        greenlight_git::draft::draft_history(&repo, history, &policy.git, &policy.changelog)
            .map_err(failed)?;
    Ok(draft.content(version))
}
