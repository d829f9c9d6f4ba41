//! What a release contains, as the policy describes it: which tags are releases, how commits are
//! grouped into a changelog (git-cliff's `commit_parsers` are the model), who release notes are
//! for, and which paths make a release need a migration or carry a risk note. `greenlight-git`
//! applies these to history; here they are data with the spec's defaults and their checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[git]`: the repository and how its refs are named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitPolicy {
    /// A local clone the server reads when a release is planned or frozen, to record its
    /// changelog and facts by itself; empty: the server reads no repository (`release content`
    /// records them from a checkout).
    pub repository: String,
    /// Release tags: a git wildmatch pattern (`v*`). A tag must also hold a version.
    pub tag_pattern: String,
    /// Tags that match `tag_pattern` but are never release boundaries (release candidates).
    pub skip_tags: Vec<String>,
    /// The branch releases are cut from.
    pub main_branch: String,
    /// Paths whose change means the release needs a data migration (wildmatch patterns).
    pub migration_paths: Vec<String>,
    /// Paths whose change adds a risk note to the release (score recording, payments, auth).
    pub sensitive_paths: Vec<SensitivePaths>,
}

impl Default for GitPolicy {
    fn default() -> Self {
        let sensitive = |label: &str, paths: &[&str]| SensitivePaths {
            label: label.into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        };
        GitPolicy {
            repository: String::new(),
            tag_pattern: "v*".into(),
            skip_tags: vec!["*-rc.*".into()],
            main_branch: "main".into(),
            migration_paths: vec!["migrations/**".into(), "**/migrations/**".into()],
            sensitive_paths: vec![
                sensitive("score recording", &["**/score*/**", "**/*score*"]),
                sensitive(
                    "payments",
                    &["**/payment*/**", "**/*payment*", "**/billing/**"],
                ),
                sensitive("authentication", &["**/auth/**", "**/*auth*", "**/login*"]),
            ],
        }
    }
}

/// A named set of sensitive paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivePaths {
    /// What the paths are (`score recording`), used in the risk note.
    pub label: String,
    /// Wildmatch patterns (`src/scores/**`).
    pub paths: Vec<String>,
}

/// `[changelog]`: how commits become changelog entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangelogPolicy {
    /// Rules tried in order before the groups; the first that matches a commit decides.
    pub parsers: Vec<CommitParser>,
    /// Groups in the order they are shown, each with the Conventional Commits types it takes.
    pub groups: Vec<ChangelogGroup>,
    /// Types left out (housekeeping nobody using the product reads), unless breaking.
    pub skip_types: Vec<String>,
    /// Title of the group for commits that are not Conventional Commits; empty skips them.
    pub other: String,
    /// Title of the breaking changes list shown first.
    pub breaking_title: String,
}

impl Default for ChangelogPolicy {
    fn default() -> Self {
        let group = |title: &str, types: &[&str]| ChangelogGroup {
            title: title.into(),
            types: types.iter().map(|t| t.to_string()).collect(),
        };
        ChangelogPolicy {
            parsers: Vec::new(),
            groups: vec![
                group("Added", &["feat"]),
                group("Fixed", &["fix"]),
                group("Performance", &["perf"]),
                group("Changed", &["refactor"]),
                group("Security", &["security"]),
                group("Reverted", &["revert"]),
                group("Documentation", &["docs"]),
            ],
            skip_types: ["chore", "ci", "test", "style", "build"]
                .map(String::from)
                .to_vec(),
            other: "Other".into(),
            breaking_title: "⚠ Breaking changes".into(),
        }
    }
}

/// A changelog group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangelogGroup {
    /// Heading (`Added`).
    pub title: String,
    /// Conventional Commits types that land here (`feat`).
    pub types: Vec<String>,
}

/// One rule of `[[changelog.parsers]]`: when every given condition matches, the commit goes to
/// `group` or, with `skip = true`, out of the changelog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommitParser {
    /// Regular expression on the first line of the message.
    pub message: Option<String>,
    /// Regular expression on the rest of the message.
    pub body: Option<String>,
    /// Conventional Commits type, exactly.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Conventional Commits scope, exactly.
    pub scope: Option<String>,
    /// The group the commit goes to.
    pub group: Option<String>,
    /// Leave the commit out.
    pub skip: bool,
}

/// `[notes]`: release notes for end users, by audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotesPolicy {
    /// The audiences an `Audience:` trailer may name (`all` names every one; `internal` none).
    pub audiences: Vec<String>,
    /// Audiences of a user-facing change (feat, fix, perf) that carries no `Audience:` trailer;
    /// empty leaves such changes out of the notes.
    pub untagged: Vec<String>,
    /// Templates per channel (`markdown`, `email`, `status_page`, `in_app`): file paths that
    /// replace the built-in ones.
    pub templates: BTreeMap<String, String>,
}

impl Default for NotesPolicy {
    fn default() -> Self {
        let audiences: Vec<String> = ["students", "teachers", "school_admins", "parents"]
            .map(String::from)
            .to_vec();
        NotesPolicy {
            untagged: audiences.clone(),
            audiences,
            templates: BTreeMap::new(),
        }
    }
}

