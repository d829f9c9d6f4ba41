//! Runs runbooks: each step a shell command or a webhook, with a timeout, retries and bounded,
//! secret-masked output, recorded as it goes. When the run ends Greenlight reports the outcome
//! to the core as the system actor (`CompleteDeployment`, `FailDeployment`, ...), like a person
//! would, so every rule and event stays in one place.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use greenlight_core::runbook::{RunKind, Step};
use greenlight_core::{Actor, Command, Release};
use greenlight_store::{Change, StepRecord};
use jiff::Timestamp;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::api::decide_and_commit;
use crate::api::stream::StepStarted;
use crate::problem::ApiError;
use crate::state::AppState;

/// Most output kept per step attempt.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// How one attempt ended.
struct Attempt {
    outcome: &'static str,
    exit_code: Option<i64>,
    output: String,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.outcome == "succeeded"
    }
}

/// The facts a step gets, as `GREENLIGHT_*` variables and as the webhook's JSON body.
pub fn facts(
    release: &Release,
    kind: RunKind,
    previous: Option<String>,
) -> BTreeMap<String, String> {
    let record = &release.record;
    let mut out = BTreeMap::new();
    out.insert("GREENLIGHT_VERSION".into(), record.version.to_string());
    out.insert(
        "GREENLIGHT_RELEASE_ID".into(),
        record.release_id.to_string(),
    );
    out.insert(
        "GREENLIGHT_RELEASE_TYPE".into(),
        record.release_type.as_str().into(),
    );
    out.insert("GREENLIGHT_RUN".into(), kind.as_str().into());
    out.insert(
        "GREENLIGHT_ENVIRONMENT".into(),
        kind.environment().as_str().into(),
    );
    out.insert(
        "GREENLIGHT_PREVIOUS_VERSION".into(),
        previous.unwrap_or_default(),
    );
    if let Some(run) = &release.rollback {
        out.insert("GREENLIGHT_ROLLBACK_TO".into(), run.to_version.to_string());
    }
    out
}

/// Starts driving the runbook of the run just started on the release in the background, if the
/// policy has one for it.
pub async fn start(state: &AppState, release_id: Uuid) -> Result<bool, ApiError> {
    let stored = state
        .store
        .release(release_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("release {release_id}")))?;
    let release = stored.release;
    let Some((kind, started_at)) = RunKind::in_progress(&release) else {
        return Ok(false);
    };
    if state.policy.runbooks.plan(kind).is_empty() {
        return Ok(false);
    }
    let live = state
        .store
        .environment_history(kind.environment(), 1)
        .await?;
    let previous = live.first().map(|entry| entry.version.to_string());
    let facts = facts(&release, kind, previous);
    tokio::spawn(drive(state.clone(), release_id, kind, started_at, facts));
    Ok(true)
}

/// Runs `kind`'s runbook for the release, then reports the outcome to the core. Never panics;
/// failures to record are logged.
pub async fn drive(
    state: AppState,
    release_id: Uuid,
    kind: RunKind,
    started_at: Timestamp,
    facts: BTreeMap<String, String>,
) {
    let steps = state.policy.runbooks.plan(kind);
    let mut failure = None;
    for step in &steps {
        let ok = run_step(&state, release_id, kind, started_at, step, &facts).await;
        if !ok && step.abort_on_failure {
            failure = Some(failure_reason(kind, &step.name));
            break;
        }
    }
    let command = match (kind.is_rollback(), failure) {
        (true, None) => Command::CompleteRollback,
        (true, Some(reason)) => Command::FailRollback { reason },
        (false, None) => Command::CompleteDeployment,
        (false, Some(reason)) => Command::FailDeployment { reason },
    };
    if let Err(err) = settle(&state, release_id, command, "run.finish").await {
        tracing::error!(%release_id, error = %err, "could not record the end of a run");
    }
}

