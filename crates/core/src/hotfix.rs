//! The hotfix fast path: why a hotfix is started (the spec's triggers, each with its severity
//! and deadline: Severity 1 immediate, security within 24 hours, critical accessibility within
//! 48 hours), and its timeline: how long each stage of the spec's expedited timeline (2-4 hours
//! in all) has taken against its target and where it stands against its deadline, so people see
//! at a glance whether the fix is on time. Stages end at milestones the release records by
//! itself (a staging deployment, the production deployment, the follow-ups done), so nobody has
//! to tick a timer.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::policy::HotfixPolicy;
use crate::refusal::{Refusal, Rule};
use crate::release::ReleaseType;
use crate::state::{ActionItem, HotfixUrgency, Release, Severity, minutes_between};

/// A hotfix's trigger, severity and deadline from the policy, for a hotfix started at `now`.
/// The trigger must be one of the policy's; the severity one of the trigger's (and may be left
/// out when the trigger has only one).
pub fn urgency(
    trigger: Option<&str>,
    severity: Option<Severity>,
    policy: &HotfixPolicy,
    now: Timestamp,
) -> Result<HotfixUrgency, Refusal> {
    let names = || {
        policy
            .triggers
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(name) = trigger.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(Refusal::one(
            Rule::Input,
            "a hotfix needs its trigger (the spec's hotfix triggers carry its severity and deadline)",
            format!("give --trigger with one of: {}", names()),
        ));
    };
    let Some(rule) = policy.trigger(name) else {
        return Err(Refusal::one(
            Rule::Input,
            format!("`{name}` is not a hotfix trigger of the policy"),
            format!("give --trigger with one of: {}", names()),
        ));
    };
    let allowed = rule
        .severities
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    let given = severity.map(u8::from);
    let severity = match (given, rule.severities.as_slice()) {
        (Some(given), _) if rule.severities.contains(&given) => given,
        (Some(given), _) => {
            return Err(Refusal::one(
                Rule::Input,
                format!(
                    "{} ({}) are severity {allowed}, not {}",
                    rule.title, rule.name, given
                ),
                format!("give --severity {allowed}, or the trigger that fits"),
            ));
        }
        (None, [only]) => *only,
        (None, _) => {
            return Err(Refusal::one(
                Rule::Input,
                format!(
                    "{} ({}) may be severity {allowed}: say which",
                    rule.title, rule.name
                ),
                format!("give --severity {allowed}"),
            ));
        }
    };
    let severity = Severity::try_from(severity).map_err(|problem| {
        Refusal::one(
            Rule::Input,
            format!("the policy's trigger {}: {problem}", rule.name),
            "fix hotfix.triggers in the policy (severities 1 to 4)",
        )
    })?;
    let hours = SignedDuration::from_hours(i64::from(rule.deadline_hours));
    Ok(HotfixUrgency {
        trigger: rule.name.clone(),
        title: rule.title.clone(),
        severity,
        deadline: now.checked_add(hours).unwrap_or(now),
    })
}

/// The spec's incident documentation after a hotfix (the policy's `follow_ups`: incident
/// report, runbook update, post-mortem) as action items due their hours after `from`, the
/// production deployment.
pub fn follow_ups(policy: &HotfixPolicy, from: Timestamp) -> Vec<ActionItem> {
    policy
        .follow_ups
        .iter()
        .map(|rule| {
            let hours = SignedDuration::from_hours(i64::from(rule.due_hours));
            ActionItem {
                kind: rule.kind.clone(),
                title: rule.title.clone(),
                due_at: from.checked_add(hours).unwrap_or(from),
                done_at: None,
                done_by: None,
                owner: None,
            }
        })
        .collect()
}

/// The moment a hotfix stage ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// The fix is deployed to staging (development, testing and review are done).
    StagingDeployed,
    /// The fix is deployed to production.
    ProductionDeployed,
    /// Every follow-up (the backport, incident documentation) is marked done.
    FollowUpsDone,
}

impl Milestone {
    /// When `release` reached the milestone, if it has.
    pub fn reached_at(self, release: &Release) -> Option<Timestamp> {
        match self {
            Milestone::StagingDeployed => release.staging_deployed_at,
            Milestone::ProductionDeployed => release.record.deployed_date,
            Milestone::FollowUpsDone => follow_ups_done_at(release),
        }
    }
}