/// What a release contains, drafted from its history (`greenlight release content`): the spec's
/// content fields of the release record plus the risk notes for the planning meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseContent {
    /// Markdown-formatted changes.
    pub changelog: String,
    /// Feature IDs or PR numbers.
    pub included_features: Vec<String>,
    /// Bug IDs or issue numbers.
    pub included_fixes: Vec<String>,
    /// Whether anything breaks.
    pub breaking_changes: bool,
    /// Whether the release needs a data migration.
    pub migration_required: bool,
    /// High-risk changes needing extra validation (sensitive paths touched).
    #[serde(default)]
    pub risk_notes: Vec<String>,
    /// The history it was drafted from (`v1.3.0..3f2a9c1`).
    #[serde(default)]
    pub source: String,
    /// When each of its commits was made: the start of the lead time for changes (commit to
    /// production) in the delivery metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub commit_times: Vec<jiff::Timestamp>,
}

/// The channels release notes are written for.
pub const NOTE_CHANNELS: [&str; 4] = ["markdown", "email", "status_page", "in_app"];

/// Problems of the three sections, as (TOML path, message).
pub fn problems(
    git: &GitPolicy,
    changelog: &ChangelogPolicy,
    notes: &NotesPolicy,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if git.tag_pattern.trim().is_empty() {
        out.push((
            "git.tag_pattern".into(),
            "needs a pattern such as `v*`".into(),
        ));
    }
    for (i, set) in git.sensitive_paths.iter().enumerate() {
        if set.paths.is_empty() {
            out.push((
                format!("git.sensitive_paths[{i}].paths"),
                "needs at least one pattern".into(),
            ));
        }
    }
    for (i, parser) in changelog.parsers.iter().enumerate() {
        out.extend(parser_problems(i, parser, changelog));
    }
    for (i, group) in changelog.groups.iter().enumerate() {
        if group.title.trim().is_empty() {
            out.push((
                format!("changelog.groups[{i}].title"),
                "needs a title".into(),
            ));
        }
    }
    for (i, audience) in notes.untagged.iter().enumerate() {
        if !notes.audiences.contains(audience) {
            out.push((
                format!("notes.untagged[{i}]"),
                format!("`{audience}` is not one of notes.audiences"),
            ));
        }
    }
    for channel in notes.templates.keys() {
        if !NOTE_CHANNELS.contains(&channel.as_str()) {
            out.push((
                format!("notes.templates.{channel}"),
                format!("unknown channel; use one of {}", NOTE_CHANNELS.join(", ")),
            ));
        }
    }
    out
}

fn parser_problems(
    i: usize,
    parser: &CommitParser,
    changelog: &ChangelogPolicy,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let path = format!("changelog.parsers[{i}]");
    for (field, pattern) in [("message", &parser.message), ("body", &parser.body)] {
        if let Some(Err(e)) = pattern.as_deref().map(regex::Regex::new) {
            out.push((
                format!("{path}.{field}"),
                format!("not a regular expression: {e}"),
            ));
        }
    }
    let conditions = [&parser.message, &parser.body, &parser.kind, &parser.scope];
    if conditions.iter().all(|c| c.is_none()) {
        out.push((
            path.clone(),
            "needs a condition: message, body, type or scope".into(),
        ));
    }
    match (&parser.group, parser.skip) {
        (None, false) => out.push((path, "needs `group = \"...\"` or `skip = true`".into())),
        (Some(_), true) => out.push((path, "has both `group` and `skip`; keep one".into())),
        (Some(group), false) if !is_group(changelog, group) => out.push((
            format!("{path}.group"),
            format!("`{group}` is not a title of changelog.groups nor changelog.other"),
        )),
        _ => {}
    }
    out
}

fn is_group(changelog: &ChangelogPolicy, title: &str) -> bool {
    changelog.other == title || changelog.groups.iter().any(|g| g.title == title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_no_problems() {
        let problems = problems(
            &GitPolicy::default(),
            &ChangelogPolicy::default(),
            &NotesPolicy::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_parser_names_what_is_wrong() {
        let changelog = ChangelogPolicy {
            parsers: vec![
                CommitParser {
                    message: Some("^(chore".into()),
                    skip: true,
                    ..CommitParser::default()
                },
                CommitParser {
                    kind: Some("feat".into()),
                    group: Some("Features".into()),
                    ..CommitParser::default()
                },
                CommitParser::default(),
            ],
            ..ChangelogPolicy::default()
        };
        let found = problems(&GitPolicy::default(), &changelog, &NotesPolicy::default());
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "changelog.parsers[0].message",
                "changelog.parsers[1].group",
                "changelog.parsers[2]",
                "changelog.parsers[2]",
            ]
        );
    }

    #[test]
    fn untagged_audiences_must_be_known() {
        let notes = NotesPolicy {
            untagged: vec!["aliens".into()],
            ..NotesPolicy::default()
        };
        let found = problems(&GitPolicy::default(), &ChangelogPolicy::default(), &notes);
        assert_eq!(found[0].0, "notes.untagged[0]");
    }
}
