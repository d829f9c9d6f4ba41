//! Roles and permissions of the spec's "Permissions" section, as one table, and its "Approval
//! Matrix" (`ApprovalPolicy`, with the Go/No-Go meeting whose participants it names).
//!
//! Each [`Action`] lists the roles that may take it. The table is data so that the API can publish
//! it and tests can walk every action against every role.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::refusal::{Reason, Rule};
use crate::release::{ReleaseType, UnknownName};

/// The five release-process roles of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates release branches, approves candidates, deploys, rolls back, overrides gates.
    EngineeringLead,
    /// Approves staging validation, blocks releases for quality, runs manual tests.
    QaLead,
    /// Prioritises features, approves completeness, requests delays.
    ProductOwner,
    /// Deploys hotfixes, rolls back in emergencies, creates hotfix branches.
    OnCallEngineer,
    /// Reads deployment logs, watches health, tells users about maintenance.
    SystemAdmin,
}

impl Role {
    /// Every role, in the spec's order.
    pub const ALL: [Role; 5] = [
        Role::EngineeringLead,
        Role::QaLead,
        Role::ProductOwner,
        Role::OnCallEngineer,
        Role::SystemAdmin,
    ];

    /// The spec's snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::EngineeringLead => "engineering_lead",
            Role::QaLead => "qa_lead",
            Role::ProductOwner => "product_owner",
            Role::OnCallEngineer => "on_call_engineer",
            Role::SystemAdmin => "system_admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                given: s.to_string(),
                what: "role",
                expected: Role::ALL.map(Role::as_str).join(", "),
            })
    }
}

/// Something a person does in the release process that the permission table governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Plan a standard, patch or major release (it will get a release branch).
    PlanRelease,
    /// Freeze code: create the release branch and the first release candidate.
    CreateReleaseBranch,
    /// Cut the next release candidate.
    CutReleaseCandidate,
    /// Record what a release contains (changelog, features, fixes, migrations, risks).
    RecordReleaseContent,
    /// Start a hotfix: create the hotfix branch and record.
    CreateHotfixBranch,
    /// Move the planned date (the product owner's "request deployment delays").
    RescheduleRelease,
    /// Record a quality gate result.
    RecordGateResult,
    /// Override a failed or missing quality gate, with a justification.
    OverrideQualityGate,
    /// Report a bug against a release.
    ReportBug,
    /// Resolve a reported bug.
    ResolveBug,
    /// Record the stakeholder review a major release needs.
    RecordStakeholderReview,
    /// Vote "go" in the Go/No-Go decision.
    VoteGo,
    /// Vote "no-go" (block a release or request a delay).
    VoteNoGo,
    /// Tick a checklist item that is not derived from gates or deployments.
    MarkChecklistItem,
    /// Deploy a release to staging.
    DeployToStaging,
    /// Deploy a standard, patch or major release to production.
    ExecuteProductionDeployment,
    /// Deploy a hotfix to production.
    ExecuteHotfixDeployment,
    /// Deploy outside the deployment window, with a justification.
    OverrideDeploymentWindow,
    /// Roll production back to the previous version.
    InitiateRollback,
    /// Cancel a release that has not reached production.
    CancelRelease,
    /// Mark a post-rollback action item or a hotfix backport done.
    CompleteActionItem,
    /// Read production deployment logs (hook output).
    AccessDeploymentLogs,
    /// Send communications to users about maintenance.
    CommunicateMaintenance,
    /// Create or change feature flags and advance their rollout.
    ManageFeatureFlags,
    /// Use a feature flag's kill switch.
    KillFeatureFlag,
    /// Read the audit trail (who changed what, with before and after): every role, and
    /// administrators, who manage the accounts and tokens the trail records. A user with no
    /// role (an account not yet given one, a service account) does not read it.
    ReadAuditTrail,
    /// Read the communications sent and the outbox (delivery state, the last error of a dead
    /// letter): every role, and administrators.
    ReadCommunications,
    /// Read the recipient lists (people's addresses): those who send the communications.
    ReadRecipients,
    /// Send health samples (`POST /api/v1/metrics`): they drive automatic rollback and decide
    /// the Phase 3 gates, so only those who watch health (system administrator, on-call
    /// engineer) and the engineering lead may, usually through an `ingest`-scoped token.
    IngestHealthSamples,
}

