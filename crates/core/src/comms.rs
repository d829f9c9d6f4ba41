//! Stakeholder communications: which notices the spec's Communication Protocols and Rollback
//! Communication call for, on which event, for whom, through which channel and when; the
//! `[communications]` policy (channels, recipients per audience, retries, template overrides);
//! and the default templates. Sending is the server's; this decides only what is owed.
//!
//! The schedule (spec, Phase 1 step 4, Phase 3 pre-deployment, Phase 4, Rollback Communication):
//!
//! | moment | notices |
//! |---|---|
//! | code freeze | internal email (schedule, contents); beta testers email (staging preview); internal chat (maintenance window, for system admins) |
//! | `pre_deploy_notice_minutes` before the planned deployment | status page maintenance notice; subscribers email; internal chat "deployment starting" |
//! | deployment completed | status page announcement; internal email; in-app announcement for a major release; a hotfix's are "issue resolved" |
//! | deployment failed | internal chat; internal email |
//! | rollback initiated | internal chat at once |
//! | rollback completed | internal email (what, why, next steps); status page "service restored"; subscribers email when users had the release |

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::release::{Audience, CommunicationType, ReleaseType};
use crate::state::Release;

/// `[communications]`: channels, recipients, retries and template overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommunicationsPolicy {
    /// The maintenance notice goes out this long before a planned production deployment.
    pub pre_deploy_notice_minutes: u32,
    /// Delivery retries before a message becomes a dead letter.
    pub retry: DeliveryRetry,
    /// Email over SMTP; no `host`: no email is sent.
    pub email: EmailChannel,
    /// Chat incoming webhooks (Slack or Teams), each for one or more audiences.
    pub chat: Vec<ChatWebhook>,
    /// Email recipients per audience (`internal = ["eng@mlc.example"]`), besides those added
    /// through the API (`greenlight comms recipients add`).
    pub recipients: BTreeMap<AudienceName, Vec<String>>,
    /// Template overrides by name (`[communications.templates.rollback_completed]`).
    pub templates: BTreeMap<String, TemplateOverride>,
    /// Public base URL of this Greenlight, for links in messages and the status feed.
    pub public_url: String,
}

impl Default for CommunicationsPolicy {
    fn default() -> Self {
        CommunicationsPolicy {
            pre_deploy_notice_minutes: 60,
            retry: DeliveryRetry::default(),
            email: EmailChannel::default(),
            chat: Vec::new(),
            recipients: BTreeMap::new(),
            templates: BTreeMap::new(),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

impl CommunicationsPolicy {
    /// Problems as `(TOML path, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |path: String, message: &str| out.push((path, message.to_string()));
        if self.retry.max_attempts == 0 {
            push(
                "communications.retry.max_attempts".into(),
                "must be at least 1",
            );
        }
        if !self.email.host.is_empty() && !self.email.from.contains('@') {
            push(
                "communications.email.from".into(),
                "needs an address (`Greenlight <greenlight@mlc.example>`)",
            );
        }
        if !self.email.password_env.is_empty() && !self.email.password_file.is_empty() {
            push(
                "communications.email".into(),
                "set password_env or password_file, not both",
            );
        }
        for (i, chat) in self.chat.iter().enumerate() {
            let sources = [&chat.url_env, &chat.url_file, &chat.url]
                .iter()
                .filter(|s| !s.is_empty())
                .count();
            if sources != 1 {
                push(
                    format!("communications.chat[{i}]"),
                    "set exactly one of url_env, url_file or url",
                );
            }
        }
        for (audience, addresses) in &self.recipients {
            for address in addresses.iter().filter(|a| !a.contains('@')) {
                push(
                    format!(
                        "communications.recipients.{}",
                        audience_name((*audience).into())
                    ),
                    &format!("`{address}` is not an email address"),
                );
            }
        }
        for name in self.templates.keys() {
            if !TEMPLATES.iter().any(|(n, _, _)| n == name) {
                let known: Vec<&str> = TEMPLATES.iter().map(|(n, _, _)| *n).collect();
                push(
                    format!("communications.templates.{name}"),
                    &format!("no such notice; use one of: {}", known.join(", ")),
                );
            }
        }
        out
    }
}

/// An audience as a policy key (`internal`, `subscribers`, `all_users`, `beta_testers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudienceName {
    /// The internal team.
    Internal,
    /// Subscribers (school admins).
    Subscribers,
    /// Every user.
    AllUsers,
    /// Beta testers.
    BetaTesters,
}

impl From<Audience> for AudienceName {
    fn from(audience: Audience) -> Self {
        match audience {
            Audience::Internal => AudienceName::Internal,
            Audience::Subscribers => AudienceName::Subscribers,
            Audience::AllUsers => AudienceName::AllUsers,
            Audience::BetaTesters => AudienceName::BetaTesters,
        }
    }
}

impl From<AudienceName> for Audience {
    fn from(name: AudienceName) -> Self {
        match name {
            AudienceName::Internal => Audience::Internal,
            AudienceName::Subscribers => Audience::Subscribers,
            AudienceName::AllUsers => Audience::AllUsers,
            AudienceName::BetaTesters => Audience::BetaTesters,
        }
    }
}

/// How often and how long a failing delivery is retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryRetry {
    /// Attempts in all; after the last failure the message is a dead letter.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles after each further one.
    pub first_delay_seconds: u32,
    /// The longest wait between attempts.
    pub max_delay_seconds: u32,
}

