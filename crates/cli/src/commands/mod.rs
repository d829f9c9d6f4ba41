//! Command dispatch.

mod calendar;
mod policy;
mod rollback;
mod tour;
mod version;
mod window;

use std::process::ExitCode;

use greenlight_core::ReleaseType;
use jiff::Timestamp;

use crate::args::{Cli, Command};
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
    match cli.command {
        None => tour::run(&env),
        Some(Command::Version(cmd)) => version::run(&env, cmd),
        Some(Command::Window(cmd)) => window::run(&env, cmd),
        Some(Command::Calendar(args)) => calendar::run(&env, args),
        Some(Command::Policy(cmd)) => policy::run(&env, cmd),
        Some(Command::Rollback(cmd)) => rollback::run(&env, cmd),
    }
}

/// Reads a release type argument.
pub fn release_type(text: &str) -> anyhow::Result<ReleaseType> {
    text.parse().map_err(|e| usage(format!("--type: {e}")))
}

/// Exit code 0.
pub fn done() -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
