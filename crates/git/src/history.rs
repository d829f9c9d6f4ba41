//! Commits between two points of a repository's history, read with gix: by default from the
//! nearest release tag (`[git] tag_pattern`, `v*`; release candidates and other tags are not
//! boundaries) to HEAD, with each commit's trailers and co-authors.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use greenlight_core::content::GitPolicy;
use semver::Version;
use serde::Serialize;

use crate::GitError;

/// A `Token: value` trailer at the end of a commit message (`Audience: teachers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trailer {
    /// The token, as written (`Co-authored-by`).
    pub token: String,
    /// The value, trimmed.
    pub value: String,
}

/// One commit of the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full id.
    pub id: String,
    /// The whole message.
    pub message: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Seconds since the epoch (author time).
    pub time: i64,
    /// Number of parents (2+ is a merge).
    pub parents: usize,
    /// The message's trailers, in order.
    pub trailers: Vec<Trailer>,
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

    /// The values of the trailers named `token` (case-insensitive), in order.
    pub fn trailer_values<'a>(&'a self, token: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.trailers
            .iter()
            .filter(move |t| t.token.eq_ignore_ascii_case(token))
            .map(|t| t.value.as_str())
    }

    /// Co-authors' names from `Co-authored-by: Name <email>` trailers.
    pub fn co_authors(&self) -> Vec<String> {
        self.trailer_values("Co-authored-by")
            .map(|v| v.split('<').next().unwrap_or(v).trim().to_string())
            .filter(|name| !name.is_empty())
            .collect()
    }
}

/// The commits of a range, newest first, and where the range started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    /// The release tag or revision the range starts after (`None`: the whole history).
    pub from: Option<String>,
    /// The commit the range starts after.
    pub from_id: Option<String>,
    /// The revision the range ends at.
    pub to: String,
    /// The commit the range ends at.
    pub to_id: String,
    /// The commits, newest first.
    pub commits: Vec<CommitInfo>,
}

