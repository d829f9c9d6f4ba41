//! The release report: a release's whole story in time order (plan, freeze, gates, approvals,
//! Go/No-Go, deployment steps, health, communications, rollback, the hotfixes that followed,
//! follow-up), as data for JSON and as Markdown. The store's other records (runbook steps,
//! communications, hotfixes) come in as entries of their own; this only orders and words them.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::event::Event;
use crate::state::{ActionItem, Release};

/// One line of the story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub at: Timestamp,
    /// Where in the process (`plan`, `gates`, `approvals`, `deployment`, `health`,
    /// `communications`, `rollback`, `hotfix`, `follow_up`, `bugs`).
    pub section: String,
    /// What happened, in a sentence.
    pub text: String,
    /// Who did it (`greenlight` for the system).
    pub by: String,
}

impl Entry {
    /// An entry.
    pub fn new(at: Timestamp, section: &str, text: String, by: &str) -> Entry {
        Entry {
            at,
            section: section.into(),
            text,
            by: by.into(),
        }
    }
}

/// A follow-up action and whether it is late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUp {
    /// The action item.
    pub item: ActionItem,
    /// Open past its due time.
    pub overdue: bool,
}

/// A release's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// Version.
    pub version: String,
    /// Type.
    pub release_type: String,
    /// Status now.
    pub status: String,
    /// A hotfix's title.
    pub title: Option<String>,
    /// The story, oldest first.
    pub entries: Vec<Entry>,
    /// Follow-up actions.
    pub follow_up: Vec<FollowUp>,
}

/// The report of `release` from its `events`, with `extra` entries (steps, communications,
/// hotfixes) merged in time order; `now` decides what is overdue.
pub fn report(release: &Release, events: &[Event], extra: Vec<Entry>, now: Timestamp) -> Report {
    let record = &release.record;
    let mut entries: Vec<Entry> = events.iter().filter_map(describe).collect();
    entries.extend(extra);
    entries.sort_by_key(|e| e.at);
    let follow_up = release
        .action_items
        .iter()
        .map(|item| FollowUp {
            overdue: item.done_at.is_none() && item.due_at < now,
            item: item.clone(),
        })
        .collect();
    Report {
        version: record.version.to_string(),
        release_type: record.release_type.as_str().into(),
        status: record.status.as_str().into(),
        title: release.title.clone(),
        entries,
        follow_up,
    }
}

