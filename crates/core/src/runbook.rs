//! Runbooks: the steps Greenlight runs for a deployment or a rollback. Each step is a hook — a
//! shell command or an HTTP webhook — so a team plugs in its own tools (`vercel deploy`,
//! `kubectl`, a migration tool, a CDN purge). With no steps, Greenlight only records what people
//! report (`deployment complete`, `deployment fail`).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::release::Environment;
use crate::state::Release;

/// What a runbook is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Phase 2: deploy to staging.
    Staging,
    /// Phase 3: deploy to production.
    Production,
    /// Application instant rollback.
    Rollback,
    /// Database rollback: maintenance mode on, restore, application rollback, maintenance off.
    DatabaseRollback,
}

impl RunKind {
    /// The runbook that deploys to `environment`.
    pub fn deploy(environment: Environment) -> RunKind {
        match environment {
            Environment::Staging => RunKind::Staging,
            Environment::Production => RunKind::Production,
        }
    }

    /// The environment the run changes (a rollback changes production).
    pub fn environment(self) -> Environment {
        match self {
            RunKind::Staging => Environment::Staging,
            RunKind::Production | RunKind::Rollback | RunKind::DatabaseRollback => {
                Environment::Production
            }
        }
    }

    /// The run in progress on `release`, if any: its kind and when it started.
    pub fn in_progress(release: &Release) -> Option<(RunKind, Timestamp)> {
        match (&release.deployment, &release.rollback) {
            (Some(run), _) => Some((RunKind::deploy(run.environment), run.started_at)),
            (None, Some(run)) if run.database => Some((RunKind::DatabaseRollback, run.started_at)),
            (None, Some(run)) => Some((RunKind::Rollback, run.started_at)),
            (None, None) => None,
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Staging => "staging",
            RunKind::Production => "production",
            RunKind::Rollback => "rollback",
            RunKind::DatabaseRollback => "database_rollback",
        }
    }

    /// Whether this run is a rollback (of either kind).
    pub fn is_rollback(self) -> bool {
        matches!(self, RunKind::Rollback | RunKind::DatabaseRollback)
    }
}

/// The runbooks of the policy (`[runbooks]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Runbooks {
    /// Steps of a staging deployment.
    pub staging: Vec<Step>,
    /// Steps of a production deployment (migrations, deploy, cache purge, smoke tests, ...).
    pub production: Vec<Step>,
    /// Steps of an application rollback.
    pub rollback: Vec<Step>,
    /// Steps that restore the database (down migrations or a snapshot restore, then validation).
    pub database_rollback: Vec<Step>,
    /// The hook that stops traffic (maintenance page); runs first in a database rollback.
    pub maintenance_on: Option<Step>,
    /// The hook that resumes traffic; runs last, only when every earlier step succeeded.
    pub maintenance_off: Option<Step>,
    /// Environment variables whose values never appear in a step's recorded output.
    pub secrets: Vec<String>,
}

impl Runbooks {
    /// The steps Greenlight runs for `kind`, in order. A database rollback is the spec's
    /// procedure: maintenance mode on, the database steps, the application rollback, maintenance
    /// mode off. Empty when the team has no runbook for it (Greenlight then only records).
    pub fn plan(&self, kind: RunKind) -> Vec<Step> {
        match kind {
            RunKind::Staging => self.staging.clone(),
            RunKind::Production => self.production.clone(),
            RunKind::Rollback => self.rollback.clone(),
            RunKind::DatabaseRollback if self.database_rollback.is_empty() => Vec::new(),
            RunKind::DatabaseRollback => self
                .maintenance_on
                .iter()
                .chain(&self.database_rollback)
                .chain(&self.rollback)
                .chain(&self.maintenance_off)
                .cloned()
                .collect(),
        }
    }

