//! The policy-driven parts of the git crate on repositories built by the tests: changelog groups
//! and parsers, trailers and co-authors, derived release facts, release notes by audience and
//! channel, branches and tags with their refusals, the backport list, custom tag patterns.
//! Markdown output is pinned with insta snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use greenlight_core::ReleaseType;
use greenlight_core::content::{
    ChangelogGroup, ChangelogPolicy, CommitParser, GitPolicy, NotesPolicy,
};
use greenlight_git::facts::Bump;
use greenlight_git::notes::{self, KnownIssue};
use greenlight_git::refs::{self, Tagger};
use greenlight_git::{GitError, Rules, build, derive, markdown, open, read, template};
use semver::Version;

mod support;
use support::{commit, commit_files, git, product, repository};

fn default_log(dir: &std::path::Path) -> (greenlight_git::History, greenlight_git::Changelog) {
    let history = read(dir, None, &GitPolicy::default()).unwrap();
    let log = build(&history.commits, &Rules::default());
    (history, log)
}

#[test]
fn the_default_changelog_of_a_release() {
    let repo = product();
    let (history, log) = default_log(repo.path());
    assert_eq!(history.from.as_deref(), Some("v1.3.0"));
    insta::assert_snapshot!(
        "product_changelog",
        markdown("1.4.0", Some("2026-12-10"), &log)
    );
}

#[test]
fn the_breaking_changelog_snapshot() {
    let repo = repository();
    let (_, log) = default_log(repo.path());
    insta::assert_snapshot!(
        "breaking_changelog",
        markdown("2.0.0", Some("2026-12-10"), &log)
    );
}

#[test]
fn groups_order_parsers_and_other_come_from_the_policy() {
    let repo = product();
    let history = read(repo.path(), None, &GitPolicy::default()).unwrap();
    let policy = ChangelogPolicy {
        parsers: vec![
            CommitParser {
                scope: Some("db".into()),
                skip: true,
                ..CommitParser::default()
            },
            CommitParser {
                message: Some("^refactor".into()),
                group: Some("Bug Fixes".into()),
                ..CommitParser::default()
            },
        ],
        groups: vec![
            ChangelogGroup {
                title: "Bug Fixes".into(),
                types: vec!["fix".into()],
            },
            ChangelogGroup {
                title: "Features".into(),
                types: vec!["feat".into()],
            },
        ],
        other: String::new(),
        ..ChangelogPolicy::default()
    };
    let log = build(&history.commits, &Rules::new(&policy).unwrap());
    let text = markdown("1.4.0", None, &log);
    let fixes = text.find("### Bug Fixes").unwrap();
    let features = text.find("### Features").unwrap();
    assert!(fixes < features, "the policy's order:\n{text}");
    assert!(
        text.contains("split the lesson loader"),
        "parser placed it:\n{text}"
    );
    assert!(!text.contains("index scores"), "parser skipped it:\n{text}");
    assert!(!text.contains("cache the cargo"), "ci is skipped:\n{text}");
    assert!(!text.contains("### Other"), "other is off:\n{text}");

    let bad = ChangelogPolicy {
        parsers: vec![CommitParser {
            message: Some("(".into()),
            skip: true,
            ..CommitParser::default()
        }],
        ..ChangelogPolicy::default()
    };
    let err = Rules::new(&bad).unwrap_err();
    assert!(
        err.to_string().contains("changelog.parsers[0].message"),
        "{err}"
    );
}

#[test]
fn non_conventional_commits_go_to_other_or_nowhere() {
    let repo = repository();
    let history = read(repo.path(), None, &GitPolicy::default()).unwrap();
    let kept = markdown("x", None, &build(&history.commits, &Rules::default()));
    assert!(kept.contains("### Other\n\n- Update some stuff"), "{kept}");
    let policy = ChangelogPolicy {
        other: String::new(),
        ..ChangelogPolicy::default()
    };
    let skipped = markdown(
        "x",
        None,
        &build(&history.commits, &Rules::new(&policy).unwrap()),
    );
    assert!(!skipped.contains("Update some stuff"), "{skipped}");
    assert!(!skipped.contains("garbage"), "{skipped}");
}

