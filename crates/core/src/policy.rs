//! Greenlight's policy: every number and rule of the spec as a default that a TOML file can override.
//!
//! [`Policy::default`] is the spec. [`Policy::from_toml`] reads a file that overrides any part of
//! it (missing keys keep their defaults), rejects unknown keys, and reports every semantic problem
//! with its TOML path, not only the first.

use std::fmt;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::calendar::{Blackout, CalendarPolicy, ClockTime, Day};
use crate::gates::GatePhase;
use crate::release::{ReleaseType, is_snake_case};
use crate::roles::Role;

pub use crate::calendar::{
    AvoidRule, CadencePolicy, CadenceRule, CalendarFile, DatedBlackout, DayRange, DeploymentPolicy,
    Effect, HolidayPolicy, RetrospectivePolicy, TypeWindows, WeeklyWindow, WindowPolicy,
};
pub use crate::flags::FeatureFlagPolicy;
pub use crate::gates::{CoveragePolicy, GatePolicy, GateSpec, SeverityPolicy};
pub use crate::health::{AutomaticRollback, PerformanceThresholds, PostReleasePolicy};
pub use crate::hotfix::{HotfixPolicy, HotfixStage, HotfixTrigger};
pub use crate::roles::{ApprovalPolicy, ApprovalRule, GoNoGoPolicy};
pub use crate::rollback::{ActionItemRule, RollbackCriteria, RollbackPolicy};

/// The whole policy. Every field has the spec's value as its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// IANA time zone that windows and schedules are in.
    pub timezone: String,
    /// Release cadence and lead times per release type.
    pub cadence: CadencePolicy,
    /// Deployment windows, avoided times, holidays and blackouts.
    pub windows: WindowPolicy,
    /// How long deployments and rollbacks are expected to take.
    pub deployment: DeploymentPolicy,
    /// Quality gates per phase.
    pub gates: GatePolicy,
    /// The approval matrix.
    pub approvals: ApprovalPolicy,
    /// Who takes part in the Go/No-Go decision.
    pub go_no_go: GoNoGoPolicy,
    /// Performance thresholds that must be met before deployment.
    pub performance: PerformanceThresholds,
    /// Coverage minimums (Test Strategy).
    pub coverage: CoveragePolicy,
    /// Which open bugs block a deployment.
    pub severity: SeverityPolicy,
    /// Rollback triggers, decision criteria and post-rollback actions.
    pub rollback: RollbackPolicy,
    /// Gradual rollout of feature flags.
    pub feature_flags: FeatureFlagPolicy,
    /// The hotfix fast path.
    pub hotfix: HotfixPolicy,
    /// Phase 4 monitoring.
    pub post_release: PostReleasePolicy,
    /// The release retrospective.
    pub retrospective: RetrospectivePolicy,
    /// The hooks Greenlight runs to deploy and roll back (none: it only records).
    pub runbooks: crate::runbook::Runbooks,
    /// Where release health metrics come from.
    pub health: crate::health::HealthPolicy,
    /// Release tags, migration and sensitive paths in the repository.
    pub git: crate::content::GitPolicy,
    /// How commits are grouped into the changelog.
    pub changelog: crate::content::ChangelogPolicy,
    /// Release notes by audience.
    pub notes: crate::content::NotesPolicy,
    /// `[communications]`: who is told what, through which channel.
    pub communications: crate::comms::CommunicationsPolicy,
    /// Resolved time zone (from `timezone`).
    #[serde(skip)]
    tz: TimeZone,
    /// Blackouts read from iCalendar files (`windows.calendars`), added by the loader.
    #[serde(skip)]
    pub calendar_blackouts: Vec<Blackout>,
}

