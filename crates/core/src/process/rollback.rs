//! The spec's **Rollback Procedures** and **Rollback Rules** ("Post-Rollback Actions"):
//! application and database rollbacks, their confirmation, their outcome and the health alerts
//! that may call for one.

use semver::Version;

use crate::event::Event;
use crate::process::context::{Context, require_status, require_text, run_in_progress};
use crate::process::deployment::require_run_owner;
use crate::refusal::{Refusal, Rule};
use crate::release::ReleaseStatus;
use crate::roles::Action;
use crate::state::{ActionItem, Release, minutes_between, plus_hours};

/// How production is rolled back (the spec's Rollback Procedures).
#[derive(Debug, Clone, Copy)]
pub(crate) enum RollbackMethod<'a> {
    /// Application instant rollback: no downtime.
    Application,
    /// Database rollback: maintenance mode, restore, application rollback; needs confirmation.
    Database { confirm: Option<&'a str> },
}

pub(crate) fn start_rollback(
    release: &Release,
    reason: &str,
    to_version: Option<&Version>,
    method: RollbackMethod,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::InitiateRollback)?;
    require_status(release, &[ReleaseStatus::Deployed], "roll back")?;
    require_live(release, ctx)?;
    require_text(reason, "a rollback reason", "high_error_rate")?;
    if let Some(reason) = run_in_progress(release, ctx) {
        return Err(reason.into());
    }
    let target = rollback_target(release, to_version, ctx)?;
    let mut events = vec![Event::RollbackInitiated {
        release_id: release.record.release_id,
        from_version: release.record.version.clone(),
        to_version: target.clone(),
        rollback_reason: reason.trim().to_string(),
        initiated_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }];
    if let RollbackMethod::Database { confirm } = method {
        require_confirmation(&target, confirm)?;
        events.push(Event::DatabaseRollbackConfirmed {
            release_id: release.record.release_id,
            from_version: release.record.version.clone(),
            to_version: target,
            confirmed_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        });
    }
    events.push(rollback_action_items(release, ctx));
    Ok(events)
}

/// Only the release live in production is rolled back: a release that a later one replaced stays
/// `deployed` in its record, but rolling it back would take production from the later version.
pub(crate) fn require_live(release: &Release, ctx: &Context) -> Result<(), Refusal> {
    match &ctx.world.production_version {
        Some(live) if *live != release.record.version => Err(Refusal::one(
            Rule::RollbackTarget,
            format!(
                "{} is no longer live in production: {live} is",
                release.record.version
            ),
            format!("roll back the release of {live}"),
        )),
        _ => Ok(()),
    }
}

/// The version a rollback returns to: the one named, or the one live before this release.
pub(crate) fn rollback_target(
    release: &Release,
    to_version: Option<&Version>,
    ctx: &Context,
) -> Result<Version, Refusal> {
    let target = to_version
        .or(ctx.world.previous_production_version.as_ref())
        .cloned()
        .ok_or_else(|| {
            Refusal::one(
                Rule::RollbackTarget,
                format!("no version was live before {}", release.record.version),
                "name the version to return to with --to",
            )
        })?;
    if target >= release.record.version {
        return Err(Refusal::one(
            Rule::RollbackTarget,
            format!("{target} is not older than {}", release.record.version),
            "roll back to an earlier deployed version",
        ));
    }
    Ok(target)
}

/// A database rollback restores data to an earlier state, so the person types the target version.
pub(crate) fn require_confirmation(target: &Version, confirm: Option<&str>) -> Result<(), Refusal> {
    let typed = confirm.map(|c| c.trim().trim_start_matches('v'));
    if typed == Some(target.to_string().as_str()) {
        return Ok(());
    }
    Err(Refusal::one(
        Rule::Confirmation,
        format!(
            "a database rollback stops traffic and restores the database to {target}'s state; \
             the spec calls it high-risk and prefers a forward fix"
        ),
        format!("confirm by naming the version you return to: --confirm {target}"),
    ))
}

/// The spec's post-rollback action items, each due some hours from now.
pub(crate) fn rollback_action_items(release: &Release, ctx: &Context) -> Event {
    let items = ctx
        .policy
        .rollback
        .action_items
        .iter()
        .map(|rule| ActionItem {
            kind: rule.kind.clone(),
            title: rule.title.clone(),
            due_at: plus_hours(ctx.now, rule.due_hours),
            done_at: None,
            done_by: None,
            owner: None,
        })
        .collect();
    Event::ActionItemsCreated {
        release_id: release.record.release_id,
        items,
        timestamp: ctx.now,
    }
}

pub(crate) fn complete_rollback(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let run = release.rollback.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no rollback is in progress",
            "start a rollback first",
        )
    })?;
    require_run_owner(&run.initiated_by, Action::InitiateRollback, ctx)?;
    Ok(vec![Event::RollbackCompleted {
        release_id: release.record.release_id,
        from_version: release.record.version.clone(),
        to_version: run.to_version.clone(),
        duration_minutes: minutes_between(run.started_at, ctx.now),
        initiated_by: run.initiated_by.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn fail_rollback(
    release: &Release,
    reason: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let run = release.rollback.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no rollback is in progress",
            "nothing to fail",
        )
    })?;
    require_run_owner(&run.initiated_by, Action::InitiateRollback, ctx)?;
    require_text(reason, "a failure reason", "rollback_hook_failed")?;
    Ok(vec![Event::RollbackFailed {
        release_id: release.record.release_id,
        from_version: release.record.version.clone(),
        to_version: run.to_version.clone(),
        failure_reason: reason.trim().to_string(),
        initiated_by: run.initiated_by.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn raise_health_alert(
    release: &Release,
    alert: crate::health::AlertKind,
    detail: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    if !ctx.actor.system {
        return Err(Refusal::one(
            Rule::Permission,
            format!("{} may not raise health alerts", ctx.actor.id),
            "health alerts come from Greenlight's health monitor",
        ));
    }
    require_text(
        detail,
        "the alert's detail",
        "error rate 12% > 10% for 300 s",
    )?;
    Ok(vec![Event::HealthAlertRaised {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        alert,
        detail: detail.trim().to_string(),
        timestamp: ctx.now,
    }])
}
