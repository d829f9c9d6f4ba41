//! What the API returns and accepts, beyond the core's own types.

use greenlight_core::calendar::{WindowFinding, WindowStatus, check_window};
use greenlight_core::decide::{approval_status, go_no_go_participants};
use greenlight_core::gates::{GateOutcome, GatePhase, phase_status};
use greenlight_core::hotfix::{self, HotfixTimeline};
use greenlight_core::release::{
    Audience, CommunicationType, DeploymentChecklist, Environment, GoNoGo, ManualChecklistItem,
    ReleaseRecord,
};
use greenlight_core::state::{
    Approval, Bug, DeploymentRun, RollbackRun, Severity, StakeholderReview, Vote,
};
use greenlight_core::{Policy, Release, ReleaseType, Role};
use greenlight_store::StoredRelease;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A release with everything a person or script needs to act on it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseView {
    /// Revision for optimistic concurrency (also the ETag); send it back in `If-Match`.
    pub revision: i64,
    /// The spec's ReleaseRecord.
    pub record: ReleaseRecord,
    /// The spec's DeploymentChecklist.
    pub checklist: DeploymentChecklist,
    /// The release or hotfix branch.
    pub branch: String,
    /// A hotfix's title.
    pub title: Option<String>,
    /// The latest release candidate (`1.4.0-rc.2`).
    pub release_candidate: Option<String>,
    /// Quality gates per phase that applies to this release type.
    pub phases: Vec<PhaseView>,
    /// The approval matrix and where it stands.
    pub approvals: ApprovalsView,
    /// The Go/No-Go decision and votes.
    pub go_no_go: GoNoGoView,
    /// Bugs reported against the release.
    pub bugs: Vec<Bug>,
    /// The deployment in progress.
    pub deployment: Option<DeploymentRun>,
    /// The rollback in progress.
    pub rollback: Option<RollbackRun>,
    /// Follow-ups with deadlines.
    pub action_items: Vec<ActionItemView>,
    /// The deployment window at the planned date.
    pub planned_window: WindowView,
    /// Steps of the runbook Greenlight is running for the deployment or rollback in progress
    /// (empty when people report the outcome, or when nothing runs).
    pub run_steps: Vec<String>,
    /// A hotfix's timeline: each stage's elapsed time against its target.
    pub hotfix_timeline: Option<HotfixTimeline>,
    /// High-risk changes from the release's content (sensitive paths touched).
    pub risk_notes: Vec<String>,
    /// Phase 4 windows and the retrospective, once production deployment completed.
    pub post_release: Option<greenlight_core::state::PostRelease>,
}

/// One phase's gates.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseView {
    /// The phase.
    pub phase: GatePhase,
    /// Every gate passed or overridden.
    pub passed: bool,
    /// The gates of the phase with their latest result.
    pub gates: Vec<GateView>,
}

/// One gate and its latest result.
#[derive(Debug, Serialize, ToSchema)]
pub struct GateView {
    /// Name.
    pub name: String,
    /// What it checks.
    pub description: String,
    /// Latest outcome; null when no result yet.
    pub outcome: Option<GateOutcome>,
    /// Failure reason or override justification.
    pub reason: Option<String>,
    /// Who recorded it.
    pub validated_by: Option<String>,
    /// When.
    pub at: Option<Timestamp>,
}

/// The approval matrix for the release.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalsView {
    /// Required roles.
    pub required: Vec<Role>,
    /// Optional roles.
    pub optional: Vec<Role>,
    /// Distinct approvals needed.
    pub minimum: u32,
    /// Distinct approvals so far.
    pub count: u32,
    /// Required roles still missing.
    pub missing_required: Vec<Role>,
    /// Whether a stakeholder review is needed.
    pub stakeholder_review_required: bool,
    /// The stakeholder review, if recorded.
    pub stakeholder_review: Option<StakeholderReview>,
    /// The matrix is satisfied.
    pub satisfied: bool,
    /// The approvals.
    pub approvals: Vec<Approval>,
}

/// The Go/No-Go decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct GoNoGoView {
    /// go, no-go or pending.
    pub decision: GoNoGo,
    /// Whether this release type needs the decision.
    pub required: bool,
    /// Roles that may vote: the release type's approval-matrix roles.
    pub participants: Vec<Role>,
    /// Roles whose "go" the decision needs: the matrix's required roles.
    pub required_participants: Vec<Role>,
    /// The latest vote of each role.
    pub votes: Vec<Vote>,
}