impl Default for DeliveryRetry {
    fn default() -> Self {
        DeliveryRetry {
            max_attempts: 8,
            first_delay_seconds: 30,
            max_delay_seconds: 3600,
        }
    }
}

impl DeliveryRetry {
    /// When to try again after `attempts` failed attempts; `None`: give up (dead letter).
    pub fn next_attempt(&self, attempts: u32, now: Timestamp) -> Option<Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doubling = 2u64.saturating_pow(attempts.saturating_sub(1));
        let delay = u64::from(self.first_delay_seconds)
            .saturating_mul(doubling)
            .min(u64::from(self.max_delay_seconds));
        let delay = SignedDuration::from_secs(i64::try_from(delay).unwrap_or(i64::MAX));
        Some(now.checked_add(delay).unwrap_or(now))
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host.
    None,
}

/// `[communications.email]`: the SMTP relay. Secrets come from the environment or a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailChannel {
    /// Relay host; empty: email is off.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// The `From:` address.
    pub from: String,
    /// SMTP user; empty: no authentication.
    pub username: String,
    /// Environment variable holding the SMTP password.
    pub password_env: String,
    /// File holding the SMTP password (first line).
    pub password_file: String,
}

impl Default for EmailChannel {
    fn default() -> Self {
        EmailChannel {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            from: "Greenlight <greenlight@localhost>".into(),
            username: String::new(),
            password_env: String::new(),
            password_file: String::new(),
        }
    }
}

/// The JSON shape a chat webhook takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatShape {
    /// Slack incoming webhook (`{"text": ...}`), also read by Mattermost and Rocket.Chat.
    Slack,
    /// Microsoft Teams incoming webhook (a MessageCard).
    Teams,
}

/// `[[communications.chat]]`: one incoming webhook. Its URL is a secret (it carries the token),
/// so it comes from the environment or a file; `url` is for a receiver without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatWebhook {
    /// A name for lists and errors (`eng-releases`).
    pub name: String,
    /// Its JSON shape.
    #[serde(default = "slack")]
    pub shape: ChatShape,
    /// Environment variable holding the URL.
    #[serde(default)]
    pub url_env: String,
    /// File holding the URL (first line).
    #[serde(default)]
    pub url_file: String,
    /// The URL itself, when it holds no secret.
    #[serde(default)]
    pub url: String,
    /// Audiences whose chat notices go here.
    #[serde(default = "internal_only")]
    pub audiences: Vec<AudienceName>,
}

fn slack() -> ChatShape {
    ChatShape::Slack
}

fn internal_only() -> Vec<AudienceName> {
    vec![AudienceName::Internal]
}

/// A team's own wording for one notice (minijinja; both parts optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateOverride {
    /// Subject line template.
    pub subject: Option<String>,
    /// Body template (Markdown).
    pub body: Option<String>,
}

/// One notice owed: what to say (template), through which channel, to whom, from when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Template name (`rollback_completed`).
    pub template: String,
    /// Channel.
    pub channel: CommunicationType,
    /// Audience.
    pub audience: Audience,
    /// Not before.
    pub at: Timestamp,
    /// Unique per release, moment and recipient group: the outbox never holds it twice.
    pub key: String,
    /// For a maintenance notice: the deployment it announces (stale if the release moved).
    pub deploy_at: Option<Timestamp>,
    /// Facts of the causing event the template may use (`reason`).
    pub facts: BTreeMap<String, String>,
}

