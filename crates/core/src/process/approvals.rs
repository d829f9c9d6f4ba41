//! The spec's **Approval Matrix** and the Phase 3 **Go/No-Go Decision**: approvals by distinct
//! people per release type, the stakeholder review, the Go/No-Go votes and "production health
//! verified, no active incidents".

use jiff::Timestamp;
use semver::Version;
use serde::Serialize;

use crate::event::Event;
use crate::policy::Policy;
use crate::process::context::{
    Context, local_text, require_status, require_text, retry_not_on_staging,
};
use crate::process::gates::{check_no_blocking_bugs, gate_reasons, pre_production_phases};
use crate::refusal::{Reason, Refusal, Rule};
use crate::release::{GoNoGo, ReleaseStatus, ReleaseType};
use crate::roles::{Action, Role};
use crate::state::Release;

/// Where the approval matrix stands for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalStatus {
    /// Required roles that have not approved.
    pub missing_required: Vec<Role>,
    /// Distinct approvals so far.
    pub count: u32,
    /// Approvals needed.
    pub minimum: u32,
    /// A stakeholder review is needed and missing.
    pub stakeholder_review_missing: bool,
}

impl ApprovalStatus {
    /// The matrix is satisfied.
    pub fn satisfied(&self) -> bool {
        self.missing_required.is_empty()
            && self.count >= self.minimum
            && !self.stakeholder_review_missing
    }

    /// The reasons it is not.
    pub fn reasons(&self, release_type: ReleaseType) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if !self.missing_required.is_empty() || self.count < self.minimum {
            let missing: Vec<&str> = self.missing_required.iter().map(|r| r.as_str()).collect();
            let detail = if missing.is_empty() {
                String::new()
            } else {
                format!("; missing {}", missing.join(", "))
            };
            reasons.push(Reason::new(
                Rule::ApprovalMatrix,
                format!(
                    "{release_type} needs {} of its approvals, has {}{detail}",
                    self.minimum, self.count
                ),
                "each missing role approves with `greenlight approve VERSION --role ROLE`",
            ));
        }
        if self.stakeholder_review_missing {
            reasons.push(Reason::new(
                Rule::StakeholderReview,
                format!(
                    "a {release_type} release needs a stakeholder review besides its approvals"
                ),
                "the product owner or engineering lead records the stakeholder review",
            ));
        }
        reasons
    }
}

/// Where the approval matrix stands for `release`.
pub fn approval_status(release: &Release, policy: &Policy) -> ApprovalStatus {
    let rule = policy.approvals.of(release.release_type());
    let approved = |role: &Role| release.approvals.iter().any(|a| a.role == *role);
    let counted = rule
        .required
        .iter()
        .chain(rule.optional.iter())
        .filter(|r| approved(r))
        .count();
    ApprovalStatus {
        missing_required: rule
            .required
            .iter()
            .filter(|r| !approved(r))
            .copied()
            .collect(),
        count: u32::try_from(counted).unwrap_or(u32::MAX),
        minimum: rule.minimum,
        stakeholder_review_missing: rule.stakeholder_review && release.stakeholder_review.is_none(),
    }
}