    /// Problems with the runbooks, as (TOML path, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let lists = [
            ("staging", &self.staging),
            ("production", &self.production),
            ("rollback", &self.rollback),
            ("database_rollback", &self.database_rollback),
        ];
        let mut out = Vec::new();
        for (name, steps) in lists {
            for (i, step) in steps.iter().enumerate() {
                let path = format!("runbooks.{name}[{i}]");
                out.extend(step.problems().into_iter().map(|m| (path.clone(), m)));
            }
        }
        for (name, step) in [
            ("maintenance_on", &self.maintenance_on),
            ("maintenance_off", &self.maintenance_off),
        ] {
            let path = format!("runbooks.{name}");
            let problems = step.iter().flat_map(Step::problems);
            out.extend(problems.map(|m| (path.clone(), m)));
        }
        if !self.database_rollback.is_empty() && self.maintenance_on.is_none() {
            out.push((
                "runbooks.maintenance_on".into(),
                "a database rollback stops traffic first: add the hook that turns maintenance mode on"
                    .into(),
            ));
        }
        out
    }
}

/// One step of a runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Name shown in progress and logs (`migrate`, `deploy`, `smoke_tests`).
    pub name: String,
    /// A shell command (`sh -c`), run with the release's facts as `GREENLIGHT_*` variables.
    #[serde(default)]
    pub run: Option<String>,
    /// A URL that receives the release's facts as a JSON POST; a 2xx answer is success.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Seconds before the step is killed (with its whole process group) and counted failed.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// A failure stops the run (true) or is recorded and the run goes on (false).
    #[serde(default = "default_true")]
    pub abort_on_failure: bool,
    /// Extra attempts after a failure.
    #[serde(default)]
    pub retries: u32,
}

fn default_timeout() -> u64 {
    600
}

fn default_true() -> bool {
    true
}

impl Step {
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push("a step needs a name".to_string());
        }
        match (&self.run, &self.webhook) {
            (Some(_), Some(_)) => out.push("give `run` or `webhook`, not both".to_string()),
            (None, None) => {
                out.push("give `run` (a shell command) or `webhook` (a URL)".to_string())
            }
            (None, Some(url)) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                out.push(format!("webhook `{url}` is not an http(s) URL"));
            }
            _ => {}
        }
        if self.timeout_seconds == 0 || self.timeout_seconds > 24 * 3600 {
            out.push("timeout_seconds must be between 1 and 86400".to_string());
        }
        if self.retries > 10 {
            out.push("retries must be at most 10".to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(run: Option<&str>, webhook: Option<&str>) -> Step {
        Step {
            name: "deploy".into(),
            run: run.map(Into::into),
            webhook: webhook.map(Into::into),
            timeout_seconds: 60,
            abort_on_failure: true,
            retries: 0,
        }
    }

    #[test]
    fn a_step_is_a_command_or_a_webhook() {
        assert!(step(Some("true"), None).problems().is_empty());
        assert!(
            step(None, Some("https://hooks.example/deploy"))
                .problems()
                .is_empty()
        );
        assert_eq!(step(None, None).problems().len(), 1);
        assert_eq!(step(Some("true"), Some("https://x")).problems().len(), 1);
        assert_eq!(step(None, Some("ftp://x")).problems().len(), 1);
    }

    #[test]
    fn problems_name_their_toml_path() {
        let runbooks = Runbooks {
            production: vec![step(Some("true"), None), step(None, None)],
            ..Runbooks::default()
        };
        let problems = runbooks.problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "runbooks.production[1]");
    }

    #[test]
    fn a_database_rollback_is_maintenance_restore_rollback_resume() {
        let named = |name: &str| Step {
            name: name.into(),
            ..step(Some("true"), None)
        };
        let runbooks = Runbooks {
            rollback: vec![named("instant_rollback")],
            database_rollback: vec![named("down_migrations"), named("verify")],
            maintenance_on: Some(named("maintenance_on")),
            maintenance_off: Some(named("maintenance_off")),
            ..Runbooks::default()
        };
        let names: Vec<String> = runbooks
            .plan(RunKind::DatabaseRollback)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            [
                "maintenance_on",
                "down_migrations",
                "verify",
                "instant_rollback",
                "maintenance_off"
            ]
        );
        assert!(runbooks.problems().is_empty());
        let unguarded = Runbooks {
            maintenance_on: None,
            ..runbooks
        };
        assert_eq!(unguarded.problems()[0].0, "runbooks.maintenance_on");
    }
}