/// When the last follow-up was done, once production is deployed and none is open.
fn follow_ups_done_at(release: &Release) -> Option<Timestamp> {
    release.record.deployed_date?;
    let items = &release.action_items;
    if items.is_empty() || items.iter().any(|i| i.done_at.is_none()) {
        return None;
    }
    items.iter().filter_map(|i| i.done_at).max()
}

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    /// Finished.
    Done,
    /// The stage being worked on now.
    Running,
    /// Not started.
    Pending,
}

/// One stage's elapsed time against its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageProgress {
    /// The stage's name (`approval_and_deployment`).
    pub name: String,
    /// Done, running or pending.
    pub state: StageState,
    /// Target duration, minutes.
    pub target_minutes: u32,
    /// Minutes spent so far (until it ended, or until now while running; 0 when pending).
    pub elapsed_minutes: u32,
    /// It took, or is taking, longer than its target.
    pub over_target: bool,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
}

/// A hotfix's whole timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HotfixTimeline {
    /// When the hotfix was started.
    pub started_at: Timestamp,
    /// Minutes from the start to the last stage's end, or to now.
    pub elapsed_minutes: u32,
    /// The spec's expedited timeline: at least this many minutes...
    pub target_minutes_min: u32,
    /// ...and at most this many.
    pub target_minutes_max: u32,
    /// Past the maximum target.
    pub over_target: bool,
    /// Every stage is done.
    pub finished: bool,
    /// The stages in order.
    pub stages: Vec<StageProgress>,
    /// Its trigger, severity and deadline, when recorded.
    pub urgency: Option<HotfixUrgency>,
    /// Minutes from now (or from the production deployment, once done) to the deadline;
    /// negative once past it.
    pub minutes_to_deadline: Option<i64>,
    /// Production was not reached by the deadline.
    pub past_deadline: bool,
    /// Production was reached by the deadline.
    pub deadline_met: bool,
}

/// The timeline of a hotfix at `now`; `None` for other release types.
pub fn timeline(
    release: &Release,
    policy: &HotfixPolicy,
    now: Timestamp,
) -> Option<HotfixTimeline> {
    if release.release_type() != ReleaseType::Hotfix {
        return None;
    }
    let started_at = release.record.created_at;
    let mut stages = Vec::with_capacity(policy.stages.len());
    let mut stage_start = Some(started_at);
    for stage in &policy.stages {
        let ended_at = stage.ends_when.reached_at(release);
        let state = match (stage_start, ended_at) {
            (_, Some(_)) => StageState::Done,
            (Some(_), None) => StageState::Running,
            (None, None) => StageState::Pending,
        };
        let elapsed_minutes = match (stage_start, state) {
            (Some(from), StageState::Done) => minutes_between(from, ended_at.unwrap_or(from)),
            (Some(from), StageState::Running) => minutes_between(from, now),
            _ => 0,
        };
        stages.push(StageProgress {
            name: stage.name.clone(),
            state,
            target_minutes: stage.target_minutes,
            elapsed_minutes,
            over_target: elapsed_minutes > stage.target_minutes,
            started_at: stage_start,
            ended_at,
        });
        stage_start = ended_at;
    }
    let finished = stages.iter().all(|s| s.state == StageState::Done);
    let end = match stages.last() {
        Some(last) if finished => last.ended_at.unwrap_or(now),
        _ => now,
    };
    let elapsed_minutes = minutes_between(started_at, end);
    let target_minutes_max = policy.target_hours_max * 60;
    let urgency = release.hotfix.clone();
    let in_production_at = release.record.deployed_date.unwrap_or(now);
    let minutes_to_deadline = urgency
        .as_ref()
        .map(|u| u.deadline.duration_since(in_production_at).as_mins());
    let past_deadline = minutes_to_deadline.is_some_and(|m| m < 0);
    Some(HotfixTimeline {
        deadline_met: urgency.is_some() && release.record.deployed_date.is_some() && !past_deadline,
        past_deadline,
        minutes_to_deadline,
        urgency,
        started_at,
        elapsed_minutes,
        target_minutes_min: policy.target_hours_min * 60,
        target_minutes_max,
        over_target: elapsed_minutes > target_minutes_max,
        finished,
        stages,
    })
}
