//! Release notes for end users, by audience: a commit speaks to the audiences of its `Audience:`
//! trailer (`teachers, students`; `all`; `internal` for none) in the words of its
//! `Release-Note:` trailer (else its description). User-facing changes without the trailer go to
//! the policy's `untagged` audiences; housekeeping never appears. Known issues recorded on the
//! release close the notes.

use greenlight_core::content::NotesPolicy;
use serde::Serialize;

use crate::changelog::{Changelog, Entry};
use crate::history::CommitInfo;

/// Types that are user-facing without an `Audience:` trailer.
const USER_FACING: [&str; 3] = ["feat", "fix", "perf"];

/// A known issue of the release and its workaround.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KnownIssue {
    /// What goes wrong.
    pub description: String,
    /// What to do meanwhile, if anything.
    pub workaround: Option<String>,
}

/// One item of the notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteItem {
    /// The words for users.
    pub text: String,
    /// `new`, `fixed` or `improved`.
    pub kind: &'static str,
    /// PR or issue references (for people who want the detail).
    pub references: Vec<String>,
}

/// The notes of one audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AudienceNotes {
    /// The audience (`teachers`).
    pub audience: String,
    /// What changed for them, new things first.
    pub items: Vec<NoteItem>,
}

/// Release notes: per audience, then known issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseNotes {
    /// The release's version.
    pub version: String,
    /// The release date, if known.
    pub date: Option<String>,
    /// One entry per audience of the policy (or the one asked for), in the policy's order.
    pub audiences: Vec<AudienceNotes>,
    /// Known issues and workarounds.
    pub known_issues: Vec<KnownIssue>,
}

/// Builds the notes of `commits` (whose changelog is `log`) for `only` (or every audience).
pub fn build(
    version: &str,
    date: Option<&str>,
    commits: &[CommitInfo],
    log: &Changelog,
    policy: &NotesPolicy,
    only: Option<&str>,
    known_issues: Vec<KnownIssue>,
) -> ReleaseNotes {
    let mut audiences: Vec<AudienceNotes> = policy
        .audiences
        .iter()
        .filter(|a| only.is_none_or(|o| o == a.as_str()))
        .map(|a| AudienceNotes {
            audience: a.clone(),
            items: Vec::new(),
        })
        .collect();
    for entry in log.entries() {
        let Some(commit) = commits.iter().find(|c| c.id.starts_with(&entry.commit)) else {
            continue;
        };
        let targets = audiences_of(commit, entry, policy);
        let item = item(commit, entry);
        for notes in audiences
            .iter_mut()
            .filter(|n| targets.contains(&n.audience))
        {
            notes.items.push(item.clone());
        }
    }
    for notes in &mut audiences {
        notes.items.sort_by_key(|i| kind_order(i.kind));
    }
    ReleaseNotes {
        version: version.to_string(),
        date: date.map(str::to_string),
        audiences,
        known_issues,
    }
}

fn kind_order(kind: &str) -> u8 {
    match kind {
        "new" => 0,
        "improved" => 1,
        _ => 2,
    }
}

/// The audiences a change speaks to.
fn audiences_of(commit: &CommitInfo, entry: &Entry, policy: &NotesPolicy) -> Vec<String> {
    let named: Vec<String> = commit
        .trailer_values("Audience")
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
        .filter(|a| !a.is_empty())
        .collect();
    if named.is_empty() {
        let user_facing = entry
            .kind
            .as_deref()
            .is_some_and(|k| USER_FACING.contains(&k))
            || commit.trailer_values("Release-Note").next().is_some();
        return if user_facing {
            policy.untagged.clone()
        } else {
            Vec::new()
        };
    }
    if named.iter().any(|a| a == "all") {
        return policy.audiences.clone();
    }
    named
}

fn item(commit: &CommitInfo, entry: &Entry) -> NoteItem {
    let text = commit
        .trailer_values("Release-Note")
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| sentence(&entry.description));
    let kind = match entry.kind.as_deref() {
        Some("feat") => "new",
        Some("fix") => "fixed",
        _ => "improved",
    };
    NoteItem {
        text,
        kind,
        references: entry.references(),
    }
}

/// `save scores offline` → `Save scores offline.`
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}
