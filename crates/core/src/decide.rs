//! The heart: `decide(release, command, context) -> events or refusal`, and `plan` for new releases.
//!
//! Every rule of the spec that can refuse a command is checked against the policy, the actor's
//! roles, the time passed in and the facts about other releases ([`World`]). A refusal lists
//! every rule that failed, each with what would satisfy it.
//!
//! This module only dispatches: each command's rules live in the module of the spec's phase
//! that states them, under [`crate::process`].

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::gates::GatePhase;
pub use crate::process::approvals::{
    ApprovalStatus, approval_status, go_no_go_decision, go_no_go_participants,
};
use crate::process::approvals::{approve, go_no_go, stakeholder_review};
pub use crate::process::context::{Context, PendingRelease, RaisedAlert, World};
use crate::process::deployment::{
    complete_deployment, fail_deployment, mark_checklist, start_production, start_staging,
};
use crate::process::gates::{attach_evidence, override_gate, record_gate, report_bug, resolve_bug};
pub use crate::process::planning::{PlanRelease, plan};
use crate::process::planning::{cancel, cut_candidate, freeze, record_content, reschedule};
pub use crate::process::post_release::{REVIEW_METRICS, RetrospectiveItem};
use crate::process::post_release::{
    complete_action_item, record_metrics_review, record_retrospective,
};
use crate::process::rollback::{
    RollbackMethod, complete_rollback, fail_rollback, raise_health_alert, start_rollback,
};
use crate::refusal::Refusal;
use crate::release::{Environment, GoNoGo, ManualChecklistItem};
use crate::roles::Role;
use crate::state::{Release, Severity};

/// A command on an existing release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Move the planned deployment.
    Reschedule {
        /// The new deployment time.
        planned_date: Timestamp,
        /// Why.
        reason: String,
    },
    /// Code freeze: create the release branch and the first candidate.
    Freeze,
    /// Cut the next release candidate.
    CutReleaseCandidate,
    /// Record a gate result.
    RecordGate {
        /// Phase.
        phase: GatePhase,
        /// Gate name.
        gate: String,
        /// Passed or failed.
        passed: bool,
        /// Why it failed (required when it did).
        reason: Option<String>,
    },
    /// Record a gate from a CI artifact's parsed evidence (JUnit, coverage, a scan, ...): the
    /// gate passes or fails on it, and the evidence is kept with the release.
    AttachEvidence {
        /// Phase.
        phase: GatePhase,
        /// Gate name.
        gate: String,
        /// The artifact's format (`junit`, `lcov`).
        format: String,
        /// What the evidence shows, in one line.
        summary: String,
        /// The thresholds it missed; empty when the gate passes.
        reasons: Vec<String>,
    },
    /// Override a gate (engineering lead, with a justification).
    OverrideGate {
        /// Phase.
        phase: GatePhase,
        /// Gate name.
        gate: String,
        /// The documented justification.
        justification: String,
    },
    /// Report a bug.
    ReportBug {
        /// Tracker ID.
        bug_id: String,
        /// 1-4.
        severity: Severity,
        /// Summary.
        title: String,
        /// Known workaround.
        workaround: Option<String>,
    },
    /// Resolve a bug.
    ResolveBug {
        /// Tracker ID.
        bug_id: String,
    },
    /// Approve in a role.
    Approve {
        /// The role.
        role: Role,
    },
    /// Record what the release contains, drafted from its history.
    RecordContent(crate::content::ReleaseContent),
    /// Record a major release's stakeholder review.
    StakeholderReview {
        /// Notes.
        notes: String,
    },
    /// Vote in the Go/No-Go decision.
    GoNoGo {
        /// The voter's role.
        role: Role,
        /// go or no-go.
        vote: GoNoGo,
        /// Notes.
        notes: Option<String>,
    },
    /// Tick a checklist item.
    MarkChecklist {
        /// The item.
        item: ManualChecklistItem,
    },
    /// Start a deployment.
    StartDeployment {
        /// Where.
        environment: Environment,
        /// Justification for deploying outside the window (engineering lead).
        override_window: Option<String>,
    },
    /// The running deployment finished.
    CompleteDeployment,
    /// The running deployment failed.
    FailDeployment {
        /// Why (`smoke_tests_failed`, `interrupted`).
        reason: String,
    },
    /// Start rolling production back.
    StartRollback {
        /// Why.
        reason: String,
        /// The version to return to; the previous production version if not given.
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
        to_version: Option<Version>,
        /// Roll the database back too (maintenance mode, restore, application rollback). The spec
        /// calls this high-risk, so it needs `confirm`.
        #[serde(default)]
        database: bool,
        /// For a database rollback: the version being returned to, typed out as confirmation.
        #[serde(default)]
        confirm: Option<String>,
    },
    /// The running rollback finished.
    CompleteRollback,
    /// The running rollback failed.
    FailRollback {
        /// Why.
        reason: String,
    },
    /// Mark an action item done.
    CompleteActionItem {
        /// Its kind.
        kind: String,
        /// Notes or a link.
        notes: Option<String>,
    },
    /// Greenlight's health monitor raises an alert (a trigger holds while automatic rollback is
    /// off, or the health data is inconclusive). Only Greenlight itself.
    RaiseHealthAlert {
        /// What kind of alert.
        alert: crate::health::AlertKind,
        /// The numbers behind it.
        detail: String,
    },
    /// Cancel the release.
    Cancel {
        /// Why.
        reason: String,
    },
    /// Record a Phase 4 metrics review (the spec's metrics list).
    RecordMetricsReview {
        /// Metric name to value; names from [`REVIEW_METRICS`].
        values: std::collections::BTreeMap<String, f64>,
        /// Notes.
        notes: Option<String>,
    },
    /// Record the retrospective held after the release.
    RecordRetrospective {
        /// What was said.
        notes: String,
        /// Policy or checklist changes it led to.
        outputs: Vec<String>,
        /// Action items, each with an owner and a due time.
        items: Vec<RetrospectiveItem>,
    },
}

