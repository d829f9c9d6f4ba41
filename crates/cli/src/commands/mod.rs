//! Command dispatch.

mod accounts;
mod calendar;
mod changelog;
mod comms;
mod delivery;
mod evidence;
mod flags;
mod git;
mod health;
mod hotfix;
mod policy;
mod remote;
mod rollback;
mod runs;
mod serve;
mod status;
mod tour;
mod version;
mod window;

use std::process::ExitCode;

use greenlight_core::ReleaseType;
use jiff::Timestamp;

use crate::args::{Cli, Command, RollbackArgs, RollbackCommand};
use crate::client::Api;
use crate::config::load_policy;
use crate::exit::usage;

/// What every command gets: the policy, the clock read once at the edge, the output mode.
pub struct Env {
    /// The effective policy.
    pub policy: greenlight_core::Policy,
    /// Now, read once.
    pub now: Timestamp,
    /// `--json`.
    pub json: bool,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::Policy(crate::args::PolicyCommand::Check { file })) = &cli.command {
        return policy::check(file, cli.json);
    }
    let env = Env {
        policy: load_policy(cli.config.as_deref())?,
        now: Timestamp::now(),
        json: cli.json,
    };
    let api = || Api::new(&cli.server, cli.token.clone());
    match cli.command {
        None => tour::run(&env),
        Some(Command::Version(cmd)) => version::run(&env, cmd),
        Some(Command::Window(cmd)) => window::run(&env, cmd),
        Some(Command::Calendar(args)) => calendar::run(&env, args),
        Some(Command::Status) => status::run(&env, &api()?),
        Some(Command::Policy(cmd)) => policy::run(&env, cmd),
        Some(Command::Rollback(RollbackArgs {
            command: Some(RollbackCommand::Classify(args)),
            ..
        })) => rollback::run(&env, args),
        Some(Command::Rollback(args)) => runs::rollback(&env, &api()?, args),
        Some(Command::Deploy(args)) => runs::deploy(&env, &api()?, args),
        Some(Command::Hotfix(cmd)) => hotfix::run(&env, &api()?, cmd),
        Some(Command::Changelog(args)) => changelog::run(&env, args),
        Some(Command::Notes(args)) => changelog::notes(&env, api, args),
        Some(Command::Git(cmd)) => git::run(&env, cmd),
        Some(Command::Evidence(cmd)) => evidence::run(&env, &api()?, cmd),
        Some(Command::Health(args)) => health::run(&env, &api()?, args),
        Some(Command::Environments(args)) => runs::environments(&env, &api()?, args),
        Some(Command::Serve(args)) => serve::run(env.policy, args),
        Some(Command::Release(cmd)) => remote::release(&env, &api()?, cmd),
        Some(Command::Gate(cmd)) => remote::gate(&env, &api()?, cmd),
        Some(Command::Approve(args)) => remote::approve(&env, &api()?, args),
        Some(Command::GoNoGo(args)) => remote::go_no_go(&env, &api()?, args),
        Some(Command::Checklist(args)) => remote::checklist(&env, &api()?, args),
        Some(Command::Bug(cmd)) => remote::bug(&env, &api()?, cmd),
        Some(Command::Flag(cmd)) => flags::run(&env, &api()?, cmd),
        Some(Command::Deployment(cmd)) => runs::deployment(&env, &api()?, cmd),
        Some(Command::Comms(cmd)) => comms::run(&env, &api()?, cmd),
        Some(Command::Events(args)) => remote::events(&env, &api()?, args),
        Some(Command::Metrics(args)) => delivery::run(&env, &api()?, args),
        Some(Command::Audit(cmd)) => remote::audit(&env, &api()?, cmd),
        Some(Command::User(cmd)) => accounts::user(&api()?, env.json, cmd),
        Some(Command::Token(cmd)) => accounts::token(&api()?, env.json, cmd),
    }
}

/// `a, b, c` for a JSON array of strings.
pub fn list_text(value: &serde_json::Value) -> String {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Reads a release type argument.
pub fn release_type(text: &str) -> anyhow::Result<ReleaseType> {
    text.parse().map_err(|e| usage(format!("--type: {e}")))
}

/// Exit code 0.
pub fn done() -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
