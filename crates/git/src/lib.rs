//! Release history from git: the commits between two releases (read with gix), the changelog
//! they make under Conventional Commits (git-conventional) and the policy's groups, rendered as
//! Keep a Changelog Markdown, JSON or a team's template (minijinja); the facts a release record
//! takes from them; release notes by audience; and the spec's release branches and tags.
//!
//! **Architecture invariant:** no network and no clock (dates and tag times are passed in).
//! Only [`refs`] writes, and only references and tag objects: never the work tree or the index.

pub mod changelog;
pub mod draft;
pub mod facts;
pub mod history;
pub mod notes;
pub mod refs;
pub mod template;

pub use changelog::{Changelog, Entry, Rules, build, markdown, prepend};
pub use draft::{Draft, draft};
pub use facts::{ReleaseFacts, derive};
pub use gix::Repository;
pub use history::{CommitInfo, History, open, read, read_in};

/// Why history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not inside a git repository.
    #[error("{path} is not in a git repository ({detail})")]
    NotARepository {
        /// The path.
        path: String,
        /// gix's words.
        detail: String,
    },
    /// A revision does not resolve to a commit.
    #[error("`{spec}` does not name a commit here: {detail}")]
    Revision {
        /// The revision.
        spec: String,
        /// Why.
        detail: String,
    },
    /// The range is malformed.
    #[error("{0}")]
    Range(String),
    /// Reading objects or references failed (a shallow clone's missing history, corruption).
    #[error("cannot read the history: {0}")]
    Read(String),
    /// Writing a reference or tag failed.
    #[error("cannot write to the repository: {0}")]
    Write(String),
    /// The policy's `[changelog]` or `[git]` cannot be applied.
    #[error("policy: {0}")]
    Policy(String),
    /// A template failed to parse or render.
    #[error("template {0}")]
    Template(String),
    /// A rule refused a branch or tag.
    #[error("{rule}: {detail}")]
    Refused {
        /// The rule (`name_exists`, `nothing_new`, `untested`, ...).
        rule: &'static str,
        /// What is wrong and what would satisfy the rule.
        detail: String,
    },
}

impl GitError {
    fn read(err: impl std::fmt::Display) -> GitError {
        GitError::Read(err.to_string())
    }

    fn write(err: impl std::fmt::Display) -> GitError {
        GitError::Write(err.to_string())
    }
}