/// Why a run failed at `step`. A failed database rollback leaves maintenance mode on: traffic
/// resumes only after someone checked the database.
fn failure_reason(kind: RunKind, step: &str) -> String {
    let reason = format!("step `{step}` failed (see the run log)");
    if kind == RunKind::DatabaseRollback {
        return format!(
            "{reason}; maintenance mode stays on until someone verifies the database and turns it off"
        );
    }
    reason
}

/// Runs one step with its retries; records every attempt. True when an attempt succeeded.
async fn run_step(
    state: &AppState,
    release_id: Uuid,
    kind: RunKind,
    run_started_at: Timestamp,
    step: &Step,
    facts: &BTreeMap<String, String>,
) -> bool {
    for attempt in 1..=step.retries + 1 {
        let started_at = state.clock.now();
        let _no_stream_is_listening = state.live.send(StepStarted {
            release_id,
            run_kind: kind.as_str().into(),
            run_started_at,
            step: step.name.clone(),
            attempt,
            started_at,
            timeout_seconds: step.timeout_seconds,
        });
        let clock = Instant::now();
        let result = attempt_step(step, facts).await;
        let record = StepRecord {
            release_id,
            run_kind: kind.as_str().into(),
            run_started_at,
            step: step.name.clone(),
            attempt,
            outcome: result.outcome.into(),
            exit_code: result.exit_code,
            started_at,
            duration_ms: i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX),
            output: mask_secrets(&result.output, &state.policy.runbooks.secrets),
        };
        let change = Change::new(state.clock.now(), "greenlight", "run.step");
        if let Err(err) = state.store.record_step(&record, &change).await {
            tracing::error!(%release_id, step = %step.name, error = %err, "could not record a step");
        }
        if result.succeeded() {
            return true;
        }
    }
    false
}

async fn attempt_step(step: &Step, facts: &BTreeMap<String, String>) -> Attempt {
    let timeout = Duration::from_secs(step.timeout_seconds);
    match (&step.run, &step.webhook) {
        (Some(command), _) => run_command(command, facts, timeout).await,
        (None, Some(url)) => call_webhook(url, facts, timeout).await,
        (None, None) => Attempt {
            outcome: "failed",
            exit_code: None,
            output: "the step has neither `run` nor `webhook`".into(),
        },
    }
}

async fn run_command(
    command: &str,
    facts: &BTreeMap<String, String>,
    timeout: Duration,
) -> Attempt {
    let spawned = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command}"))
        .envs(facts)
        .env("GREENLIGHT_FACTS", facts_json(facts))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            return Attempt {
                outcome: "failed",
                exit_code: None,
                output: format!("cannot start `sh`: {err}"),
            };
        }
    };
    let pid = child.id();
    let mut stdout = child.stdout.take();
    let finished = tokio::time::timeout(timeout, async {
        let output = match stdout.as_mut() {
            Some(out) => read_bounded(out).await,
            None => String::new(),
        };
        (child.wait().await, output)
    })
    .await;
    match finished {
        Ok((Ok(status), output)) => Attempt {
            outcome: if status.success() {
                "succeeded"
            } else {
                "failed"
            },
            exit_code: status.code().map(i64::from),
            output,
        },
        Ok((Err(err), output)) => Attempt {
            outcome: "failed",
            exit_code: None,
            output: format!("{output}\n{err}"),
        },
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            Attempt {
                outcome: "timed_out",
                exit_code: None,
                output: format!(
                    "killed after {}s (the step's timeout) with its process group",
                    timeout.as_secs()
                ),
            }
        }
    }
}

/// The facts as one JSON object, for steps that would rather parse JSON than read variables.
fn facts_json(facts: &BTreeMap<String, String>) -> String {
    serde_json::to_string(facts).unwrap_or_default()
}

/// Kills a step's whole process group, so children it started die with it.
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid else { return };
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

