//! The spec's branches and tags, written with gix: `release/vX.Y.Z` from main, release candidates
//! `vX.Y.Z-rc.N` (next N found by itself), the final `vX.Y.Z` on the tested candidate, and
//! `hotfix/vX.Y.Z-slug` from production; plus the backport list. Only references and tag objects
//! are written; nothing is checked out, so the work tree is never touched. Each refusal names its
//! rule and what would satisfy it.

use gix::ObjectId;
use gix::refs::transaction::PreviousValue;
use greenlight_core::content::GitPolicy;
use greenlight_core::version::{hotfix_branch, release_branch, release_candidate, tag_name};
use semver::Version;
use serde::Serialize;

use crate::GitError;
use crate::history::{CommitInfo, release_tags, resolve, walk};

/// Who writes a tag, and when (seconds since the epoch; the caller's clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagger {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Seconds since the epoch.
    pub time: i64,
}

/// A branch or tag that was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    /// Its short name (`release/v1.4.0`, `v1.4.0-rc.2`).
    pub name: String,
    /// The commit it points at.
    pub commit: String,
}

fn refused(rule: &'static str, detail: String) -> GitError {
    GitError::Refused { rule, detail }
}

fn find(repo: &gix::Repository, full_name: &str) -> Option<ObjectId> {
    let mut reference = repo.try_find_reference(full_name).ok()??;
    reference.peel_to_commit().ok().map(|c| c.id)
}

fn ensure_absent(repo: &gix::Repository, full_name: &str, short: &str) -> Result<(), GitError> {
    match repo.try_find_reference(full_name) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(refused(
            "name_exists",
            format!("{short} already exists; pick another version or delete it first"),
        )),
        Err(e) => Err(GitError::read(e)),
    }
}

fn create_branch(repo: &gix::Repository, name: &str, at: ObjectId) -> Result<Created, GitError> {
    let full = format!("refs/heads/{name}");
    ensure_absent(repo, &full, name)?;
    repo.reference(
        full.as_str(),
        at,
        PreviousValue::MustNotExist,
        format!("greenlight: created {name}"),
    )
    .map_err(GitError::write)?;
    Ok(Created {
        name: name.to_string(),
        commit: at.to_string(),
    })
}

fn create_tag(
    repo: &gix::Repository,
    name: &str,
    at: ObjectId,
    message: &str,
    tagger: &Tagger,
) -> Result<Created, GitError> {
    ensure_absent(repo, &format!("refs/tags/{name}"), name)?;
    let signature = gix::actor::Signature {
        name: tagger.name.as_str().into(),
        email: tagger.email.as_str().into(),
        time: gix::date::Time {
            seconds: tagger.time,
            offset: 0,
        },
    };
    let mut buf = gix::date::parse::TimeBuf::default();
    repo.tag(
        name,
        at,
        gix::object::Kind::Commit,
        Some(signature.to_ref(&mut buf)),
        message,
        PreviousValue::MustNotExist,
    )
    .map_err(GitError::write)?;
    Ok(Created {
        name: name.to_string(),
        commit: at.to_string(),
    })
}

/// Creates `release/vX.Y.Z` at `from` (default: the policy's main branch). Refused when the
/// branch or the release tag already exists.
pub fn create_release_branch(
    repo: &gix::Repository,
    policy: &GitPolicy,
    version: &Version,
    from: Option<&str>,
) -> Result<Created, GitError> {
    let tag = tag_name(version);
    if find(repo, &format!("refs/tags/{tag}")).is_some() {
        return Err(refused(
            "already_released",
            format!("{tag} is already tagged; a release branch is for an unreleased version"),
        ));
    }
    let at = resolve(repo, from.unwrap_or(&policy.main_branch))?;
    create_branch(repo, &release_branch(version), at)
}

/// The release candidates of `version` by number, with the commit each points at.
fn candidates(repo: &gix::Repository, version: &Version) -> Result<Vec<(u32, ObjectId)>, GitError> {
    let prefix = format!("{}-rc.", tag_name(version));
    let platform = repo.references().map_err(GitError::read)?;
    let mut out = Vec::new();
    for reference in platform.tags().map_err(GitError::read)? {
        let Ok(mut reference) = reference else {
            continue;
        };
        let name = reference.name().shorten().to_string();
        let Some(number) = name.strip_prefix(&prefix).and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Ok(commit) = reference.peel_to_commit() {
            out.push((number, commit.id));
        }
    }
    out.sort();
    Ok(out)
}

fn branch_tip(repo: &gix::Repository, version: &Version) -> Result<(String, ObjectId), GitError> {
    let branch = release_branch(version);
    match find(repo, &format!("refs/heads/{branch}")) {
        Some(tip) => Ok((branch, tip)),
        None => Err(refused(
            "no_release_branch",
            format!("{branch} does not exist; create it first (greenlight git release-branch)"),
        )),
    }
}

