//! The spec's data model: ReleaseRecord, DeploymentChecklist and ReleaseCommunication, with the
//! release types, statuses and the legal transitions between statuses.
//!
//! Field names and JSON shapes are the spec's exactly (snake_case, RFC 3339 times). Where the spec
//! types a field `string` but it has no value yet (who deployed a release that is only planned), the
//! JSON carries `null`.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refusal::{Reason, Rule};

/// The four release types of the spec's "Release Types and Cadence".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseType {
    /// Bi-weekly Thursday release: features, non-critical fixes.
    Standard,
    /// Mid-cycle Tuesday release: minor fixes.
    Patch,
    /// On-demand fix of a critical production issue.
    Hotfix,
    /// Phase-based release: major launches, breaking changes, schema migrations.
    Major,
}

impl ReleaseType {
    /// All types, in the spec's order.
    pub const ALL: [ReleaseType; 4] = [
        ReleaseType::Standard,
        ReleaseType::Hotfix,
        ReleaseType::Patch,
        ReleaseType::Major,
    ];

    /// The spec's name: `standard`, `patch`, `hotfix`, `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseType::Standard => "standard",
            ReleaseType::Patch => "patch",
            ReleaseType::Hotfix => "hotfix",
            ReleaseType::Major => "major",
        }
    }
}

impl fmt::Display for ReleaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of a fixed set of spec names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a {what}; expected one of: {expected}")]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// What kind of name was expected (`release type`, `role`, ...).
    pub what: &'static str,
    /// The accepted names, comma-separated.
    pub expected: String,
}

impl FromStr for ReleaseType {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseType::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownName {
                given: s.to_string(),
                what: "release type",
                expected: "standard, patch, hotfix, major".into(),
            })
    }
}

/// Where a release stands, per the spec's ReleaseRecord.status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    /// Planned; code freeze and Phase 1 happen here.
    Planned,
    /// Deployed to staging and under validation (Phase 2).
    Staging,
    /// Live in production.
    Deployed,
    /// Production was returned to the previous version.
    RolledBack,
    /// Abandoned before reaching production.
    Cancelled,
}

impl ReleaseStatus {
    /// The spec's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Planned => "planned",
            ReleaseStatus::Staging => "staging",
            ReleaseStatus::Deployed => "deployed",
            ReleaseStatus::RolledBack => "rolled_back",
            ReleaseStatus::Cancelled => "cancelled",
        }
    }

    /// All statuses.
    pub const ALL: [ReleaseStatus; 5] = [
        ReleaseStatus::Planned,
        ReleaseStatus::Staging,
        ReleaseStatus::Deployed,
        ReleaseStatus::RolledBack,
        ReleaseStatus::Cancelled,
    ];

    /// The statuses a release may move to from this one.
    ///
    /// A rolled-back release may go back to staging: the spec's post-rollback "schedule retry".
    pub fn successors(self) -> &'static [ReleaseStatus] {
        use ReleaseStatus::*;
        match self {
            Planned => &[Staging, Cancelled],
            Staging => &[Deployed, Cancelled],
            Deployed => &[RolledBack],
            RolledBack => &[Staging],
            Cancelled => &[],
        }
    }

    /// Checks the move to `to`, refusing an illegal transition with the legal ones named.
    pub fn transition(self, to: ReleaseStatus) -> Result<ReleaseStatus, Reason> {
        if self.successors().contains(&to) {
            return Ok(to);
        }
        let legal: Vec<&str> = self.successors().iter().map(|s| s.as_str()).collect();
        let satisfy = if legal.is_empty() {
            format!("a {} release is final; plan a new release", self.as_str())
        } else {
            format!(
                "from {} a release may move to: {}",
                self.as_str(),
                legal.join(", ")
            )
        };
        Err(Reason::new(
            Rule::StatusTransition,
            format!(
                "a release cannot move from {} to {}",
                self.as_str(),
                to.as_str()
            ),
            satisfy,
        ))
    }
}

impl fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReleaseStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownName {
                given: s.to_string(),
                what: "release status",
                expected: "planned, staging, deployed, rolled_back, cancelled".into(),
            })
    }
}

