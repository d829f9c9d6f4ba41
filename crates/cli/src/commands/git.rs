//! `greenlight git ...`: the spec's branches and tags in a local repository, and the backport
//! list. Refusals (a name that exists, nothing new to tag, an untested tip) exit 1.

use std::path::Path;
use std::process::ExitCode;

use greenlight_git::GitError;
use greenlight_git::refs::{self, Created, Tagger};
use semver::Version;
use serde_json::json;

use super::{Env, done};
use crate::args::GitCommand;
use crate::client::Refused;
use crate::exit::usage;
use crate::output::print_json;

/// Runs a `git` subcommand.
pub fn run(env: &Env, cmd: GitCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GitCommand::ReleaseBranch {
            version,
            from,
            repo,
        } => {
            let git = open(&repo)?;
            let version = parse(&version)?;
            let made =
                refs::create_release_branch(&git, &env.policy.git, &version, from.as_deref());
            created(env, made)
        }
        GitCommand::Rc { version, repo } => {
            let git = open(&repo)?;
            let tagger = tagger(env, &git);
            created(
                env,
                refs::tag_release_candidate(&git, &parse(&version)?, &tagger),
            )
        }
        GitCommand::Tag { version, repo } => {
            let git = open(&repo)?;
            let tagger = tagger(env, &git);
            created(env, refs::tag_release(&git, &parse(&version)?, &tagger))
        }
        GitCommand::HotfixBranch {
            version,
            title,
            from,
            repo,
        } => {
            let git = open(&repo)?;
            let version = parse(&version)?;
            let made = refs::create_hotfix_branch(
                &git,
                &env.policy.git,
                &version,
                &title,
                from.as_deref(),
            );
            created(env, made)
        }
        GitCommand::Backport { hotfix, onto, repo } => backport(env, &repo, &hotfix, onto),
    }
}

fn open(repo: &Path) -> anyhow::Result<greenlight_git::Repository> {
    greenlight_git::open(repo).map_err(|e| usage(e.to_string()))
}

fn parse(version: &str) -> anyhow::Result<Version> {
    greenlight_core::version::parse_version(version).map_err(|e| usage(e.to_string()))
}

/// The repository's committer (`user.name`, `user.email`), or Greenlight's own name; now.
fn tagger(env: &Env, git: &greenlight_git::Repository) -> Tagger {
    let configured = git.committer().and_then(Result::ok);
    let (name, email) = match configured {
        Some(who) => (who.name.to_string(), who.email.to_string()),
        None => ("Greenlight".to_string(), "greenlight@localhost".to_string()),
    };
    Tagger {
        name,
        email,
        time: env.now.as_second(),
    }
}

fn failed(err: GitError) -> anyhow::Error {
    match err {
        GitError::Refused { .. } => anyhow::Error::new(Refused {
            message: err.to_string(),
        }),
        GitError::Revision { .. } | GitError::NotARepository { .. } => usage(err.to_string()),
        other => anyhow::Error::new(other),
    }
}

fn created(env: &Env, made: Result<Created, GitError>) -> anyhow::Result<ExitCode> {
    let made = made.map_err(failed)?;
    if env.json {
        print_json(&made)?;
    } else {
        let short = made.commit.get(..7).unwrap_or(&made.commit);
        println!("Created {} at {short}", made.name);
    }
    done()
}

fn backport(
    env: &Env,
    repo: &Path,
    hotfix: &str,
    onto: Option<String>,
) -> anyhow::Result<ExitCode> {
    let git = open(repo)?;
    let list = refs::backport(&git, hotfix, onto.as_deref()).map_err(failed)?;
    if env.json {
        print_json(&json!(list))?;
        return done();
    }
    if list.pending.is_empty() {
        println!(
            "Nothing to backport: every change of {} is on {} ({} picked)",
            list.hotfix, list.onto, list.done
        );
        return done();
    }
    println!(
        "{} commit(s) of {} are not on {} yet (oldest first; {} already there):",
        list.pending.len(),
        list.hotfix,
        list.onto,
        list.done
    );
    for commit in &list.pending {
        println!("  {} {}", commit.short_id(), commit.summary());
    }
    let ids: Vec<&str> = list.pending.iter().map(|c| c.short_id()).collect();
    println!(
        "Backport with: git switch {} && git cherry-pick -x {}",
        list.onto,
        ids.join(" ")
    );
    done()
}
