//! `greenlight version next`.

use std::process::ExitCode;

use greenlight_core::version::{
    next_release_candidate, next_version, parse_version, release_branch, tag_name,
};
use serde_json::json;

use super::{Env, done, release_type};
use crate::args::VersionCommand;
use crate::exit::usage;
use crate::output::print_json;

/// Runs a `version` subcommand.
pub fn run(env: &Env, cmd: VersionCommand) -> anyhow::Result<ExitCode> {
    let VersionCommand::Next(args) = cmd;
    let from = parse_version(&args.from).map_err(|e| usage(format!("--from: {e}")))?;
    let kind = release_type(&args.release_type)?;
    let next = if args.rc {
        next_release_candidate(&from, kind).map_err(|e| usage(format!("--from: {e}")))?
    } else {
        next_version(&from, kind)
    };
    if env.json {
        print_json(&json!({
            "from": from.to_string(),
            "release_type": kind,
            "version": next.to_string(),
            "tag": tag_name(&next),
            "release_branch": release_branch(&next),
        }))?;
    } else {
        println!("{next}");
    }
    done()
}
