//! The release aggregate: the spec's record and checklist plus what the process needs to decide
//! (gate results, approvals, votes, bugs, runs in progress, action items), and `apply`, which folds
//! an event into it. `apply` never refuses and never reads the policy: deciding is done before.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::gates::{GateOutcome, GatePhase, GateResult};
use crate::release::{
    DeploymentChecklist, Environment, GoNoGo, ManualChecklistItem, ReleaseRecord, ReleaseStatus,
    ReleaseType,
};
use crate::roles::Role;
use crate::version::release_candidate;

/// Bug severity, 1 (most severe) to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

impl Severity {
    /// Severity 1: data loss, score recording, auth bypass, payments.
    pub const SEV1: Severity = Severity(1);
    /// Severity 2: major feature broken, 2x slower, WCAG A violations.
    pub const SEV2: Severity = Severity(2);

    /// The number, 1-4.
    pub fn level(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        if (1..=4).contains(&value) {
            Ok(Severity(value))
        } else {
            Err(format!("severity {value} is not between 1 and 4"))
        }
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Severity {}", self.0)
    }
}

/// A bug reported against the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bug {
    /// The tracker's ID.
    pub bug_id: String,
    /// 1-4.
    pub severity: Severity,
    /// Summary.
    pub title: String,
    /// A known workaround (a Severity 2 bug with one does not block).
    pub workaround: Option<String>,
    /// Still open.
    pub open: bool,
}

/// One approval of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// The role approved in.
    pub role: Role,
    /// Who.
    pub approved_by: String,
    /// When.
    pub approved_at: Timestamp,
}

/// One Go/No-Go vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vote {
    /// The voter's role.
    pub role: Role,
    /// go or no-go.
    pub vote: GoNoGo,
    /// Who.
    pub voted_by: String,
    /// Notes.
    pub notes: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// The stakeholder review of a major release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakeholderReview {
    /// Who recorded it.
    pub reviewed_by: String,
    /// Notes.
    pub notes: String,
    /// When.
    pub at: Timestamp,
}

/// A deployment that has started and not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRun {
    /// Where.
    pub environment: Environment,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: Timestamp,
}

/// A rollback that has started and not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RollbackRun {
    /// The version being returned to.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to_version: Version,
    /// Why.
    pub reason: String,
    /// Who.
    pub initiated_by: String,
    /// When.
    pub started_at: Timestamp,
    /// The database is rolled back too (confirmed), not only the application.
    #[serde(default)]
    pub database: bool,
}

/// A follow-up with a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionItem {
    /// snake_case kind (`root_cause`).
    pub kind: String,
    /// What to do.
    pub title: String,
    /// When it is due.
    pub due_at: Timestamp,
    /// When it was done.
    #[serde(default)]
    pub done_at: Option<Timestamp>,
    /// Who did it.
    #[serde(default)]
    pub done_by: Option<String>,
    /// Who is to do it (a retrospective's items name their owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl ActionItem {
    /// Not done and past its deadline.
    pub fn overdue(&self, now: Timestamp) -> bool {
        self.done_at.is_none() && now > self.due_at
    }
}

/// The release aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// The spec's record.
    pub record: ReleaseRecord,
    /// The spec's checklist.
    pub checklist: DeploymentChecklist,
    /// The release or hotfix branch.
    pub branch: String,
    /// A hotfix's title.
    pub title: Option<String>,
    /// Number of the latest release candidate (0 before code freeze).
    pub release_candidate: u32,
    /// The latest result of each gate.
    pub gates: Vec<GateResult>,
    /// Approvals.
    pub approvals: Vec<Approval>,
    /// A major release's stakeholder review.
    pub stakeholder_review: Option<StakeholderReview>,
    /// High-risk changes from the release's content (sensitive paths touched).
    #[serde(default)]
    pub risk_notes: Vec<String>,
    /// The latest Go/No-Go vote of each role.
    pub votes: Vec<Vote>,
    /// Bugs reported against the release.
    pub bugs: Vec<Bug>,
    /// The deployment in progress.
    pub deployment: Option<DeploymentRun>,
    /// The rollback in progress.
    pub rollback: Option<RollbackRun>,
    /// Follow-ups with deadlines.
    pub action_items: Vec<ActionItem>,
    /// When the latest staging deployment completed (a hotfix's first milestone).
    #[serde(default)]
    pub staging_deployed_at: Option<Timestamp>,
    /// Phase 4 and the retrospective, once production deployment completed.
    #[serde(default)]
    pub post_release: Option<PostRelease>,
    /// The release candidate whose production deployment failed or was rolled back, until a
    /// newer candidate's staging deployment completes. The spec's answer to a rollback is
    /// "schedule retry after fixes": a retry needs a new candidate, and everything from staging
    /// on (Phase 2 gates, approvals, Go/No-Go, stakeholder review) is given again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_candidate: Option<u32>,
    /// A hotfix's trigger, severity and deadline (none for other types, or a hotfix started
    /// before they were recorded).
    #[serde(default)]
    pub hotfix: Option<HotfixUrgency>,
}