/// The report as Markdown, times in `tz`.
pub fn markdown(report: &Report, tz: &TimeZone) -> String {
    let local = |t: Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let mut out = format!(
        "# Release report: {} ({}, {})\n\n",
        report.version, report.release_type, report.status
    );
    if let Some(title) = &report.title {
        out.push_str(&format!("{title}\n\n"));
    }
    out.push_str("| when | stage | what | by |\n|---|---|---|---|\n");
    for e in &report.entries {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            local(e.at),
            e.section,
            cell(&e.text),
            cell(&e.by)
        ));
    }
    if !report.follow_up.is_empty() {
        out.push_str("\n## Follow-up\n\n");
        for f in &report.follow_up {
            let state = match (f.item.done_at, f.overdue) {
                (Some(done), _) => format!("done {}", local(done)),
                (None, true) => format!("**OVERDUE** since {}", local(f.item.due_at)),
                (None, false) => format!("due {}", local(f.item.due_at)),
            };
            out.push_str(&format!("- {}: {state}\n", cell(&f.item.title)));
        }
    }
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The sentence for one event; none for bookkeeping events.
fn describe(event: &Event) -> Option<Entry> {
    use Event::*;
    let at = event.timestamp();
    let e = |section: &str, text: String, by: &str| Some(Entry::new(at, section, text, by));
    match event {
        ReleasePlanned {
            version,
            release_type,
            planned_date,
            created_by,
            hotfix,
            ..
        } => e(
            "plan",
            format!(
                "{} release {version} planned to deploy {planned_date}{}",
                release_type.as_str(),
                hotfix
                    .as_ref()
                    .map(|u| format!(
                        " (severity {}: {}; in production by {})",
                        u8::from(u.severity),
                        u.title,
                        u.deadline
                    ))
                    .unwrap_or_default()
            ),
            created_by,
        ),
        ReleaseRescheduled {
            planned_date,
            previous_planned_date,
            reason,
            requested_by,
            ..
        } => e(
            "plan",
            format!("Rescheduled from {previous_planned_date} to {planned_date}: {reason}"),
            requested_by,
        ),
        CodeFreezeStarted {
            release_branch,
            release_candidate,
            frozen_by,
            ..
        } => e(
            "plan",
            format!("Code freeze: branch {release_branch}, candidate {release_candidate}"),
            frozen_by,
        ),
        ReleaseCandidateCut {
            release_candidate,
            cut_by,
            ..
        } => e(
            "plan",
            format!("Release candidate {release_candidate} cut"),
            cut_by,
        ),
        ReleaseContentRecorded {
            content,
            recorded_by,
            ..
        } => e(
            "plan",
            format!(
                "Content recorded: {} features, {} fixes{}{}",
                content.included_features.len(),
                content.included_fixes.len(),
                if content.breaking_changes {
                    ", breaking changes"
                } else {
                    ""
                },
                if content.migration_required {
                    ", migration required"
                } else {
                    ""
                },
            ),
            recorded_by,
        ),
        QualityGatePassed {
            gate_phase,
            gate_name,
            validated_by,
            ..
        } => e(
            "gates",
            format!("Gate {gate_name} ({}) passed", gate_phase.as_str()),
            validated_by,
        ),
        QualityGateFailed {
            gate_phase,
            gate_name,
            failure_reason,
            validated_by,
            ..
        } => e(
            "gates",
            format!(
                "Gate {gate_name} ({}) FAILED: {failure_reason}",
                gate_phase.as_str()
            ),
            validated_by,
        ),
        QualityGateOverridden {
            gate_name,
            justification,
            overridden_by,
            ..
        } => e(
            "gates",
            format!("Gate {gate_name} overridden: {justification}"),
            overridden_by,
        ),
        QualityGatesPhasePassed { gate_phase, .. } => e(
            "gates",
            format!("Every {} gate passed", gate_phase.as_str()),
            "greenlight",
        ),
        EvidenceAttached {
            gate_name,
            format,
            summary,
            attached_by,
            ..
        } => e(
            "gates",
            format!("Evidence for {gate_name} ({format}): {summary}"),
            attached_by,
        ),
        BugReported {
            bug_id,
            severity,
            title,
            reported_by,
            ..
        } => e(
            "bugs",
            format!("Bug {bug_id} ({severity:?}) reported: {title}"),
            reported_by,
        ),
        BugResolved {
            bug_id,
            resolved_by,
            ..
        } => e("bugs", format!("Bug {bug_id} resolved"), resolved_by),
        ApprovalRecorded {
            role, approved_by, ..
        } => e(
            "approvals",
            format!("Approved as {}", role.as_str()),
            approved_by,
        ),
        StakeholderReviewRecorded {
            notes, reviewed_by, ..
        } => e(
            "approvals",
            format!("Stakeholder review: {notes}"),
            reviewed_by,
        ),
        GoNoGoVoteRecorded {
            role,
            vote,
            decision,
            voted_by,
            ..
        } => e(
            "approvals",
            format!(
                "Go/No-Go vote as {}: {vote:?} (decision: {decision:?})",
                role.as_str()
            ),
            voted_by,
        ),
        ChecklistItemMarked {
            item, marked_by, ..
        } => e("plan", format!("Checklist: {item:?} done"), marked_by),
        StagingDeploymentStarted {
            release_candidate,
            deployed_by,
            ..
        } => e(
            "deployment",
            format!("Staging deployment of {release_candidate} started"),
            deployed_by,
        ),
        StagingDeploymentCompleted {
            duration_minutes,
            deployed_by,
            ..
        } => e(
            "deployment",
            format!("Staging deployment completed in {duration_minutes} min"),
            deployed_by,
        ),
        StagingDeploymentFailed {
            failure_reason,
            deployed_by,
            ..
        } => e(
            "deployment",
            format!("Staging deployment FAILED: {failure_reason}"),
            deployed_by,
        ),
        DeploymentWindowOverridden {
            justification,
            overridden_by,
            ..
        } => e(
            "deployment",
            format!("Deployment window overridden: {justification}"),
            overridden_by,
        ),
        DeploymentStarted { deployed_by, .. } => e(
            "deployment",
            "Production deployment started".into(),
            deployed_by,
        ),
        DeploymentCompleted {
            duration_minutes,
            deployed_by,
            ..
        } => e(
            "deployment",
            format!("Production deployment completed in {duration_minutes} min"),
            deployed_by,
        ),
        DeploymentFailed {
            failure_reason,
            deployed_by,
            ..
        } => e(
            "deployment",
            format!("Production deployment FAILED: {failure_reason}"),
            deployed_by,
        ),
        HealthAlertRaised { alert, detail, .. } => e(
            "health",
            format!("Health alert ({alert:?}): {detail}"),
            "greenlight",
        ),
        RollbackInitiated {
            to_version,
            rollback_reason,
            initiated_by,
            ..
        } => e(
            "rollback",
            format!("Rollback to {to_version} initiated: {rollback_reason}"),
            initiated_by,
        ),
        DatabaseRollbackConfirmed { confirmed_by, .. } => e(
            "rollback",
            "Database rollback confirmed".into(),
            confirmed_by,
        ),
        RollbackCompleted {
            to_version,
            duration_minutes,
            initiated_by,
            ..
        } => e(
            "rollback",
            format!("Rolled back to {to_version} in {duration_minutes} min"),
            initiated_by,
        ),
        RollbackFailed {
            failure_reason,
            initiated_by,
            ..
        } => e(
            "rollback",
            format!("Rollback FAILED: {failure_reason}"),
            initiated_by,
        ),
        ActionItemsCreated { items, .. } => {
            let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
            e(
                "follow_up",
                format!("Action items: {}", titles.join("; ")),
                "greenlight",
            )
        }
        ActionItemCompleted {
            kind,
            notes,
            completed_by,
            ..
        } => e(
            "follow_up",
            format!(
                "Action item {kind} done{}",
                notes
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
            completed_by,
        ),
        PostReleaseScheduled {
            active_monitoring_until,
            extended_review_until,
            retrospective_at,
            ..
        } => e(
            "follow_up",
            format!(
                "Active monitoring until {active_monitoring_until}, extended review until \
                 {extended_review_until}; retrospective at {retrospective_at}"
            ),
            "greenlight",
        ),
        RetrospectiveRecorded {
            notes,
            outputs,
            recorded_by,
            ..
        } => e(
            "follow_up",
            format!(
                "Retrospective: {notes}{}",
                if outputs.is_empty() {
                    String::new()
                } else {
                    format!(" (led to: {})", outputs.join("; "))
                }
            ),
            recorded_by,
        ),
        MetricsReviewRecorded {
            values,
            findings,
            reviewed_by,
            ..
        } => {
            let measured: Vec<String> = values.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let verdict = if findings.is_empty() {
                "within bounds".to_string()
            } else {
                findings.join("; ")
            };
            e(
                "follow_up",
                format!("Metrics review: {} ({verdict})", measured.join(", ")),
                reviewed_by,
            )
        }
        ReleaseCancelled {
            reason,
            cancelled_by,
            ..
        } => e("plan", format!("Cancelled: {reason}"), cancelled_by),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn markdown_keeps_each_entry_on_its_row_in_time_order() {
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        let report = Report {
            version: "1.4.0".into(),
            release_type: "standard".into(),
            status: "rolled_back".into(),
            title: None,
            entries: vec![
                Entry::new(
                    at("2026-11-19T22:00:00Z"),
                    "deployment",
                    "deployed".into(),
                    "erin",
                ),
                Entry::new(
                    at("2026-11-19T23:00:00Z"),
                    "rollback",
                    "why: a | b\nc".into(),
                    "omar",
                ),
            ],
            follow_up: Vec::new(),
        };
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let text = markdown(&report, &tz);
        assert!(text.contains("| Thu 2026-11-19 14:00 PST | deployment | deployed | erin |\n"));
        assert!(
            text.contains("| Thu 2026-11-19 15:00 PST | rollback | why: a \\| b c | omar |\n"),
            "{text}"
        );
        assert!(!text.contains("## Follow-up"));
    }
}