async fn read_bounded(out: &mut tokio::process::ChildStdout) -> String {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut truncated = false;
    loop {
        match out.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if truncated {
        text.push_str("\n[output truncated]");
    }
    text
}

async fn call_webhook(url: &str, facts: &BTreeMap<String, String>, timeout: Duration) -> Attempt {
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(err) => {
            return Attempt {
                outcome: "failed",
                exit_code: None,
                output: err.to_string(),
            };
        }
    };
    match client.post(url).json(facts).send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let output: String = body.chars().take(OUTPUT_LIMIT).collect();
            Attempt {
                outcome: if status.is_success() {
                    "succeeded"
                } else {
                    "failed"
                },
                exit_code: Some(i64::from(status.as_u16())),
                output,
            }
        }
        Err(err) if err.is_timeout() => Attempt {
            outcome: "timed_out",
            exit_code: None,
            output: err.to_string(),
        },
        Err(err) => Attempt {
            outcome: "failed",
            exit_code: None,
            output: err.to_string(),
        },
    }
}

/// Replaces the values of the named environment variables with `[secret]`.
pub fn mask_secrets(output: &str, secrets: &[String]) -> String {
    let mut text = output.to_string();
    for name in secrets {
        if let Ok(value) = std::env::var(name)
            && value.len() >= 4
        {
            text = text.replace(&value, &format!("[secret {name}]"));
        }
    }
    text
}

/// Decides and commits a command as Greenlight itself, re-deciding when someone changed the
/// release meanwhile.
pub async fn settle(
    state: &AppState,
    release_id: Uuid,
    command: Command,
    action: &str,
) -> Result<(), ApiError> {
    let actor = Actor::system();
    for _ in 0..10 {
        let stored = state
            .store
            .release(release_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("release {release_id}")))?;
        match decide_and_commit(state, &actor, &stored, action, &command).await {
            Err(ApiError::Stale(_)) => continue,
            other => return other.map(|_| ()),
        }
    }
    Err(ApiError::Conflict(
        "the release kept changing; the run's end was not recorded".into(),
    ))
}

/// After a restart: a run Greenlight was driving cannot be resumed, so it is marked interrupted.
/// Runs recorded by hand (no runbook) are left for people to complete.
pub async fn interrupt_stale_runs(state: &AppState) -> Result<usize, ApiError> {
    let reason = "interrupted: Greenlight restarted during the run; check the environment, then deploy again".to_string();
    let mut settled = 0;
    for stored in state.store.releases_running().await? {
        let release = &stored.release;
        let Some((kind, _)) = RunKind::in_progress(release) else {
            continue;
        };
        if state.policy.runbooks.plan(kind).is_empty() {
            continue;
        }
        let command = if kind.is_rollback() {
            Command::FailRollback {
                reason: reason.clone(),
            }
        } else {
            Command::FailDeployment {
                reason: reason.clone(),
            }
        };
        settle(state, release.record.release_id, command, "run.interrupted").await?;
        tracing::warn!(release = %release.record.version, "marked an interrupted run");
        settled += 1;
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        // Setting a variable is unsafe in edition 2024; PATH is set everywhere.
        let path = std::env::var("PATH").unwrap_or_default();
        let masked = mask_secrets(&format!("using {path} now"), &["PATH".into()]);
        assert_eq!(masked, "using [secret PATH] now");
    }

    #[tokio::test]
    async fn a_hanging_command_is_killed_with_its_children() {
        let facts = BTreeMap::new();
        let started = Instant::now();
        let attempt = run_command("sleep 30 & sleep 30", &facts, Duration::from_millis(300)).await;
        assert_eq!(attempt.outcome, "timed_out");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn output_and_exit_codes_are_kept() {
        let mut facts = BTreeMap::new();
        facts.insert("GREENLIGHT_VERSION".to_string(), "1.4.0".to_string());
        let ok = run_command(
            "echo deploying $GREENLIGHT_VERSION; echo warn >&2",
            &facts,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(ok.outcome, "succeeded");
        assert!(
            ok.output.contains("deploying 1.4.0") && ok.output.contains("warn"),
            "{}",
            ok.output
        );
        let failed = run_command("exit 3", &facts, Duration::from_secs(5)).await;
        assert_eq!((failed.outcome, failed.exit_code), ("failed", Some(3)));
    }
}
