//! The spec's **Phase 1: Planning and Code Freeze** (Release Week, Monday) and its **Release
//! Planning Rules**: version numbering, lead times, code freeze and the planned date's window;
//! planning, rescheduling, freezing, cutting a release candidate, recording the release's
//! content, and cancelling.

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{self, next_slot};
use crate::event::Event;
use crate::policy::Policy;
use crate::process::context::{
    Context, PendingRelease, local_text, require_status, require_text, run_in_progress,
};
use crate::refusal::{Reason, Refusal, Rule};
use crate::release::{ReleaseStatus, ReleaseType};
use crate::roles::Action;
use crate::state::{Release, Severity, plus_hours};
use crate::version::{self, release_candidate};

/// A request to plan a release (or start a hotfix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRelease {
    /// ID for the new release (IDs are made at the edge, not in the core).
    pub release_id: Uuid,
    /// ID for its checklist.
    pub checklist_id: Uuid,
    /// The type.
    pub release_type: ReleaseType,
    /// The version; proposed from the latest (or, for a hotfix, production) version if not given.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub version: Option<Version>,
    /// The deployment time; proposed from the cadence if not given.
    pub planned_date: Option<Timestamp>,
    /// A hotfix's title (its branch's description).
    pub title: Option<String>,
    /// A hotfix's base: the version live in production that it fixes (checked against the
    /// production version Greenlight knows, when it knows one).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[serde(default)]
    pub from_version: Option<Version>,
    /// A hotfix's trigger, one of the policy's `[[hotfix.triggers]]` (`score_recording_failure`).
    #[serde(default)]
    pub trigger: Option<String>,
    /// A hotfix's severity (1-4); may be left out when its trigger has only one.
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// Plans a release: proposes version and dates from the policy and checks every planning rule.
pub fn plan(cmd: &PlanRelease, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let hotfix = cmd.release_type == ReleaseType::Hotfix;
    let action = if hotfix {
        Action::CreateHotfixBranch
    } else {
        Action::PlanRelease
    };
    ctx.actor.require(action)?;
    let title = cmd
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if hotfix && title.is_none() {
        return Err(Refusal::one(
            Rule::Input,
            "a hotfix needs a title",
            "give a short description, e.g. --title \"critical score fix\"",
        ));
    }
    let urgency = if hotfix {
        let trigger = cmd.trigger.as_deref();
        Some(crate::hotfix::urgency(
            trigger,
            cmd.severity,
            &ctx.policy.hotfix,
            ctx.now,
        )?)
    } else if cmd.trigger.is_some() || cmd.severity.is_some() {
        return Err(Refusal::one(
            Rule::Input,
            "only a hotfix has a trigger and a severity",
            "leave out --trigger and --severity, or start a hotfix",
        ));
    } else {
        None
    };
    let (planned_date, code_freeze_date) = plan_dates(cmd, ctx)?;
    let version = plan_version(cmd, planned_date, ctx)?;
    let branch = if hotfix {
        version::hotfix_branch(&version, title.unwrap_or_default())
    } else {
        version::release_branch(&version)
    };
    Ok(vec![Event::ReleasePlanned {
        release_id: cmd.release_id,
        checklist_id: cmd.checklist_id,
        version,
        release_type: cmd.release_type,
        planned_date,
        code_freeze_date,
        title: title.map(str::to_string),
        branch,
        hotfix: urgency,
        created_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// The version of a new release: the one given, or the next of its type counted from what is
/// live in production and what ships before it (a hotfix: from production only).
pub(crate) fn plan_version(
    cmd: &PlanRelease,
    planned: Timestamp,
    ctx: &Context,
) -> Result<Version, Refusal> {
    let hotfix = cmd.release_type == ReleaseType::Hotfix;
    let base = if hotfix {
        hotfix_base(cmd, ctx)?.cloned()
    } else if cmd.from_version.is_some() {
        return Err(Refusal::one(
            Rule::Input,
            "only a hotfix is planned from a deployed version",
            "leave out --from, or plan a hotfix",
        ));
    } else {
        proposal_base(planned, ctx)
    };
    let version = match (&cmd.version, &base) {
        (Some(v), _) => v.clone(),
        (None, Some(base)) => version::next_version(base, cmd.release_type),
        (None, None) => {
            let what = if hotfix {
                "nothing is deployed to production yet, so a hotfix has no version to fix"
            } else {
                "this is the first release, so there is no version to count from"
            };
            return Err(Refusal::one(
                Rule::Version,
                what,
                "give the version explicitly, e.g. --version 1.0.0",
            ));
        }
    };
    if !version.pre.is_empty() || !version.build.is_empty() {
        return Err(Refusal::one(
            Rule::Version,
            format!("{version} is a pre-release or carries build metadata"),
            "plan the final version (1.3.0); release candidates are cut from it at code freeze",
        ));
    }
    let floor = if hotfix {
        base.as_ref()
    } else {
        ctx.world.production_version.as_ref()
    };
    if let Some(floor) = floor {
        version::ensure_forward(floor, &version)
            .map_err(|e| Refusal::one(Rule::Version, e.to_string(), "choose a greater version"))?;
    }
    Refusal::check(planned_order_reasons(&version, planned, ctx))?;
    Ok(version)
}

/// What a proposal counts from: the highest of the version live in production and the versions
/// of other releases that ship before `planned` (a rolled-back release's version is taken too).
pub(crate) fn proposal_base(planned: Timestamp, ctx: &Context) -> Option<Version> {
    let before = ctx
        .world
        .pending_releases
        .iter()
        .filter(|p| p.planned_date <= planned)
        .map(|p| &p.version);
    ctx.world
        .production_version
        .iter()
        .chain(before)
        .max()
        .cloned()
}

/// Versions reach production in increasing order: planning `version` for `planned` must not put
/// it before a lower version still planned, nor after a higher one, nor reuse a version.
pub(crate) fn planned_order_reasons(
    version: &Version,
    planned: Timestamp,
    ctx: &Context,
) -> Vec<Reason> {
    ctx.world
        .pending_releases
        .iter()
        .filter_map(|other| planned_order_reason(version, planned, other, ctx))
        .collect()
}

pub(crate) fn planned_order_reason(
    version: &Version,
    planned: Timestamp,
    other: &PendingRelease,
    ctx: &Context,
) -> Option<Reason> {
    let when = |at: Timestamp| local_text(at, ctx);
    let theirs = &other.version;
    if theirs == version {
        return Some(Reason::new(
            Rule::VersionOrder,
            format!(
                "{version} is already taken by a release that is {}",
                other.status
            ),
            "choose another version",
        ));
    }
    if !other.still_planned() {
        return None;
    }
    if theirs < version && other.planned_date > planned {
        return Some(Reason::new(
            Rule::VersionOrder,
            format!(
                "{version} ({}) would reach production before {theirs} ({}), a lower version still planned",
                when(planned),
                when(other.planned_date)
            ),
            format!("plan {version} after {theirs}, or reschedule or cancel {theirs}"),
        ));
    }
    if theirs > version && other.planned_date < planned {
        return Some(Reason::new(
            Rule::VersionOrder,
            format!(
                "{theirs} ({}) would reach production before {version} ({}), a lower version",
                when(other.planned_date),
                when(planned)
            ),
            format!("plan {version} before {theirs}, or choose a version above {theirs}"),
        ));
    }
    None
}

/// Deploying to production: the version must be newer than the one live, and no lower version
/// may still be planned (it would then reach production after a higher one).
pub(crate) fn deploy_order_reasons(release: &Release, ctx: &Context) -> Vec<Reason> {
    let version = &release.record.version;
    let live = ctx
        .world
        .production_version
        .as_ref()
        .filter(|live| *live >= version)
        .map(|live| {
            Reason::new(
                Rule::VersionOrder,
                format!("{version} is not newer than {live}, live in production"),
                "versions reach production in increasing order: plan a version above it",
            )
        });
    let lower = ctx
        .world
        .pending_releases
        .iter()
        .filter(|p| p.still_planned() && &p.version < version)
        .map(|p| {
            Reason::new(
                Rule::VersionOrder,
                format!(
                    "{version} would reach production before {}, a lower version still {} (planned for {})",
                    p.version,
                    p.status,
                    local_text(p.planned_date, ctx)
                ),
                format!("deploy {} first, or cancel it", p.version),
            )
        });
    live.into_iter().chain(lower).collect()
}

/// The version a hotfix fixes: the one named with `--from`, which must be the version live in
/// production when Greenlight knows it, or else the production version.
pub(crate) fn hotfix_base<'a>(
    cmd: &'a PlanRelease,
    ctx: &'a Context,
) -> Result<Option<&'a Version>, Refusal> {
    let production = ctx.world.production_version.as_ref();
    match (&cmd.from_version, production) {
        (Some(from), Some(live)) if from != live => Err(Refusal::one(
            Rule::Version,
            format!("{from} is not the version live in production ({live})"),
            format!("branch the hotfix from production: --from {live}"),
        )),
        (Some(from), _) => Ok(Some(from)),
        (None, live) => Ok(live),
    }
}

pub(crate) fn plan_dates(
    cmd: &PlanRelease,
    ctx: &Context,
) -> Result<(Timestamp, Timestamp), Refusal> {
    if cmd.release_type == ReleaseType::Hotfix {
        let at = cmd.planned_date.unwrap_or(ctx.now);
        return Ok((at, ctx.now));
    }
    let planned = match cmd.planned_date {
        Some(at) => at,
        None => propose_date(cmd.release_type, ctx)?,
    };
    check_lead_time(cmd.release_type, ctx.now, planned, ctx)?;
    check_planned_window(cmd.release_type, planned, ctx)?;
    let local = planned.to_zoned(ctx.policy.tz().clone());
    let freeze = calendar::milestones(ctx.policy, cmd.release_type, local.date(), local, None)
        .code_freeze
        .timestamp()
        .max(ctx.now);
    Ok((planned, freeze))
}

/// The next deployment of the type's train whose full lead time is still ahead; without a train,
/// the first allowed slot after the minimum lead time.
pub(crate) fn propose_date(release_type: ReleaseType, ctx: &Context) -> Result<Timestamp, Refusal> {
    let lead = lead_days(release_type, ctx.policy);
    let earliest = plus_hours(ctx.now, lead * 24);
    let from = earliest.to_zoned(ctx.policy.tz().clone()).date();
    let to = from
        .checked_add(jiff::Span::new().days(400))
        .unwrap_or(from);
    let train = calendar::release_calendar(ctx.policy, from, to)
        .into_iter()
        .filter(|r| r.release_type == release_type)
        .map(|r| r.deploy.timestamp())
        .find(|t| *t >= earliest);
    train
        .or_else(|| next_slot(ctx.policy, earliest, release_type).map(|s| s.start.timestamp()))
        .ok_or_else(|| {
            Refusal::one(
                Rule::Cadence,
                format!("no deployment slot for a {release_type} release within a year"),
                "check the policy's windows and blackouts, or give --date",
            )
        })
}

pub(crate) fn lead_days(release_type: ReleaseType, policy: &Policy) -> u32 {
    match release_type {
        ReleaseType::Hotfix => 0,
        other => calendar::cadence_of(policy, other).lead_days_min,
    }
}

pub(crate) fn check_lead_time(
    release_type: ReleaseType,
    from: Timestamp,
    planned: Timestamp,
    ctx: &Context,
) -> Result<(), Refusal> {
    let lead = lead_days(release_type, ctx.policy);
    let earliest = plus_hours(from, lead * 24);
    if planned >= earliest {
        return Ok(());
    }
    let suggestion = next_slot(ctx.policy, earliest, release_type)
        .map(|s| {
            format!(
                "plan it for {} or later",
                s.start.strftime("%a %Y-%m-%d %H:%M %Z")
            )
        })
        .unwrap_or_else(|| "plan it later".into());
    Err(Refusal::one(
        Rule::LeadTime,
        format!(
            "a {release_type} release needs at least {lead} days from code freeze to deployment; {} is too soon",
            local_text(planned, ctx)
        ),
        suggestion,
    ))
}

pub(crate) fn check_planned_window(
    release_type: ReleaseType,
    planned: Timestamp,
    ctx: &Context,
) -> Result<(), Refusal> {
    let verdict = calendar::check_window(ctx.policy, planned, release_type);
    if verdict.may_start() {
        return Ok(());
    }
    let why: Vec<String> = verdict.blocking().map(|f| f.message.clone()).collect();
    let suggestion = next_slot(ctx.policy, planned, release_type)
        .map(|s| {
            format!(
                "the next allowed slot is {}",
                s.start.strftime("%a %Y-%m-%d %H:%M %Z")
            )
        })
        .unwrap_or_else(|| "choose another time".into());
    Err(Refusal::one(
        Rule::DeploymentWindow,
        format!(
            "{} is blocked: {}",
            local_text(planned, ctx),
            why.join("; ")
        ),
        suggestion,
    ))
}

pub(crate) fn record_content(
    release: &Release,
    content: &crate::content::ReleaseContent,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RecordReleaseContent)?;
    require_status(
        release,
        &[ReleaseStatus::Planned, ReleaseStatus::Staging],
        "record its content",
    )?;
    require_text(
        &content.changelog,
        "changelog",
        "\"## [1.4.0]\\n\\n### Added ...\"",
    )?;
    Ok(vec![Event::ReleaseContentRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        content: content.clone(),
        recorded_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn reschedule(
    release: &Release,
    planned: Timestamp,
    reason: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RescheduleRelease)?;
    require_status(
        release,
        &[ReleaseStatus::Planned, ReleaseStatus::Staging],
        "reschedule",
    )?;
    require_text(reason, "a reason", "\"waiting on a payment provider fix\"")?;
    if release.release_type() != ReleaseType::Hotfix {
        let from = if release.checklist.code_freeze_complete {
            release.record.code_freeze_date
        } else {
            ctx.now
        };
        check_lead_time(release.release_type(), from, planned, ctx)?;
        check_planned_window(release.release_type(), planned, ctx)?;
    }
    Refusal::check(planned_order_reasons(&release.record.version, planned, ctx))?;
    Ok(vec![Event::ReleaseRescheduled {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        planned_date: planned,
        previous_planned_date: release.record.planned_date,
        reason: reason.trim().to_string(),
        requested_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn freeze(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CreateReleaseBranch)?;
    require_status(release, &[ReleaseStatus::Planned], "freeze code")?;
    if release.checklist.code_freeze_complete {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("code is already frozen on {}", release.branch),
            "cut a further release candidate instead",
        ));
    }
    if release.release_type() != ReleaseType::Hotfix {
        check_lead_time(
            release.release_type(),
            ctx.now,
            release.record.planned_date,
            ctx,
        )
        .map_err(|mut refusal| {
            for reason in &mut refusal.reasons {
                reason.satisfy = format!(
                    "reschedule the release first ({}); freezing now leaves too little time",
                    reason.satisfy
                );
            }
            refusal
        })?;
    }
    Ok(vec![Event::CodeFreezeStarted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_branch: release.branch.clone(),
        release_candidate: release_candidate(&release.record.version, 1),
        frozen_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn cut_candidate(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CutReleaseCandidate)?;
    require_status(
        release,
        &[
            ReleaseStatus::Planned,
            ReleaseStatus::Staging,
            ReleaseStatus::RolledBack,
        ],
        "cut a release candidate",
    )?;
    require_frozen(release)?;
    Ok(vec![Event::ReleaseCandidateCut {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_candidate: release_candidate(
            &release.record.version,
            release.release_candidate + 1,
        ),
        cut_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn require_frozen(release: &Release) -> Result<(), Reason> {
    if release.checklist.code_freeze_complete || release.release_type() == ReleaseType::Hotfix {
        return Ok(());
    }
    Err(Reason::new(
        Rule::CodeFreeze,
        "code is not frozen yet",
        format!(
            "freeze code first (creates {} and the first release candidate)",
            release.branch
        ),
    ))
}

pub(crate) fn cancel(
    release: &Release,
    reason: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CancelRelease)?;
    release
        .status()
        .transition(ReleaseStatus::Cancelled)
        .map_err(Refusal::from)?;
    require_text(reason, "a reason", "\"features moved to the next release\"")?;
    if let Some(reason) = run_in_progress(release, ctx).filter(|_| release.deployment.is_some()) {
        return Err(reason.into());
    }
    Ok(vec![Event::ReleaseCancelled {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        reason: reason.trim().to_string(),
        cancelled_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}
