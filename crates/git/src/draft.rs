//! A release's content drafted from a range of history: the changelog, the facts, and the
//! `ReleaseContent` the release record takes. One function for the command line
//! (`release content`) and the server (on plan and on code freeze).

use greenlight_core::content::{ChangelogPolicy, GitPolicy, ReleaseContent};

use crate::{Changelog, GitError, History, ReleaseFacts, Rules};

/// A range of history read and turned into a changelog and facts.
#[derive(Debug)]
pub struct Draft {
    /// The commits read.
    pub history: History,
    /// Their changelog under the policy's rules.
    pub log: Changelog,
    /// What the release record takes from them.
    pub facts: ReleaseFacts,
}

/// Reads `range` (see [`crate::read_in`]) and drafts its changelog and facts.
pub fn draft(
    repo: &gix::Repository,
    range: Option<&str>,
    git: &GitPolicy,
    changelog: &ChangelogPolicy,
) -> Result<Draft, GitError> {
    let history = crate::read_in(repo, range, git)?;
    draft_history(repo, history, git, changelog)
}

/// Drafts the changelog and facts of commits already read.
pub fn draft_history(
    repo: &gix::Repository,
    history: History,
    git: &GitPolicy,
    changelog: &ChangelogPolicy,
) -> Result<Draft, GitError> {
    let rules = Rules::new(changelog)?;
    let log = crate::build(&history.commits, &rules);
    let facts = crate::derive(repo, &history, &log, git)?;
    Ok(Draft {
        history,
        log,
        facts,
    })
}

impl Draft {
    /// The content of release `version` (its changelog section is headed with it, undated).
    pub fn content(&self, version: &str) -> ReleaseContent {
        let from = self
            .history
            .from
            .clone()
            .unwrap_or_else(|| "the first commit".into());
        let to = &self.history.to_id;
        ReleaseContent {
            changelog: crate::markdown(version, None, &self.log),
            included_features: self.facts.included_features.clone(),
            included_fixes: self.facts.included_fixes.clone(),
            breaking_changes: self.facts.breaking_changes,
            migration_required: self.facts.migration_required,
            risk_notes: self
                .facts
                .risk_notes
                .iter()
                .map(|r| r.note.clone())
                .collect(),
            source: format!("{from}..{}", to.get(..7).unwrap_or(to)),
            commit_times: self
                .history
                .commits
                .iter()
                .filter_map(|c| jiff::Timestamp::from_second(c.time).ok())
                .collect(),
        }
    }
}