#[test]
fn trailers_co_authors_and_references() {
    let repo = product();
    let (history, log) = default_log(repo.path());
    let reminder = history
        .commits
        .iter()
        .find(|c| c.summary().contains("reminders"))
        .unwrap();
    assert_eq!(reminder.co_authors(), ["Sam Lee"]);
    assert_eq!(
        reminder.trailer_values("audience").collect::<Vec<_>>(),
        ["teachers"]
    );
    assert_eq!(reminder.email, "robin@mlc.invalid");
    let fix = log
        .entries()
        .find(|e| e.kind.as_deref() == Some("fix"))
        .unwrap();
    assert_eq!(fix.issues, ["#57"]);
    assert_eq!(fix.references(), ["#57"]);
    let feature = log.entries().find(|e| e.pull_request == Some(41)).unwrap();
    assert_eq!(feature.co_authors, ["Sam Lee"]);
    assert_eq!(feature.author, "Robin Ré");
}

#[test]
fn facts_for_the_release_record() {
    let repo = product();
    let (history, log) = default_log(repo.path());
    let gix = open(repo.path()).unwrap();
    let facts = derive(&gix, &history, &log, &GitPolicy::default()).unwrap();
    let db = history
        .commits
        .iter()
        .find(|c| c.summary().contains("index scores"))
        .unwrap();
    assert_eq!(facts.included_features, ["#41", db.short_id(), "#44"]);
    assert_eq!(facts.included_fixes, ["#57"]);
    assert!(!facts.breaking_changes);
    assert!(facts.migration_required);
    assert_eq!(facts.migration_paths, ["migrations/0042_scores_index.sql"]);
    assert_eq!(facts.suggested_bump, Bump::Minor);
    assert_eq!(facts.previous_version.as_deref(), Some("1.3.0"));
    assert_eq!(facts.suggested_version.as_deref(), Some("1.4.0"));
    assert_eq!(facts.suggested_type, Some(ReleaseType::Standard));
    let labels: Vec<&str> = facts.risk_notes.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["score recording"]);
    assert!(
        facts.risk_notes[0]
            .paths
            .contains(&"src/scores/record.rs".to_string())
    );
    assert!(facts.risk_notes[0].note.contains("src/scores/record.rs"));

    let quiet = GitPolicy {
        migration_paths: vec!["db/**".into()],
        sensitive_paths: Vec::new(),
        ..GitPolicy::default()
    };
    let facts = derive(&gix, &history, &log, &quiet).unwrap();
    assert!(!facts.migration_required && facts.risk_notes.is_empty());

    let breaking = repository();
    let (history, log) = default_log(breaking.path());
    let gix = open(breaking.path()).unwrap();
    let facts = derive(&gix, &history, &log, &GitPolicy::default()).unwrap();
    assert!(facts.breaking_changes);
    assert_eq!(facts.breaking, ["the v1 score endpoints are gone"]);
    assert_eq!(facts.suggested_bump, Bump::Major);
    assert_eq!(facts.suggested_version.as_deref(), Some("2.0.0"));
    assert_eq!(facts.suggested_type, Some(ReleaseType::Major));
}

fn product_notes(only: Option<&str>) -> notes::ReleaseNotes {
    let repo = product();
    let (history, log) = default_log(repo.path());
    let known = vec![KnownIssue {
        description: "Leaderboards <b>may</b> lag by a minute after a game.".into(),
        workaround: Some("Reload the page.".into()),
    }];
    notes::build(
        "1.4.0",
        Some("2026-12-10"),
        &history.commits,
        &log,
        &NotesPolicy::default(),
        only,
        known,
    )
}

