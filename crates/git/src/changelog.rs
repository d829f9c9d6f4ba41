//! Conventional Commits → a changelog, by the policy's `[changelog]`: parsers tried first
//! (git-cliff's `commit_parsers`), then groups by type in their order, housekeeping types left
//! out, anything else under "Other" (or skipped). Breaking changes are listed first, reverted
//! changes drop out and merge commits are left out; inside a group entries are by scope, oldest
//! first.

use std::collections::HashSet;

use greenlight_core::content::{ChangelogPolicy, CommitParser};
use regex::Regex;
use serde::Serialize;

use crate::GitError;
use crate::history::CommitInfo;

/// One line of the changelog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The Conventional Commits type (`feat`), or `None` for a free-form message.
    pub kind: Option<String>,
    /// The scope (`scores`).
    pub scope: Option<String>,
    /// The description (the summary without type and scope).
    pub description: String,
    /// A breaking change (`!` or a `BREAKING CHANGE:` footer).
    pub breaking: bool,
    /// The `BREAKING CHANGE:` footer's text, if any.
    pub breaking_note: Option<String>,
    /// The pull request of a squash merge (`(#123)` at the end of the summary).
    pub pull_request: Option<u32>,
    /// Issues the commit names in `Fixes:`, `Closes:` or `Refs:` trailers (`#45`, `MLC-12`).
    pub issues: Vec<String>,
    /// The short commit id.
    pub commit: String,
    /// The author's name.
    pub author: String,
    /// Co-authors' names (`Co-authored-by:`).
    pub co_authors: Vec<String>,
}

impl Entry {
    /// What the entry refers to: its issues, else its pull request, else its commit.
    pub fn references(&self) -> Vec<String> {
        if !self.issues.is_empty() {
            return self.issues.clone();
        }
        match self.pull_request {
            Some(pr) => vec![format!("#{pr}")],
            None => vec![self.commit.clone()],
        }
    }
}

/// A group of the changelog with its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Heading (`Added`).
    pub title: String,
    /// Entries, by scope, oldest first.
    pub entries: Vec<Entry>,
}

/// A changelog section: breaking changes, then the groups in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changelog {
    /// Title of the breaking changes list.
    pub breaking_title: String,
    /// Breaking changes (also listed in their group).
    pub breaking: Vec<Entry>,
    /// The groups in the policy's order, then "Other"; empty ones included.
    pub groups: Vec<Group>,
}

impl Changelog {
    /// No entry at all.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|g| g.entries.is_empty())
    }

    /// Every entry, group by group.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.groups.iter().flat_map(|g| &g.entries)
    }
}

/// The policy's `[changelog]` with its regular expressions compiled.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    policy: ChangelogPolicy,
    parsers: Vec<(CommitParser, Option<Regex>, Option<Regex>)>,
}

impl Rules {
    /// Compiles the parsers; a bad expression is named by its TOML path.
    pub fn new(policy: &ChangelogPolicy) -> Result<Rules, GitError> {
        let compile = |i: usize, field: &str, pattern: &Option<String>| {
            pattern
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| GitError::Policy(format!("changelog.parsers[{i}].{field}: {e}")))
        };
        let mut parsers = Vec::new();
        for (i, parser) in policy.parsers.iter().enumerate() {
            let message = compile(i, "message", &parser.message)?;
            let body = compile(i, "body", &parser.body)?;
            parsers.push((parser.clone(), message, body));
        }
        Ok(Rules {
            policy: policy.clone(),
            parsers,
        })
    }

    /// The group title an entry goes to, or `None` when it is left out.
    fn place(&self, commit: &CommitInfo, entry: &Entry) -> Option<String> {
        if let Some(parser) = self
            .parsers
            .iter()
            .find(|p| parser_matches(p, commit, entry))
        {
            return (!parser.0.skip).then(|| parser.0.group.clone()).flatten();
        }
        let kind = entry.kind.as_deref();
        if kind.is_some_and(|k| self.policy.skip_types.iter().any(|s| s == k)) && !entry.breaking {
            return None;
        }
        let group = kind.and_then(|k| {
            self.policy
                .groups
                .iter()
                .find(|g| g.types.iter().any(|t| t == k))
        });
        match group {
            Some(group) => Some(group.title.clone()),
            None if self.policy.other.is_empty() => None,
            None => Some(self.policy.other.clone()),
        }
    }

    fn known_type(&self, kind: &str) -> bool {
        self.policy.skip_types.iter().any(|t| t == kind)
            || self
                .policy
                .groups
                .iter()
                .flat_map(|g| &g.types)
                .any(|t| t == kind)
            || self
                .parsers
                .iter()
                .any(|p| p.0.kind.as_deref() == Some(kind))
    }
}