/// An action item with whether it is late.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionItemView {
    /// Kind.
    pub kind: String,
    /// What to do.
    pub title: String,
    /// Deadline.
    pub due_at: Timestamp,
    /// When done.
    pub done_at: Option<Timestamp>,
    /// Who did it.
    pub done_by: Option<String>,
    /// Who is to do it (retrospective items).
    pub owner: Option<String>,
    /// Not done and past the deadline.
    pub overdue: bool,
}

/// A window verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// The instant judged.
    pub at: Timestamp,
    /// The same instant in the policy's zone, for people (`Thu 2026-12-10 14:00 PST`).
    pub local: String,
    /// The release type judged.
    pub release_type: ReleaseType,
    /// preferred, allowed, discouraged or blocked.
    pub status: WindowStatus,
    /// Whether a deployment may start without an override (its whole expected duration is
    /// checked).
    pub may_start: bool,
    /// When a deployment starting then is expected to end.
    pub ends_at: Timestamp,
    /// Every matching rule.
    pub findings: Vec<WindowFinding>,
}

/// The window verdict at `at` for `release_type`.
pub fn window_view(policy: &Policy, at: Timestamp, release_type: ReleaseType) -> WindowView {
    let verdict = check_window(policy, at, release_type);
    WindowView {
        at,
        local: verdict.at.strftime("%a %Y-%m-%d %H:%M %Z").to_string(),
        release_type,
        may_start: verdict.may_start(),
        ends_at: verdict.ends_at.timestamp(),
        status: verdict.status,
        findings: verdict.findings,
    }
}

/// The gates of each phase that applies to the release, with their latest results.
pub fn phase_views(release: &Release, policy: &Policy) -> Vec<PhaseView> {
    GatePhase::for_type(release.release_type())
        .iter()
        .map(|phase| {
            let status = phase_status(policy, *phase, &release.gates);
            let gates = policy
                .gates
                .of(*phase)
                .iter()
                .map(|spec| {
                    let result = release
                        .gates
                        .iter()
                        .find(|g| g.gate_phase == *phase && g.gate_name == spec.name);
                    GateView {
                        name: spec.name.clone(),
                        description: spec.description.clone(),
                        outcome: result.map(|r| r.outcome),
                        reason: result.and_then(|r| r.reason.clone()),
                        validated_by: result.map(|r| r.validated_by.clone()),
                        at: result.map(|r| r.at),
                    }
                })
                .collect();
            PhaseView {
                phase: *phase,
                passed: status.passed(),
                gates,
            }
        })
        .collect()
}

/// The release's approval matrix and where it stands.
pub fn approvals_view(release: &Release, policy: &Policy) -> ApprovalsView {
    let rule = policy.approvals.of(release.release_type());
    let status = approval_status(release, policy);
    ApprovalsView {
        required: rule.required.clone(),
        optional: rule.optional.clone(),
        minimum: rule.minimum,
        count: status.count,
        satisfied: status.satisfied(),
        missing_required: status.missing_required,
        stakeholder_review_required: rule.stakeholder_review,
        stakeholder_review: release.stakeholder_review.clone(),
        approvals: release.approvals.clone(),
    }
}

/// Builds the view of a stored release.
pub fn release_view(stored: &StoredRelease, policy: &Policy, now: Timestamp) -> ReleaseView {
    let release = &stored.release;
    let release_type = release.release_type();
    let phases = phase_views(release, policy);
    let approvals = approvals_view(release, policy);
    let go_no_go = GoNoGoView {
        decision: release.checklist.go_no_go_decision,
        required: policy.go_no_go.required_for.contains(&release_type),
        participants: go_no_go_participants(policy, release_type),
        required_participants: policy.approvals.of(release_type).required.clone(),
        votes: release.votes.clone(),
    };
    let action_items = release
        .action_items
        .iter()
        .map(|item| ActionItemView {
            kind: item.kind.clone(),
            title: item.title.clone(),
            due_at: item.due_at,
            done_at: item.done_at,
            done_by: item.done_by.clone(),
            owner: item.owner.clone(),
            overdue: item.overdue(now),
        })
        .collect();
    ReleaseView {
        revision: stored.revision,
        record: release.record.clone(),
        risk_notes: release.risk_notes.clone(),
        checklist: release.checklist.clone(),
        branch: release.branch.clone(),
        title: release.title.clone(),
        release_candidate: release.current_candidate().map(|v| v.to_string()),
        phases,
        approvals,
        go_no_go,
        bugs: release.bugs.clone(),
        deployment: release.deployment.clone(),
        rollback: release.rollback.clone(),
        action_items,
        post_release: release.post_release.clone(),
        planned_window: window_view(policy, release.record.planned_date, release_type),
        run_steps: run_steps(release, policy),
        hotfix_timeline: hotfix::timeline(release, &policy.hotfix, now),
    }
}