#[test]
fn notes_group_by_audience_and_leave_internal_changes_out() {
    let notes = product_notes(None);
    let texts = |audience: &str| -> Vec<String> {
        let of = notes
            .audiences
            .iter()
            .find(|a| a.audience == audience)
            .unwrap();
        of.items.iter().map(|i| i.text.clone()).collect()
    };
    let teachers = texts("teachers");
    assert_eq!(teachers.len(), 3, "{teachers:?}");
    assert!(
        teachers.contains(&"Teachers get a reminder the day before an assignment is due.".into())
    );
    assert!(teachers.contains(&"Scores recorded twice on a slow network.".into()));
    assert_eq!(texts("students").len(), 2);
    assert_eq!(texts("parents").len(), 1, "only the change for all");
    for audience in ["students", "teachers", "school_admins", "parents"] {
        assert!(
            texts(audience).iter().all(|t| !t.contains("index scores")),
            "internal"
        );
        assert!(
            texts(audience).iter().all(|t| !t.contains("lesson loader")),
            "refactor"
        );
    }
    assert_eq!(notes.known_issues.len(), 1);

    let only = product_notes(Some("teachers"));
    assert_eq!(only.audiences.len(), 1);
    insta::assert_snapshot!(
        "teacher_notes",
        template::render(
            "notes.md",
            template::notes_template("markdown").unwrap().1,
            &only
        )
        .unwrap()
    );
}

#[test]
fn every_channel_renders_and_html_escapes_hostile_text() {
    let notes = product_notes(None);
    for channel in ["markdown", "email", "status_page", "in_app"] {
        let (name, source) = template::notes_template(channel).unwrap();
        let text = template::render(name, source, &notes).unwrap();
        assert!(text.contains("1.4.0"), "{channel}: {text}");
        if channel == "email" {
            assert!(!text.contains("<script>"), "{text}");
            assert!(text.contains("&lt;script&gt;"), "{text}");
            assert!(text.contains("&lt;b&gt;may"), "{text}");
        }
    }
    let in_app = template::render(
        "notes.in_app.txt",
        template::notes_template("in_app").unwrap().1,
        &notes,
    )
    .unwrap();
    assert_eq!(
        in_app.lines().count(),
        4,
        "one banner line per audience:\n{in_app}"
    );
    let mine = template::render(
        "mine.txt",
        "{{ version }}: {{ audiences | length }}",
        &notes,
    )
    .unwrap();
    assert_eq!(mine, "1.4.0: 4");
}

fn tagger() -> Tagger {
    Tagger {
        name: "Greenlight".into(),
        email: "greenlight@mlc.invalid".into(),
        time: 1_796_000_000,
    }
}

