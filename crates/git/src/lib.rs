//! Release history from git: the commits between two releases (read with gix), and the
//! changelog they make under Conventional Commits (git-conventional), rendered as Keep a
//! Changelog Markdown or JSON, and prepended to an existing CHANGELOG.md without touching it.
//!
//! **Architecture invariant:** reads only. Nothing here writes to a repository, talks to a
//! network or reads the clock; the release date is passed in.

pub mod changelog;
pub mod history;

pub use changelog::{Changelog, Entry, build, markdown, prepend};
pub use history::{CommitInfo, History, read};

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
}

impl GitError {
    fn read(err: impl std::fmt::Display) -> GitError {
        GitError::Read(err.to_string())
    }
}