fn run_steps(release: &Release, policy: &Policy) -> Vec<String> {
    use greenlight_core::runbook::RunKind;
    let Some((kind, _)) = RunKind::in_progress(release) else {
        return Vec::new();
    };
    policy
        .runbooks
        .plan(kind)
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Plan a release.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanRequest {
    /// standard, patch, hotfix or major.
    pub release_type: ReleaseType,
    /// The version; proposed from the latest one when absent.
    pub version: Option<String>,
    /// The deployment time; proposed from the cadence when absent.
    pub planned_date: Option<Timestamp>,
    /// A hotfix's title.
    pub title: Option<String>,
    /// A hotfix's base: the version live in production that it fixes (`1.2.3`).
    pub from_version: Option<String>,
    /// A hotfix's trigger, one of the policy's `hotfix.triggers` (`score_recording_failure`,
    /// `auth_failure`, `payment_error`, `data_loss`, `security_vulnerability`,
    /// `accessibility_failure` by default); required for a hotfix, refused for other types.
    #[serde(default)]
    pub trigger: Option<String>,
    /// A hotfix's severity (1-4), one of its trigger's; may be left out when the trigger has
    /// only one.
    #[serde(default)]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    pub severity: Option<Severity>,
}

/// A Phase 4 metrics review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsReviewRequest {
    /// Metric name to value: daily_active_users, daily_active_users_change_percent,
    /// assignment_completion_percent, score_recording_success_percent, game_load_time_p95_ms,
    /// play_session_minutes, error_rate_percent, browser_issues.
    pub values: std::collections::BTreeMap<String, f64>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// The retrospective held after a release.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrospectiveRequest {
    /// What was said.
    pub notes: String,
    /// The outputs it produced: an updated release checklist, risk items for future
    /// releases, documentation updates (the spec's retrospective outputs).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Action items with owner and due time.
    #[serde(default)]
    pub items: Vec<greenlight_core::decide::RetrospectiveItem>,
}

/// A reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonRequest {
    /// Why.
    pub reason: String,
}

/// Move the planned deployment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RescheduleRequest {
    /// The new deployment time.
    pub planned_date: Timestamp,
    /// Why.
    pub reason: String,
}

/// Record a gate result.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GateRequest {
    /// Phase.
    pub phase: GatePhase,
    /// Gate name.
    pub gate: String,
    /// Passed or failed.
    pub passed: bool,
    /// Why it failed (`api_response_time_exceeded`); required when it did.
    pub reason: Option<String>,
}

/// Override a gate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OverrideRequest {
    /// Phase.
    pub phase: GatePhase,
    /// Gate name.
    pub gate: String,
    /// The documented justification.
    pub justification: String,
}

/// Tick a checklist item.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChecklistRequest {
    /// The item.
    pub item: ManualChecklistItem,
}

/// Approve in a role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApproveRequest {
    /// The role.
    pub role: Role,
}

/// The stakeholder review of a major release.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewRequest {
    /// Notes.
    pub notes: String,
}

/// A Go/No-Go vote.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteRequest {
    /// The voter's role.
    pub role: Role,
    /// go or no-go.
    pub vote: GoNoGo,
    /// Notes.
    pub notes: Option<String>,
}

/// Report a bug.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BugRequest {
    /// Tracker ID.
    pub bug_id: String,
    /// 1 (critical) to 4.
    pub severity: Severity,
    /// Summary.
    pub title: String,
    /// Known workaround.
    pub workaround: Option<String>,
}

/// Start a deployment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeployRequest {
    /// staging or production.
    pub environment: Environment,
    /// Justification for deploying outside the window (engineering lead only).
    pub override_window: Option<String>,
}

/// Start a rollback.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RollbackRequest {
    /// Why.
    pub reason: String,
    /// Version to return to; the previous production version when absent.
    pub to_version: Option<String>,
    /// Roll the database back too: maintenance mode on, restore, application rollback,
    /// maintenance mode off. High-risk, so `confirm` must name the version returned to.
    #[serde(default)]
    pub database: bool,
    /// For a database rollback: the version returned to, typed out as confirmation.
    pub confirm: Option<String>,
}

/// Optional notes.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NotesRequest {
    /// Notes or a link.
    pub notes: Option<String>,
}

/// Record a communication that was sent.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommunicationRequest {
    /// Channel.
    pub communication_type: CommunicationType,
    /// Audience.
    pub audience: Audience,
    /// Subject.
    pub subject: String,
    /// Markdown or HTML.
    pub message: String,
    /// When it was sent (now when absent).
    pub sent_at: Option<Timestamp>,
}
