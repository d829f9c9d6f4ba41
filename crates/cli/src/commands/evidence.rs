//! `greenlight evidence upload`: CI sends an artifact; the gate passes or fails on it.

use std::process::ExitCode;

use serde_json::Value;

use super::remote::{path, text};
use super::{Env, done};
use crate::args::EvidenceCommand;
use crate::client::{Api, Refused};
use crate::exit::usage;
use crate::output::print_json;

/// Runs an `evidence` subcommand.
pub fn run(env: &Env, api: &Api, cmd: EvidenceCommand) -> anyhow::Result<ExitCode> {
    let EvidenceCommand::Upload {
        target,
        gate,
        phase,
        format,
        file,
    } = cmd;
    let bytes =
        std::fs::read(&file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
    let mut query = vec![("gate", gate.clone())];
    query.extend(phase.map(|p| ("phase", p)));
    query.extend(format.map(|f| ("format", f)));
    let result: Value = api.post_bytes(
        &path(&target.release, "/evidence"),
        &query,
        bytes,
        target.revision,
    )?;
    if env.json {
        print_json(&result)?;
    }
    let version = text(&result["release"]["record"]["version"]);
    if result["passed"] == true {
        if !env.json {
            println!(
                "Gate {gate} of {version} passed on {} evidence: {}",
                text(&result["format"]),
                text(&result["summary"])
            );
        }
        return done();
    }
    let reasons: Vec<String> = result["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    Err(anyhow::Error::new(Refused {
        message: format!(
            "gate {gate} of {version} failed on its {} evidence ({}): {}",
            text(&result["format"]),
            text(&result["summary"]),
            reasons.join("; ")
        ),
    }))
}