/// The spec's ReleaseRecord: every production release, for audit and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseRecord {
    /// UUID of the release.
    pub release_id: Uuid,
    /// Semantic version, `1.2.3`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: Version,
    /// standard, hotfix, patch or major.
    pub release_type: ReleaseType,
    /// planned, staging, deployed, rolled_back or cancelled.
    pub status: ReleaseStatus,
    /// Scheduled deployment time.
    pub planned_date: Timestamp,
    /// When feature development stopped (or is to stop).
    pub code_freeze_date: Timestamp,
    /// Actual production deployment time.
    pub deployed_date: Option<Timestamp>,
    /// User ID of the person who deployed to production.
    pub deployed_by: Option<String>,
    /// How long the production deployment took.
    pub deployment_duration_minutes: Option<u32>,
    /// QA lead signed off the staging validation.
    pub staging_validated: bool,
    /// Who signed off the staging validation.
    pub staging_validated_by: Option<String>,
    /// When the staging validation was signed off.
    pub staging_validated_at: Option<Timestamp>,
    /// Markdown-formatted changes.
    pub changelog: String,
    /// Feature IDs or PR numbers.
    pub included_features: Vec<String>,
    /// Bug IDs or issue numbers.
    pub included_fixes: Vec<String>,
    /// The release breaks an API or a schema.
    pub breaking_changes: bool,
    /// The release needs a database migration.
    pub migration_required: bool,
    /// The release's latest production deployment was rolled back. A retry's successful
    /// production deployment clears it (and the three fields below); the rollback stays in the
    /// event history.
    pub rolled_back: bool,
    /// When the rollback completed.
    pub rolled_back_at: Option<Timestamp>,
    /// Who initiated the rollback.
    pub rolled_back_by: Option<String>,
    /// Why it was rolled back.
    pub rollback_reason: Option<String>,
    /// When the record was created.
    pub created_at: Timestamp,
    /// Who created it.
    pub created_by: String,
    /// When the record last changed.
    pub updated_at: Timestamp,
    /// Who changed it last.
    pub updated_by: String,
}

/// The Go/No-Go decision of the pre-deployment meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GoNoGo {
    /// Deploy.
    #[serde(rename = "go")]
    Go,
    /// Do not deploy.
    #[serde(rename = "no-go")]
    NoGo,
    /// Not decided yet.
    #[serde(rename = "pending")]
    Pending,
}

impl GoNoGo {
    /// The spec's spelling: `go`, `no-go`, `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            GoNoGo::Go => "go",
            GoNoGo::NoGo => "no-go",
            GoNoGo::Pending => "pending",
        }
    }
}

impl FromStr for GoNoGo {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "go" => Ok(GoNoGo::Go),
            "no-go" | "nogo" => Ok(GoNoGo::NoGo),
            "pending" => Ok(GoNoGo::Pending),
            _ => Err(UnknownName {
                given: s.to_string(),
                what: "go/no-go decision",
                expected: "go, no-go".into(),
            }),
        }
    }
}

/// The spec's DeploymentChecklist: completion of each step, for audit and compliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentChecklist {
    /// UUID of the checklist.
    pub checklist_id: Uuid,
    /// The release it belongs to.
    pub release_id: Uuid,
    /// Phase 1: code freeze done.
    pub code_freeze_complete: bool,
    /// Phase 1: release notes drafted.
    pub release_notes_drafted: bool,
    /// Phase 1: stakeholders notified.
    pub stakeholders_notified: bool,
    /// Phase 1: every Phase 1 gate passed.
    pub quality_gates_phase1_passed: bool,
    /// Phase 2: deployed to staging.
    pub staging_deployed: bool,
    /// Phase 2: staging smoke tests passed.
    pub smoke_tests_passed: bool,
    /// Phase 2: manual QA validation complete.
    pub qa_validation_complete: bool,
    /// Phase 2: browser testing complete.
    pub browser_testing_complete: bool,
    /// Phase 2: performance testing complete.
    pub performance_testing_complete: bool,
    /// Phase 2: every Phase 2 gate passed.
    pub quality_gates_phase2_passed: bool,
    /// Phase 3: the Go/No-Go decision.
    pub go_no_go_decision: GoNoGo,
    /// Phase 3: deployed to production.
    pub production_deployed: bool,
    /// Phase 3: production smoke tests passed.
    pub post_deployment_smoke_tests_passed: bool,
    /// Phase 3: every Phase 3 gate passed.
    pub quality_gates_phase3_passed: bool,
    /// Phase 4: extended monitoring done.
    pub monitoring_complete: bool,
    /// Phase 4: retrospective scheduled.
    pub release_retrospective_scheduled: bool,
    /// User ID of the engineering lead's approval.
    pub engineering_lead_approval: Option<String>,
    /// User ID of the QA lead's approval.
    pub qa_lead_approval: Option<String>,
    /// User ID of the product owner's approval.
    pub product_owner_approval: Option<String>,
    /// When the checklist was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl DeploymentChecklist {
    /// An empty checklist for a release planned at `now`.
    pub fn new(checklist_id: Uuid, release_id: Uuid, now: Timestamp) -> Self {
        DeploymentChecklist {
            checklist_id,
            release_id,
            code_freeze_complete: false,
            release_notes_drafted: false,
            stakeholders_notified: false,
            quality_gates_phase1_passed: false,
            staging_deployed: false,
            smoke_tests_passed: false,
            qa_validation_complete: false,
            browser_testing_complete: false,
            performance_testing_complete: false,
            quality_gates_phase2_passed: false,
            go_no_go_decision: GoNoGo::Pending,
            production_deployed: false,
            post_deployment_smoke_tests_passed: false,
            quality_gates_phase3_passed: false,
            monitoring_complete: false,
            release_retrospective_scheduled: false,
            engineering_lead_approval: None,
            qa_lead_approval: None,
            product_owner_approval: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Checklist items that people tick by hand; the others follow from gates, deployments and votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ManualChecklistItem {
    /// Release notes drafted.
    ReleaseNotesDrafted,
    /// Stakeholders notified.
    StakeholdersNotified,
    /// Extended monitoring complete.
    MonitoringComplete,
    /// Retrospective scheduled.
    ReleaseRetrospectiveScheduled,
}

impl FromStr for ManualChecklistItem {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "release_notes_drafted" => Ok(Self::ReleaseNotesDrafted),
            "stakeholders_notified" => Ok(Self::StakeholdersNotified),
            "monitoring_complete" => Ok(Self::MonitoringComplete),
            "release_retrospective_scheduled" => Ok(Self::ReleaseRetrospectiveScheduled),
            _ => Err(UnknownName {
                given: s.to_string(),
                what: "checklist item that is ticked by hand",
                expected: "release_notes_drafted, stakeholders_notified, monitoring_complete, \
                           release_retrospective_scheduled"
                    .into(),
            }),
        }
    }
}