pub(crate) fn approve(release: &Release, role: Role, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    if !ctx.actor.has(role) {
        return Err(Refusal::one(
            Rule::Permission,
            format!("{} does not hold the role {role}", ctx.actor.id),
            format!("someone with the role {role} approves"),
        ));
    }
    let rule = ctx.policy.approvals.of(release.release_type());
    if !rule.required.contains(&role) && !rule.optional.contains(&role) {
        return Err(Refusal::one(
            Rule::ApprovalMatrix,
            format!(
                "{role} does not approve {} releases",
                release.release_type()
            ),
            "the approval matrix lists the roles that approve each release type",
        ));
    }
    require_status(release, &[ReleaseStatus::Staging], "approve")?;
    if let Some(reason) = retry_not_on_staging(release) {
        return Err(reason.into());
    }
    if let Some(existing) = release.approvals.iter().find(|a| a.role == role) {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("{role} already approved (by {})", existing.approved_by),
            "nothing to do",
        ));
    }
    if let Some(other) = release
        .approvals
        .iter()
        .find(|a| a.approved_by == ctx.actor.id)
    {
        return Err(Refusal::one(
            Rule::ApprovalMatrix,
            format!(
                "{} already approved as {}: one person cannot approve twice",
                ctx.actor.id, other.role
            ),
            format!("another person with the role {role} approves"),
        ));
    }
    if role == Role::QaLead {
        // The QA lead's approval is the staging validation sign-off.
        Refusal::check(gate_reasons(release, pre_production_phases(release), ctx))?;
    }
    Ok(vec![Event::ApprovalRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        role,
        approved_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

pub(crate) fn stakeholder_review(
    release: &Release,
    notes: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RecordStakeholderReview)?;
    if !ctx
        .policy
        .approvals
        .of(release.release_type())
        .stakeholder_review
    {
        return Err(Refusal::one(
            Rule::StakeholderReview,
            format!(
                "a {} release needs no stakeholder review",
                release.release_type()
            ),
            "nothing to do",
        ));
    }
    require_status(
        release,
        &[ReleaseStatus::Staging],
        "record the stakeholder review",
    )?;
    require_text(
        notes,
        "review notes",
        "\"training materials reviewed with 3 districts\"",
    )?;
    Ok(vec![Event::StakeholderReviewRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        notes: notes.trim().to_string(),
        reviewed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// The decision that follows from the latest vote of each participant: any "no-go" (from a
/// required or an optional participant) stops, "go" needs every required participant.
pub fn go_no_go_decision(votes: &[crate::state::Vote], required: &[Role]) -> GoNoGo {
    if votes.iter().any(|v| v.vote == GoNoGo::NoGo) {
        return GoNoGo::NoGo;
    }
    let all_go = required.iter().all(|role| {
        votes
            .iter()
            .any(|v| v.role == *role && v.vote == GoNoGo::Go)
    });
    if all_go { GoNoGo::Go } else { GoNoGo::Pending }
}

/// Who takes part in a release type's Go/No-Go: its approval-matrix roles, required ones first.
/// The required ones must vote go; the optional ones may vote, and their "no-go" counts.
pub fn go_no_go_participants(policy: &Policy, release_type: ReleaseType) -> Vec<Role> {
    let rule = policy.approvals.of(release_type);
    rule.required
        .iter()
        .chain(rule.optional.iter())
        .copied()
        .collect()
}

pub(crate) fn go_no_go(
    release: &Release,
    role: Role,
    vote: GoNoGo,
    notes: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let release_type = release.release_type();
    if !ctx.policy.go_no_go.required_for.contains(&release_type) {
        return Err(Refusal::one(
            Rule::GoNoGo,
            format!("{release_type} releases have no Go/No-Go meeting"),
            "their approvals decide; deploy once the approval matrix is satisfied",
        ));
    }
    let participants = go_no_go_participants(ctx.policy, release_type);
    if !participants.contains(&role) || !ctx.actor.has(role) {
        let names: Vec<&str> = participants.iter().map(|r| r.as_str()).collect();
        return Err(Refusal::one(
            Rule::Permission,
            format!("{} cannot vote as {role}", ctx.actor.id),
            format!(
                "the Go/No-Go participants of a {release_type} release vote in their own role: {}",
                names.join(", ")
            ),
        ));
    }
    if vote == GoNoGo::Pending {
        return Err(Refusal::one(
            Rule::Input,
            "a vote is go or no-go",
            "vote go or no-go",
        ));
    }
    require_status(release, &[ReleaseStatus::Staging], "vote on Go/No-Go")?;
    if let Some(reason) = retry_not_on_staging(release) {
        return Err(reason.into());
    }
    if vote == GoNoGo::Go {
        let mut reasons = gate_reasons(release, pre_production_phases(release), ctx);
        reasons.extend(approval_status(release, ctx.policy).reasons(release_type));
        reasons.extend(check_no_blocking_bugs(release, ctx).err());
        reasons.extend(production_health_reasons(ctx));
        Refusal::check(reasons)?;
    }
    let mut votes: Vec<crate::state::Vote> = release
        .votes
        .iter()
        .filter(|v| v.role != role)
        .cloned()
        .collect();
    votes.push(crate::state::Vote {
        role,
        vote,
        voted_by: ctx.actor.id.clone(),
        notes: notes.clone(),
        at: ctx.now,
    });
    let required = &ctx.policy.approvals.of(release_type).required;
    Ok(vec![Event::GoNoGoVoteRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        role,
        vote,
        decision: go_no_go_decision(&votes, required),
        notes: notes.clone(),
        voted_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// An alert kind's snake_case name, as its events carry it.
pub(crate) fn alert_name(alert: crate::health::AlertKind) -> String {
    serde_json::to_value(alert)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{alert:?}"))
}

/// The Go/No-Go's "check current production health (no active incidents)": an open Severity 1
/// bug on the live release, or a health alert raised on it within the policy's minutes.
pub(crate) fn production_health_reasons(ctx: &Context) -> Vec<Reason> {
    let live = ctx
        .world
        .production_version
        .as_ref()
        .map_or_else(|| "production".to_string(), Version::to_string);
    let bugs = ctx.world.production_sev1_bugs.iter().map(|bug| {
        Reason::new(
            Rule::ProductionHealth,
            format!(
                "active incident in production: open {} bug {} on {live} ({})",
                bug.severity, bug.bug_id, bug.title
            ),
            format!(
                "resolve {} (a hotfix, or a rollback) before voting go",
                bug.bug_id
            ),
        )
    });
    let minutes = ctx.policy.go_no_go.health_alert_minutes;
    let quiet_after = |raised: Timestamp| {
        raised
            .checked_add(jiff::SignedDuration::from_mins(i64::from(minutes)))
            .unwrap_or(raised)
    };
    let alerts = ctx
        .world
        .production_health_alerts
        .iter()
        .filter(move |a| ctx.now < quiet_after(a.raised_at))
        .map(|a| {
            Reason::new(
                Rule::ProductionHealth,
                format!(
                    "unresolved health alert on {live}: {} ({}), raised at {}",
                    alert_name(a.alert),
                    a.detail,
                    local_text(a.raised_at, ctx)
                ),
                format!(
                    "resolve it: an alert counts until {minutes} minutes pass without it being raised again"
                ),
            )
        });
    bugs.chain(alerts).collect()
}