/// The notices `events` (just decided for `before`) call for, limited to channels that can
/// reach their audience under `policy`: email needs a relay, chat a webhook for the audience.
pub fn notices(before: &Release, events: &[Event], policy: &CommunicationsPolicy) -> Vec<Notice> {
    let release_type = before.record.release_type;
    let mut out = Vec::new();
    for event in events {
        let at = event.timestamp();
        let stamp = at.as_microsecond();
        let mut owe = |template: &str, channel, audience, facts: &[(&str, &str)]| {
            out.push(Notice {
                template: template.into(),
                channel,
                audience,
                at,
                key: format!(
                    "comms:{}:{template}:{}:{}:{stamp}",
                    before.record.release_id,
                    channel_name(channel),
                    audience_name(audience)
                ),
                deploy_at: None,
                facts: facts
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
            });
        };
        use Audience::*;
        use CommunicationType::*;
        match event {
            Event::ReleasePlanned { planned_date, .. }
            | Event::ReleaseRescheduled { planned_date, .. } => {
                out.extend(maintenance_notices(before, *planned_date, policy));
            }
            Event::CodeFreezeStarted { .. } => {
                owe("code_freeze", Email, Internal, &[]);
                owe("staging_preview", Email, BetaTesters, &[]);
                owe("maintenance_scheduled", Slack, Internal, &[]);
            }
            Event::DeploymentCompleted { .. } if release_type == ReleaseType::Hotfix => {
                owe("hotfix_resolved", StatusPage, AllUsers, &[]);
                owe("hotfix_resolved", Email, Internal, &[]);
            }
            Event::DeploymentCompleted { .. } => {
                owe("release_announcement", StatusPage, AllUsers, &[]);
                owe("release_complete", Email, Internal, &[]);
                if release_type == ReleaseType::Major {
                    owe("release_announcement", InApp, AllUsers, &[]);
                }
            }
            Event::DeploymentFailed { failure_reason, .. } => {
                let facts = [("reason", failure_reason.as_str())];
                owe("deployment_failed", Slack, Internal, &facts);
                owe("deployment_failed", Email, Internal, &facts);
            }
            Event::RollbackInitiated {
                rollback_reason, ..
            } => {
                owe(
                    "rollback_initiated",
                    Slack,
                    Internal,
                    &[("reason", rollback_reason)],
                );
            }
            Event::RollbackCompleted { .. } => {
                let reason = before
                    .rollback
                    .as_ref()
                    .map(|run| run.reason.clone())
                    .or_else(|| before.record.rollback_reason.clone())
                    .unwrap_or_default();
                let facts = [("reason", reason.as_str())];
                owe("rollback_completed", Email, Internal, &facts);
                owe("service_restored", StatusPage, AllUsers, &facts);
                if user_facing(before) {
                    owe("service_restored", Email, Subscribers, &facts);
                }
            }
            _ => {}
        }
    }
    out.retain(|notice| reachable(notice, policy));
    out
}

/// The three notices due `pre_deploy_notice_minutes` before a deployment at `deploy_at`.
fn maintenance_notices(
    release: &Release,
    deploy_at: Timestamp,
    policy: &CommunicationsPolicy,
) -> Vec<Notice> {
    let lead = SignedDuration::from_mins(i64::from(policy.pre_deploy_notice_minutes));
    let at = deploy_at.checked_sub(lead).unwrap_or(deploy_at);
    let notice = |template: &str, channel, audience| Notice {
        template: template.into(),
        channel,
        audience,
        at,
        key: format!(
            "comms:{}:{template}:{}:{}:{}",
            release.record.release_id,
            channel_name(channel),
            audience_name(audience),
            deploy_at.as_microsecond()
        ),
        deploy_at: Some(deploy_at),
        facts: BTreeMap::new(),
    };
    vec![
        notice(
            "maintenance_notice",
            CommunicationType::StatusPage,
            Audience::AllUsers,
        ),
        notice(
            "maintenance_notice",
            CommunicationType::Email,
            Audience::Subscribers,
        ),
        notice(
            "deployment_starting",
            CommunicationType::Slack,
            Audience::Internal,
        ),
    ]
}