/// A channel of the spec's ReleaseCommunication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommunicationType {
    /// Email.
    Email,
    /// The public status page.
    StatusPage,
    /// Chat (Slack or Teams).
    Slack,
    /// In-app announcement.
    InApp,
}

/// An audience of the spec's ReleaseCommunication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The internal team.
    Internal,
    /// Subscribers (school admins).
    Subscribers,
    /// Every user.
    AllUsers,
    /// Beta testers.
    BetaTesters,
}

/// The spec's ReleaseCommunication: one stakeholder notification of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseCommunication {
    /// UUID of the communication.
    pub communication_id: Uuid,
    /// The release it is about.
    pub release_id: Uuid,
    /// The channel.
    pub communication_type: CommunicationType,
    /// Who it is for.
    pub audience: Audience,
    /// Subject line.
    pub subject: String,
    /// Markdown or HTML body.
    pub message: String,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// User ID of the sender.
    pub sent_by: String,
    /// When the record was created.
    pub created_at: Timestamp,
}

/// An environment a release is deployed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// The staging environment (Phase 2).
    Staging,
    /// Production (Phase 3).
    Production,
}

impl Environment {
    /// `staging` or `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "staging" => Ok(Environment::Staging),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err(UnknownName {
                given: s.to_string(),
                what: "environment",
                expected: "staging, production".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions_follow_the_lifecycle() {
        use ReleaseStatus::*;
        let legal = [
            (Planned, Staging),
            (Planned, Cancelled),
            (Staging, Deployed),
            (Staging, Cancelled),
            (Deployed, RolledBack),
            (RolledBack, Staging),
        ];
        for from in ReleaseStatus::ALL {
            for to in ReleaseStatus::ALL {
                let ok = from.transition(to).is_ok();
                assert_eq!(ok, legal.contains(&(from, to)), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn illegal_transition_names_the_legal_ones() {
        let err = ReleaseStatus::Planned.transition(ReleaseStatus::Deployed);
        let reason = err.err().map(|r| r.to_string()).unwrap_or_default();
        assert!(reason.contains("planned to deployed"), "{reason}");
        assert!(reason.contains("staging, cancelled"), "{reason}");
        let final_state = ReleaseStatus::Cancelled.transition(ReleaseStatus::Staging);
        assert!(final_state.is_err_and(|r| r.satisfy.contains("final")));
    }

    #[test]
    fn spec_names_round_trip() {
        for t in ReleaseType::ALL {
            assert_eq!(t.as_str().parse::<ReleaseType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).ok(), Some(t.as_str().into()));
        }
        for s in ReleaseStatus::ALL {
            assert_eq!(s.as_str().parse::<ReleaseStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
        assert_eq!(
            serde_json::to_value(GoNoGo::NoGo).ok(),
            Some("no-go".into())
        );
        assert!("sometimes".parse::<ReleaseType>().is_err());
    }
}