fn parser_matches(
    (parser, message, body): &(CommitParser, Option<Regex>, Option<Regex>),
    commit: &CommitInfo,
    entry: &Entry,
) -> bool {
    let summary = commit.summary();
    let rest = commit
        .message
        .trim()
        .get(summary.len()..)
        .unwrap_or_default();
    message.as_ref().is_none_or(|re| re.is_match(summary))
        && body.as_ref().is_none_or(|re| re.is_match(rest))
        && parser
            .kind
            .as_ref()
            .is_none_or(|k| entry.kind.as_ref() == Some(k))
        && parser
            .scope
            .as_ref()
            .is_none_or(|s| entry.scope.as_ref() == Some(s))
}

/// Builds the changelog of `commits` (newest first, as history gives them) under `rules`.
pub fn build(commits: &[CommitInfo], rules: &Rules) -> Changelog {
    let dropped = reverted_pairs(commits);
    let mut groups: Vec<Group> = rules
        .policy
        .groups
        .iter()
        .map(|g| g.title.clone())
        .chain((!rules.policy.other.is_empty()).then(|| rules.policy.other.clone()))
        .map(|title| Group {
            title,
            entries: Vec::new(),
        })
        .collect();
    let mut breaking = Vec::new();
    for commit in commits.iter().rev() {
        if commit.parents > 1 || dropped.contains(commit.id.as_str()) {
            continue;
        }
        let entry = entry(commit, rules);
        let Some(title) = rules.place(commit, &entry) else {
            continue;
        };
        if entry.breaking {
            breaking.push(entry.clone());
        }
        if let Some(group) = groups.iter_mut().find(|g| g.title == title) {
            group.entries.push(entry);
        }
    }
    for group in &mut groups {
        group.entries.sort_by(|a, b| a.scope.cmp(&b.scope));
    }
    Changelog {
        breaking_title: rules.policy.breaking_title.clone(),
        breaking,
        groups,
    }
}

/// Commits that drop out because a revert inside the range undid them: the reverted commit and
/// the revert itself (the change never shipped). A revert of something outside the range stays.
fn reverted_pairs(commits: &[CommitInfo]) -> HashSet<&str> {
    let mut dropped = HashSet::new();
    for revert in commits {
        let Some(rest) = revert.message.split("This reverts commit ").nth(1) else {
            continue;
        };
        let target: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        if target.len() < 7 {
            continue;
        }
        if let Some(undone) = commits.iter().find(|c| c.id.starts_with(&target)) {
            dropped.insert(undone.id.as_str());
            dropped.insert(revert.id.as_str());
        }
    }
    dropped
}

