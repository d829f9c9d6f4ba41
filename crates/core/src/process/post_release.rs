//! The spec's **Phase 4: Post-Release Monitoring and Communication**: the post-release schedule,
//! the metrics review, the retrospective and its action items.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::{self};
use crate::event::Event;
use crate::process::context::Context;
use crate::refusal::{Refusal, Rule};
use crate::roles::Action;
use crate::state::{ActionItem, Release, plus_hours};

/// Phase 4 from the moment production deployment completed: active monitoring, the extended
/// review, and the retrospective on the policy's weekday after the deployment (past holidays).
pub(crate) fn post_release_scheduled(release: &Release, ctx: &Context) -> Event {
    let policy = ctx.policy;
    let deployed_on = ctx.now.to_zoned(policy.tz().clone()).date();
    let day = calendar::retrospective_date(policy, deployed_on);
    let time = policy.retrospective.time;
    let retrospective_at = day
        .at(time.hour(), time.minute(), 0, 0)
        .to_zoned(policy.tz().clone())
        .map(|z| z.timestamp())
        .unwrap_or(ctx.now);
    Event::PostReleaseScheduled {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        active_monitoring_until: plus_hours(ctx.now, policy.post_release.active_monitoring_hours),
        extended_review_until: plus_hours(ctx.now, policy.post_release.extended_monitoring_hours),
        retrospective_at,
        agenda: crate::state::RETROSPECTIVE_AGENDA
            .map(String::from)
            .to_vec(),
        expected_outputs: crate::state::retrospective_outputs(),
        timestamp: ctx.now,
    }
}

/// The spec's Phase 4 metrics review list, as names a review records.
pub const REVIEW_METRICS: [&str; 8] = [
    "daily_active_users",
    "daily_active_users_change_percent",
    "assignment_completion_percent",
    "score_recording_success_percent",
    "game_load_time_p95_ms",
    "play_session_minutes",
    "error_rate_percent",
    "browser_issues",
];

/// Records a metrics review; score recording below the policy's minimum is a finding.
pub(crate) fn record_metrics_review(
    release: &Release,
    values: &std::collections::BTreeMap<String, f64>,
    notes: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::MarkChecklistItem)?;
    if release.post_release.is_none() {
        return Err(Refusal::one(
            Rule::StatusTransition,
            format!("release {} is not in Phase 4", release.record.version),
            "metrics are reviewed after the production deployment completes",
        ));
    }
    if values.is_empty() {
        return Err(Refusal::one(
            Rule::Input,
            "a metrics review needs at least one value",
            format!("give NAME=VALUE for any of: {}", REVIEW_METRICS.join(", ")),
        ));
    }
    if let Some((name, _)) = values
        .iter()
        .find(|(n, v)| !REVIEW_METRICS.contains(&n.as_str()) || !v.is_finite())
    {
        return Err(Refusal::one(
            Rule::Input,
            format!("`{name}` is not a review metric with a number"),
            format!("use one of: {}", REVIEW_METRICS.join(", ")),
        ));
    }
    let minimum = ctx
        .policy
        .rollback
        .automatic
        .score_recording_success_min_percent;
    let findings = values
        .get("score_recording_success_percent")
        .filter(|v| **v < minimum)
        .map(|v| format!("score recording success {v}% is below {minimum}%"))
        .into_iter()
        .collect();
    Ok(vec![Event::MetricsReviewRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        values: values.clone(),
        findings,
        notes: notes.clone(),
        reviewed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// A retrospective action item as people give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetrospectiveItem {
    /// What to do.
    pub title: String,
    /// Who does it (user ID or name).
    pub owner: String,
    /// By when.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub due_at: Timestamp,
}

/// Records the retrospective: its notes, outputs and action items (kinds `retro_1`, ...).
pub(crate) fn record_retrospective(
    release: &Release,
    notes: &str,
    outputs: &[String],
    items: &[RetrospectiveItem],
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::MarkChecklistItem)?;
    let Some(post) = &release.post_release else {
        return Err(Refusal::one(
            Rule::StatusTransition,
            format!(
                "release {} has no retrospective yet",
                release.record.version
            ),
            "a retrospective is scheduled when the production deployment completes",
        ));
    };
    if post.notes.is_some() {
        return Err(Refusal::one(
            Rule::StatusTransition,
            "the retrospective is already recorded",
            "add follow-ups as action items of the next release",
        ));
    }
    if notes.trim().is_empty() {
        return Err(Refusal::one(
            Rule::Input,
            "the retrospective needs notes",
            "give --notes",
        ));
    }
    if let Some(item) = items
        .iter()
        .find(|i| i.title.trim().is_empty() || i.owner.trim().is_empty())
    {
        return Err(Refusal::one(
            Rule::Input,
            format!("action item {:?} needs a title and an owner", item.title),
            "give each item as TITLE;OWNER;DUE",
        ));
    }
    let mut events = vec![Event::RetrospectiveRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        notes: notes.trim().to_string(),
        outputs: outputs.to_vec(),
        recorded_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }];
    if !items.is_empty() {
        let items = items
            .iter()
            .enumerate()
            .map(|(n, item)| ActionItem {
                kind: format!("retro_{}", n + 1),
                title: item.title.trim().to_string(),
                due_at: item.due_at,
                done_at: None,
                done_by: None,
                owner: Some(item.owner.trim().to_string()),
            })
            .collect();
        events.push(Event::ActionItemsCreated {
            release_id: release.record.release_id,
            items,
            timestamp: ctx.now,
        });
    }
    Ok(events)
}

pub(crate) fn complete_action_item(
    release: &Release,
    kind: &str,
    notes: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CompleteActionItem)?;
    let item = release.action_items.iter().find(|i| i.kind == kind);
    match item {
        None => {
            let kinds: Vec<&str> = release
                .action_items
                .iter()
                .map(|i| i.kind.as_str())
                .collect();
            Err(Refusal::one(
                Rule::Input,
                format!("the release has no action item `{kind}`"),
                if kinds.is_empty() {
                    "the release has no action items".to_string()
                } else {
                    format!("its action items are {}", kinds.join(", "))
                },
            ))
        }
        Some(item) if item.done_at.is_some() => Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("action item `{kind}` is already done"),
            "nothing to do",
        )),
        Some(_) => Ok(vec![Event::ActionItemCompleted {
            release_id: release.record.release_id,
            kind: kind.to_string(),
            notes: notes.clone(),
            completed_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        }]),
    }
}