/// Why a hotfix was started and how urgent it is: the spec's trigger (`score_recording_failure`),
/// its severity and the time the fix must be in production by, computed from the policy when
/// the hotfix started and recorded then (so a later policy change does not move it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HotfixUrgency {
    /// The trigger's name in the policy (`score_recording_failure`).
    pub trigger: String,
    /// The trigger's words (`Score recording failures`).
    pub title: String,
    /// Severity, 1 (most severe) to 4.
    pub severity: Severity,
    /// In production by then ("immediate": the expedited timeline's maximum; security within
    /// 24 hours; critical accessibility within 48 hours).
    pub deadline: Timestamp,
}

/// The spec's Release Retrospective agenda, word for word: what the meeting goes through.
pub const RETROSPECTIVE_AGENDA: [&str; 5] = [
    "What went well?",
    "What could be improved?",
    "Were quality gates effective?",
    "Any surprises or unexpected issues?",
    "Action items for next release",
];

/// The spec's Release Retrospective outputs, word for word: what the meeting produces (kept
/// apart from the agenda, which is what it discusses).
pub const RETROSPECTIVE_OUTPUTS: [&str; 3] = [
    "Updated release checklist (if process improvements identified)",
    "Risk items for future releases",
    "Documentation updates",
];

/// The spec's retrospective outputs as owned strings: the default of a schedule recorded before
/// the outputs were part of it, so such a release still says what its retrospective produces.
pub fn retrospective_outputs() -> Vec<String> {
    RETROSPECTIVE_OUTPUTS.map(String::from).to_vec()
}

/// Phase 4: monitoring windows and the retrospective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostRelease {
    /// Active monitoring ends.
    pub active_monitoring_until: Timestamp,
    /// The extended review ends.
    pub extended_review_until: Timestamp,
    /// The retrospective starts.
    pub retrospective_at: Timestamp,
    /// Its agenda (the spec's, `RETROSPECTIVE_AGENDA`).
    pub agenda: Vec<String>,
    /// What it is to produce (the spec's outputs, `RETROSPECTIVE_OUTPUTS`).
    #[serde(default = "retrospective_outputs")]
    pub expected_outputs: Vec<String>,
    /// Its notes, once held.
    #[serde(default)]
    pub notes: Option<String>,
    /// The outputs it produced (checklist changes, risk items, documentation updates).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Who recorded it.
    #[serde(default)]
    pub recorded_by: Option<String>,
    /// Metrics reviews during extended monitoring.
    #[serde(default)]
    pub reviews: Vec<MetricsReview>,
}

/// One Phase 4 metrics review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsReview {
    /// When.
    pub at: Timestamp,
    /// Metric name to value.
    pub values: std::collections::BTreeMap<String, f64>,
    /// What fell short.
    pub findings: Vec<String>,
    /// Who reviewed.
    pub by: String,
}