/// Decides a command on a release: the events it yields, or why it is refused.
pub fn decide(release: &Release, command: &Command, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    match command {
        Command::Reschedule {
            planned_date,
            reason,
        } => reschedule(release, *planned_date, reason, ctx),
        Command::Freeze => freeze(release, ctx),
        Command::CutReleaseCandidate => cut_candidate(release, ctx),
        Command::RecordGate {
            phase,
            gate,
            passed,
            reason,
        } => record_gate(release, *phase, gate, *passed, reason.as_deref(), ctx),
        Command::AttachEvidence {
            phase,
            gate,
            format,
            summary,
            reasons,
        } => attach_evidence(release, *phase, gate, format, summary, reasons, ctx),
        Command::OverrideGate {
            phase,
            gate,
            justification,
        } => override_gate(release, *phase, gate, justification, ctx),
        Command::ReportBug {
            bug_id,
            severity,
            title,
            workaround,
        } => report_bug(release, bug_id, *severity, title, workaround, ctx),
        Command::ResolveBug { bug_id } => resolve_bug(release, bug_id, ctx),
        Command::Approve { role } => approve(release, *role, ctx),
        Command::StakeholderReview { notes } => stakeholder_review(release, notes, ctx),
        Command::RecordContent(content) => record_content(release, content, ctx),
        Command::GoNoGo { role, vote, notes } => go_no_go(release, *role, *vote, notes, ctx),
        Command::MarkChecklist { item } => mark_checklist(release, *item, ctx),
        Command::StartDeployment {
            environment: Environment::Staging,
            ..
        } => start_staging(release, ctx),
        Command::StartDeployment {
            environment: Environment::Production,
            override_window,
        } => start_production(release, override_window.as_deref(), ctx),
        Command::CompleteDeployment => complete_deployment(release, ctx),
        Command::FailDeployment { reason } => fail_deployment(release, reason, ctx),
        Command::StartRollback {
            reason,
            to_version,
            database,
            confirm,
        } => {
            let method = if *database {
                RollbackMethod::Database {
                    confirm: confirm.as_deref(),
                }
            } else {
                RollbackMethod::Application
            };
            start_rollback(release, reason, to_version.as_ref(), method, ctx)
        }
        Command::CompleteRollback => complete_rollback(release, ctx),
        Command::FailRollback { reason } => fail_rollback(release, reason, ctx),
        Command::CompleteActionItem { kind, notes } => {
            complete_action_item(release, kind, notes, ctx)
        }
        Command::RaiseHealthAlert { alert, detail } => {
            raise_health_alert(release, *alert, detail, ctx)
        }
        Command::Cancel { reason } => cancel(release, reason, ctx),
        Command::RecordRetrospective {
            notes,
            outputs,
            items,
        } => record_retrospective(release, notes, outputs, items, ctx),
        Command::RecordMetricsReview { values, notes } => {
            record_metrics_review(release, values, notes, ctx)
        }
    }
}