/// The calendar reads the time zone, the windows, the cadence, the expected durations, the
/// Go/No-Go meeting's lead and the retrospective's slot of the policy.
impl CalendarPolicy for Policy {
    fn tz(&self) -> &TimeZone {
        &self.tz
    }
    fn windows(&self) -> &WindowPolicy {
        &self.windows
    }
    fn cadence(&self) -> &CadencePolicy {
        &self.cadence
    }
    fn deployment(&self) -> &DeploymentPolicy {
        &self.deployment
    }
    fn calendar_blackouts(&self) -> &[Blackout] {
        &self.calendar_blackouts
    }
    fn go_no_go_minutes_before_deployment(&self) -> u32 {
        self.go_no_go.minutes_before_deployment
    }
    fn retrospective(&self) -> &RetrospectivePolicy {
        &self.retrospective
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timezone: "America/Los_Angeles".into(),
            cadence: CadencePolicy::default(),
            windows: WindowPolicy::default(),
            deployment: DeploymentPolicy::default(),
            gates: GatePolicy::default(),
            approvals: ApprovalPolicy::default(),
            go_no_go: GoNoGoPolicy::default(),
            performance: PerformanceThresholds::default(),
            coverage: CoveragePolicy::default(),
            severity: SeverityPolicy::default(),
            rollback: RollbackPolicy::default(),
            feature_flags: FeatureFlagPolicy::default(),
            hotfix: HotfixPolicy::default(),
            post_release: PostReleasePolicy::default(),
            retrospective: RetrospectivePolicy::default(),
            runbooks: crate::runbook::Runbooks::default(),
            health: crate::health::HealthPolicy::default(),
            git: crate::content::GitPolicy::default(),
            changelog: crate::content::ChangelogPolicy::default(),
            notes: crate::content::NotesPolicy::default(),
            communications: crate::comms::CommunicationsPolicy::default(),
            tz: TimeZone::get("America/Los_Angeles").unwrap_or(TimeZone::UTC),
            calendar_blackouts: Vec::new(),
        }
    }
}

/// One problem in a policy file, at a TOML path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyProblem {
    /// Dotted TOML path (`windows.standard.preferred[0].end`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not TOML, an unknown key or a value of the wrong type.
    #[error("policy file is not valid: {0}")]
    Syntax(String),
    /// Valid TOML whose values break the policy's rules; every problem is listed.
    #[error("policy has {} problem(s): {}", .0.len(), join_problems(.0))]
    Invalid(Vec<PolicyProblem>),
}

