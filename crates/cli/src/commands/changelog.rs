//! `greenlight changelog`, `greenlight notes` and `release content`: what a release contains,
//! from git history under the policy's `[git]`, `[changelog]` and `[notes]`.

use std::path::Path;
use std::process::ExitCode;

use greenlight_git::notes::KnownIssue;
use greenlight_git::{Draft, GitError, template};
use serde_json::{Value, json};

use super::{Env, done};
use crate::args::{ChangelogArgs, HistoryArgs, NotesArgs, Target};
use crate::client::Api;
use crate::exit::usage;
use crate::output::print_json;

/// Reads a range of the repository at `repo` and drafts its changelog and facts.
fn draft(env: &Env, repo: &Path, range: Option<&str>) -> anyhow::Result<Draft> {
    let git = greenlight_git::open(repo).map_err(|e| usage(e.to_string()))?;
    greenlight_git::draft(&git, range, &env.policy.git, &env.policy.changelog).map_err(
        |e| match e {
            GitError::Read(_) | GitError::Write(_) => anyhow::Error::new(e),
            other => usage(other.to_string()),
        },
    )
}

fn read_template(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))
}

fn render_file(file: &Path, context: &Value) -> anyhow::Result<String> {
    let source = read_template(file)?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("template");
    template::render(name, &source, context).map_err(|e| usage(e.to_string()))
}

/// Prints (or prepends to a file, or renders through a template) the changelog of a range.
pub fn run(env: &Env, args: ChangelogArgs) -> anyhow::Result<ExitCode> {
    let drafted = draft(env, &args.repo, args.range.as_deref())?;
    let today = env.now.to_zoned(env.policy.tz().clone()).date().to_string();
    let (version, date) = match &args.version {
        Some(version) => (
            version.as_str(),
            Some(args.date.as_deref().unwrap_or(&today)),
        ),
        None => ("Unreleased", args.date.as_deref()),
    };
    let context = json!({
        "version": version, "date": date, "from": drafted.history.from, "to": drafted.history.to,
        "commits": drafted.history.commits.len(), "changelog": drafted.log, "facts": drafted.facts,
    });
    if env.json {
        print_json(&context)?;
        return done();
    }
    if let Some(file) = &args.template {
        print!("{}", render_file(file, &context)?);
        return done();
    }
    let section = greenlight_git::markdown(version, date, &drafted.log);
    let Some(file) = args.prepend else {
        print!("{section}");
        return done();
    };
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(usage(format!("cannot read {}: {e}", file.display()))),
    };
    std::fs::write(&file, greenlight_git::prepend(&existing, &section))?;
    println!(
        "Added [{version}] to {} ({} commits)",
        file.display(),
        drafted.history.commits.len()
    );
    done()
}

/// The range of a release's notes: up to its tag when it exists, else to HEAD.
fn release_range(repo: &Path, version: &str, given: Option<&str>) -> Option<String> {
    if let Some(range) = given {
        return Some(range.to_string());
    }
    let tag = format!("v{}", version.trim_start_matches('v'));
    let git = greenlight_git::open(repo).ok()?;
    greenlight_git::history::resolve(&git, &tag)
        .ok()
        .map(|_| tag)
}

/// Known issues of a release on the server: its open bugs with their workarounds.
fn known_issues(api: &Api, version: &str) -> anyhow::Result<Vec<KnownIssue>> {
    let release: Value = api.get(&format!("/releases/{version}"), &[]).map_err(|e| {
        e.context("reading known issues from the server (use --offline to skip them)")
    })?;
    let bugs = release["bugs"].as_array().cloned().unwrap_or_default();
    Ok(bugs
        .iter()
        .filter(|bug| bug["open"].as_bool().unwrap_or(false))
        .map(|bug| KnownIssue {
            description: bug["title"].as_str().unwrap_or_default().to_string(),
            workaround: bug["workaround"].as_str().map(str::to_string),
        })
        .collect())
}

/// Prints the release notes of a version for one channel.
pub fn notes(
    env: &Env,
    api: impl Fn() -> anyhow::Result<Api>,
    args: NotesArgs,
) -> anyhow::Result<ExitCode> {
    let notes_policy = &env.policy.notes;
    if let Some(audience) = &args.audience
        && !notes_policy.audiences.contains(audience)
    {
        return Err(usage(format!(
            "`{audience}` is not an audience; use one of {} (or change [notes] audiences)",
            notes_policy.audiences.join(", ")
        )));
    }
    let range = release_range(
        &args.history.repo,
        &args.version,
        args.history.range.as_deref(),
    );
    let drafted = draft(env, &args.history.repo, range.as_deref())?;
    let known = match args.offline {
        true => Vec::new(),
        false => known_issues(&api()?, &args.version)?,
    };
    let notes = greenlight_git::notes::build(
        &args.version,
        args.date.as_deref(),
        &drafted.history.commits,
        &drafted.log,
        notes_policy,
        args.audience.as_deref(),
        known,
    );
    if env.json {
        print_json(&notes)?;
        return done();
    }
    let custom = args
        .template
        .clone()
        .or_else(|| notes_policy.templates.get(&args.channel).map(Into::into));
    let text = match custom {
        Some(file) => render_file(&file, &serde_json::to_value(&notes)?)?,
        None => {
            let (name, source) = template::notes_template(&args.channel)
                .ok_or_else(|| usage(format!("unknown channel {}", args.channel)))?;
            template::render(name, source, &notes)?
        }
    };
    print!("{text}");
    done()
}

/// Drafts the release's content from history and records it on the server.
pub fn record_content(
    env: &Env,
    api: &Api,
    target: &Target,
    history: &HistoryArgs,
) -> anyhow::Result<ExitCode> {
    let drafted = draft(env, &history.repo, history.range.as_deref())?;
    let content = drafted.content(&target.release);
    let path = format!("/releases/{}/content", target.release);
    let release: Value = api.post(&path, &content, target.revision)?;
    if env.json {
        print_json(&json!({ "release": release, "facts": drafted.facts }))?;
        return done();
    }
    let facts = &drafted.facts;
    println!(
        "Content of {} recorded from {} ({} commits): {} features, {} fixes{}{}",
        target.release,
        content.source,
        drafted.history.commits.len(),
        facts.included_features.len(),
        facts.included_fixes.len(),
        if facts.breaking_changes {
            ", BREAKING"
        } else {
            ""
        },
        if facts.migration_required {
            ", migration required"
        } else {
            ""
        },
    );
    if let Some(suggested) = &facts.suggested_version {
        let bump = format!("{:?}", facts.suggested_bump).to_lowercase();
        println!("  history suggests {suggested} (a {bump} bump)");
    }
    for note in &content.risk_notes {
        println!("  risk: {note}");
    }
    done()
}
