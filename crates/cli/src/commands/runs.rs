//! Deployments, rollbacks and what is live where: starting runs, following the runbook Greenlight runs over the
//! release's event stream (a spinner per step on a terminal, a line per finished step), and
//! reporting outcomes by hand when no runbook runs.

use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{Env, done, list_text};
use crate::args::{
    DeployArgs, DeploymentCommand, EnvironmentsArgs, EnvironmentsCommand, RollbackArgs,
    RollbackCommand, RollbackStart,
};
use crate::client::Api;
use crate::exit::usage;
use crate::output::{print_json, table};

use super::remote::{command, path, text};

/// Events that start a run, and events that end one.
const RUN_STARTS: [&str; 3] = [
    "staging_deployment_started",
    "deployment_started",
    "rollback_initiated",
];
const RUN_ENDS: [&str; 6] = [
    "staging_deployment_completed",
    "staging_deployment_failed",
    "deployment_completed",
    "deployment_failed",
    "rollback_completed",
    "rollback_failed",
];

/// `greenlight deploy VERSION`: the environment defaults to the release's next one.
pub fn deploy(env: &Env, api: &Api, args: DeployArgs) -> anyhow::Result<ExitCode> {
    let key = &args.target.release;
    let environment = match args.environment {
        Some(environment) => environment,
        None => next_environment(api, key)?,
    };
    let body = json!({ "environment": environment, "override_window": args.override_window });
    start_and_follow(
        env,
        api,
        key,
        "/deployments",
        &body,
        args.target.revision,
        args.no_wait,
    )
}

/// Staging while the release is planned, production once it is on staging.
fn next_environment(api: &Api, key: &str) -> anyhow::Result<String> {
    let release: Value = api.get(&path(key, ""), &[])?;
    match release["record"]["status"].as_str() {
        Some("planned") => Ok("staging".into()),
        Some("staging") => Ok("production".into()),
        other => Err(usage(format!(
            "{key} is {}, so there is no next environment to deploy to; give --env staging|production",
            other.unwrap_or("unknown")
        ))),
    }
}

/// Runs a `deployment` subcommand.
pub fn deployment(env: &Env, api: &Api, cmd: DeploymentCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DeploymentCommand::Start(args) => deploy(env, api, args),
        DeploymentCommand::Complete(target) => command(
            env,
            api,
            &target,
            "/deployments/current/complete",
            json!({}),
            "Deployment complete",
        ),
        DeploymentCommand::Fail { target, reason } => command(
            env,
            api,
            &target,
            "/deployments/current/fail",
            json!({ "reason": reason }),
            "Deployment failed",
        ),
    }
}

/// Runs `rollback VERSION --reason R` or a server-side `rollback` subcommand.
pub fn rollback(env: &Env, api: &Api, args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let Some(cmd) = args.command else {
        return match args.start() {
            Some(start) => start_rollback(env, api, start),
            None => Err(usage(
                "name the release to roll back: greenlight rollback VERSION --reason REASON \
                 (or `greenlight rollback classify` to decide whether to)",
            )),
        };
    };
    match cmd {
        RollbackCommand::Complete(target) => command(
            env,
            api,
            &target,
            "/rollback/complete",
            json!({}),
            "Rollback complete",
        ),
        RollbackCommand::Fail { target, reason } => command(
            env,
            api,
            &target,
            "/rollback/fail",
            json!({ "reason": reason }),
            "Rollback failed",
        ),
        RollbackCommand::Classify(args) => super::rollback::run(env, args),
    }
}

fn start_rollback(env: &Env, api: &Api, start: RollbackStart) -> anyhow::Result<ExitCode> {
    let body = json!({
        "reason": start.reason,
        "to_version": start.to,
        "database": start.database,
        "confirm": start.confirm,
    });
    let key = &start.target.release;
    start_and_follow(
        env,
        api,
        key,
        "/rollback",
        &body,
        start.target.revision,
        start.no_wait,
    )
}

