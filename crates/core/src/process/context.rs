//! What every phase's rules read besides the release and the command: the policy, the time,
//! the actor and the facts about other releases, with the small checks all phases share.

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::policy::Policy;
use crate::refusal::{Reason, Rule};
use crate::release::ReleaseStatus;
use crate::roles::Actor;
use crate::state::{Bug, Release};
use crate::version::release_candidate;

/// Facts about other releases that some rules need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct World {
    /// The version live in production.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub production_version: Option<Version>,
    /// The version live in production before the current one (the rollback target).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub previous_production_version: Option<Version>,
    /// A deployment or rollback running for another release: its version.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub other_run_in_progress: Option<Version>,
    /// The branch of the next standard, patch or major release not yet deployed (where a
    /// hotfix is backported).
    pub active_release_branch: Option<String>,
    /// The other releases not in production: planned, on staging, or rolled back (awaiting a
    /// retry). Versions are proposed from what is live and what ships before, and reach
    /// production in increasing order.
    #[serde(default)]
    pub pending_releases: Vec<PendingRelease>,
    /// Open Severity 1 bugs on the release live in production: an active incident, so the
    /// Go/No-Go's "check current production health" refuses Go.
    #[serde(default)]
    pub production_sev1_bugs: Vec<Bug>,
    /// The latest health alert of each kind raised on the release live in production; one
    /// raised within the policy's `go_no_go.health_alert_minutes` is unresolved and refuses Go.
    #[serde(default)]
    pub production_health_alerts: Vec<RaisedAlert>,
}

/// Another release not in production yet: its version, when it is planned to ship, and where it
/// stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingRelease {
    /// Its version.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: Version,
    /// Its planned deployment.
    pub planned_date: Timestamp,
    /// planned, staging or rolled_back.
    pub status: ReleaseStatus,
}

impl PendingRelease {
    /// Still on its way to production (planned or on staging), so versions below it wait.
    pub fn still_planned(&self) -> bool {
        matches!(self.status, ReleaseStatus::Planned | ReleaseStatus::Staging)
    }
}

/// A health alert the monitor raised on the release live in production (its latest of a kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RaisedAlert {
    /// What kind of alert.
    pub alert: crate::health::AlertKind,
    /// The numbers behind it.
    pub detail: String,
    /// When it was last raised.
    pub raised_at: Timestamp,
}

/// What `decide` reads besides the release and the command.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Now. The core never reads the clock.
    pub now: Timestamp,
    /// Who is acting.
    pub actor: &'a Actor,
    /// Facts about other releases.
    pub world: &'a World,
}

pub(crate) fn local_text(at: Timestamp, ctx: &Context) -> String {
    at.to_zoned(ctx.policy.tz().clone())
        .strftime("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

pub(crate) fn require_status(
    release: &Release,
    allowed: &[ReleaseStatus],
    doing: &str,
) -> Result<(), Reason> {
    if allowed.contains(&release.status()) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(Reason::new(
        Rule::StatusTransition,
        format!("cannot {doing}: the release is {}", release.status()),
        format!(
            "{doing} is possible when the release is {}",
            names.join(" or ")
        ),
    ))
}

pub(crate) fn require_text(value: &str, what: &str, example: &str) -> Result<(), Reason> {
    if value.trim().is_empty() {
        return Err(Reason::new(
            Rule::Input,
            format!("{what} is empty"),
            format!("give {what}, e.g. {example}"),
        ));
    }
    Ok(())
}

pub(crate) fn run_in_progress(release: &Release, ctx: &Context) -> Option<Reason> {
    if let Some(run) = &release.deployment {
        return Some(Reason::new(
            Rule::DeploymentInProgress,
            format!(
                "a {} deployment of {} is in progress (started by {} at {})",
                run.environment, release.record.version, run.started_by, run.started_at
            ),
            "wait for it to complete or fail",
        ));
    }
    if release.rollback.is_some() {
        return Some(Reason::new(
            Rule::DeploymentInProgress,
            "a rollback of this release is in progress",
            "wait for it to complete or fail",
        ));
    }
    ctx.world.other_run_in_progress.as_ref().map(|other| {
        Reason::new(
            Rule::DeploymentInProgress,
            format!("a deployment or rollback of {other} is in progress"),
            "one deployment at a time: wait for it to end",
        )
    })
}

/// What happened to the candidate a retry replaces: the words for a refusal.
pub(crate) fn failed_candidate_text(release: &Release, candidate: u32) -> String {
    let name = if candidate == 0 {
        release.record.version.to_string()
    } else {
        release_candidate(&release.record.version, candidate).to_string()
    };
    if release.status() == ReleaseStatus::RolledBack {
        format!("{name} was rolled back")
    } else {
        format!("the production deployment of {name} failed")
    }
}

/// Returning to staging after a rollback or a failed production deployment needs a release
/// candidate newer than the one that failed (the spec: "schedule retry after fixes").
pub(crate) fn retry_needs_new_candidate(release: &Release) -> Option<Reason> {
    let failed = release.failed_candidate?;
    (release.release_candidate <= failed).then(|| {
        Reason::new(
            Rule::RetryCandidate,
            format!(
                "{}; a retry needs a new release candidate",
                failed_candidate_text(release, failed)
            ),
            format!(
                "cut one with the fixes (`greenlight release rc {}`), then deploy it to staging",
                release.record.version
            ),
        )
    })
}

/// After a rollback or a failed production deployment, production waits for a new candidate's
/// staging deployment, after which its gates, approvals and Go/No-Go are given again.
pub(crate) fn retry_not_on_staging(release: &Release) -> Option<Reason> {
    let failed = release.failed_candidate?;
    Some(Reason::new(
        Rule::RetryCandidate,
        format!(
            "{}; what was given for it (Phase 2 gates, approvals, Go/No-Go) does not carry over",
            failed_candidate_text(release, failed)
        ),
        format!(
            "cut a new release candidate (`greenlight release rc {}`), deploy it to staging and \
             give its gates, approvals and Go/No-Go again",
            release.record.version
        ),
    ))
}