fn refused(result: Result<refs::Created, GitError>) -> &'static str {
    match result {
        Err(GitError::Refused { rule, .. }) => rule,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn release_branches_candidates_and_the_final_tag() {
    let repo = product();
    let d = repo.path();
    let gix = open(d).unwrap();
    let policy = GitPolicy::default();
    let v = Version::new(1, 4, 0);
    assert_eq!(
        refused(refs::tag_release_candidate(&gix, &v, &tagger())),
        "no_release_branch"
    );
    let branch = refs::create_release_branch(&gix, &policy, &v, None).unwrap();
    assert_eq!(branch.name, "release/v1.4.0");
    assert_eq!(branch.commit, git(d, &["rev-parse", "main"]));
    assert_eq!(
        refused(refs::create_release_branch(&gix, &policy, &v, None)),
        "name_exists"
    );
    assert_eq!(refused(refs::tag_release(&gix, &v, &tagger())), "untested");

    let rc1 = refs::tag_release_candidate(&gix, &v, &tagger()).unwrap();
    assert_eq!(rc1.name, "v1.4.0-rc.1");
    assert_eq!(
        git(d, &["cat-file", "-t", "v1.4.0-rc.1"]),
        "tag",
        "annotated"
    );
    assert_eq!(
        refused(refs::tag_release_candidate(&gix, &v, &tagger())),
        "nothing_new"
    );

    git(d, &["checkout", "-q", "release/v1.4.0"]);
    commit(d, "fix(scores): round half up");
    assert_eq!(
        refused(refs::tag_release(&gix, &v, &tagger())),
        "untested",
        "moved past rc.1"
    );
    let rc2 = refs::tag_release_candidate(&gix, &v, &tagger()).unwrap();
    assert_eq!(rc2.name, "v1.4.0-rc.2");
    let release = refs::tag_release(&gix, &v, &tagger()).unwrap();
    assert_eq!(release.name, "v1.4.0");
    assert_eq!(release.commit, rc2.commit);
    assert_eq!(
        refused(refs::tag_release(&gix, &v, &tagger())),
        "name_exists"
    );
    assert_eq!(
        refused(refs::create_release_branch(
            &gix,
            &policy,
            &Version::new(1, 3, 0),
            None
        )),
        "already_released"
    );
    assert!(
        git(d, &["status", "--porcelain", "--untracked-files=no"]).is_empty(),
        "work tree untouched"
    );

    let history = read(d, Some("v1.4.0"), &policy).unwrap();
    assert_eq!(
        history.from.as_deref(),
        Some("v1.3.0"),
        "rc tags are not boundaries"
    );
}

#[test]
fn hotfix_branches_and_the_backport_list() {
    let repo = product();
    let d = repo.path();
    let gix = open(d).unwrap();
    let policy = GitPolicy::default();
    let hotfix = Version::new(1, 3, 1);
    let created =
        refs::create_hotfix_branch(&gix, &policy, &hotfix, "Critical score fix!", None).unwrap();
    assert_eq!(created.name, "hotfix/v1.3.1-critical-score-fix");
    assert_eq!(
        created.commit,
        git(d, &["rev-parse", "v1.3.0^{commit}"]),
        "from production"
    );
    assert_eq!(
        refused(refs::create_hotfix_branch(
            &gix,
            &policy,
            &hotfix,
            "critical score fix",
            None
        )),
        "name_exists"
    );
    refs::create_release_branch(&gix, &policy, &Version::new(1, 4, 0), None).unwrap();

    git(d, &["checkout", "-q", &created.name]);
    let first = commit_files(
        d,
        "fix(scores): never drop a score on timeout",
        &[("src/scores/timeout.rs", "1")],
    );
    commit_files(
        d,
        "fix(scores): retry the save once",
        &[("src/scores/retry.rs", "2")],
    );
    git(d, &["checkout", "-q", "release/v1.4.0"]);
    git(d, &["cherry-pick", "-x", &first]);

    let list = refs::backport(&gix, &created.name, None).unwrap();
    assert_eq!(list.onto, "release/v1.4.0");
    assert_eq!(list.done, 1);
    let pending: Vec<&str> = list.pending.iter().map(|c| c.summary()).collect();
    assert_eq!(pending, ["fix(scores): retry the save once"]);

    let bare = open(repository().path()).unwrap();
    let err = refs::backport(&bare, "HEAD", None).unwrap_err();
    assert!(err.to_string().contains("--onto"), "{err}");
}

#[test]
fn a_custom_tag_pattern_decides_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    commit(d, "feat: one");
    git(d, &["tag", "release-1.0.0"]);
    commit(d, "feat: two");
    git(d, &["tag", "v9.0.0"]);
    commit_files(d, "feat: three", &[("a.txt", "a")]);
    let policy = GitPolicy {
        tag_pattern: "release-*".into(),
        ..GitPolicy::default()
    };
    let history = read(d, None, &policy).unwrap();
    assert_eq!(history.from.as_deref(), Some("release-1.0.0"));
    assert_eq!(history.commits.len(), 2);
    let default = read(d, None, &GitPolicy::default()).unwrap();
    assert_eq!(default.from.as_deref(), Some("v9.0.0"));
}
