//! `greenlight`: the one binary. Offline commands work on the policy alone; later commands talk
//! to a Greenlight server. Exit codes: 0 done, 1 refused by a rule, 2 usage error, 3 other failure.

mod args;
mod client;
mod commands;
mod config;
mod exit;
mod output;
mod time_arg;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}