/// The entry of one commit: parsed as a Conventional Commit when its type is one the rules know
/// (an unknown word before a colon, as in "Evidence: ...", is prose, kept whole).
fn entry(commit: &CommitInfo, rules: &Rules) -> Entry {
    let (summary, pull_request) = split_pull_request(commit.summary());
    let issues = ["Fixes", "Closes", "Resolves", "Refs"]
        .iter()
        .flat_map(|token| commit.trailer_values(token))
        .flat_map(|value| value.split([',', ' ']))
        .filter(|reference| !reference.is_empty())
        .map(str::to_string)
        .collect();
    let free_form = Entry {
        kind: None,
        scope: None,
        description: summary.to_string(),
        breaking: commit.message.contains("\nBREAKING CHANGE:"),
        breaking_note: None,
        pull_request,
        issues,
        commit: commit.short_id().to_string(),
        author: commit.author.clone(),
        co_authors: commit.co_authors(),
    };
    let Ok(c) = git_conventional::Commit::parse(commit.message.trim()) else {
        return free_form;
    };
    let kind = c.type_().as_str().to_ascii_lowercase();
    if !rules.known_type(&kind) {
        return free_form;
    }
    Entry {
        kind: Some(kind),
        scope: c.scope().map(|s| s.as_str().to_string()),
        description: split_pull_request(c.description()).0.to_string(),
        breaking: c.breaking(),
        breaking_note: c
            .breaking_description()
            .filter(|d| *d != c.description())
            .map(str::to_string),
        ..free_form
    }
}

/// `fix scores (#123)` → (`fix scores`, 123).
fn split_pull_request(summary: &str) -> (&str, Option<u32>) {
    let trimmed = summary.trim_end();
    let Some(open) = trimmed.rfind("(#") else {
        return (trimmed, None);
    };
    let number = trimmed[open + 2..]
        .strip_suffix(')')
        .and_then(|n| n.parse().ok());
    match number {
        Some(n) => (trimmed[..open].trim_end(), Some(n)),
        None => (trimmed, None),
    }
}

/// A Keep a Changelog section: `## [1.4.0] - 2026-12-10` (or `## [Unreleased]` with no date),
/// breaking changes first.
pub fn markdown(version: &str, date: Option<&str>, log: &Changelog) -> String {
    let mut out = match date {
        Some(date) => format!("## [{version}] - {date}\n"),
        None => format!("## [{version}]\n"),
    };
    if log.is_empty() {
        out.push_str("\nNo notable changes.\n");
        return out;
    }
    if !log.breaking.is_empty() {
        out.push_str(&format!("\n### {}\n\n", log.breaking_title));
        for entry in &log.breaking {
            let note = entry.breaking_note.as_deref().unwrap_or(&entry.description);
            out.push_str(&format!("- {}\n", line(entry, note)));
        }
    }
    for group in log.groups.iter().filter(|g| !g.entries.is_empty()) {
        out.push_str(&format!("\n### {}\n\n", group.title));
        for entry in &group.entries {
            out.push_str(&format!("- {}\n", line(entry, &entry.description)));
        }
    }
    out
}

fn line(entry: &Entry, text: &str) -> String {
    let scope = entry
        .scope
        .as_deref()
        .map(|s| format!("**{s}:** "))
        .unwrap_or_default();
    let reference = format!(" ({})", entry.references().join(", "));
    format!("{scope}{text}{reference}")
}

/// Puts `section` before the first released section of `existing` (after its title and any
/// `[Unreleased]` section), leaving every existing byte as it was.
pub fn prepend(existing: &str, section: &str) -> String {
    let position = existing
        .match_indices("\n## ")
        .map(|(i, _)| i + 1)
        .find(|&i| !existing[i..].starts_with("## [Unreleased]"))
        .or_else(|| existing.starts_with("## ").then_some(0));
    let section = if section.ends_with('\n') {
        format!("{section}\n")
    } else {
        format!("{section}\n\n")
    };
    match position {
        Some(at) => format!("{}{section}{}", &existing[..at], &existing[at..]),
        None if existing.is_empty() => format!("# Changelog\n\n{section}"),
        None => {
            let gap = if existing.ends_with("\n\n") {
                ""
            } else if existing.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{existing}{gap}{section}")
        }
    }
}
