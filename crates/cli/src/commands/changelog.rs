//! `greenlight changelog`: the changelog of the commits since the last release, offline.

use std::process::ExitCode;

use super::{Env, done};
use crate::args::ChangelogArgs;
use crate::exit::usage;
use crate::output::print_json;

/// Prints (or prepends to a file) the changelog section of a range of history.
pub fn run(env: &Env, args: ChangelogArgs) -> anyhow::Result<ExitCode> {
    let history = greenlight_git::read(&args.repo, args.range.as_deref())
        .map_err(|e| usage(e.to_string()))?;
    let log = greenlight_git::build(&history.commits);
    if env.json {
        print_json(&serde_json::json!({
            "from": history.from, "to": history.to, "commits": history.commits.len(), "changelog": log,
        }))?;
        return done();
    }
    let today = env.now.to_zoned(env.policy.tz().clone()).date().to_string();
    let (version, date) = match &args.version {
        Some(version) => (
            version.as_str(),
            Some(args.date.as_deref().unwrap_or(&today)),
        ),
        None => ("Unreleased", args.date.as_deref()),
    };
    let section = greenlight_git::markdown(version, date, &log);
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
        history.commits.len()
    );
    done()
}