/// Whether users had the release before it was rolled back (its production deployment
/// completed), so subscribers are owed an explanation.
pub fn user_facing(release: &Release) -> bool {
    release.checklist.production_deployed || release.record.deployed_date.is_some()
}

/// Whether a maintenance notice still announces the release's next deployment: it has not
/// been rescheduled, cancelled, deployed or rolled back since the notice was owed.
pub fn still_due(release: &Release, notice: &Notice) -> bool {
    use crate::release::ReleaseStatus;
    let Some(deploy_at) = notice.deploy_at else {
        return true;
    };
    let open = !matches!(
        release.record.status,
        ReleaseStatus::Cancelled | ReleaseStatus::Deployed | ReleaseStatus::RolledBack
    );
    open && release.record.planned_date == deploy_at
}

/// Whether `policy` has a channel that reaches the notice's audience.
fn reachable(notice: &Notice, policy: &CommunicationsPolicy) -> bool {
    let audience = AudienceName::from(notice.audience);
    match notice.channel {
        // Recipients may be added through the API until the message is due, so they are
        // looked up at delivery; an audience with none then is noted, not failed.
        CommunicationType::Email => !policy.email.host.is_empty(),
        CommunicationType::Slack => policy.chat.iter().any(|c| c.audiences.contains(&audience)),
        CommunicationType::StatusPage | CommunicationType::InApp => true,
    }
}

/// `email`, `status_page`, `slack` or `in_app`.
pub fn channel_name(channel: CommunicationType) -> &'static str {
    match channel {
        CommunicationType::Email => "email",
        CommunicationType::StatusPage => "status_page",
        CommunicationType::Slack => "slack",
        CommunicationType::InApp => "in_app",
    }
}

/// `internal`, `subscribers`, `all_users` or `beta_testers`.
pub fn audience_name(audience: Audience) -> &'static str {
    match audience {
        Audience::Internal => "internal",
        Audience::Subscribers => "subscribers",
        Audience::AllUsers => "all_users",
        Audience::BetaTesters => "beta_testers",
    }
}

/// The default wording of each notice: `(name, subject, body)`, minijinja over `release`
/// (the spec's ReleaseRecord plus `title`, `deploy_local`, `notes`), `reason` and `url`.
pub const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "code_freeze",
        "Code freeze: MLC {{ release.version }} deploys {{ deploy_local }}",
        "Code freeze for {{ release.release_type }} release {{ release.version }} has started \
         (branch {{ branch }}).\n\nDeployment: {{ deploy_local }}.\n\n\
         {% if release.included_features %}Features: {{ release.included_features | join(\", \") }}\n{% endif %}\
         {% if release.included_fixes %}Fixes: {{ release.included_fixes | join(\", \") }}\n{% endif %}\
         {% if notes %}\n{{ notes }}\n{% endif %}\nDetails: {{ url }}",
    ),
    (
        "staging_preview",
        "Preview MLC {{ release.version }} on staging",
        "MLC {{ release.version }} is being prepared and will be on the staging environment for \
         preview before it ships on {{ deploy_local }}.\n{% if notes %}\n{{ notes }}\n{% endif %}",
    ),
    (
        "maintenance_scheduled",
        "Maintenance window scheduled: {{ deploy_local }}",
        "System admins: MLC {{ release.version }} is scheduled to deploy {{ deploy_local }}. \
         Plan the maintenance window.",
    ),
    (
        "maintenance_notice",
        "Scheduled maintenance: {{ deploy_local }}",
        "MLC will be updated to version {{ release.version }} at {{ deploy_local }}. \
         The platform stays available; a short interruption is possible.",
    ),
    (
        "deployment_starting",
        "Deployment starting: MLC {{ release.version }}",
        "Production deployment of MLC {{ release.version }} starts {{ deploy_local }}. {{ url }}",
    ),
    (
        "release_announcement",
        "MLC {{ release.version }} is live",
        "MLC {{ release.version }} is now available.{% if notes %}\n\n{{ notes }}{% endif %}",
    ),
    (
        "release_complete",
        "Release complete: MLC {{ release.version }}",
        "MLC {{ release.version }} is in production{% if release.deployment_duration_minutes %} \
         (deployment took {{ release.deployment_duration_minutes }} minutes){% endif %}. \
         Monitoring continues. {{ url }}",
    ),
    (
        "hotfix_resolved",
        "Resolved: {{ title or release.version }}",
        "The issue{% if title %} \"{{ title }}\"{% endif %} is resolved by MLC {{ release.version }}.",
    ),
    (
        "deployment_failed",
        "Deployment failed: MLC {{ release.version }}",
        "The production deployment of MLC {{ release.version }} failed: {{ reason }}. {{ url }}",
    ),
    (
        "rollback_initiated",
        "Production rollback initiated: MLC {{ release.version }}",
        "Production rollback initiated for MLC {{ release.version }}: {{ reason }}. {{ url }}",
    ),
    (
        "rollback_completed",
        "Rolled back: MLC {{ release.version }}",
        "MLC {{ release.version }} was rolled back.\n\nWhy: {{ reason }}\n\n\
         Next steps: the action items and the incident report are on the release. {{ url }}",
    ),
    (
        "service_restored",
        "Service restored",
        "We returned MLC to its previous version after a problem with version \
         {{ release.version }}. Everything works as before; we will ship the changes again once \
         the problem is fixed.",
    ),
];

