//! Events: what happened to a release. The seven telemetry events of the spec have its JSON shapes
//! exactly; the others are the domain's own, in the same style.
//!
//! Events are the only way a release changes: [`crate::decide`] yields them, [`crate::Release::apply`]
//! folds them, and the store keeps them as the release's history.

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::gates::GatePhase;
use crate::release::{GoNoGo, ManualChecklistItem, ReleaseType};
use crate::roles::Role;
use crate::state::{ActionItem, Severity};

/// Everything that can happen to a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A release was planned (or a hotfix started).
    ReleasePlanned {
        /// Release.
        release_id: Uuid,
        /// Its checklist.
        checklist_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Type.
        release_type: ReleaseType,
        /// Scheduled deployment.
        planned_date: Timestamp,
        /// Scheduled code freeze.
        code_freeze_date: Timestamp,
        /// A hotfix's title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// The release or hotfix branch to be created.
        branch: String,
        /// A hotfix's trigger, severity and deadline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hotfix: Option<crate::state::HotfixUrgency>,
        /// Who planned it.
        created_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The planned deployment moved.
    ReleaseRescheduled {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// New deployment time.
        planned_date: Timestamp,
        /// Previous deployment time.
        previous_planned_date: Timestamp,
        /// Why.
        reason: String,
        /// Who asked.
        requested_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Code freeze: release branch and first release candidate.
    CodeFreezeStarted {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// `release/vX.Y.Z`.
        release_branch: String,
        /// `X.Y.Z-rc.1`.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        release_candidate: Version,
        /// Who froze.
        frozen_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A further release candidate.
    ReleaseCandidateCut {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// `X.Y.Z-rc.N`.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        release_candidate: Version,
        /// Who cut it.
        cut_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a quality gate passed.
    QualityGatePassed {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Phase.
        gate_phase: GatePhase,
        /// Gate.
        gate_name: String,
        /// Who validated.
        validated_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a quality gate failed.
    QualityGateFailed {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Phase.
        gate_phase: GatePhase,
        /// Gate.
        gate_name: String,
        /// Why.
        failure_reason: String,
        /// Who validated.
        validated_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// An engineering lead overrode a gate.
    QualityGateOverridden {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Phase.
        gate_phase: GatePhase,
        /// Gate.
        gate_name: String,
        /// The documented justification.
        justification: String,
        /// Who overrode.
        overridden_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Every gate of a phase is now passed or overridden.
    QualityGatesPhasePassed {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Phase.
        gate_phase: GatePhase,
        /// When.
        timestamp: Timestamp,
    },
    /// A bug was reported against the release.
    BugReported {
        /// Release.
        release_id: Uuid,
        /// The bug tracker's ID.
        bug_id: String,
        /// 1 (critical) to 4.
        severity: Severity,
        /// Summary.
        title: String,
        /// A known workaround.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workaround: Option<String>,
        /// Who reported it.
        reported_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A bug was resolved.
    BugResolved {
        /// Release.
        release_id: Uuid,
        /// The bug.
        bug_id: String,
        /// Who resolved it.
        resolved_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// An approval of the approval matrix.
    ApprovalRecorded {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// The role approved in.
        role: Role,
        /// Who approved.
        approved_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// What the release contains, drafted from its history.
    ReleaseContentRecorded {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// The content.
        content: crate::content::ReleaseContent,
        /// Who recorded it.
        recorded_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The stakeholder review of a major release.
    StakeholderReviewRecorded {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Notes of the review.
        notes: String,
        /// Who recorded it.
        reviewed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A Go/No-Go vote, and the decision it leads to.
    GoNoGoVoteRecorded {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// The voter's role.
        role: Role,
        /// go or no-go.
        vote: GoNoGo,
        /// The decision after this vote.
        decision: GoNoGo,
        /// Notes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        /// Who voted.
        voted_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A hand-ticked checklist item.
    ChecklistItemMarked {
        /// Release.
        release_id: Uuid,
        /// The item.
        item: ManualChecklistItem,
        /// Who ticked it.
        marked_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A staging deployment began.
    StagingDeploymentStarted {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// The candidate deployed.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        release_candidate: Version,
        /// Who deployed.
        deployed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A staging deployment finished.
    StagingDeploymentCompleted {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Duration.
        duration_minutes: u32,
        /// Who deployed.
        deployed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A staging deployment failed.
    StagingDeploymentFailed {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Why.
        failure_reason: String,
        /// Who deployed.
        deployed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a production deployment began.
    DeploymentStarted {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Type.
        release_type: ReleaseType,
        /// Who deployed.
        deployed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a production deployment finished.
    DeploymentCompleted {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Type.
        release_type: ReleaseType,
        /// Duration.
        duration_minutes: u32,
        /// Who deployed.
        deployed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a production deployment failed.
    DeploymentFailed {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Type.
        release_type: ReleaseType,
        /// Why (`smoke_tests_failed`, `interrupted`).
        failure_reason: String,
        /// Who deployed.
        deployed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A deployment outside the window, overridden by an engineering lead.
    DeploymentWindowOverridden {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// What the window check found.
        findings: Vec<String>,
        /// The documented justification.
        justification: String,
        /// Who overrode.
        overridden_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a rollback began.
    RollbackInitiated {
        /// Release.
        release_id: Uuid,
        /// The version rolled back.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        from_version: Version,
        /// The version returned to.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        to_version: Version,
        /// Why.
        rollback_reason: String,
        /// Who initiated it.
        initiated_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Spec telemetry: a rollback finished.
    RollbackCompleted {
        /// Release.
        release_id: Uuid,
        /// The version rolled back.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        from_version: Version,
        /// The version returned to.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        to_version: Version,
        /// Duration.
        duration_minutes: u32,
        /// Who initiated it.
        initiated_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A rollback failed; production is still on the release.
    RollbackFailed {
        /// Release.
        release_id: Uuid,
        /// The version that was to be rolled back.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        from_version: Version,
        /// The version that was to be returned to.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        to_version: Version,
        /// Why.
        failure_reason: String,
        /// Who initiated it.
        initiated_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The person starting a rollback confirmed it includes the database (maintenance mode,
    /// restore, application rollback), which the spec calls high-risk.
    DatabaseRollbackConfirmed {
        /// Release.
        release_id: Uuid,
        /// The version rolled back.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        from_version: Version,
        /// The version whose database state is restored.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        to_version: Version,
        /// Who confirmed.
        confirmed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// Follow-up actions with deadlines (after a rollback, or a hotfix's backport).
    ActionItemsCreated {
        /// Release.
        release_id: Uuid,
        /// The items.
        items: Vec<ActionItem>,
        /// When.
        timestamp: Timestamp,
    },
    /// Phase 4 set out when production deployment completed: the active monitoring window, the
    /// extended review and the release retrospective (policy weekday and time after the deploy,
    /// past holidays), with the spec's agenda and outputs.
    PostReleaseScheduled {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Active monitoring ends.
        active_monitoring_until: Timestamp,
        /// The extended review ends.
        extended_review_until: Timestamp,
        /// The retrospective starts.
        retrospective_at: Timestamp,
        /// Its agenda.
        agenda: Vec<String>,
        /// What it is to produce (absent from events recorded before it was part of the
        /// schedule: then the spec's outputs).
        #[serde(default = "crate::state::retrospective_outputs")]
        expected_outputs: Vec<String>,
        /// When.
        timestamp: Timestamp,
    },
    /// The retrospective was held: its notes and the process changes it led to (its action
    /// items follow as `action_items_created`).
    RetrospectiveRecorded {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// What was said.
        notes: String,
        /// The outputs it produced: checklist or policy changes (`policy: rollback.error_rate
        /// 3% -> 2%`), risk items for future releases, documentation updates.
        #[serde(default)]
        outputs: Vec<String>,
        /// Who recorded it.
        recorded_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The Phase 4 metrics review: the spec's metrics as measured, and what fell short.
    MetricsReviewRecorded {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Metric name to value (`score_recording_success_percent`: 99.7).
        values: std::collections::BTreeMap<String, f64>,
        /// Values outside the policy's bounds, in words.
        findings: Vec<String>,
        /// Notes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        /// Who reviewed.
        reviewed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// An action item was done.
    ActionItemCompleted {
        /// Release.
        release_id: Uuid,
        /// The item's kind.
        kind: String,
        /// Notes or a link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        /// Who did it.
        completed_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// A CI artifact's evidence decided a gate (the gate's own event follows).
    EvidenceAttached {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Phase.
        gate_phase: GatePhase,
        /// Gate.
        gate_name: String,
        /// The artifact's format.
        format: String,
        /// What it shows.
        summary: String,
        /// The gate passed on it.
        passed: bool,
        /// Who uploaded it.
        attached_by: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The health monitor saw something a person must look at.
    HealthAlertRaised {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// What kind of alert.
        alert: crate::health::AlertKind,
        /// The numbers behind it.
        detail: String,
        /// When.
        timestamp: Timestamp,
    },
    /// The release was cancelled.
    ReleaseCancelled {
        /// Release.
        release_id: Uuid,
        /// Version.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        version: Version,
        /// Why.
        reason: String,
        /// Who cancelled.
        cancelled_by: String,
        /// When.
        timestamp: Timestamp,
    },
}

impl Event {
    /// The `event` name, as in the JSON.
    pub fn name(&self) -> &'static str {
        use Event::*;
        match self {
            ReleasePlanned { .. } => "release_planned",
            ReleaseRescheduled { .. } => "release_rescheduled",
            CodeFreezeStarted { .. } => "code_freeze_started",
            ReleaseCandidateCut { .. } => "release_candidate_cut",
            QualityGatePassed { .. } => "quality_gate_passed",
            QualityGateFailed { .. } => "quality_gate_failed",
            QualityGateOverridden { .. } => "quality_gate_overridden",
            QualityGatesPhasePassed { .. } => "quality_gates_phase_passed",
            BugReported { .. } => "bug_reported",
            BugResolved { .. } => "bug_resolved",
            ApprovalRecorded { .. } => "approval_recorded",
            StakeholderReviewRecorded { .. } => "stakeholder_review_recorded",
            ReleaseContentRecorded { .. } => "release_content_recorded",
            GoNoGoVoteRecorded { .. } => "go_no_go_vote_recorded",
            ChecklistItemMarked { .. } => "checklist_item_marked",
            StagingDeploymentStarted { .. } => "staging_deployment_started",
            StagingDeploymentCompleted { .. } => "staging_deployment_completed",
            StagingDeploymentFailed { .. } => "staging_deployment_failed",
            DeploymentStarted { .. } => "deployment_started",
            DeploymentCompleted { .. } => "deployment_completed",
            DeploymentFailed { .. } => "deployment_failed",
            DeploymentWindowOverridden { .. } => "deployment_window_overridden",
            RollbackInitiated { .. } => "rollback_initiated",
            RollbackCompleted { .. } => "rollback_completed",
            RollbackFailed { .. } => "rollback_failed",
            DatabaseRollbackConfirmed { .. } => "database_rollback_confirmed",
            ActionItemsCreated { .. } => "action_items_created",
            PostReleaseScheduled { .. } => "post_release_scheduled",
            RetrospectiveRecorded { .. } => "retrospective_recorded",
            MetricsReviewRecorded { .. } => "metrics_review_recorded",
            ActionItemCompleted { .. } => "action_item_completed",
            HealthAlertRaised { .. } => "health_alert_raised",
            EvidenceAttached { .. } => "evidence_attached",
            ReleaseCancelled { .. } => "release_cancelled",
        }
    }

    /// The names of the spec's seven telemetry events.
    pub const TELEMETRY: [&'static str; 7] = [
        "deployment_started",
        "deployment_completed",
        "deployment_failed",
        "rollback_initiated",
        "rollback_completed",
        "quality_gate_passed",
        "quality_gate_failed",
    ];

    /// Whether this is one of the spec's telemetry events.
    pub fn is_telemetry(&self) -> bool {
        Self::TELEMETRY.contains(&self.name())
    }

    /// The release the event is about.
    pub fn release_id(&self) -> Uuid {
        self.common().0
    }

    /// When it happened.
    pub fn timestamp(&self) -> Timestamp {
        self.common().1
    }

    /// Who caused it (`greenlight` for the system).
    pub fn actor(&self) -> &str {
        self.common().2
    }

    /// The event as JSON (its stored and published shape).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    fn common(&self) -> (Uuid, Timestamp, &str) {
        use Event::*;
        match self {
            ReleasePlanned {
                release_id,
                timestamp,
                created_by: by,
                ..
            }
            | ReleaseRescheduled {
                release_id,
                timestamp,
                requested_by: by,
                ..
            }
            | CodeFreezeStarted {
                release_id,
                timestamp,
                frozen_by: by,
                ..
            }
            | ReleaseCandidateCut {
                release_id,
                timestamp,
                cut_by: by,
                ..
            }
            | QualityGatePassed {
                release_id,
                timestamp,
                validated_by: by,
                ..
            }
            | QualityGateFailed {
                release_id,
                timestamp,
                validated_by: by,
                ..
            }
            | QualityGateOverridden {
                release_id,
                timestamp,
                overridden_by: by,
                ..
            }
            | BugReported {
                release_id,
                timestamp,
                reported_by: by,
                ..
            }
            | BugResolved {
                release_id,
                timestamp,
                resolved_by: by,
                ..
            }
            | ApprovalRecorded {
                release_id,
                timestamp,
                approved_by: by,
                ..
            }
            | StakeholderReviewRecorded {
                release_id,
                timestamp,
                reviewed_by: by,
                ..
            }
            | ReleaseContentRecorded {
                release_id,
                timestamp,
                recorded_by: by,
                ..
            }
            | GoNoGoVoteRecorded {
                release_id,
                timestamp,
                voted_by: by,
                ..
            }
            | ChecklistItemMarked {
                release_id,
                timestamp,
                marked_by: by,
                ..
            }
            | StagingDeploymentStarted {
                release_id,
                timestamp,
                deployed_by: by,
                ..
            }
            | StagingDeploymentCompleted {
                release_id,
                timestamp,
                deployed_by: by,
                ..
            }
            | StagingDeploymentFailed {
                release_id,
                timestamp,
                deployed_by: by,
                ..
            }
            | DeploymentStarted {
                release_id,
                timestamp,
                deployed_by: by,
                ..
            }
            | DeploymentCompleted {
                release_id,
                timestamp,
                deployed_by: by,
                ..
            }
            | DeploymentFailed {
                release_id,
                timestamp,
                deployed_by: by,
                ..
            }
            | DeploymentWindowOverridden {
                release_id,
                timestamp,
                overridden_by: by,
                ..
            }
            | RollbackInitiated {
                release_id,
                timestamp,
                initiated_by: by,
                ..
            }
            | RollbackCompleted {
                release_id,
                timestamp,
                initiated_by: by,
                ..
            }
            | RollbackFailed {
                release_id,
                timestamp,
                initiated_by: by,
                ..
            }
            | DatabaseRollbackConfirmed {
                release_id,
                timestamp,
                confirmed_by: by,
                ..
            }
            | EvidenceAttached {
                release_id,
                timestamp,
                attached_by: by,
                ..
            }
            | ActionItemCompleted {
                release_id,
                timestamp,
                completed_by: by,
                ..
            }
            | ReleaseCancelled {
                release_id,
                timestamp,
                cancelled_by: by,
                ..
            }
            | RetrospectiveRecorded {
                release_id,
                timestamp,
                recorded_by: by,
                ..
            }
            | MetricsReviewRecorded {
                release_id,
                timestamp,
                reviewed_by: by,
                ..
            } => (*release_id, *timestamp, by.as_str()),
            QualityGatesPhasePassed {
                release_id,
                timestamp,
                ..
            }
            | ActionItemsCreated {
                release_id,
                timestamp,
                ..
            }
            | PostReleaseScheduled {
                release_id,
                timestamp,
                ..
            }
            | HealthAlertRaised {
                release_id,
                timestamp,
                ..
            } => (*release_id, *timestamp, "greenlight"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id() -> Uuid {
        Uuid::parse_str("5f0c6f5e-3c1e-4a8e-9d55-0f2a1b3c4d5e").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn a_schedule_stored_before_the_retrospective_outputs_reads_with_the_specs_outputs() {
        let stored = json!({
            "event": "post_release_scheduled",
            "release_id": id(),
            "version": "1.4.0",
            "active_monitoring_until": "2026-12-11T02:35:00Z",
            "extended_review_until": "2026-12-12T22:35:00Z",
            "retrospective_at": "2026-12-14T18:00:00Z",
            "agenda": ["What went well?"],
            "timestamp": "2026-12-10T22:35:00Z",
        });
        let event: Event = serde_json::from_value(stored).unwrap();
        let Event::PostReleaseScheduled {
            expected_outputs, ..
        } = event
        else {
            panic!("not a schedule: {event:?}");
        };
        assert_eq!(expected_outputs, crate::state::RETROSPECTIVE_OUTPUTS);
    }

    #[test]
    fn deployment_events_have_the_spec_shapes() {
        let started = Event::DeploymentStarted {
            release_id: id(),
            version: v("1.2.3"),
            release_type: ReleaseType::Standard,
            deployed_by: "user_id".into(),
            timestamp: at("2024-01-15T14:00:00Z"),
        };
        assert_eq!(
            started.to_json(),
            json!({"event": "deployment_started", "release_id": id(), "version": "1.2.3",
                   "release_type": "standard", "deployed_by": "user_id",
                   "timestamp": "2024-01-15T14:00:00Z"})
        );
        let completed = Event::DeploymentCompleted {
            release_id: id(),
            version: v("1.2.3"),
            release_type: ReleaseType::Standard,
            duration_minutes: 35,
            deployed_by: "user_id".into(),
            timestamp: at("2024-01-15T14:35:00Z"),
        };
        assert_eq!(
            completed.to_json(),
            json!({"event": "deployment_completed", "release_id": id(), "version": "1.2.3",
                   "release_type": "standard", "duration_minutes": 35, "deployed_by": "user_id",
                   "timestamp": "2024-01-15T14:35:00Z"})
        );
        let failed = Event::DeploymentFailed {
            release_id: id(),
            version: v("1.2.3"),
            release_type: ReleaseType::Standard,
            failure_reason: "smoke_tests_failed".into(),
            deployed_by: "user_id".into(),
            timestamp: at("2024-01-15T14:20:00Z"),
        };
        assert_eq!(
            failed.to_json(),
            json!({"event": "deployment_failed", "release_id": id(), "version": "1.2.3",
                   "release_type": "standard", "failure_reason": "smoke_tests_failed",
                   "deployed_by": "user_id", "timestamp": "2024-01-15T14:20:00Z"})
        );
    }

    #[test]
    fn rollback_events_have_the_spec_shapes() {
        let initiated = Event::RollbackInitiated {
            release_id: id(),
            from_version: v("1.2.3"),
            to_version: v("1.2.2"),
            rollback_reason: "high_error_rate".into(),
            initiated_by: "user_id".into(),
            timestamp: at("2024-01-15T15:00:00Z"),
        };
        assert_eq!(
            initiated.to_json(),
            json!({"event": "rollback_initiated", "release_id": id(), "from_version": "1.2.3",
                   "to_version": "1.2.2", "rollback_reason": "high_error_rate",
                   "initiated_by": "user_id", "timestamp": "2024-01-15T15:00:00Z"})
        );
        let completed = Event::RollbackCompleted {
            release_id: id(),
            from_version: v("1.2.3"),
            to_version: v("1.2.2"),
            duration_minutes: 5,
            initiated_by: "user_id".into(),
            timestamp: at("2024-01-15T15:05:00Z"),
        };
        assert_eq!(
            completed.to_json(),
            json!({"event": "rollback_completed", "release_id": id(), "from_version": "1.2.3",
                   "to_version": "1.2.2", "duration_minutes": 5, "initiated_by": "user_id",
                   "timestamp": "2024-01-15T15:05:00Z"})
        );
    }

    #[test]
    fn quality_gate_events_have_the_spec_shapes() {
        let passed = Event::QualityGatePassed {
            release_id: id(),
            version: v("1.2.3"),
            gate_phase: GatePhase::StagingValidation,
            gate_name: "smoke_tests".into(),
            validated_by: "user_id".into(),
            timestamp: at("2024-01-15T10:30:00Z"),
        };
        assert_eq!(
            passed.to_json(),
            json!({"event": "quality_gate_passed", "release_id": id(), "version": "1.2.3",
                   "gate_phase": "staging_validation", "gate_name": "smoke_tests",
                   "validated_by": "user_id", "timestamp": "2024-01-15T10:30:00Z"})
        );
        let failed = Event::QualityGateFailed {
            release_id: id(),
            version: v("1.2.3"),
            gate_phase: GatePhase::StagingValidation,
            gate_name: "performance_tests".into(),
            failure_reason: "api_response_time_exceeded".into(),
            validated_by: "user_id".into(),
            timestamp: at("2024-01-15T10:45:00Z"),
        };
        assert_eq!(
            failed.to_json(),
            json!({"event": "quality_gate_failed", "release_id": id(), "version": "1.2.3",
                   "gate_phase": "staging_validation", "gate_name": "performance_tests",
                   "failure_reason": "api_response_time_exceeded", "validated_by": "user_id",
                   "timestamp": "2024-01-15T10:45:00Z"})
        );
        let text = serde_json::to_string(&failed).unwrap();
        assert!(text.starts_with(r#"{"event":"quality_gate_failed","release_id""#));
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, failed);
        assert!(failed.is_telemetry());
    }
}