impl Release {
    /// The release a `release_planned` event creates; `None` for any other event.
    pub fn from_planned(event: &Event) -> Option<Release> {
        let Event::ReleasePlanned {
            release_id,
            checklist_id,
            version,
            release_type,
            planned_date,
            code_freeze_date,
            title,
            branch,
            hotfix,
            created_by,
            timestamp,
        } = event
        else {
            return None;
        };
        let record = ReleaseRecord {
            release_id: *release_id,
            version: version.clone(),
            release_type: *release_type,
            status: ReleaseStatus::Planned,
            planned_date: *planned_date,
            code_freeze_date: *code_freeze_date,
            deployed_date: None,
            deployed_by: None,
            deployment_duration_minutes: None,
            staging_validated: false,
            staging_validated_by: None,
            staging_validated_at: None,
            changelog: String::new(),
            included_features: Vec::new(),
            included_fixes: Vec::new(),
            breaking_changes: false,
            migration_required: false,
            rolled_back: false,
            rolled_back_at: None,
            rolled_back_by: None,
            rollback_reason: None,
            created_at: *timestamp,
            created_by: created_by.clone(),
            updated_at: *timestamp,
            updated_by: created_by.clone(),
        };
        Some(Release {
            checklist: DeploymentChecklist::new(*checklist_id, *release_id, *timestamp),
            record,
            branch: branch.clone(),
            title: title.clone(),
            release_candidate: 0,
            gates: Vec::new(),
            approvals: Vec::new(),
            stakeholder_review: None,
            risk_notes: Vec::new(),
            votes: Vec::new(),
            bugs: Vec::new(),
            deployment: None,
            rollback: None,
            action_items: Vec::new(),
            staging_deployed_at: None,
            post_release: None,
            failed_candidate: None,
            hotfix: hotfix.clone(),
        })
    }