/// The `(subject, body)` templates for `name`, with the policy's overrides applied.
pub fn template<'a>(name: &str, policy: &'a CommunicationsPolicy) -> Option<(&'a str, &'a str)> {
    let (_, subject, body) = TEMPLATES.iter().find(|(n, _, _)| *n == name)?;
    let custom = policy.templates.get(name);
    let subject = custom.and_then(|t| t.subject.as_deref()).unwrap_or(subject);
    let body = custom.and_then(|t| t.body.as_deref()).unwrap_or(body);
    Some((subject, body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use semver::Version;
    use uuid::Uuid;

    use super::*;
    use crate::decide::{Context, PlanRelease, World, plan};
    use crate::policy::Policy;
    use crate::roles::{Actor, Role};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// Email to every audience and one chat webhook for the internal team.
    fn policy() -> CommunicationsPolicy {
        let mut policy = CommunicationsPolicy::default();
        policy.email.host = "127.0.0.1".into();
        for audience in [
            AudienceName::Internal,
            AudienceName::Subscribers,
            AudienceName::BetaTesters,
        ] {
            policy
                .recipients
                .insert(audience, vec!["x@mlc.test".into()]);
        }
        policy.chat.push(ChatWebhook {
            name: "eng".into(),
            shape: ChatShape::Slack,
            url_env: String::new(),
            url_file: String::new(),
            url: "http://127.0.0.1:1/hook".into(),
            audiences: vec![AudienceName::Internal],
        });
        policy
    }

    /// A planned release of `release_type` and the events that planned it.
    fn planned(release_type: ReleaseType) -> (Release, Vec<Event>) {
        let policy = Policy::default();
        let actor = Actor::user("erin", [Role::EngineeringLead, Role::OnCallEngineer]);
        let world = World::default();
        let hotfix = release_type == ReleaseType::Hotfix;
        let ctx = Context {
            policy: &policy,
            now: at("2026-11-10T18:00:00Z"),
            actor: &actor,
            world: &world,
        };
        let command = PlanRelease {
            release_id: Uuid::new_v4(),
            checklist_id: Uuid::new_v4(),
            release_type,
            version: Some(Version::new(1, 4, 0)),
            planned_date: None,
            title: hotfix.then(|| "scores not saved".into()),
            from_version: hotfix.then(|| Version::new(1, 3, 0)),
            trigger: hotfix.then(|| "score_recording_failure".into()),
            severity: None,
        };
        let events = plan(&command, &ctx).unwrap();
        (Release::replay(&events).unwrap(), events)
    }

    fn completed(release: &Release) -> Event {
        Event::DeploymentCompleted {
            release_id: release.record.release_id,
            version: release.record.version.clone(),
            release_type: release.record.release_type,
            duration_minutes: 12,
            deployed_by: "erin".into(),
            timestamp: at("2026-11-19T22:10:00Z"),
        }
    }

    fn rollback_completed(release: &Release) -> Event {
        Event::RollbackCompleted {
            release_id: release.record.release_id,
            from_version: Version::new(1, 4, 0),
            to_version: Version::new(1, 3, 0),
            duration_minutes: 3,
            initiated_by: "erin".into(),
            timestamp: at("2026-11-19T23:00:00Z"),
        }
    }

    fn owed(notices: &[Notice]) -> Vec<(String, &'static str, &'static str)> {
        notices
            .iter()
            .map(|n| {
                (
                    n.template.clone(),
                    channel_name(n.channel),
                    audience_name(n.audience),
                )
            })
            .collect()
    }

    #[test]
    fn a_plan_owes_the_maintenance_notices_an_hour_before_the_deployment() {
        let (release, events) = planned(ReleaseType::Standard);
        let notices = notices(&release, &events, &policy());
        assert_eq!(
            owed(&notices),
            [
                ("maintenance_notice".into(), "status_page", "all_users"),
                ("maintenance_notice".into(), "email", "subscribers"),
                ("deployment_starting".into(), "slack", "internal"),
            ]
        );
        let deploy = release.record.planned_date;
        for notice in &notices {
            assert_eq!(notice.at, deploy - SignedDuration::from_hours(1));
            assert_eq!(notice.deploy_at, Some(deploy));
            assert!(still_due(&release, notice));
        }
        let mut moved = release.clone();
        moved.record.planned_date = deploy + SignedDuration::from_hours(24);
        assert!(
            !still_due(&moved, &notices[0]),
            "a rescheduled release makes it stale"
        );
    }

    #[test]
    fn channels_that_cannot_reach_an_audience_owe_nothing() {
        let (release, events) = planned(ReleaseType::Standard);
        let only_public = notices(&release, &events, &CommunicationsPolicy::default());
        assert_eq!(
            owed(&only_public),
            [("maintenance_notice".into(), "status_page", "all_users")]
        );
    }

    #[test]
    fn completion_of_a_major_release_also_owes_an_in_app_announcement_and_a_hotfix_is_resolved() {
        let (major, _) = planned(ReleaseType::Major);
        let done = notices(&major, &[completed(&major)], &policy());
        assert_eq!(
            owed(&done),
            [
                ("release_announcement".into(), "status_page", "all_users"),
                ("release_complete".into(), "email", "internal"),
                ("release_announcement".into(), "in_app", "all_users"),
            ]
        );
        let (hotfix, _) = planned(ReleaseType::Hotfix);
        let resolved = notices(&hotfix, &[completed(&hotfix)], &policy());
        assert_eq!(
            owed(&resolved),
            [
                ("hotfix_resolved".into(), "status_page", "all_users"),
                ("hotfix_resolved".into(), "email", "internal"),
            ]
        );
    }

    #[test]
    fn subscribers_hear_of_a_rollback_only_when_users_had_the_release() {
        let (mut release, _) = planned(ReleaseType::Standard);
        release.record.rollback_reason = Some("high_error_rate".into());
        let before_users = notices(&release, &[rollback_completed(&release)], &policy());
        assert_eq!(
            owed(&before_users),
            [
                ("rollback_completed".into(), "email", "internal"),
                ("service_restored".into(), "status_page", "all_users"),
            ]
        );
        assert_eq!(before_users[0].facts["reason"], "high_error_rate");
        release.record.deployed_date = Some(at("2026-11-19T22:10:00Z"));
        let after_users = notices(&release, &[rollback_completed(&release)], &policy());
        assert_eq!(after_users.len(), 3);
        assert_eq!(
            owed(&after_users)[2],
            ("service_restored".into(), "email", "subscribers")
        );
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_cap_then_give_up() {
        let retry = DeliveryRetry {
            max_attempts: 5,
            first_delay_seconds: 30,
            max_delay_seconds: 100,
        };
        let now = at("2026-11-10T18:00:00Z");
        let waits: Vec<Option<i64>> = (1..=5)
            .map(|n| {
                retry
                    .next_attempt(n, now)
                    .map(|t| t.duration_since(now).as_secs())
            })
            .collect();
        assert_eq!(waits, [Some(30), Some(60), Some(100), Some(100), None]);
    }

    #[test]
    fn problems_name_their_toml_path() {
        let mut policy = policy();
        policy.email.from = "nobody".into();
        policy.chat[0].url_env = "CHAT_URL".into();
        policy
            .templates
            .insert("nope".into(), TemplateOverride::default());
        policy
            .recipients
            .insert(AudienceName::Internal, vec!["eng".into()]);
        let paths: Vec<String> = policy.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "communications.email.from",
                "communications.chat[0]",
                "communications.recipients.internal",
                "communications.templates.nope",
            ]
        );
    }
}
