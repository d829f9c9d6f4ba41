//! Facts about a release that follow from its history, for the release record: what it includes,
//! whether it breaks anything or needs a migration, the version bump it calls for, and a risk
//! note when sensitive paths changed.

use gix::bstr::ByteSlice;
use greenlight_core::ReleaseType;
use greenlight_core::content::GitPolicy;
use semver::Version;
use serde::Serialize;

use crate::GitError;
use crate::changelog::Changelog;
use crate::history::{History, release_version};

/// The version bump a range of history calls for under Semantic Versioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bump {
    /// Nothing user-facing changed.
    None,
    /// Fixes only.
    Patch,
    /// New features.
    Minor,
    /// A breaking change.
    Major,
}

/// Changed paths that match a sensitive set of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskNote {
    /// The set's label (`score recording`).
    pub label: String,
    /// The changed paths that matched.
    pub paths: Vec<String>,
    /// One sentence for people: what changed and what to do about it.
    pub note: String,
}

/// What a release's history says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseFacts {
    /// References (PRs, issues, else commits) of the features.
    pub included_features: Vec<String>,
    /// References of the fixes.
    pub included_fixes: Vec<String>,
    /// Whether anything breaks.
    pub breaking_changes: bool,
    /// What breaks, one line each.
    pub breaking: Vec<String>,
    /// Whether a configured migration path changed.
    pub migration_required: bool,
    /// The migration paths that changed.
    pub migration_paths: Vec<String>,
    /// The version of the release tag the range starts after.
    pub previous_version: Option<String>,
    /// The bump the changes call for.
    pub suggested_bump: Bump,
    /// The previous version with that bump applied.
    pub suggested_version: Option<String>,
    /// The release type that bump means (major, standard, patch).
    pub suggested_type: Option<ReleaseType>,
    /// Sensitive paths that changed.
    pub risk_notes: Vec<RiskNote>,
    /// Every path that changed between the range's ends.
    pub changed_paths: usize,
}

/// Derives the facts of `history` (whose changelog is `log`) from the repository at `repo`.
pub fn derive(
    repo: &gix::Repository,
    history: &History,
    log: &Changelog,
    policy: &GitPolicy,
) -> Result<ReleaseFacts, GitError> {
    let paths = changed_paths(repo, history.from_id.as_deref(), &history.to_id)?;
    let of_kind = |kind: &str| -> Vec<String> {
        log.entries()
            .filter(|e| e.kind.as_deref() == Some(kind))
            .flat_map(|e| e.references())
            .collect()
    };
    let breaking: Vec<String> = log
        .breaking
        .iter()
        .map(|e| {
            e.breaking_note
                .clone()
                .unwrap_or_else(|| e.description.clone())
        })
        .collect();
    let included_features = of_kind("feat");
    let included_fixes = of_kind("fix");
    let suggested_bump = if !breaking.is_empty() {
        Bump::Major
    } else if !included_features.is_empty() {
        Bump::Minor
    } else if !included_fixes.is_empty() || !log.is_empty() {
        Bump::Patch
    } else {
        Bump::None
    };
    let previous = history.from.as_deref().and_then(release_version);
    let migration_paths = matching(&paths, &policy.migration_paths);
    Ok(ReleaseFacts {
        included_features,
        included_fixes,
        breaking_changes: !breaking.is_empty(),
        breaking,
        migration_required: !migration_paths.is_empty(),
        migration_paths,
        suggested_version: previous
            .as_ref()
            .and_then(|v| bump(v, suggested_bump))
            .map(|v| v.to_string()),
        previous_version: previous.map(|v| v.to_string()),
        suggested_type: release_type(suggested_bump),
        suggested_bump,
        risk_notes: risk_notes(&paths, policy),
        changed_paths: paths.len(),
    })
}

fn bump(version: &Version, bump: Bump) -> Option<Version> {
    let (major, minor, patch) = match bump {
        Bump::None => return None,
        Bump::Patch => (version.major, version.minor, version.patch + 1),
        Bump::Minor => (version.major, version.minor + 1, 0),
        Bump::Major => (version.major + 1, 0, 0),
    };
    Some(Version::new(major, minor, patch))
}

fn release_type(bump: Bump) -> Option<ReleaseType> {
    match bump {
        Bump::None => None,
        Bump::Patch => Some(ReleaseType::Patch),
        Bump::Minor => Some(ReleaseType::Standard),
        Bump::Major => Some(ReleaseType::Major),
    }
}

fn risk_notes(paths: &[String], policy: &GitPolicy) -> Vec<RiskNote> {
    policy
        .sensitive_paths
        .iter()
        .filter_map(|set| {
            let hits = matching(paths, &set.paths);
            let shown = hits.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
            let more = hits.len().saturating_sub(3);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            (!hits.is_empty()).then(|| RiskNote {
                note: format!(
                    "touches {}: {shown}{tail}; validate it with extra care before Go",
                    set.label
                ),
                label: set.label.clone(),
                paths: hits,
            })
        })
        .collect()
}

/// The paths among `paths` that match any of `patterns` (git wildmatch, `**` across folders).
pub fn matching(paths: &[String], patterns: &[String]) -> Vec<String> {
    let mode = gix_glob::wildmatch::Mode::NO_MATCH_SLASH_LITERAL;
    paths
        .iter()
        .filter(|path| {
            patterns
                .iter()
                .any(|p| gix_glob::wildmatch(p.as_str().into(), path.as_str().into(), mode))
        })
        .cloned()
        .collect()
}

/// Every path that differs between the trees of `from` (none: the empty tree) and `to`.
pub fn changed_paths(
    repo: &gix::Repository,
    from: Option<&str>,
    to: &str,
) -> Result<Vec<String>, GitError> {
    let tree = |id: &str| -> Result<gix::Tree<'_>, GitError> {
        let id = gix::ObjectId::from_hex(id.as_bytes()).map_err(GitError::read)?;
        repo.find_commit(id)
            .map_err(GitError::read)?
            .tree()
            .map_err(GitError::read)
    };
    let old = from.map(tree).transpose()?;
    let new = tree(to)?;
    let mut options = gix::diff::Options::default().with_rewrites(None);
    options.track_path();
    let changes = repo
        .diff_tree_to_tree(old.as_ref(), Some(&new), Some(options))
        .map_err(GitError::read)?;
    let mut paths: Vec<String> = changes
        .iter()
        .filter(|c| !c.entry_mode().is_tree())
        .map(|c| c.location().to_str_lossy().into_owned())
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}
