//! `greenlight policy show|check`.

use std::path::Path;
use std::process::ExitCode;

use greenlight_core::Policy;
use greenlight_core::policy::PolicyError;
use serde_json::json;

use super::{Env, done};
use crate::args::PolicyCommand;
use crate::config::load_policy;
use crate::exit::{USAGE, usage};
use crate::output::print_json;

/// Runs `policy show`.
pub fn run(env: &Env, cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Show => {
            if env.json {
                print_json(&env.policy)?;
            } else {
                print!("{}", env.policy.to_toml());
            }
            done()
        }
        PolicyCommand::Check { file } => check(&file, env.json),
    }
}

/// `policy check FILE`: every problem on its own line with its TOML path; exit 2 if any.
pub fn check(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
    let problems: Vec<String> = match Policy::from_toml(&text) {
        Ok(_) => match load_policy(Some(file)) {
            Ok(_) => Vec::new(),
            Err(e) => vec![e.to_string()],
        },
        Err(PolicyError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        Err(PolicyError::Syntax(message)) => vec![message],
    };
    if json {
        print_json(&json!({ "file": file, "valid": problems.is_empty(), "problems": problems }))?;
    } else if problems.is_empty() {
        println!("{}: valid policy", file.display());
    } else {
        for problem in &problems {
            eprintln!("{}: {problem}", file.display());
        }
    }
    if problems.is_empty() {
        done()
    } else {
        Ok(ExitCode::from(USAGE))
    }
}