use Role::{EngineeringLead as EL, OnCallEngineer as OC, ProductOwner as PO, QaLead as QA};

/// The permission table: each action with the roles that may take it.
pub const PERMISSIONS: &[(Action, &[Role])] = &[
    (Action::PlanRelease, &[EL]),
    (Action::CreateReleaseBranch, &[EL]),
    (Action::CutReleaseCandidate, &[EL]),
    (Action::RecordReleaseContent, &[EL, QA, PO]),
    (Action::CreateHotfixBranch, &[EL, OC]),
    (Action::RescheduleRelease, &[EL, PO]),
    (Action::RecordGateResult, &[EL, QA]),
    (Action::OverrideQualityGate, &[EL]),
    (Action::ReportBug, &[EL, QA, PO, OC, Role::SystemAdmin]),
    (Action::ResolveBug, &[EL, QA]),
    (Action::RecordStakeholderReview, &[EL, PO]),
    (Action::VoteGo, &[EL, QA, PO]),
    (Action::VoteNoGo, &[EL, QA, PO]),
    (Action::MarkChecklistItem, &[EL, QA, PO, Role::SystemAdmin]),
    (Action::DeployToStaging, &[EL, OC]),
    (Action::ExecuteProductionDeployment, &[EL]),
    (Action::ExecuteHotfixDeployment, &[EL, OC]),
    (Action::OverrideDeploymentWindow, &[EL]),
    (Action::InitiateRollback, &[EL, OC]),
    (Action::CancelRelease, &[EL]),
    (Action::CompleteActionItem, &[EL, OC]),
    (Action::AccessDeploymentLogs, &[Role::SystemAdmin, EL, OC]),
    (Action::CommunicateMaintenance, &[Role::SystemAdmin, EL]),
    (Action::ManageFeatureFlags, &[EL]),
    (Action::KillFeatureFlag, &[EL, OC]),
    (Action::ReadAuditTrail, &[EL, QA, PO, OC, Role::SystemAdmin]),
    (
        Action::ReadCommunications,
        &[EL, QA, PO, OC, Role::SystemAdmin],
    ),
    (Action::ReadRecipients, &[Role::SystemAdmin, EL]),
    (Action::IngestHealthSamples, &[Role::SystemAdmin, OC, EL]),
];

/// Read actions an administrator may take without holding a listed role: administrators manage
/// the accounts, tokens and recipients the audit trail and the outbox are about. Every other
/// action, deployment logs included, needs a role the table lists.
pub const ADMIN_READS: &[Action] = &[Action::ReadAuditTrail, Action::ReadCommunications];

/// Reads open to every valid token, whatever its user's roles: who the caller is and what the
/// table lets them do (`/me`, `/permissions`), and the team's shared picture of the process,
/// which holds no secrets: releases with their checklists, gates, approvals, events, reports
/// and health, environments, delivery metrics, feature flags, the policy, windows and the
/// calendar. Every other read is an action of [`PERMISSIONS`]. This list is documentation for
/// the endpoint x role test, which walks it.
pub const OPEN_READS: &[&str] = &[
    "/api/v1/me",
    "/api/v1/permissions",
    "/api/v1/releases",
    "/api/v1/releases/{key}",
    "/api/v1/releases/{key}/checklist",
    "/api/v1/releases/{key}/gates",
    "/api/v1/releases/{key}/approvals",
    "/api/v1/releases/{key}/events",
    "/api/v1/releases/{key}/report",
    "/api/v1/releases/{key}/health",
    "/api/v1/events",
    "/api/v1/environments",
    "/api/v1/delivery-metrics",
    "/api/v1/flags",
    "/api/v1/flags/{key}",
    "/api/v1/policy",
    "/api/v1/window",
    "/api/v1/calendar",
    "/api/v1/home",
];