    /// Folds a sequence of events (starting with `release_planned`) into a release.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Release> {
        let mut events = events.into_iter();
        let mut release = Release::from_planned(events.next()?)?;
        for event in events {
            release.apply(event);
        }
        Some(release)
    }

    /// The release's type.
    pub fn release_type(&self) -> ReleaseType {
        self.record.release_type
    }

    /// The release's status.
    pub fn status(&self) -> ReleaseStatus {
        self.record.status
    }

    /// The latest release candidate, if code is frozen.
    pub fn current_candidate(&self) -> Option<Version> {
        (self.release_candidate > 0)
            .then(|| release_candidate(&self.record.version, self.release_candidate))
    }

    /// Open bugs that block a deployment under the severity rules.
    pub fn blocking_bugs(&self, sev1_blocks: bool, sev2_blocks: bool) -> Vec<&Bug> {
        self.bugs
            .iter()
            .filter(|b| b.open)
            .filter(|b| {
                (sev1_blocks && b.severity == Severity::SEV1)
                    || (sev2_blocks && b.severity == Severity::SEV2 && b.workaround.is_none())
            })
            .collect()
    }

    /// Folds one event into the release.
    pub fn apply(&mut self, event: &Event) {
        self.record.updated_at = event.timestamp();
        self.record.updated_by = event.actor().to_string();
        self.checklist.updated_at = event.timestamp();
        match event {
            Event::ReleasePlanned { .. } => {}
            Event::ReleaseRescheduled { planned_date, .. } => {
                self.record.planned_date = *planned_date;
            }
            Event::CodeFreezeStarted { timestamp, .. } => {
                self.release_candidate = 1;
                self.record.code_freeze_date = *timestamp;
                self.checklist.code_freeze_complete = true;
            }
            Event::ReleaseCandidateCut {
                release_candidate, ..
            } => {
                let n = crate::version::release_candidate_number(release_candidate);
                self.release_candidate = n.ok().flatten().unwrap_or(self.release_candidate + 1);
            }
            Event::QualityGatePassed { .. }
            | Event::QualityGateFailed { .. }
            | Event::QualityGateOverridden { .. } => self.apply_gate(event),
            Event::QualityGatesPhasePassed { gate_phase, .. } => {
                self.apply_phase_passed(*gate_phase)
            }
            Event::BugReported {
                bug_id,
                severity,
                title,
                workaround,
                ..
            } => self.bugs.push(Bug {
                bug_id: bug_id.clone(),
                severity: *severity,
                title: title.clone(),
                workaround: workaround.clone(),
                open: true,
            }),
            Event::BugResolved { bug_id, .. } => {
                for bug in self.bugs.iter_mut().filter(|b| &b.bug_id == bug_id) {
                    bug.open = false;
                }
            }
            Event::ApprovalRecorded {
                role,
                approved_by,
                timestamp,
                ..
            } => self.apply_approval(*role, approved_by, *timestamp),
            Event::ReleaseContentRecorded { content, .. } => {
                let record = &mut self.record;
                record.changelog = content.changelog.clone();
                record.included_features = content.included_features.clone();
                record.included_fixes = content.included_fixes.clone();
                record.breaking_changes = content.breaking_changes;
                record.migration_required = content.migration_required;
                self.risk_notes = content.risk_notes.clone();
            }
            Event::StakeholderReviewRecorded {
                notes,
                reviewed_by,
                timestamp,
                ..
            } => {
                self.stakeholder_review = Some(StakeholderReview {
                    reviewed_by: reviewed_by.clone(),
                    notes: notes.clone(),
                    at: *timestamp,
                });
            }
            Event::GoNoGoVoteRecorded {
                role,
                vote,
                decision,
                notes,
                voted_by,
                timestamp,
                ..
            } => {
                self.votes.retain(|v| v.role != *role);
                self.votes.push(Vote {
                    role: *role,
                    vote: *vote,
                    voted_by: voted_by.clone(),
                    notes: notes.clone(),
                    at: *timestamp,
                });
                self.checklist.go_no_go_decision = *decision;
            }
            Event::ChecklistItemMarked { item, .. } => self.apply_checklist_item(*item),
            Event::StagingDeploymentStarted {
                deployed_by,
                timestamp,
                ..
            } => self.start_run(Environment::Staging, deployed_by, *timestamp),
            Event::StagingDeploymentCompleted { timestamp, .. } => {
                self.apply_staging_completed();
                self.staging_deployed_at = Some(*timestamp);
            }
            Event::StagingDeploymentFailed { .. } => self.deployment = None,
            Event::DeploymentFailed { .. } => {
                self.deployment = None;
                self.failed_candidate = Some(self.release_candidate);
            }
            Event::DeploymentStarted {
                deployed_by,
                timestamp,
                ..
            } => self.start_run(Environment::Production, deployed_by, *timestamp),
            Event::DeploymentCompleted {
                duration_minutes,
                deployed_by,
                timestamp,
                ..
            } => {
                self.deployment = None;
                self.clear_rollback_record();
                self.record.status = ReleaseStatus::Deployed;
                self.record.deployed_date = Some(*timestamp);
                self.record.deployed_by = Some(deployed_by.clone());
                self.record.deployment_duration_minutes = Some(*duration_minutes);
                self.checklist.production_deployed = true;
            }
            Event::DeploymentWindowOverridden { .. } => {}
            Event::RollbackInitiated {
                to_version,
                rollback_reason,
                initiated_by,
                timestamp,
                ..
            } => {
                self.rollback = Some(RollbackRun {
                    to_version: to_version.clone(),
                    reason: rollback_reason.clone(),
                    initiated_by: initiated_by.clone(),
                    started_at: *timestamp,
                    database: false,
                });
            }
            Event::DatabaseRollbackConfirmed { .. } => {
                if let Some(run) = self.rollback.as_mut() {
                    run.database = true;
                }
            }
            Event::RollbackCompleted {
                initiated_by,
                timestamp,
                ..
            } => {
                let reason = self.rollback.take().map(|r| r.reason);
                self.record.status = ReleaseStatus::RolledBack;
                self.record.rolled_back = true;
                self.record.rolled_back_at = Some(*timestamp);
                self.record.rolled_back_by = Some(initiated_by.clone());
                self.record.rollback_reason = reason;
                self.failed_candidate = Some(self.release_candidate);
            }
            Event::RollbackFailed { .. } => self.rollback = None,
            Event::ActionItemsCreated { items, .. } => {
                self.action_items.extend(items.iter().cloned());
            }
            Event::PostReleaseScheduled {
                active_monitoring_until,
                extended_review_until,
                retrospective_at,
                agenda,
                expected_outputs,
                ..
            } => {
                self.checklist.release_retrospective_scheduled = true;
                self.post_release = Some(PostRelease {
                    active_monitoring_until: *active_monitoring_until,
                    extended_review_until: *extended_review_until,
                    retrospective_at: *retrospective_at,
                    agenda: agenda.clone(),
                    expected_outputs: expected_outputs.clone(),
                    notes: None,
                    outputs: Vec::new(),
                    recorded_by: None,
                    reviews: Vec::new(),
                });
            }
            Event::MetricsReviewRecorded {
                values,
                findings,
                reviewed_by,
                timestamp,
                ..
            } => {
                if let Some(post) = self.post_release.as_mut() {
                    let done = findings.is_empty() && *timestamp >= post.extended_review_until;
                    post.reviews.push(MetricsReview {
                        at: *timestamp,
                        values: values.clone(),
                        findings: findings.clone(),
                        by: reviewed_by.clone(),
                    });
                    if done {
                        self.checklist.monitoring_complete = true;
                    }
                }
            }
            Event::RetrospectiveRecorded {
                notes,
                outputs,
                recorded_by,
                ..
            } => {
                if let Some(post) = self.post_release.as_mut() {
                    post.notes = Some(notes.clone());
                    post.outputs = outputs.clone();
                    post.recorded_by = Some(recorded_by.clone());
                }
            }
            Event::ActionItemCompleted {
                kind,
                completed_by,
                timestamp,
                ..
            } => {
                for item in self.action_items.iter_mut().filter(|i| &i.kind == kind) {
                    item.done_at.get_or_insert(*timestamp);
                    item.done_by.get_or_insert_with(|| completed_by.clone());
                }
            }
            Event::ReleaseCancelled { .. } => self.record.status = ReleaseStatus::Cancelled,
            Event::HealthAlertRaised { .. } | Event::EvidenceAttached { .. } => {}
        }
    }

    fn apply_gate(&mut self, event: &Event) {
        let (gate_phase, gate_name, outcome, reason, by, at) = match event {
            Event::QualityGatePassed {
                gate_phase,
                gate_name,
                validated_by,
                timestamp,
                ..
            } => (
                *gate_phase,
                gate_name,
                GateOutcome::Passed,
                None,
                validated_by,
                timestamp,
            ),
            Event::QualityGateFailed {
                gate_phase,
                gate_name,
                failure_reason,
                validated_by,
                timestamp,
                ..
            } => (
                *gate_phase,
                gate_name,
                GateOutcome::Failed,
                Some(failure_reason.clone()),
                validated_by,
                timestamp,
            ),
            Event::QualityGateOverridden {
                gate_phase,
                gate_name,
                justification,
                overridden_by,
                timestamp,
                ..
            } => (
                *gate_phase,
                gate_name,
                GateOutcome::Overridden,
                Some(justification.clone()),
                overridden_by,
                timestamp,
            ),
            _ => return,
        };
        self.gates
            .retain(|g| !(g.gate_phase == gate_phase && &g.gate_name == gate_name));
        self.gates.push(GateResult {
            gate_phase,
            gate_name: gate_name.clone(),
            outcome,
            reason,
            validated_by: by.clone(),
            at: *at,
        });
        let passed = outcome.satisfied();
        if !passed {
            self.clear_phase_flag(gate_phase);
        }
        self.mirror_gate_on_checklist(gate_phase, gate_name, passed);
    }

    /// Checklist items that are a single gate of Phase 2 or 3.
    fn mirror_gate_on_checklist(&mut self, phase: GatePhase, gate: &str, passed: bool) {
        let c = &mut self.checklist;
        let slot = match (phase, gate) {
            (GatePhase::StagingValidation, "smoke_tests") => &mut c.smoke_tests_passed,
            (GatePhase::StagingValidation, "manual_qa_validation") => &mut c.qa_validation_complete,
            (GatePhase::StagingValidation, "browser_compatibility") => {
                &mut c.browser_testing_complete
            }
            (GatePhase::StagingValidation, "performance_benchmarks") => {
                &mut c.performance_testing_complete
            }
            (GatePhase::ProductionValidation, "smoke_tests") => {
                &mut c.post_deployment_smoke_tests_passed
            }
            _ => return,
        };
        *slot = passed;
    }

    fn clear_phase_flag(&mut self, phase: GatePhase) {
        match phase {
            GatePhase::Planning => self.checklist.quality_gates_phase1_passed = false,
            GatePhase::StagingValidation | GatePhase::Hotfix => {
                self.checklist.quality_gates_phase2_passed = false;
            }
            GatePhase::ProductionValidation => self.checklist.quality_gates_phase3_passed = false,
        }
    }

    fn apply_phase_passed(&mut self, phase: GatePhase) {
        match phase {
            GatePhase::Planning => self.checklist.quality_gates_phase1_passed = true,
            GatePhase::StagingValidation => self.checklist.quality_gates_phase2_passed = true,
            // The hotfix's reduced gates stand in for Phases 1 and 2.
            GatePhase::Hotfix => {
                self.checklist.quality_gates_phase1_passed = true;
                self.checklist.quality_gates_phase2_passed = true;
            }
            GatePhase::ProductionValidation => self.checklist.quality_gates_phase3_passed = true,
        }
    }

    fn apply_approval(&mut self, role: Role, by: &str, at: Timestamp) {
        self.approvals.push(Approval {
            role,
            approved_by: by.to_string(),
            approved_at: at,
        });
        let c = &mut self.checklist;
        match role {
            Role::EngineeringLead => c.engineering_lead_approval = Some(by.to_string()),
            Role::ProductOwner => c.product_owner_approval = Some(by.to_string()),
            Role::QaLead => {
                c.qa_lead_approval = Some(by.to_string());
                self.record.staging_validated = true;
                self.record.staging_validated_by = Some(by.to_string());
                self.record.staging_validated_at = Some(at);
            }
            Role::OnCallEngineer | Role::SystemAdmin => {}
        }
    }

    fn apply_checklist_item(&mut self, item: ManualChecklistItem) {
        let c = &mut self.checklist;
        match item {
            ManualChecklistItem::ReleaseNotesDrafted => c.release_notes_drafted = true,
            ManualChecklistItem::StakeholdersNotified => c.stakeholders_notified = true,
            ManualChecklistItem::MonitoringComplete => c.monitoring_complete = true,
            ManualChecklistItem::ReleaseRetrospectiveScheduled => {
                c.release_retrospective_scheduled = true;
            }
        }
    }

    fn start_run(&mut self, environment: Environment, by: &str, at: Timestamp) {
        self.deployment = Some(DeploymentRun {
            environment,
            started_by: by.to_string(),
            started_at: at,
        });
    }

    /// A (re)deployment to staging: a new candidate invalidates everything from staging on
    /// (Phase 2 and 3 results, approvals, votes, the stakeholder review), which was about the
    /// previous one. A retry (after a rollback or a failed production deployment) also clears
    /// the hotfix's reduced gates, which stand in for Phase 2.
    fn apply_staging_completed(&mut self) {
        self.deployment = None;
        let retry = self.failed_candidate.take().is_some();
        if self.record.status != ReleaseStatus::Planned || retry {
            self.clear_from_staging_on(retry);
        }
        self.record.status = ReleaseStatus::Staging;
        self.checklist.staging_deployed = true;
    }

    fn clear_from_staging_on(&mut self, retry: bool) {
        self.gates.retain(|g| match g.gate_phase {
            GatePhase::StagingValidation | GatePhase::ProductionValidation => false,
            GatePhase::Hotfix => !retry,
            GatePhase::Planning => true,
        });
        self.approvals.clear();
        self.votes.clear();
        self.stakeholder_review = None;
        let c = &mut self.checklist;
        c.engineering_lead_approval = None;
        c.qa_lead_approval = None;
        c.product_owner_approval = None;
        c.go_no_go_decision = GoNoGo::Pending;
        let hotfix = self.record.release_type == ReleaseType::Hotfix;
        // A hotfix's reduced gates stand in for Phases 1 and 2; they stay unless this is a retry.
        c.quality_gates_phase2_passed &= hotfix && !retry;
        c.quality_gates_phase1_passed &= !(hotfix && retry);
        c.smoke_tests_passed = false;
        c.qa_validation_complete = false;
        c.browser_testing_complete = false;
        c.performance_testing_complete = false;
        c.production_deployed = false;
        c.post_deployment_smoke_tests_passed = false;
        c.quality_gates_phase3_passed = false;
        self.record.staging_validated = false;
        self.record.staging_validated_by = None;
        self.record.staging_validated_at = None;
    }

    /// A successful production deployment is what the record describes from then on: after a
    /// retry, `rolled_back` and its fields describe no deployment any more, so they are cleared.
    /// The rollback stays in the history (`rollback_initiated`, `rollback_completed`), which the
    /// report and the delivery metrics read.
    fn clear_rollback_record(&mut self) {
        let record = &mut self.record;
        record.rolled_back = false;
        record.rolled_back_at = None;
        record.rolled_back_by = None;
        record.rollback_reason = None;
    }
}

/// Whole minutes between two instants, rounded to the nearest minute, never negative.
pub fn minutes_between(start: Timestamp, end: Timestamp) -> u32 {
    let seconds = end.duration_since(start).as_secs().max(0);
    let minutes = (seconds + 30) / 60;
    u32::try_from(minutes).unwrap_or(u32::MAX)
}

/// `start + hours`.
pub fn plus_hours(start: Timestamp, hours: u32) -> Timestamp {
    start
        .checked_add(SignedDuration::from_hours(i64::from(hours)))
        .unwrap_or(start)
}