fn join_problems(problems: &[PolicyProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Policy {
    /// Reads a policy file's text: the defaults overridden by the file, then validated.
    ///
    /// Tables merge key by key at any depth, so a file names only what it changes; a list
    /// (of windows, gates, holidays...) given in the file replaces the default list.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let file: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| PolicyError::Syntax(one_line(&e.to_string())))?;
        let mut merged = match toml::Value::try_from(Policy::default()) {
            Ok(toml::Value::Table(table)) => table,
            _ => toml::Table::new(),
        };
        merge_tables(&mut merged, file);
        let mut policy: Policy = serde_path_to_error::deserialize(toml::Value::Table(merged))
            .map_err(|e| {
                PolicyError::Syntax(format!(
                    "{}: {}",
                    e.path(),
                    one_line(&e.inner().to_string())
                ))
            })?;
        let problems = policy.validate();
        if !problems.is_empty() {
            return Err(PolicyError::Invalid(problems));
        }
        policy.tz = TimeZone::get(&policy.timezone).unwrap_or(TimeZone::UTC);
        Ok(policy)
    }

    /// The effective policy as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The policy's time zone.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// Every semantic problem, with its TOML path.
    pub fn validate(&self) -> Vec<PolicyProblem> {
        let mut out = Problems::default();
        if TimeZone::get(&self.timezone).is_err() {
            out.push(
                "timezone",
                format!(
                    "`{}` is not an IANA time zone (e.g. America/Los_Angeles)",
                    self.timezone
                ),
            );
        }
        self.validate_cadence(&mut out);
        self.validate_windows(&mut out);
        self.validate_gates(&mut out);
        self.validate_approvals(&mut out);
        self.validate_numbers(&mut out);
        let sections = [
            self.runbooks.problems(),
            self.health.problems(),
            crate::content::problems(&self.git, &self.changelog, &self.notes),
            self.feature_flags.problems(),
            self.communications.problems(),
        ];
        for (path, message) in sections.into_iter().flatten() {
            out.push(path, message);
        }
        out.0
    }

    fn validate_cadence(&self, out: &mut Problems) {
        let rules = [
            ("standard", &self.cadence.standard),
            ("patch", &self.cadence.patch),
            ("major", &self.cadence.major),
        ];
        for (name, rule) in rules {
            let path = format!("cadence.{name}");
            if rule.every_weeks > 0 && rule.anchor.weekday() != rule.weekday.weekday() {
                out.push(
                    format!("{path}.anchor"),
                    format!(
                        "{} is a {}, but the cadence weekday is {}",
                        rule.anchor,
                        Day::of(rule.anchor.weekday()).name(),
                        rule.weekday.name()
                    ),
                );
            }
            if rule.lead_days_max < rule.lead_days_min {
                out.push(
                    format!("{path}.lead_days_max"),
                    format!(
                        "{} is less than lead_days_min {}",
                        rule.lead_days_max, rule.lead_days_min
                    ),
                );
            }
            if rule.every_weeks > 52 {
                out.push(
                    format!("{path}.every_weeks"),
                    "must be between 0 (no train) and 52".into(),
                );
            }
        }
    }

    fn validate_windows(&self, out: &mut Problems) {
        for release_type in ReleaseType::ALL {
            let windows = self.windows.of(release_type);
            let path = format!("windows.{release_type}");
            for (i, window) in windows.preferred.iter().enumerate() {
                let at = format!("{path}.preferred[{i}]");
                check_range(out, &at, window.start, window.end, &window.days);
            }
            if windows.preferred.is_empty() && windows.outside_preferred == Effect::Block {
                out.push(
                    format!("{path}.outside_preferred"),
                    "with no preferred window, `block` leaves no time to deploy; use `allow` or add a window"
                        .into(),
                );
            }
        }
        for (i, rule) in self.windows.avoid.iter().enumerate() {
            let at = format!("windows.avoid[{i}]");
            check_range(out, &at, rule.start, rule.end, &rule.days);
        }
        for (i, range) in self.windows.school_weeks.iter().enumerate() {
            let at = format!("windows.school_weeks[{i}]");
            for (field, value) in [("from", &range.from), ("to", &range.to)] {
                if let Err(message) = crate::calendar::DaySpec::parse(value) {
                    out.push(format!("{at}.{field}"), message);
                }
            }
        }
        for (i, extra) in self.windows.holidays.extra.iter().enumerate() {
            if let Err(message) = crate::calendar::DaySpec::parse(extra) {
                out.push(format!("windows.holidays.extra[{i}]"), message);
            }
        }
        for (i, blackout) in self.windows.blackouts.iter().enumerate() {
            let at = format!("windows.blackouts[{i}]");
            if let Err(message) = Blackout::from_dated(blackout, &self.tz_or_utc()) {
                out.push(at, message);
            }
        }
    }

    fn tz_or_utc(&self) -> TimeZone {
        TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC)
    }

    fn validate_gates(&self, out: &mut Problems) {
        for phase in GatePhase::ALL {
            let mut seen = std::collections::BTreeSet::new();
            for (i, gate) in self.gates.of(phase).iter().enumerate() {
                let at = format!("gates.{}[{i}].name", phase.as_str());
                if !is_snake_case(&gate.name) {
                    out.push(
                        at,
                        format!(
                            "`{}` must be snake_case (lowercase letters, digits, _)",
                            gate.name
                        ),
                    );
                } else if !seen.insert(gate.name.as_str()) {
                    out.push(at, format!("gate `{}` is listed twice", gate.name));
                }
            }
        }
    }

    fn validate_approvals(&self, out: &mut Problems) {
        for release_type in ReleaseType::ALL {
            let rule = self.approvals.of(release_type);
            let path = format!("approvals.{release_type}");
            let mut roles: Vec<Role> = rule.required.clone();
            for role in &rule.optional {
                if roles.contains(role) {
                    out.push(
                        format!("{path}.optional"),
                        format!("{role} is both required and optional"),
                    );
                }
                roles.push(*role);
            }
            let total = roles.len() as u32;
            let required = rule.required.len() as u32;
            if rule.minimum < required || rule.minimum > total {
                out.push(
                    format!("{path}.minimum"),
                    format!(
                        "{} must be between the {required} required and the {total} listed approvals",
                        rule.minimum
                    ),
                );
            }
        }
    }

    fn validate_numbers(&self, out: &mut Problems) {
        let p = &self.performance;
        let positives = [
            ("performance.api_p95_ms", p.api_p95_ms),
            ("performance.api_p99_ms", p.api_p99_ms),
            ("performance.page_fcp_p95_ms", p.page_fcp_p95_ms),
            ("performance.page_lcp_ms", p.page_lcp_ms),
            ("performance.max_query_ms", p.max_query_ms),
            ("rollback.automatic.p95_ms", self.rollback.automatic.p95_ms),
            (
                "rollback.criteria.discuss_latency_ratio",
                self.rollback.criteria.discuss_latency_ratio,
            ),
        ];
        for (path, value) in positives {
            if !(value.is_finite() && value > 0.0) {
                out.push(path, format!("{value} must be a positive number"));
            }
        }
        let a = &self.rollback.automatic;
        let c = &self.rollback.criteria;
        let percents = [
            (
                "performance.max_error_rate_percent",
                p.max_error_rate_percent,
            ),
            ("coverage.min_line_percent", self.coverage.min_line_percent),
            (
                "coverage.min_branch_percent",
                self.coverage.min_branch_percent,
            ),
            (
                "rollback.automatic.error_rate_percent",
                a.error_rate_percent,
            ),
            (
                "rollback.automatic.critical_endpoint_failure_percent",
                a.critical_endpoint_failure_percent,
            ),
            (
                "rollback.automatic.score_recording_success_min_percent",
                a.score_recording_success_min_percent,
            ),
            (
                "rollback.criteria.discuss_error_rate_percent",
                c.discuss_error_rate_percent,
            ),
            (
                "rollback.criteria.monitor_affected_users_below_percent",
                c.monitor_affected_users_below_percent,
            ),
        ];
        for (path, value) in percents {
            if !(0.0..=100.0).contains(&value) {
                out.push(path, format!("{value} must be a percentage from 0 to 100"));
            }
        }
        if p.api_p99_ms < p.api_p95_ms {
            out.push(
                "performance.api_p99_ms",
                format!(
                    "{} is below api_p95_ms {}: p99 is never faster than p95",
                    p.api_p99_ms, p.api_p95_ms
                ),
            );
        }
        for (path, problem) in self.deployment.problems() {
            out.push(path, problem);
        }
        if self.go_no_go.health_alert_minutes > 24 * 60 {
            out.push(
                "go_no_go.health_alert_minutes",
                "must be at most 1440 (a day); 0 turns the health-alert check off".into(),
            );
        }
        if a.evaluation_interval_seconds == 0 {
            out.push(
                "rollback.automatic.evaluation_interval_seconds",
                "must be at least 1".into(),
            );
        }
        self.validate_flag_stages(out);
        if self.hotfix.target_hours_max < self.hotfix.target_hours_min {
            out.push(
                "hotfix.target_hours_max",
                "is less than target_hours_min".into(),
            );
        }
        let milestones = self.hotfix.stages.iter().map(|s| s.ends_when);
        for (i, pair) in milestones.collect::<Vec<_>>().windows(2).enumerate() {
            if pair[1] <= pair[0] {
                out.push(
                    format!("hotfix.stages[{}].ends_when", i + 1),
                    "must be a later milestone than the previous stage's \
                     (staging_deployed, production_deployed, follow_ups_done)"
                        .into(),
                );
            }
        }
        for (i, trigger) in self.hotfix.triggers.iter().enumerate() {
            if !is_snake_case(&trigger.name) {
                out.push(
                    format!("hotfix.triggers[{i}].name"),
                    format!("`{}` must be snake_case", trigger.name),
                );
            }
            if trigger.severities.is_empty()
                || trigger.severities.iter().any(|s| !(1..=4).contains(s))
            {
                out.push(
                    format!("hotfix.triggers[{i}].severities"),
                    format!(
                        "{:?} must be one or more severities from 1 to 4",
                        trigger.severities
                    ),
                );
            }
            if trigger.deadline_hours == 0 {
                out.push(
                    format!("hotfix.triggers[{i}].deadline_hours"),
                    "must be at least 1 (an immediate trigger takes the expedited timeline's 4 hours)".into(),
                );
            }
        }
        for (i, item) in self.hotfix.follow_ups.iter().enumerate() {
            if !is_snake_case(&item.kind) {
                out.push(
                    format!("hotfix.follow_ups[{i}].kind"),
                    format!("`{}` must be snake_case", item.kind),
                );
            }
        }
        for (i, item) in self.rollback.action_items.iter().enumerate() {
            if !is_snake_case(&item.kind) {
                out.push(
                    format!("rollback.action_items[{i}].kind"),
                    format!("`{}` must be snake_case", item.kind),
                );
            }
        }
    }

    fn validate_flag_stages(&self, out: &mut Problems) {
        let stages = &self.feature_flags.stages;
        let increasing = stages.windows(2).all(|w| w[0] < w[1]);
        let valid = !stages.is_empty()
            && increasing
            && stages.first().is_some_and(|s| *s > 0)
            && stages.last() == Some(&100);
        if !valid {
            out.push(
                "feature_flags.stages",
                format!(
                    "{stages:?} must be increasing percentages above 0 that end at 100, like [10, 25, 50, 100]"
                ),
            );
        }
    }
}