/// Tags the tip of `release/vX.Y.Z` as the next release candidate. Refused without the branch,
/// and when the tip is already the last candidate (nothing new to test).
pub fn tag_release_candidate(
    repo: &gix::Repository,
    version: &Version,
    tagger: &Tagger,
) -> Result<Created, GitError> {
    let (branch, tip) = branch_tip(repo, version)?;
    let existing = candidates(repo, version)?;
    if let Some((n, at)) = existing.last()
        && *at == tip
    {
        return Err(refused(
            "nothing_new",
            format!("the tip of {branch} is already rc.{n}; commit a fix to {branch} first"),
        ));
    }
    let number = existing.last().map_or(1, |(n, _)| n + 1);
    let candidate = release_candidate(version, number);
    let message = format!("Release candidate {candidate}");
    create_tag(repo, &tag_name(&candidate), tip, &message, tagger)
}

/// Tags the final `vX.Y.Z` on the last release candidate: what was tested is what ships.
/// Refused when the tag exists, without a candidate, or when the branch moved past it.
pub fn tag_release(
    repo: &gix::Repository,
    version: &Version,
    tagger: &Tagger,
) -> Result<Created, GitError> {
    let name = tag_name(version);
    ensure_absent(repo, &format!("refs/tags/{name}"), &name)?;
    let (branch, tip) = branch_tip(repo, version)?;
    let Some((n, candidate)) = candidates(repo, version)?.last().copied() else {
        return Err(refused(
            "untested",
            format!("{branch} has no release candidate; tag one and test it first"),
        ));
    };
    if candidate != tip {
        return Err(refused(
            "untested",
            format!(
                "{branch} moved past rc.{n}; tag a new release candidate and test it, then tag {name}"
            ),
        ));
    }
    create_tag(repo, &name, tip, &format!("Release {version}"), tagger)
}

/// Creates `hotfix/vX.Y.Z-slug` for hotfix `version` at `from` (default: the newest release tag,
/// what production runs).
pub fn create_hotfix_branch(
    repo: &gix::Repository,
    policy: &GitPolicy,
    version: &Version,
    title: &str,
    from: Option<&str>,
) -> Result<Created, GitError> {
    let at = match from {
        Some(from) => resolve(repo, from)?,
        None => newest_release(repo, policy)?.1,
    };
    create_branch(repo, &hotfix_branch(version, title), at)
}

fn newest_release(
    repo: &gix::Repository,
    policy: &GitPolicy,
) -> Result<(String, ObjectId), GitError> {
    release_tags(repo, policy)?
        .into_iter()
        .max_by(|a, b| a.2.cmp(&b.2))
        .map(|(id, name, _)| (name, id))
        .ok_or_else(|| {
            refused(
                "no_release",
                "no release tag to branch from; give --from REVISION".into(),
            )
        })
}

/// Hotfix commits that still need to reach a release branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backport {
    /// The hotfix branch or revision.
    pub hotfix: String,
    /// The release branch they should reach.
    pub onto: String,
    /// Commits not yet there, oldest first.
    pub pending: Vec<CommitInfo>,
    /// Commits already there (same change cherry-picked).
    pub done: usize,
}

/// The commits of `hotfix` not yet on `onto` (default: the newest `release/v*` branch). A
/// cherry-pick counts as there: same author, author time and summary, or a
/// "(cherry picked from commit ...)" line naming it.
pub fn backport(
    repo: &gix::Repository,
    hotfix: &str,
    onto: Option<&str>,
) -> Result<Backport, GitError> {
    let onto = match onto {
        Some(onto) => onto.to_string(),
        None => newest_release_branch(repo)?,
    };
    let hotfix_tip = resolve(repo, hotfix)?;
    let onto_tip = resolve(repo, &onto)?;
    let only_hotfix = walk(repo, hotfix_tip, &[onto_tip])?;
    let only_onto = walk(repo, onto_tip, &[hotfix_tip])?;
    let landed = |c: &CommitInfo| {
        only_onto.iter().any(|o| {
            o.message
                .contains(&format!("cherry picked from commit {}", c.id))
                || (o.email == c.email && o.time == c.time && o.summary() == c.summary())
        })
    };
    let (done, mut pending): (Vec<CommitInfo>, Vec<CommitInfo>) = only_hotfix
        .into_iter()
        .filter(|c| c.parents < 2)
        .partition(landed);
    pending.reverse();
    Ok(Backport {
        hotfix: hotfix.to_string(),
        onto,
        pending,
        done: done.len(),
    })
}

fn newest_release_branch(repo: &gix::Repository) -> Result<String, GitError> {
    let platform = repo.references().map_err(GitError::read)?;
    let branches = platform
        .prefixed("refs/heads/release/")
        .map_err(GitError::read)?;
    branches
        .filter_map(Result::ok)
        .filter_map(|r| {
            let name = r.name().shorten().to_string();
            let version = crate::history::release_version(&name)?;
            Some((version, name))
        })
        .max()
        .map(|(_, name)| name)
        .ok_or_else(|| {
            refused(
                "no_release_branch",
                "no release/v* branch to backport onto; give --onto BRANCH".into(),
            )
        })
}
