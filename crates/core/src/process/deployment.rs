//! The spec's **Phase 2: Staging Deployment and Validation** and **Phase 3: Production
//! Deployment** with its **Deployment Windows** and **Deployment Checklist**: starting,
//! completing and failing a deployment run.

use crate::calendar::{self, WindowStatus, next_slot};
use crate::event::Event;
use crate::gates::GatePhase;
use crate::process::approvals::approval_status;
use crate::process::context::{
    Context, local_text, require_status, require_text, retry_needs_new_candidate,
    retry_not_on_staging, run_in_progress,
};
use crate::process::gates::{
    auto_gate, check_no_blocking_bugs, gate_reasons, pre_production_phases,
};
use crate::process::hotfix::{backport_item, hotfix_follow_ups};
use crate::process::planning::{check_lead_time, deploy_order_reasons, require_frozen};
use crate::process::post_release::post_release_scheduled;
use crate::refusal::{Reason, Refusal, Rule};
use crate::release::{Environment, GoNoGo, ManualChecklistItem, ReleaseStatus, ReleaseType};
use crate::roles::Action;
use crate::state::{Release, minutes_between};

pub(crate) fn mark_checklist(
    release: &Release,
    item: ManualChecklistItem,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::MarkChecklistItem)?;
    if release.status() == ReleaseStatus::Cancelled {
        return Err(Refusal::one(
            Rule::StatusTransition,
            "the release is cancelled",
            "nothing to tick on a cancelled release",
        ));
    }
    Ok(vec![Event::ChecklistItemMarked {
        release_id: release.record.release_id,
        item,
        marked_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn start_staging(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::DeployToStaging)?;
    let mut reasons = Vec::new();
    reasons.extend(
        require_status(
            release,
            &[
                ReleaseStatus::Planned,
                ReleaseStatus::Staging,
                ReleaseStatus::RolledBack,
            ],
            "deploy to staging",
        )
        .err(),
    );
    reasons.extend(require_frozen(release).err());
    reasons.extend(retry_needs_new_candidate(release));
    if release.release_type() != ReleaseType::Hotfix {
        reasons.extend(gate_reasons(release, &[GatePhase::Planning], ctx));
    }
    reasons.extend(run_in_progress(release, ctx));
    Refusal::check(reasons)?;
    let candidate = release
        .current_candidate()
        .unwrap_or_else(|| release.record.version.clone());
    Ok(vec![Event::StagingDeploymentStarted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_candidate: candidate,
        deployed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn start_production(
    release: &Release,
    override_window: Option<&str>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let hotfix = release.release_type() == ReleaseType::Hotfix;
    let action = if hotfix {
        Action::ExecuteHotfixDeployment
    } else {
        Action::ExecuteProductionDeployment
    };
    ctx.actor.require(action)?;
    let mut reasons = Vec::new();
    reasons
        .extend(require_status(release, &[ReleaseStatus::Staging], "deploy to production").err());
    reasons.extend(retry_not_on_staging(release));
    reasons.extend(gate_reasons(release, pre_production_phases(release), ctx));
    reasons.extend(approval_status(release, ctx.policy).reasons(release.release_type()));
    if ctx
        .policy
        .go_no_go
        .required_for
        .contains(&release.release_type())
        && release.checklist.go_no_go_decision != GoNoGo::Go
    {
        reasons.push(Reason::new(
            Rule::GoNoGo,
            format!(
                "the Go/No-Go decision is {}",
                release.checklist.go_no_go_decision.as_str()
            ),
            "every required participant votes go at the Go/No-Go meeting (no one votes no-go)",
        ));
    }
    reasons.extend(check_no_blocking_bugs(release, ctx).err());
    reasons.extend(run_in_progress(release, ctx));
    reasons.extend(deploy_order_reasons(release, ctx));
    if !hotfix && release.checklist.code_freeze_complete {
        reasons.extend(
            check_lead_time(
                release.release_type(),
                release.record.code_freeze_date,
                ctx.now,
                ctx,
            )
            .err()
            .into_iter()
            .flat_map(|r| r.reasons),
        );
    }
    let (window_reasons, override_event) = window_rule(release, override_window, ctx);
    reasons.extend(window_reasons);
    Refusal::check(reasons)?;
    let mut events: Vec<Event> = override_event.into_iter().collect();
    events.push(Event::DeploymentStarted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_type: release.release_type(),
        deployed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    });
    Ok(events)
}

/// The deployment-window rule: refusals, or the override event when an engineering lead justified
/// deploying in a blocked time.
pub(crate) fn window_rule(
    release: &Release,
    override_window: Option<&str>,
    ctx: &Context,
) -> (Vec<Reason>, Option<Event>) {
    let verdict = calendar::check_window(ctx.policy, ctx.now, release.release_type());
    if verdict.status != WindowStatus::Blocked {
        return (Vec::new(), None);
    }
    let findings: Vec<String> = verdict.blocking().map(|f| f.message.clone()).collect();
    let justification = override_window.map(str::trim).filter(|j| !j.is_empty());
    let Some(justification) = justification else {
        let next = next_slot(ctx.policy, ctx.now, release.release_type())
            .map(|s| format!("deploy from {}", s.start.strftime("%a %Y-%m-%d %H:%M %Z")))
            .unwrap_or_else(|| "deploy in an allowed window".into());
        return (
            vec![Reason::new(
                Rule::DeploymentWindow,
                format!(
                    "{} is blocked: {} (a {} deployment is expected to end at {})",
                    local_text(ctx.now, ctx),
                    findings.join("; "),
                    release.release_type(),
                    verdict.ends_at.strftime("%H:%M %Z")
                ),
                format!(
                    "{next}, or an engineering lead overrides with --override \"justification\""
                ),
            )],
            None,
        );
    };
    if let Err(reason) = ctx.actor.require(Action::OverrideDeploymentWindow) {
        return (vec![reason], None);
    }
    let event = Event::DeploymentWindowOverridden {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        findings,
        justification: justification.to_string(),
        overridden_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    };
    (Vec::new(), Some(event))
}

/// Who may end a run: the system, whoever started it, or anyone who may start one.
pub(crate) fn require_run_owner(run_by: &str, action: Action, ctx: &Context) -> Result<(), Reason> {
    if ctx.actor.system || ctx.actor.id == run_by {
        return Ok(());
    }
    ctx.actor.require(action)
}

pub(crate) fn complete_deployment(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let run = release.deployment.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no deployment is in progress",
            "start a deployment first",
        )
    })?;
    let duration = minutes_between(run.started_at, ctx.now);
    let release_id = release.record.release_id;
    let version = release.record.version.clone();
    match run.environment {
        Environment::Staging => {
            require_run_owner(&run.started_by, Action::DeployToStaging, ctx)?;
            let mut events = vec![Some(Event::StagingDeploymentCompleted {
                release_id,
                version: version.clone(),
                duration_minutes: duration,
                deployed_by: run.started_by.clone(),
                timestamp: ctx.now,
            })];
            if release.release_type() != ReleaseType::Hotfix {
                events.push(auto_gate(
                    release,
                    GatePhase::StagingValidation,
                    "staging_deployment",
                    ctx,
                ));
            }
            Ok(events.into_iter().flatten().collect())
        }
        Environment::Production => {
            require_run_owner(&run.started_by, Action::ExecuteHotfixDeployment, ctx)?;
            let mut events = vec![Some(Event::DeploymentCompleted {
                release_id,
                version,
                release_type: release.release_type(),
                duration_minutes: duration,
                deployed_by: run.started_by.clone(),
                timestamp: ctx.now,
            })];
            events.push(auto_gate(
                release,
                GatePhase::ProductionValidation,
                "production_deployment",
                ctx,
            ));
            if release.release_type() == ReleaseType::Hotfix {
                events.push(Some(backport_item(release, ctx)));
                events.push(hotfix_follow_ups(release, ctx));
            }
            events.push(Some(post_release_scheduled(release, ctx)));
            Ok(events.into_iter().flatten().collect())
        }
    }
}

pub(crate) fn fail_deployment(
    release: &Release,
    reason: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let run = release.deployment.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no deployment is in progress",
            "nothing to fail",
        )
    })?;
    require_run_owner(&run.started_by, Action::ExecuteHotfixDeployment, ctx)?;
    require_text(reason, "a failure reason", "smoke_tests_failed")?;
    let release_id = release.record.release_id;
    let version = release.record.version.clone();
    let failure_reason = reason.trim().to_string();
    let deployed_by = run.started_by.clone();
    Ok(vec![match run.environment {
        Environment::Staging => Event::StagingDeploymentFailed {
            release_id,
            version,
            failure_reason,
            deployed_by,
            timestamp: ctx.now,
        },
        Environment::Production => Event::DeploymentFailed {
            release_id,
            version,
            release_type: release.release_type(),
            failure_reason,
            deployed_by,
            timestamp: ctx.now,
        },
    }])
}