impl Action {
    /// The roles that may take this action.
    pub fn roles(self) -> &'static [Role] {
        PERMISSIONS
            .iter()
            .find(|(action, _)| *action == self)
            .map(|(_, roles)| *roles)
            .unwrap_or(&[])
    }

    /// The snake_case name of the action.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// Who issues a command: a person with roles, or Greenlight itself (the health monitor, a worker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User ID; `greenlight` for the system actor.
    pub id: String,
    /// The roles the user holds.
    pub roles: BTreeSet<Role>,
    /// Greenlight acting on its own (automatic rollback, interrupted runs): passes role checks.
    #[serde(default)]
    pub system: bool,
}

impl Actor {
    /// A person holding `roles`.
    pub fn user(id: impl Into<String>, roles: impl IntoIterator<Item = Role>) -> Self {
        Actor {
            id: id.into(),
            roles: roles.into_iter().collect(),
            system: false,
        }
    }

    /// Greenlight itself.
    pub fn system() -> Self {
        Actor {
            id: "greenlight".into(),
            roles: BTreeSet::new(),
            system: true,
        }
    }

    /// Whether the actor holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the actor may take `action`, or read it as an administrator (`is_admin`) when
    /// it is one of [`ADMIN_READS`].
    pub fn may_read(&self, action: Action, is_admin: bool) -> bool {
        self.may(action) || (is_admin && ADMIN_READS.contains(&action))
    }

    /// Whether the actor may take `action`.
    pub fn may(&self, action: Action) -> bool {
        self.system || action.roles().iter().any(|r| self.has(*r))
    }

    /// Refuses unless the actor may take `action`.
    pub fn require(&self, action: Action) -> Result<(), Reason> {
        if self.may(action) {
            return Ok(());
        }
        let roles: Vec<&str> = action.roles().iter().map(|r| r.as_str()).collect();
        let held: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        let held = if held.is_empty() {
            "no role".to_string()
        } else {
            held.join(", ")
        };
        Err(Reason::new(
            Rule::Permission,
            format!(
                "{} ({held}) may not {}",
                self.id,
                action.as_str().replace('_', " ")
            ),
            format!("ask someone with the role {}", roles.join(" or ")),
        ))
    }
}

/// Approvals one release type needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    /// Roles whose approval is required.
    pub required: Vec<Role>,
    /// Roles whose approval counts but is not required.
    pub optional: Vec<Role>,
    /// Distinct approvals needed in all.
    pub minimum: u32,
    /// A stakeholder review is needed besides the approvals (major releases).
    pub stakeholder_review: bool,
}

/// The approval matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// Standard: 3 of 3.
    pub standard: ApprovalRule,
    /// Patch: 2 of 3, product owner optional.
    pub patch: ApprovalRule,
    /// Hotfix: 2 of 3, product owner optional.
    pub hotfix: ApprovalRule,
    /// Major: 3 of 3 plus stakeholder review.
    pub major: ApprovalRule,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        let all_three = vec![Role::EngineeringLead, Role::QaLead, Role::ProductOwner];
        let two_of_three = ApprovalRule {
            required: vec![Role::EngineeringLead, Role::QaLead],
            optional: vec![Role::ProductOwner],
            minimum: 2,
            stakeholder_review: false,
        };
        ApprovalPolicy {
            standard: ApprovalRule {
                required: all_three.clone(),
                optional: Vec::new(),
                minimum: 3,
                stakeholder_review: false,
            },
            patch: two_of_three.clone(),
            hotfix: two_of_three,
            major: ApprovalRule {
                required: all_three,
                optional: Vec::new(),
                minimum: 3,
                stakeholder_review: true,
            },
        }
    }
}

impl ApprovalPolicy {
    /// The rule of one release type.
    pub fn of(&self, release_type: ReleaseType) -> &ApprovalRule {
        match release_type {
            ReleaseType::Standard => &self.standard,
            ReleaseType::Patch => &self.patch,
            ReleaseType::Hotfix => &self.hotfix,
            ReleaseType::Major => &self.major,
        }
    }
}

