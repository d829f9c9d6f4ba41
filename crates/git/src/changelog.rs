//! Conventional Commits → a changelog: grouped by type (feat → Added, fix → Fixed, ...),
//! breaking changes first, reverted changes dropped, merge commits and housekeeping types
//! (chore, ci, test, style, build) left out, anything else kept under "Other".

use std::collections::HashSet;

use serde::Serialize;

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
    /// The short commit id.
    pub commit: String,
}

/// A changelog section: breaking changes, then the groups in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changelog {
    /// Breaking changes (also listed in their group).
    pub breaking: Vec<Entry>,
    /// `(title, entries)` in the order of [`GROUPS`], then "Other".
    pub groups: Vec<(String, Vec<Entry>)>,
}

impl Changelog {
    /// No entry at all.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(|(_, entries)| entries.is_empty())
    }
}

/// Types and the group they land in, in the order the groups are shown.
pub const GROUPS: [(&str, &str); 7] = [
    ("feat", "Added"),
    ("fix", "Fixed"),
    ("perf", "Performance"),
    ("refactor", "Changed"),
    ("security", "Security"),
    ("revert", "Reverted"),
    ("docs", "Documentation"),
];

/// Types left out of the changelog: housekeeping nobody using the product needs to read.
pub const SKIPPED: [&str; 5] = ["chore", "ci", "test", "style", "build"];

/// Builds the changelog of `commits` (newest first, as history gives them).
pub fn build(commits: &[CommitInfo]) -> Changelog {
    let dropped = reverted_pairs(commits);
    let mut groups: Vec<(String, Vec<Entry>)> = GROUPS
        .iter()
        .map(|(_, title)| (title.to_string(), Vec::new()))
        .chain([("Other".to_string(), Vec::new())])
        .collect();
    let mut breaking = Vec::new();
    for commit in commits {
        if commit.parents > 1 || dropped.contains(commit.id.as_str()) {
            continue;
        }
        let entry = entry(commit);
        if entry.kind.as_deref().is_some_and(|k| SKIPPED.contains(&k)) && !entry.breaking {
            continue;
        }
        if entry.breaking {
            breaking.push(entry.clone());
        }
        let index = group_index(entry.kind.as_deref());
        groups[index].1.push(entry);
    }
    Changelog { breaking, groups }
}

fn group_index(kind: Option<&str>) -> usize {
    kind.and_then(|k| GROUPS.iter().position(|(t, _)| *t == k))
        .unwrap_or(GROUPS.len())
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

/// The entry of one commit: parsed as a Conventional Commit when it is one of the known types
/// (an unknown word before a colon, as in "Evidence: ...", is prose, kept whole).
fn entry(commit: &CommitInfo) -> Entry {
    let (summary, pull_request) = split_pull_request(commit.summary());
    let free_form = Entry {
        kind: None,
        scope: None,
        description: summary.to_string(),
        breaking: commit.message.contains("\nBREAKING CHANGE:"),
        breaking_note: None,
        pull_request,
        commit: commit.short_id().to_string(),
    };
    let Ok(c) = git_conventional::Commit::parse(commit.message.trim()) else {
        return free_form;
    };
    let kind = c.type_().as_str().to_ascii_lowercase();
    let known = GROUPS.iter().any(|(t, _)| *t == kind) || SKIPPED.contains(&kind.as_str());
    if !known {
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
        pull_request,
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
        out.push_str("\n### ⚠ Breaking changes\n\n");
        for entry in &log.breaking {
            let note = entry.breaking_note.as_deref().unwrap_or(&entry.description);
            out.push_str(&format!("- {}\n", line(entry, note)));
        }
    }
    for (title, entries) in log.groups.iter().filter(|(_, e)| !e.is_empty()) {
        out.push_str(&format!("\n### {title}\n\n"));
        for entry in entries {
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
    let reference = match entry.pull_request {
        Some(pr) => format!(" (#{pr})"),
        None => format!(" ({})", entry.commit),
    };
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