/// Opens the repository that `path` is in.
pub fn open(path: &std::path::Path) -> Result<gix::Repository, GitError> {
    gix::discover(path).map_err(|e| GitError::NotARepository {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// Reads `range` (`v1.2.0..HEAD`, `v1.2.0..`) of the repository at `path`. Without a start (no
/// range, or a single revision), the range starts after the nearest release tag reachable from
/// its end (for a single revision, not counting tags on that revision: `v1.4.0` reads the
/// changes of 1.4.0), or covers the whole history when there is none.
pub fn read(
    path: &std::path::Path,
    range: Option<&str>,
    policy: &GitPolicy,
) -> Result<History, GitError> {
    let repo = open(path)?;
    read_in(&repo, range, policy)
}

/// [`read`] on an open repository.
pub fn read_in(
    repo: &gix::Repository,
    range: Option<&str>,
    policy: &GitPolicy,
) -> Result<History, GitError> {
    match range {
        Some(range) => {
            let (from, to) = split_range(range)?;
            read_between(repo, from, to, true, policy)
        }
        None => read_between(repo, None, "HEAD".into(), false, policy),
    }
}

/// The commits since the nearest release tag reachable from `end`, tags on `end` included: what
/// a release cut from `end` (a release branch, the main branch) would contain.
pub fn read_to(repo: &gix::Repository, end: &str, policy: &GitPolicy) -> Result<History, GitError> {
    read_between(repo, None, end.to_string(), false, policy)
}

/// `from..to`; without `from`, from the nearest release tag (not counting tags on `to` itself
/// with `skip_tip`).
fn read_between(
    repo: &gix::Repository,
    from: Option<String>,
    to: String,
    skip_tip: bool,
    policy: &GitPolicy,
) -> Result<History, GitError> {
    let tip = resolve(repo, &to)?;
    let boundary = match &from {
        Some(from) => Some((from.clone(), resolve(repo, from)?)),
        None => nearest_release_tag(repo, tip, skip_tip, policy)?,
    };
    let hidden: Vec<ObjectId> = boundary.iter().map(|(_, id)| *id).collect();
    let commits = walk(repo, tip, &hidden)?;
    Ok(History {
        from_id: boundary.as_ref().map(|(_, id)| id.to_string()),
        from: boundary.map(|(name, _)| name),
        to,
        to_id: tip.to_string(),
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

/// The commit a revision names.
pub fn resolve(repo: &gix::Repository, spec: &str) -> Result<ObjectId, GitError> {
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

/// The release tags (matching `tag_pattern`, not `skip_tags`, holding a version without
/// pre-release), by the commit they point at.
pub fn release_tags(
    repo: &gix::Repository,
    policy: &GitPolicy,
) -> Result<Vec<(ObjectId, String, Version)>, GitError> {
    let platform = repo.references().map_err(GitError::read)?;
    let mut out = Vec::new();
    for reference in platform.tags().map_err(GitError::read)? {
        let Ok(mut reference) = reference else {
            continue;
        };
        let name = reference.name().shorten().to_string();
        if !is_release_tag(&name, policy) {
            continue;
        }
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

/// Whether a tag name matches the policy's release tag pattern and none of its skip patterns.
pub fn is_release_tag(name: &str, policy: &GitPolicy) -> bool {
    let matches = |pattern: &str| {
        gix_glob::wildmatch(
            pattern.into(),
            name.into(),
            gix_glob::wildmatch::Mode::empty(),
        )
    };
    matches(&policy.tag_pattern) && !policy.skip_tags.iter().any(|p| matches(p))
}

/// The version a release tag holds (`v1.2.3`, `release-1.2.3`: from its first digit on),
/// without a pre-release part.
pub fn release_version(tag: &str) -> Option<Version> {
    let start = tag.find(|c: char| c.is_ascii_digit())?;
    let version = Version::parse(&tag[start..]).ok()?;
    version.pre.is_empty().then_some(version)
}

/// The release tag on the newest ancestor of `tip` that has one (like `git describe`). With
/// `skip_tip`, tags on `tip` itself do not count: `changelog v1.4.0` means the changes of 1.4.0.
fn nearest_release_tag(
    repo: &gix::Repository,
    tip: ObjectId,
    skip_tip: bool,
    policy: &GitPolicy,
) -> Result<Option<(String, ObjectId)>, GitError> {
    let tags = release_tags(repo, policy)?;
    if tags.is_empty() {
        return Ok(None);
    }
    let walk = repo.rev_walk([tip]).all().map_err(GitError::read)?;
    for info in walk {
        let info = info.map_err(GitError::read)?;
        if skip_tip && info.id == tip {
            continue;
        }
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
///
/// The walk itself only needs ids and parents (served by the commit-graph when the repository
/// has one); reading and decoding each commit is most of the work, so long ranges are decoded in
/// chunks on every core, each thread opening its own handle on the repository (handles are not
/// shared between threads), and put back in walk order.
pub(crate) fn walk(
    repo: &gix::Repository,
    tip: ObjectId,
    hidden: &[ObjectId],
) -> Result<Vec<CommitInfo>, GitError> {
    let ids = repo
        .rev_walk([tip])
        .with_hidden(hidden.iter().copied())
        .all()
        .map_err(GitError::read)?
        .map(|info| info.map(|info| info.id).map_err(GitError::read))
        .collect::<Result<Vec<_>, _>>()?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads == 1 || ids.len() < PARALLEL_FROM {
        return decode_all(repo, &ids);
    }
    let chunk = ids.len().div_ceil(threads);
    let git_dir = repo.path();
    std::thread::scope(|scope| {
        let workers: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let repo = gix::open(git_dir).map_err(GitError::read)?;
                    decode_all(&repo, part)
                })
            })
            .collect();
        let mut commits = Vec::with_capacity(ids.len());
        for worker in workers {
            let part = worker
                .join()
                .map_err(|_| GitError::read("a commit decoder thread panicked"))??;
            commits.extend(part);
        }
        Ok(commits)
    })
}

/// Ranges shorter than this are decoded on the calling thread (threads cost more than they save).
const PARALLEL_FROM: usize = 4096;

/// Reads and decodes `ids`, in order.
fn decode_all(repo: &gix::Repository, ids: &[ObjectId]) -> Result<Vec<CommitInfo>, GitError> {
    ids.iter().map(|id| decode(repo, *id)).collect()
}

/// Reads and decodes one commit.
fn decode(repo: &gix::Repository, id: ObjectId) -> Result<CommitInfo, GitError> {
    let object = repo.find_object(id).map_err(GitError::read)?;
    let commit = object.try_to_commit_ref().map_err(GitError::read)?;
    let author = commit.author().ok();
    let trailers = commit
        .message()
        .body()
        .map(|body| {
            body.trailers()
                .map(|t| Trailer {
                    token: t.token.to_str_lossy().into_owned(),
                    value: t.value.to_str_lossy().trim().to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CommitInfo {
        id: id.to_string(),
        message: commit.message.to_str_lossy().into_owned(),
        author: author
            .map(|a| a.name.to_str_lossy().into_owned())
            .unwrap_or_default(),
        email: author
            .map(|a| a.email.to_str_lossy().into_owned())
            .unwrap_or_default(),
        time: author
            .and_then(|a| a.time().ok())
            .map(|t| t.seconds)
            .unwrap_or_default(),
        parents: commit.parents().count(),
        trailers,
    })
}