/// The Go/No-Go decision meeting. Its participants are the release type's approval-matrix
/// roles: the required ones must vote go, the optional ones may vote (a "no-go" counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GoNoGoPolicy {
    /// Release types that need the decision (hotfixes use their approval chain).
    pub required_for: Vec<ReleaseType>,
    /// The meeting is this long before the deployment.
    pub minutes_before_deployment: u32,
    /// A health alert on the live release counts as unresolved (and refuses Go) this long after
    /// it was last raised; the monitor raises an alert that still holds again every 30 minutes.
    /// 0 turns the check off.
    pub health_alert_minutes: u32,
}

impl Default for GoNoGoPolicy {
    fn default() -> Self {
        GoNoGoPolicy {
            required_for: vec![
                ReleaseType::Standard,
                ReleaseType::Patch,
                ReleaseType::Major,
            ],
            minutes_before_deployment: 60,
            health_alert_minutes: 45,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_at_least_one_role() {
        for (action, roles) in PERMISSIONS {
            assert!(!roles.is_empty(), "{action:?}");
            assert_eq!(action.roles(), *roles);
        }
    }

    #[test]
    fn only_engineering_lead_may_override_quality_gates() {
        for role in Role::ALL {
            let actor = Actor::user("u", [role]);
            assert_eq!(
                actor.may(Action::OverrideQualityGate),
                role == Role::EngineeringLead
            );
        }
    }

    #[test]
    fn rollback_is_for_engineering_lead_and_on_call_engineer() {
        for role in Role::ALL {
            let actor = Actor::user("u", [role]);
            let expected = matches!(role, Role::EngineeringLead | Role::OnCallEngineer);
            assert_eq!(actor.may(Action::InitiateRollback), expected, "{role}");
        }
    }

    #[test]
    fn on_call_engineer_deploys_hotfixes_but_not_standard_releases() {
        let oncall = Actor::user("o", [Role::OnCallEngineer]);
        assert!(oncall.may(Action::ExecuteHotfixDeployment));
        assert!(oncall.may(Action::CreateHotfixBranch));
        assert!(!oncall.may(Action::ExecuteProductionDeployment));
    }

    #[test]
    fn system_admin_reads_logs_and_communicates_but_does_not_deploy() {
        let admin = Actor::user("s", [Role::SystemAdmin]);
        assert!(admin.may(Action::AccessDeploymentLogs));
        assert!(admin.may(Action::CommunicateMaintenance));
        assert!(!admin.may(Action::ExecuteProductionDeployment));
        assert!(!admin.may(Action::InitiateRollback));
    }

    #[test]
    fn refusal_names_the_roles_that_would_do() {
        let po = Actor::user("pat", [Role::ProductOwner]);
        let reason = po.require(Action::InitiateRollback).err();
        let text = reason.map(|r| r.to_string()).unwrap_or_default();
        assert!(text.starts_with("permission: pat (product_owner) may not initiate rollback"));
        assert!(text.contains("engineering_lead or on_call_engineer"));
    }

    #[test]
    fn deployment_logs_need_a_listed_role_even_for_administrators() {
        let nobody = Actor::user("n", []);
        assert!(!nobody.may_read(Action::AccessDeploymentLogs, true));
        assert!(!nobody.may_read(Action::ReadRecipients, true));
        assert!(nobody.may_read(Action::ReadAuditTrail, true));
        assert!(!nobody.may_read(Action::ReadAuditTrail, false));
        let qa = Actor::user("q", [Role::QaLead]);
        assert!(!qa.may_read(Action::AccessDeploymentLogs, false));
        assert!(qa.may_read(Action::ReadAuditTrail, false));
    }

    #[test]
    fn role_names_parse() {
        assert_eq!("qa_lead".parse::<Role>(), Ok(Role::QaLead));
        assert_eq!("on-call-engineer".parse::<Role>(), Ok(Role::OnCallEngineer));
        assert!("admin".parse::<Role>().is_err());
    }
}
