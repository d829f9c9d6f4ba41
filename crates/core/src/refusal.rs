//! Refusals: why a command was not accepted, naming each rule that refused and what would satisfy it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A rule of the spec (or of Greenlight's policy) that can refuse a command.
///
/// The snake_case name is stable: the API and the CLI print it, scripts match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The spec's Permissions section: the actor lacks a role that may do this.
    Permission,
    /// The release status state machine.
    StatusTransition,
    /// Minimum lead time from code freeze to deployment.
    LeadTime,
    /// Deployment windows and blackouts.
    DeploymentWindow,
    /// Quality gates of a phase not passed.
    QualityGate,
    /// Only an engineering lead may override a gate, with a justification.
    GateOverride,
    /// The approval matrix per release type.
    ApprovalMatrix,
    /// Major releases need a stakeholder review besides the 3 approvals.
    StakeholderReview,
    /// The Go/No-Go decision.
    GoNoGo,
    /// Severity 1 bugs block; Severity 2 block unless a workaround exists.
    BlockingBug,
    /// One deployment at a time.
    DeploymentInProgress,
    /// Semantic versioning: valid and moving forward.
    Version,
    /// Code freeze must come before release candidates and staging.
    CodeFreeze,
    /// A rollback needs a previous version to return to.
    RollbackTarget,
    /// The command repeats something already recorded.
    AlreadyRecorded,
    /// The command itself is incomplete or malformed.
    Input,
    /// Release cadence: when a type of release can be planned.
    Cadence,
    /// A high-risk action (a database rollback) needs explicit confirmation.
    Confirmation,
    /// Feature Flag Rules: each rollout stage is watched for a minimum time before the next.
    FlagDwell,
    /// Feature Flag Rules: a killed flag does not advance until restored.
    FlagRollout,
    /// Dashboard passwords: at least 12 characters, at most 1024 bytes.
    PasswordLength,
    /// Post-rollback actions ("schedule retry after fixes"): after a rollback or a failed
    /// production deployment, a retry needs a new release candidate on staging, and everything
    /// from staging on is given again.
    RetryCandidate,
    /// The Go/No-Go's "check current production health (no active incidents)": an open
    /// Severity 1 bug on the live release or an unresolved health alert refuses Go.
    ProductionHealth,
    /// Versions reach production in increasing order (rollbacks aside): a version may not go out
    /// before a lower one still planned, nor after the one live.
    VersionOrder,
    /// Feature Flag Rules: a release flag's rollout rises through the policy's stages
    /// (10% -> 25% -> 50% -> 100%), skipping none, unless its kind is exempt.
    FlagRolloutPlan,
}

impl Rule {
    /// The stable snake_case name of the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Permission => "permission",
            Rule::StatusTransition => "status_transition",
            Rule::LeadTime => "lead_time",
            Rule::DeploymentWindow => "deployment_window",
            Rule::QualityGate => "quality_gate",
            Rule::GateOverride => "gate_override",
            Rule::ApprovalMatrix => "approval_matrix",
            Rule::StakeholderReview => "stakeholder_review",
            Rule::GoNoGo => "go_no_go",
            Rule::BlockingBug => "blocking_bug",
            Rule::DeploymentInProgress => "deployment_in_progress",
            Rule::Version => "version",
            Rule::CodeFreeze => "code_freeze",
            Rule::RollbackTarget => "rollback_target",
            Rule::AlreadyRecorded => "already_recorded",
            Rule::Input => "input",
            Rule::Cadence => "cadence",
            Rule::Confirmation => "confirmation",
            Rule::FlagDwell => "flag_dwell",
            Rule::FlagRollout => "flag_rollout",
            Rule::PasswordLength => "password_length",
            Rule::RetryCandidate => "retry_candidate",
            Rule::ProductionHealth => "production_health",
            Rule::VersionOrder => "version_order",
            Rule::FlagRolloutPlan => "flag_rollout_plan",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule's refusal: what is wrong and what would satisfy the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// The rule that refused.
    pub rule: Rule,
    /// What is wrong, in a sentence.
    pub message: String,
    /// What would satisfy the rule.
    pub satisfy: String,
}

impl Reason {
    /// A reason of `rule`.
    pub fn new(rule: Rule, message: impl Into<String>, satisfy: impl Into<String>) -> Self {
        Reason {
            rule,
            message: message.into(),
            satisfy: satisfy.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.rule, self.message, self.satisfy)
    }
}

/// A command refused by one or more rules. Every failing rule is listed, not only the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    /// The failing rules, in the order they were checked.
    pub reasons: Vec<Reason>,
}

impl Refusal {
    /// A refusal by a single rule.
    pub fn one(rule: Rule, message: impl Into<String>, satisfy: impl Into<String>) -> Self {
        Refusal {
            reasons: vec![Reason::new(rule, message, satisfy)],
        }
    }

    /// `Ok(())` when no rule failed, else a refusal listing them.
    pub fn check(reasons: Vec<Reason>) -> Result<(), Refusal> {
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Refusal { reasons })
        }
    }

    /// The first failing rule (the one the HTTP API names in `rule`).
    pub fn rule(&self) -> Option<Rule> {
        self.reasons.first().map(|r| r.rule)
    }

    /// Whether any reason is of `rule`.
    pub fn has(&self, rule: Rule) -> bool {
        self.reasons.iter().any(|r| r.rule == rule)
    }
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Refusal {
            reasons: vec![reason],
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused by ")?;
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{reason}")?;
        }
        Ok(())
    }
}
