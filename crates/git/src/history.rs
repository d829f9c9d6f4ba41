//! Commits between two points of a repository's history, read with gix: by default from the
//! nearest release tag (`v1.2.3`; release candidates and other tags are not boundaries) to HEAD.

use gix::ObjectId;
use semver::Version;
use serde::Serialize;

use crate::GitError;

/// One commit of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full id.
    pub id: String,
    /// The whole message.
    pub message: String,
    /// Author name.
    pub author: String,
    /// Seconds since the epoch (author time).
    pub time: i64,
    /// Number of parents (2+ is a merge).
    pub parents: usize,
}

impl CommitInfo {
    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or_default().trim()
    }

    /// The first seven characters of the id.
    pub fn short_id(&self) -> &str {
        self.id.get(..7).unwrap_or(&self.id)
    }
}

/// The commits of a range, newest first, and where the range started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    /// The release tag or revision the range starts after (`None`: the whole history).
    pub from: Option<String>,
    /// The revision the range ends at.
    pub to: String,
    /// The commits, newest first.
    pub commits: Vec<CommitInfo>,
}

/// Reads `range` (`v1.2.0..HEAD`, `v1.2.0..`) of the repository at `path`. Without a start (no
/// range, or a single revision), the range starts after the nearest release tag reachable from
/// its end, or covers the whole history when there is none.
pub fn read(path: &std::path::Path, range: Option<&str>) -> Result<History, GitError> {
    let repo = gix::discover(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let (from, to) = match range {
        Some(range) => split_range(range)?,
        None => (None, "HEAD".to_string()),
    };
    let tip = resolve(&repo, &to)?;
    let boundary = match &from {
        Some(from) => Some((from.clone(), resolve(&repo, from)?)),
        None => nearest_release_tag(&repo, tip)?,
    };
    let hidden: Vec<ObjectId> = boundary.iter().map(|(_, id)| *id).collect();
    let commits = walk(&repo, tip, &hidden)?;
    Ok(History {
        from: boundary.map(|(name, _)| name),
        to,
        commits,
    })
}

/// `a..b` → (a, b); `a..` → (a, HEAD); `b` → (None, b).
fn split_range(range: &str) -> Result<(Option<String>, String), GitError> {
    let range = range.trim();
    if range.is_empty() || range.contains("...") {
        return Err(GitError::Range(format!(
            "`{range}` is not a range; give FROM..TO, FROM.. or a single revision"
        )));
    }
    match range.split_once("..") {
        Some((from, to)) => {
            let to = if to.is_empty() { "HEAD" } else { to };
            let from = (!from.is_empty()).then(|| from.to_string());
            Ok((from, to.to_string()))
        }
        None => Ok((None, range.to_string())),
    }
}

fn resolve(repo: &gix::Repository, spec: &str) -> Result<ObjectId, GitError> {
    let object = repo
        .rev_parse_single(spec)
        .map_err(|e| GitError::Revision {
            spec: spec.to_string(),
            detail: e.to_string(),
        })?
        .object()
        .map_err(|e| GitError::Revision {
            spec: spec.to_string(),
            detail: e.to_string(),
        })?;
    let commit = object.peel_to_commit().map_err(|e| GitError::Revision {
        spec: spec.to_string(),
        detail: format!("not a commit: {e}"),
    })?;
    Ok(commit.id)
}

/// The release tags (`v` + a version without pre-release), by the commit they point at.
fn release_tags(repo: &gix::Repository) -> Result<Vec<(ObjectId, String, Version)>, GitError> {
    let platform = repo.references().map_err(GitError::read)?;
    let mut out = Vec::new();
    for reference in platform.tags().map_err(GitError::read)? {
        let Ok(mut reference) = reference else {
            continue;
        };
        let name = reference.name().shorten().to_string();
        let Some(version) = release_version(&name) else {
            continue;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        out.push((commit.id, name, version));
    }
    Ok(out)
}

/// `v1.2.3` or `1.2.3` without a pre-release part.
pub fn release_version(tag: &str) -> Option<Version> {
    let version = Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()?;
    version.pre.is_empty().then_some(version)
}

/// The release tag on the newest ancestor of `tip` that has one (like `git describe`).
fn nearest_release_tag(
    repo: &gix::Repository,
    tip: ObjectId,
) -> Result<Option<(String, ObjectId)>, GitError> {
    let tags = release_tags(repo)?;
    if tags.is_empty() {
        return Ok(None);
    }
    let walk = repo.rev_walk([tip]).all().map_err(GitError::read)?;
    for info in walk {
        let info = info.map_err(GitError::read)?;
        let best = tags
            .iter()
            .filter(|(id, _, _)| *id == info.id)
            .max_by(|a, b| a.2.cmp(&b.2));
        if let Some((id, name, _)) = best {
            return Ok(Some((name.clone(), *id)));
        }
    }
    Ok(None)
}

/// Every commit reachable from `tip` and not from `hidden`, newest first.
fn walk(
    repo: &gix::Repository,
    tip: ObjectId,
    hidden: &[ObjectId],
) -> Result<Vec<CommitInfo>, GitError> {
    let walk = repo
        .rev_walk([tip])
        .with_hidden(hidden.iter().copied())
        .all()
        .map_err(GitError::read)?;
    let mut commits = Vec::new();
    for info in walk {
        let info = info.map_err(GitError::read)?;
        let object = info.object().map_err(GitError::read)?;
        let commit = object.decode().map_err(GitError::read)?;
        let author = commit.author().ok();
        commits.push(CommitInfo {
            id: info.id.to_string(),
            message: String::from_utf8_lossy(commit.message.as_ref()).into_owned(),
            author: author
                .map(|a| String::from_utf8_lossy(a.name.as_ref()).into_owned())
                .unwrap_or_default(),
            time: author
                .and_then(|a| a.time().ok())
                .map(|t| t.seconds)
                .unwrap_or_default(),
            parents: commit.parents().count(),
        });
    }
    Ok(commits)
}