fn check_range(out: &mut Problems, at: &str, start: ClockTime, end: ClockTime, days: &[Day]) {
    if start >= end {
        out.push(
            format!("{at}.end"),
            format!("{end} is not after start {start}"),
        );
    }
    if days.is_empty() {
        out.push(format!("{at}.days"), "names no day".into());
    }
}

/// Overrides `base` with `over`: tables merge recursively, anything else is replaced.
fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => {
                merge_tables(inner, value);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Makes a multi-line parser message fit on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '|' || c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Default)]
struct Problems(Vec<PolicyProblem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: String) {
        self.0.push(PolicyProblem {
            path: path.into(),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_round_trips_through_toml() {
        let policy = Policy::default();
        assert_eq!(policy.validate(), Vec::new());
        let text = policy.to_toml();
        let again = Policy::from_toml(&text).unwrap();
        assert_eq!(again, policy);
    }

    #[test]
    fn empty_file_is_the_spec_default() {
        assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
    }

    #[test]
    fn a_file_overrides_only_what_it_names() {
        let policy = Policy::from_toml(
            "[rollback.automatic]\nenabled = true\nerror_rate_window_seconds = 60\n[feature_flags]\nmin_stage_minutes = 30\n",
        )
        .unwrap();
        assert!(policy.rollback.automatic.enabled);
        assert_eq!(policy.rollback.automatic.error_rate_window_seconds, 60);
        assert_eq!(policy.rollback.automatic.p95_window_seconds, 300);
        assert_eq!(policy.feature_flags.min_stage_minutes, 30);
        assert_eq!(policy.feature_flags.stages, vec![10, 25, 50, 100]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Policy::from_toml("[rollback]\nautomatc = 1\n").unwrap_err();
        assert!(err.to_string().contains("automatc"), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let text = r#"
timezone = "Mars/Olympus"
[approvals.patch]
required = ["engineering_lead"]
optional = []
minimum = 3
stakeholder_review = false
[feature_flags]
stages = [50, 25]
[[windows.standard.preferred]]
days = ["thursday"]
start = "16:00"
end = "14:00"
"#;
        let Err(PolicyError::Invalid(problems)) = Policy::from_toml(text) else {
            panic!("expected problems");
        };
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"timezone"), "{paths:?}");
        assert!(paths.contains(&"approvals.patch.minimum"), "{paths:?}");
        assert!(paths.contains(&"feature_flags.stages"), "{paths:?}");
        assert!(
            paths.contains(&"windows.standard.preferred[0].end"),
            "{paths:?}"
        );
    }

    #[test]
    fn clock_times_accept_end_of_day_and_refuse_nonsense() {
        assert_eq!("24:00".parse::<ClockTime>(), Ok(ClockTime::END_OF_DAY));
        assert_eq!(
            "14:30".parse::<ClockTime>().map(|t| t.minutes()),
            Ok(14 * 60 + 30)
        );
        for bad in ["24:01", "7", "12:60", "ab:cd", "123:00", "1:5"] {
            assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn anchor_must_fall_on_the_cadence_weekday() {
        let err = Policy::from_toml(
            "[cadence.standard]\nevery_weeks = 2\nweekday = \"thursday\"\nanchor = \"2026-01-07\"\nlead_days_min = 7\nlead_days_max = 14\nfreeze_weekday = \"monday\"\nstaging_weekday = \"tuesday\"\noptional = false\n",
        );
        assert!(
            err.is_err_and(|e| e.to_string().contains("cadence.standard.anchor")),
            "anchor on a Wednesday must be refused"
        );
    }
}

#[cfg(test)]
mod example_file {
    use super::Policy;

    #[test]
    fn example_policy_file_is_the_default_policy() {
        let text = include_str!("../../../greenlight.example.toml");
        assert_eq!(Policy::from_toml(text), Ok(Policy::default()));
    }
}