/// Starts a run and, when Greenlight drives a runbook for it, follows it to the end: exit 0 when
/// it completed, 3 when it failed. Without a runbook it says how to report the outcome.
fn start_and_follow(
    env: &Env,
    api: &Api,
    key: &str,
    rest: &str,
    body: &Value,
    revision: Option<i64>,
    no_wait: bool,
) -> anyhow::Result<ExitCode> {
    let before = Cursor::now(api, key)?;
    let started: Value = api.post(&path(key, rest), body, revision)?;
    let what = if rest == "/rollback" {
        "Rollback"
    } else {
        "Deployment"
    };
    let version = text(&started["record"]["version"]);
    let driven = started["run_steps"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    if !driven || no_wait {
        if env.json {
            print_json(&started)?;
        } else if driven {
            println!(
                "{what} of {version} started; follow it with `greenlight release show {version}`"
            );
        } else {
            println!("{what} of {version} started; report the outcome with `complete` or `fail`");
        }
        return done();
    }
    if !env.json {
        println!(
            "{what} of {version}: running {}",
            list_text(&started["run_steps"])
        );
    }
    let end = follow(env, api, key, before)?;
    finish(env, api, key, what, &end)
}

/// Where a release's stream stood before a run started: its newest event and how many step
/// attempts it had recorded, so following the stream afterwards shows exactly this run.
struct Cursor {
    event_seq: i64,
    steps: usize,
}

impl Cursor {
    fn now(api: &Api, key: &str) -> anyhow::Result<Cursor> {
        let steps: Vec<Value> = api.get(&path(key, "/runs"), &[])?;
        Ok(Cursor {
            event_seq: last_event_seq(api, key)?,
            steps: steps.len(),
        })
    }
}

/// The sequence number of the release's newest event (0 when it has none).
fn last_event_seq(api: &Api, key: &str) -> anyhow::Result<i64> {
    let mut after = 0;
    loop {
        let query = [
            ("release", key.to_string()),
            ("after", after.to_string()),
            ("limit", "5000".into()),
        ];
        let page: Vec<Value> = api.get("/events", &query)?;
        let Some(last) = page.last().and_then(|e| e["seq"].as_i64()) else {
            return Ok(after);
        };
        after = last;
        if page.len() < 5000 {
            return Ok(after);
        }
    }
}

/// Follows the release's stream from `from` until the run that starts there ends; returns the
/// event that ended it. One run at a time, so the first run to start after `from` is ours.
fn follow(env: &Env, api: &Api, key: &str, from: Cursor) -> anyhow::Result<Value> {
    let query = [("after", from.event_seq.to_string())];
    let stream = api.stream(&path(key, "/stream"), &query)?;
    let mut progress = StepProgress::new(env.json);
    let mut old_steps = from.steps;
    let mut started = false;
    for message in stream {
        let message = message?;
        let data = &message.data;
        match message.event.as_str() {
            "event" => {
                let name = data["event"].as_str().unwrap_or_default();
                if RUN_ENDS.contains(&name) && started {
                    progress.clear();
                    return Ok(data.clone());
                }
                started |= RUN_STARTS.contains(&name);
            }
            "step_started" => progress.started(data),
            "step" if old_steps > 0 => old_steps -= 1,
            "step" => progress.finished(data),
            "error" => eprintln!("greenlight: stream: {}", text(&data["detail"])),
            _ => {}
        }
    }
    anyhow::bail!(
        "the server closed the event stream before the run ended; see `greenlight release show {key}`"
    )
}

/// Prints the run's outcome; a failed run is an error (exit 3) with the reason.
fn finish(env: &Env, api: &Api, key: &str, what: &str, end: &Value) -> anyhow::Result<ExitCode> {
    let release: Value = api.get(&path(key, ""), &[])?;
    let version = text(&release["record"]["version"]);
    if env.json {
        print_json(&release)?;
    }
    let name = end["event"].as_str().unwrap_or_default();
    if name.ends_with("_failed") {
        let reason = text(&end["body"]["failure_reason"]);
        anyhow::bail!("{what} of {version} failed: {reason}");
    }
    if !env.json {
        println!(
            "{what} of {version} completed: {version} is {}",
            text(&release["record"]["status"])
        );
        for item in release["action_items"].as_array().into_iter().flatten() {
            if item["done_at"].is_null() {
                println!(
                    "  to do: {} (due {})",
                    text(&item["title"]),
                    text(&item["due_at"])
                );
            }
        }
    }
    done()
}

/// The steps of a run on the terminal: a spinner while a step runs (when stderr is a terminal),
/// and a line on stdout when it ends.
struct StepProgress {
    quiet: bool,
    spinner: Option<ProgressBar>,
}

impl StepProgress {
    fn new(quiet: bool) -> Self {
        StepProgress {
            quiet,
            spinner: None,
        }
    }

    fn started(&mut self, step: &Value) {
        self.clear();
        if self.quiet {
            return;
        }
        let spinner = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        spinner.set_style(style);
        spinner.set_message(format!(
            "{} (attempt {}, timeout {}s)",
            text(&step["step"]),
            text(&step["attempt"]),
            text(&step["timeout_seconds"])
        ));
        spinner.enable_steady_tick(Duration::from_millis(120));
        self.spinner = Some(spinner);
    }

    fn finished(&mut self, step: &Value) {
        self.clear();
        if !self.quiet {
            print_step(step);
        }
    }

    fn clear(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}

fn print_step(step: &Value) {
    let mark = if step["outcome"] == "succeeded" {
        "✓"
    } else {
        "✗"
    };
    let seconds = step["duration_ms"].as_i64().unwrap_or_default() as f64 / 1000.0;
    println!(
        "  {mark} {} (attempt {}) {} in {seconds:.1}s",
        text(&step["step"]),
        text(&step["attempt"]),
        text(&step["outcome"])
    );
    if step["outcome"] == "succeeded" {
        return;
    }
    let output = text(&step["output"]);
    let lines: Vec<&str> = output.lines().collect();
    for line in &lines[lines.len().saturating_sub(5)..] {
        println!("      {line}");
    }
}

/// `greenlight environments`: the live version of each environment and the ones before it.
pub fn environments(env: &Env, api: &Api, args: EnvironmentsArgs) -> anyhow::Result<ExitCode> {
    let view: Value = match args.command {
        Some(EnvironmentsCommand::Baseline {
            environment,
            version,
        }) => {
            let rest = format!("/environments/{environment}/baseline");
            api.post(&rest, &json!({ "version": version }), None)?
        }
        None => api.get("/environments", &[])?,
    };
    if env.json {
        print_json(&view)?;
        return done();
    }
    let mut out = table(["environment", "live", "since", "before"]);
    for name in ["staging", "production"] {
        let history = view[name].as_array().cloned().unwrap_or_default();
        let live = history.first();
        let before: Vec<String> = history
            .iter()
            .skip(1)
            .take(args.limit)
            .map(|h| format!("{} ({})", text(&h["version"]), text(&h["kind"])))
            .collect();
        out.add_row([
            name.to_string(),
            live.map(|h| text(&h["version"]))
                .unwrap_or_else(|| "-".into()),
            live.map(|h| text(&h["at"])).unwrap_or_default(),
            before.join(", "),
        ]);
    }
    println!("{out}");
    done()
}
