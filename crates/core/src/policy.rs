//! Greenlight's policy: every number and rule of the spec as a default that a TOML file can override.
//!
//! [`Policy::default`] is the spec. [`Policy::from_toml`] reads a file that overrides any part of
//! it (missing keys keep their defaults), rejects unknown keys, and reports every semantic problem
//! with its TOML path, not only the first.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::{Blackout, HolidayRule};
use crate::gates::GatePhase;
use crate::release::ReleaseType;
use crate::roles::Role;

/// A day of the week, spelled in full in lowercase in the policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Day {
    /// The jiff weekday.
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Monday => Weekday::Monday,
            Day::Tuesday => Weekday::Tuesday,
            Day::Wednesday => Weekday::Wednesday,
            Day::Thursday => Weekday::Thursday,
            Day::Friday => Weekday::Friday,
            Day::Saturday => Weekday::Saturday,
            Day::Sunday => Weekday::Sunday,
        }
    }

    /// The policy day of a jiff weekday.
    pub fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Monday => Day::Monday,
            Weekday::Tuesday => Day::Tuesday,
            Weekday::Wednesday => Day::Wednesday,
            Weekday::Thursday => Day::Thursday,
            Weekday::Friday => Day::Friday,
            Weekday::Saturday => Day::Saturday,
            Weekday::Sunday => Day::Sunday,
        }
    }

    /// The capitalised English name.
    pub fn name(self) -> &'static str {
        match self {
            Day::Monday => "Monday",
            Day::Tuesday => "Tuesday",
            Day::Wednesday => "Wednesday",
            Day::Thursday => "Thursday",
            Day::Friday => "Friday",
            Day::Saturday => "Saturday",
            Day::Sunday => "Sunday",
        }
    }
}

/// A wall-clock time of day, `HH:MM`, from `00:00` to `24:00` (the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    /// The end of the day, `24:00`.
    pub const END_OF_DAY: ClockTime = ClockTime { minutes: 24 * 60 };
    /// Midnight, `00:00`.
    pub const MIDNIGHT: ClockTime = ClockTime { minutes: 0 };

    /// `hour:minute`; `None` past `24:00`.
    pub const fn hm(hour: u16, minute: u16) -> Option<ClockTime> {
        let minutes = hour * 60 + minute;
        if minute >= 60 || minutes > 24 * 60 {
            return None;
        }
        Some(ClockTime { minutes })
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// The hour (0-24).
    pub fn hour(self) -> i8 {
        (self.minutes / 60) as i8
    }

    /// The minute (0-59).
    pub fn minute(self) -> i8 {
        (self.minutes % 60) as i8
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl FromStr for ClockTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a time of day like 14:00 (00:00 to 24:00)");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let hour: u16 = h.parse().map_err(|_| bad())?;
        let minute: u16 = m.parse().map_err(|_| bad())?;
        if h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        ClockTime::hm(hour, minute).ok_or_else(bad)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

const fn clock(hour: u16, minute: u16) -> ClockTime {
    ClockTime {
        minutes: hour * 60 + minute,
    }
}

/// What a window rule does to a deployment that starts in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Nothing: deploying is fine.
    Allow,
    /// Allowed, with a warning.
    Discourage,
    /// Not allowed without an engineering lead's override.
    Block,
}

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

/// Cadence per release type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CadencePolicy {
    /// Bi-weekly Thursday.
    pub standard: CadenceRule,
    /// Mid-cycle Tuesday, if needed.
    pub patch: CadenceRule,
    /// Phase-based: explicit dates.
    pub major: CadenceRule,
}

impl Default for CadencePolicy {
    fn default() -> Self {
        CadencePolicy {
            standard: CadenceRule {
                every_weeks: 2,
                weekday: Day::Thursday,
                anchor: jiff::civil::date(2026, 1, 8),
                lead_days_min: 7,
                lead_days_max: 14,
                freeze_weekday: Day::Monday,
                staging_weekday: Day::Tuesday,
                optional: false,
                dates: Vec::new(),
            },
            patch: CadenceRule {
                every_weeks: 2,
                weekday: Day::Tuesday,
                anchor: jiff::civil::date(2026, 1, 13),
                lead_days_min: 3,
                lead_days_max: 5,
                freeze_weekday: Day::Thursday,
                staging_weekday: Day::Monday,
                optional: true,
                dates: Vec::new(),
            },
            major: CadenceRule {
                every_weeks: 0,
                weekday: Day::Thursday,
                anchor: jiff::civil::date(2026, 1, 8),
                lead_days_min: 14,
                lead_days_max: 28,
                freeze_weekday: Day::Monday,
                staging_weekday: Day::Tuesday,
                optional: false,
                dates: Vec::new(),
            },
        }
    }
}

/// When releases of one type are deployed and how long before that code freezes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceRule {
    /// Weeks between releases; 0 means no regular train (only `dates`).
    pub every_weeks: u32,
    /// Deployment weekday.
    pub weekday: Day,
    /// One deployment date of the train; the others are `every_weeks` apart.
    pub anchor: Date,
    /// Minimum days from code freeze to deployment.
    pub lead_days_min: u32,
    /// Longest recommended lead; a longer one is a warning.
    pub lead_days_max: u32,
    /// Code freeze falls on the last such weekday at least `lead_days_min` before deployment.
    pub freeze_weekday: Day,
    /// Staging deployment on the last such weekday before deployment.
    pub staging_weekday: Day,
    /// Releases of the train happen only if needed (patch).
    pub optional: bool,
    /// Extra planned deployment dates (major releases by roadmap phase).
    #[serde(default)]
    pub dates: Vec<Date>,
}

/// Windows of one release type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeWindows {
    /// Preferred weekly windows.
    pub preferred: Vec<WeeklyWindow>,
    /// What happens outside the preferred windows.
    pub outside_preferred: Effect,
    /// When set, replaces the effect of every avoid rule, holiday and blackout for this type
    /// (hotfixes: blackouts only discourage, an outage cannot wait for Monday).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blackout_effect: Option<Effect>,
}

/// A weekly window: some days, from `start` to `end` local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyWindow {
    /// The weekdays.
    pub days: Vec<Day>,
    /// Start, inclusive.
    pub start: ClockTime,
    /// End, exclusive.
    pub end: ClockTime,
}

/// A weekly time to avoid: Monday mornings, Friday evenings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvoidRule {
    /// Short name (`monday_morning`).
    pub name: String,
    /// Why, in words people read.
    pub reason: String,
    /// The weekdays.
    pub days: Vec<Day>,
    /// Start, inclusive.
    pub start: ClockTime,
    /// End, exclusive.
    pub end: ClockTime,
    /// Block or discourage.
    pub effect: Effect,
}

/// A yearly or dated range of days: school-year start and end weeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayRange {
    /// Short name.
    pub name: String,
    /// First day: `MM-DD` every year, or `YYYY-MM-DD` once.
    pub from: String,
    /// Last day, inclusive, in the same form as `from`.
    pub to: String,
    /// Block or discourage.
    pub effect: Effect,
}

/// Extra blackouts: a dated list entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatedBlackout {
    /// Short name.
    pub name: String,
    /// Start: a date (whole day, local) or an RFC 3339 time.
    pub from: String,
    /// End: a date (inclusive, whole day) or an RFC 3339 time (exclusive).
    pub to: String,
    /// Block or discourage.
    pub effect: Effect,
}

/// An iCalendar file whose events are blackouts (a school district's calendar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarFile {
    /// Path, relative to the policy file.
    pub path: String,
    /// Block or discourage.
    pub effect: Effect,
}

/// Holidays as blackouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HolidayPolicy {
    /// The holidays, computed each year by rule.
    pub rules: Vec<HolidayRule>,
    /// Also black out the weekday a weekend holiday is observed on (Friday or Monday).
    pub observed: bool,
    /// Block or discourage.
    pub effect: Effect,
    /// Other holiday dates (`YYYY-MM-DD` once or `MM-DD` every year).
    pub extra: Vec<String>,
}

impl Default for HolidayPolicy {
    fn default() -> Self {
        HolidayPolicy {
            rules: HolidayRule::FEDERAL.to_vec(),
            observed: true,
            effect: Effect::Block,
            extra: Vec::new(),
        }
    }
}

/// Deployment windows and everything that closes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowPolicy {
    /// Standard releases.
    pub standard: TypeWindows,
    /// Patch releases.
    pub patch: TypeWindows,
    /// Hotfixes.
    pub hotfix: TypeWindows,
    /// Major releases.
    pub major: TypeWindows,
    /// Weekly times to avoid.
    pub avoid: Vec<AvoidRule>,
    /// Holidays.
    pub holidays: HolidayPolicy,
    /// School-year start and end weeks.
    pub school_weeks: Vec<DayRange>,
    /// Extra dated blackouts.
    pub blackouts: Vec<DatedBlackout>,
    /// iCalendar files of blackouts.
    pub calendars: Vec<CalendarFile>,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        let thursday_afternoon = WeeklyWindow {
            days: vec![Day::Thursday],
            start: clock(14, 0),
            end: clock(16, 0),
        };
        let tuesday_afternoon = WeeklyWindow {
            days: vec![Day::Tuesday],
            start: clock(14, 0),
            end: clock(16, 0),
        };
        let strict = |preferred: Vec<WeeklyWindow>| TypeWindows {
            preferred,
            outside_preferred: Effect::Block,
            blackout_effect: None,
        };
        WindowPolicy {
            standard: strict(vec![thursday_afternoon.clone()]),
            patch: strict(vec![tuesday_afternoon, thursday_afternoon.clone()]),
            major: strict(vec![thursday_afternoon]),
            hotfix: TypeWindows {
                preferred: Vec::new(),
                outside_preferred: Effect::Allow,
                blackout_effect: Some(Effect::Discourage),
            },
            avoid: vec![
                AvoidRule {
                    name: "monday_morning".into(),
                    reason: "Monday mornings: high teacher activity planning the week".into(),
                    days: vec![Day::Monday],
                    start: clock(0, 0),
                    end: clock(12, 0),
                    effect: Effect::Block,
                },
                AvoidRule {
                    name: "friday_evening".into(),
                    reason: "Friday evenings: limited support staff availability".into(),
                    days: vec![Day::Friday],
                    start: clock(16, 0),
                    end: ClockTime::END_OF_DAY,
                    effect: Effect::Block,
                },
            ],
            holidays: HolidayPolicy::default(),
            school_weeks: vec![
                DayRange {
                    name: "school year start week".into(),
                    from: "08-24".into(),
                    to: "08-30".into(),
                    effect: Effect::Block,
                },
                DayRange {
                    name: "school year end week".into(),
                    from: "06-08".into(),
                    to: "06-14".into(),
                    effect: Effect::Block,
                },
            ],
            blackouts: Vec::new(),
            calendars: Vec::new(),
        }
    }
}

impl WindowPolicy {
    /// The windows of one release type.
    pub fn of(&self, release_type: ReleaseType) -> &TypeWindows {
        match release_type {
            ReleaseType::Standard => &self.standard,
            ReleaseType::Patch => &self.patch,
            ReleaseType::Hotfix => &self.hotfix,
            ReleaseType::Major => &self.major,
        }
    }
}

/// One quality gate: a name and what it checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// snake_case name, as in the telemetry's `gate_name`.
    pub name: String,
    /// The spec's wording.
    pub description: String,
}

fn gate(name: &str, description: &str) -> GateSpec {
    GateSpec {
        name: name.into(),
        description: description.into(),
    }
}

/// Quality gates per phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatePolicy {
    /// Phase 1, required before the staging deployment.
    pub planning: Vec<GateSpec>,
    /// Phase 2, required before the production deployment.
    pub staging_validation: Vec<GateSpec>,
    /// Phase 3, decided after the production deployment.
    pub production_validation: Vec<GateSpec>,
    /// The hotfix's reduced set, required before its production deployment.
    pub hotfix: Vec<GateSpec>,
}

impl Default for GatePolicy {
    fn default() -> Self {
        GatePolicy {
            planning: vec![
                gate(
                    "features_merged_and_reviewed",
                    "All features merged and code reviewed",
                ),
                gate("unit_tests", "All unit tests passing (100%)"),
                gate("integration_tests", "All integration tests passing"),
                gate("code_coverage", "Code coverage meets minimums"),
                gate(
                    "no_open_sev1_sev2_bugs",
                    "No open Severity 1 or Severity 2 bugs",
                ),
                gate(
                    "security_scan",
                    "Security scan completed (no critical vulnerabilities)",
                ),
                gate(
                    "dependency_vulnerabilities",
                    "Dependency vulnerabilities addressed",
                ),
            ],
            staging_validation: vec![
                gate("staging_deployment", "Staging deployment successful"),
                gate("smoke_tests", "All automated smoke tests passing"),
                gate("manual_qa_validation", "Manual QA validation complete"),
                gate("performance_benchmarks", "Performance benchmarks met"),
                gate("browser_compatibility", "Browser compatibility validated"),
                gate(
                    "accessibility_compliance",
                    "Accessibility compliance verified",
                ),
                gate(
                    "database_migration",
                    "Database migration tested successfully",
                ),
                gate(
                    "rollback_procedure",
                    "Rollback procedure validated on staging",
                ),
            ],
            production_validation: vec![
                gate("production_deployment", "Production deployment successful"),
                gate("smoke_tests", "All smoke tests passing"),
                gate("error_rate", "Error rates within normal range (< 0.5%)"),
                gate(
                    "response_times",
                    "Response times within SLA (p95 < 500ms for API, < 2s for pages)",
                ),
                gate("no_critical_errors", "No critical errors in logs"),
                gate("database_performance", "Database performance stable"),
                gate("external_integrations", "External integrations functioning"),
            ],
            hotfix: vec![
                gate("fix_verified_locally", "Fix verified on local environment"),
                gate("unit_tests", "Unit tests passing"),
                gate(
                    "integration_tests",
                    "Integration tests passing for affected module",
                ),
                gate("staging_validation", "Manual validation on staging"),
                gate("code_review", "Code review complete (1 reviewer minimum)"),
                gate("rollback_plan", "Rollback plan identified"),
            ],
        }
    }
}

impl GatePolicy {
    /// The gates of one phase.
    pub fn of(&self, phase: GatePhase) -> &[GateSpec] {
        match phase {
            GatePhase::Planning => &self.planning,
            GatePhase::StagingValidation => &self.staging_validation,
            GatePhase::ProductionValidation => &self.production_validation,
            GatePhase::Hotfix => &self.hotfix,
        }
    }
}

/// Expected durations. A deployment must fit its window whole: a start whose expected end falls
/// outside the window (or into an avoided time, a holiday, a blackout) is judged by that too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeploymentPolicy {
    /// A standard production deployment: the spec's Deployment Procedure takes 30-45 minutes.
    pub standard_minutes: u32,
    /// A patch: the same procedure as a standard release.
    pub patch_minutes: u32,
    /// A major release: the procedure plus migrations and the gradual traffic rollout.
    pub major_minutes: u32,
    /// A hotfix: the spec's expedited production deployment and its smoke tests.
    pub hotfix_minutes: u32,
    /// An application rollback: the spec's Vercel instant rollback takes under 5 minutes.
    /// Rollbacks restore service, so no window refuses them; this is for planning.
    pub rollback_minutes: u32,
    /// A database rollback: the spec gives 30-60 minutes; for planning, as above.
    pub database_rollback_minutes: u32,
}

impl Default for DeploymentPolicy {
    fn default() -> Self {
        DeploymentPolicy {
            standard_minutes: 45,
            patch_minutes: 45,
            major_minutes: 90,
            hotfix_minutes: 20,
            rollback_minutes: 5,
            database_rollback_minutes: 60,
        }
    }
}

impl DeploymentPolicy {
    /// The expected duration of a production deployment of `release_type`, in minutes.
    pub fn expected_minutes(&self, release_type: ReleaseType) -> u32 {
        match release_type {
            ReleaseType::Standard => self.standard_minutes,
            ReleaseType::Patch => self.patch_minutes,
            ReleaseType::Major => self.major_minutes,
            ReleaseType::Hotfix => self.hotfix_minutes,
        }
    }

    /// `(TOML path, problem)` for each duration outside 1..=1440 minutes.
    pub fn problems(&self) -> Vec<(String, String)> {
        [
            ("standard_minutes", self.standard_minutes),
            ("patch_minutes", self.patch_minutes),
            ("major_minutes", self.major_minutes),
            ("hotfix_minutes", self.hotfix_minutes),
            ("rollback_minutes", self.rollback_minutes),
            ("database_rollback_minutes", self.database_rollback_minutes),
        ]
        .into_iter()
        .filter(|(_, minutes)| !(1..=1440).contains(minutes))
        .map(|(name, minutes)| {
            (
                format!("deployment.{name}"),
                format!("{minutes} must be from 1 to 1440 minutes"),
            )
        })
        .collect()
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

/// Performance thresholds that must be met before deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerformanceThresholds {
    /// API p95 below this, ms.
    pub api_p95_ms: f64,
    /// API p99 below this, ms.
    pub api_p99_ms: f64,
    /// Page First Contentful Paint p95 below this, ms.
    pub page_fcp_p95_ms: f64,
    /// Page Largest Contentful Paint below this, ms.
    pub page_lcp_ms: f64,
    /// No database query slower than this, ms.
    pub max_query_ms: f64,
    /// Error rate of every endpoint below this, percent.
    pub max_error_rate_percent: f64,
}

impl Default for PerformanceThresholds {
    fn default() -> Self {
        PerformanceThresholds {
            api_p95_ms: 500.0,
            api_p99_ms: 1000.0,
            page_fcp_p95_ms: 2000.0,
            page_lcp_ms: 3000.0,
            max_query_ms: 500.0,
            max_error_rate_percent: 0.5,
        }
    }
}

/// Coverage minimums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoveragePolicy {
    /// Line coverage at least this, percent.
    pub min_line_percent: f64,
    /// Branch coverage at least this, percent (when the report has branches).
    pub min_branch_percent: f64,
}

impl Default for CoveragePolicy {
    fn default() -> Self {
        CoveragePolicy {
            min_line_percent: 80.0,
            min_branch_percent: 70.0,
        }
    }
}

/// Which open bugs block a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityPolicy {
    /// Severity 1 bugs block until resolved.
    pub sev1_blocks: bool,
    /// Severity 2 bugs block unless a workaround exists.
    pub sev2_blocks_without_workaround: bool,
}

impl Default for SeverityPolicy {
    fn default() -> Self {
        SeverityPolicy {
            sev1_blocks: true,
            sev2_blocks_without_workaround: true,
        }
    }
}

/// The automatic rollback triggers of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutomaticRollback {
    /// Roll back by itself when a trigger holds; off by default ("start with manual rollback").
    pub enabled: bool,
    /// How often the health monitor evaluates, seconds.
    pub evaluation_interval_seconds: u32,
    /// Error rate above this, percent...
    pub error_rate_percent: f64,
    /// ...sustained over this many seconds.
    pub error_rate_window_seconds: u32,
    /// p95 response time above this, ms...
    pub p95_ms: f64,
    /// ...sustained over this many seconds.
    pub p95_window_seconds: u32,
    /// Database connection pool exhaustion triggers.
    pub pool_exhaustion: bool,
    /// The critical endpoints.
    pub critical_endpoints: Vec<String>,
    /// Failure rate of a critical endpoint above this, percent.
    pub critical_endpoint_failure_percent: f64,
    /// Score-recording success below this, percent.
    pub score_recording_success_min_percent: f64,
    /// Window over which critical-endpoint and score-recording rates are measured, seconds.
    pub critical_window_seconds: u32,
    /// Data older than this many seconds is stale: inconclusive, never a trigger.
    pub stale_after_seconds: u32,
}

impl Default for AutomaticRollback {
    fn default() -> Self {
        AutomaticRollback {
            enabled: false,
            evaluation_interval_seconds: 10,
            error_rate_percent: 10.0,
            error_rate_window_seconds: 300,
            p95_ms: 5000.0,
            p95_window_seconds: 300,
            pool_exhaustion: true,
            critical_endpoints: vec!["login".into(), "score_recording".into()],
            critical_endpoint_failure_percent: 1.0,
            score_recording_success_min_percent: 99.5,
            critical_window_seconds: 300,
            stale_after_seconds: 120,
        }
    }
}

/// Thresholds of the spec's rollback decision criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollbackCriteria {
    /// p95 above this multiple of the baseline calls for discussion.
    pub discuss_latency_ratio: f64,
    /// Error rate above this percent calls for discussion.
    pub discuss_error_rate_percent: f64,
    /// Issues affecting fewer than this percent of users are monitored.
    pub monitor_affected_users_below_percent: f64,
}

impl Default for RollbackCriteria {
    fn default() -> Self {
        RollbackCriteria {
            discuss_latency_ratio: 2.0,
            discuss_error_rate_percent: 5.0,
            monitor_affected_users_below_percent: 1.0,
        }
    }
}

/// A post-rollback action item and its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItemRule {
    /// snake_case kind (`incident_report`).
    pub kind: String,
    /// What to do.
    pub title: String,
    /// Due this many hours after the rollback started (0: immediately).
    pub due_hours: u32,
}

/// Rollback policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollbackPolicy {
    /// Automatic triggers.
    pub automatic: AutomaticRollback,
    /// Decision criteria.
    pub criteria: RollbackCriteria,
    /// Post-rollback actions.
    pub action_items: Vec<ActionItemRule>,
}

impl Default for RollbackPolicy {
    fn default() -> Self {
        let item = |kind: &str, title: &str, due_hours| ActionItemRule {
            kind: kind.into(),
            title: title.into(),
            due_hours,
        };
        RollbackPolicy {
            automatic: AutomaticRollback::default(),
            criteria: RollbackCriteria::default(),
            action_items: vec![
                item("incident_report", "Create incident report", 0),
                item("root_cause", "Identify root cause", 24),
                item("forward_fix", "Deploy forward fix or schedule retry", 48),
                item("post_mortem", "Post-mortem and process improvements", 168),
            ],
        }
    }
}

/// Gradual rollout of feature flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureFlagPolicy {
    /// Rollout percentages, increasing, ending at 100.
    pub stages: Vec<u8>,
    /// Minimum minutes at each stage.
    pub min_stage_minutes: u32,
    /// Segments enabled first, in order, before the percentage rollout to everyone.
    pub segment_order: Vec<String>,
    /// Segments by name: rules on evaluation-context attributes.
    pub segments: BTreeMap<String, crate::flags::Segment>,
    /// Flag kinds whose rollout plan need not rise through `stages`: an operational kill switch
    /// is on for everyone from the start and exists to be turned off. Every other flag is a
    /// `release` flag.
    pub exempt_kinds: Vec<String>,
}

impl Default for FeatureFlagPolicy {
    fn default() -> Self {
        let group = |description: &str, group: &str| crate::flags::Segment {
            description: description.into(),
            rules: vec![crate::flags::Condition {
                attribute: "groups".into(),
                operator: crate::flags::Operator::In,
                values: vec![group.into()],
            }],
        };
        FeatureFlagPolicy {
            stages: vec![10, 25, 50, 100],
            min_stage_minutes: 15,
            segment_order: vec!["internal_users".into(), "beta_testers".into()],
            exempt_kinds: vec!["operational".into()],
            segments: BTreeMap::from([
                (
                    "internal_users".into(),
                    group("MLC staff (context groups has \"internal\")", "internal"),
                ),
                (
                    "beta_testers".into(),
                    group("Opted-in beta testers (groups has \"beta\")", "beta"),
                ),
            ]),
        }
    }
}

impl FeatureFlagPolicy {
    /// Problems with the segments, as (TOML path, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, name) in self.segment_order.iter().enumerate() {
            if !self.segments.contains_key(name) {
                out.push((
                    format!("feature_flags.segment_order[{i}]"),
                    format!("segment {name:?} is not defined under [feature_flags.segments]"),
                ));
            }
        }
        for (i, kind) in self.exempt_kinds.iter().enumerate() {
            if !is_snake_case(kind) || kind == crate::flags::RELEASE_KIND {
                out.push((
                    format!("feature_flags.exempt_kinds[{i}]"),
                    format!("{kind:?} must be a snake_case kind other than \"release\""),
                ));
            }
        }
        for (name, segment) in &self.segments {
            for (i, rule) in segment.rules.iter().enumerate() {
                if let Some(problem) = rule.problem() {
                    out.push((
                        format!("feature_flags.segments.{name}.rules[{i}].values"),
                        problem,
                    ));
                }
            }
        }
        out
    }
}

/// One stage of the hotfix timeline and its target duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotfixStage {
    /// snake_case name.
    pub name: String,
    /// Target duration, minutes.
    pub target_minutes: u32,
    /// The milestone that ends the stage (the next stage starts there).
    pub ends_when: crate::hotfix::Milestone,
}

/// One of the spec's hotfix triggers: what calls for a hotfix, the severities it comes with and
/// how soon the fix must be in production ("Severity 1 - immediate", "Severity 1-2 - within 24
/// hours", "Severity 2 - within 48 hours").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotfixTrigger {
    /// snake_case name (`score_recording_failure`), what `hotfix start --trigger` takes.
    pub name: String,
    /// The spec's words (`Score recording failures`).
    pub title: String,
    /// The severities it may have (1 most severe, to 4); with one, it is the default.
    pub severities: Vec<u8>,
    /// Hours from the hotfix's start by which it must be in production. The spec's Severity 1
    /// "immediate" triggers take the expedited timeline's maximum, 4 hours.
    pub deadline_hours: u32,
}

/// The hotfix fast path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HotfixPolicy {
    /// The whole hotfix should take at least...
    pub target_hours_min: u32,
    /// ...and at most this many hours.
    pub target_hours_max: u32,
    /// Stages with their targets.
    pub stages: Vec<HotfixStage>,
    /// The spec's triggers with their severities and deadlines; a hotfix names one.
    pub triggers: Vec<HotfixTrigger>,
    /// The spec's incident documentation after a hotfix: action items created when its
    /// production deployment completes, due this many hours later (as a rollback's are).
    pub follow_ups: Vec<ActionItemRule>,
}

impl HotfixPolicy {
    /// The trigger named `name`.
    pub fn trigger(&self, name: &str) -> Option<&HotfixTrigger> {
        self.triggers.iter().find(|t| t.name == name)
    }
}

impl Default for HotfixPolicy {
    fn default() -> Self {
        let stage = |name: &str, target_minutes, ends_when| HotfixStage {
            name: name.into(),
            target_minutes,
            ends_when,
        };
        use crate::hotfix::Milestone;
        HotfixPolicy {
            target_hours_min: 2,
            target_hours_max: 4,
            stages: vec![
                stage("development_and_testing", 60, Milestone::StagingDeployed),
                stage("approval_and_deployment", 60, Milestone::ProductionDeployed),
                stage(
                    "communication_and_documentation",
                    120,
                    Milestone::FollowUpsDone,
                ),
            ],
            triggers: default_hotfix_triggers(),
            follow_ups: vec![
                follow_up("incident_report", "Complete incident report", 2),
                follow_up("runbook_update", "Update runbook with lessons learned", 2),
                follow_up("post_mortem", "Schedule post-mortem if warranted", 2),
            ],
        }
    }
}

fn follow_up(kind: &str, title: &str, due_hours: u32) -> ActionItemRule {
    ActionItemRule {
        kind: kind.into(),
        title: title.into(),
        due_hours,
    }
}

/// The spec's hotfix triggers (Release Types: Hotfix Release).
fn default_hotfix_triggers() -> Vec<HotfixTrigger> {
    let trigger = |name: &str, title: &str, severities: &[u8], deadline_hours| HotfixTrigger {
        name: name.into(),
        title: title.into(),
        severities: severities.to_vec(),
        deadline_hours,
    };
    let sev1 = [1];
    vec![
        trigger(
            "score_recording_failure",
            "Score recording failures",
            &sev1,
            4,
        ),
        trigger("auth_failure", "Authentication/login failures", &sev1, 4),
        trigger("payment_error", "Payment processing errors", &sev1, 4),
        trigger("data_loss", "Data corruption or loss", &sev1, 4),
        trigger(
            "security_vulnerability",
            "Security vulnerabilities",
            &[1, 2],
            24,
        ),
        trigger(
            "accessibility_failure",
            "Critical accessibility failures",
            &[2],
            48,
        ),
    ]
}

/// Phase 4 monitoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostReleasePolicy {
    /// Post-deployment validation, minutes.
    pub validation_minutes: u32,
    /// Active monitoring after release, hours.
    pub active_monitoring_hours: u32,
    /// Extended monitoring, hours.
    pub extended_monitoring_hours: u32,
}

impl Default for PostReleasePolicy {
    fn default() -> Self {
        PostReleasePolicy {
            validation_minutes: 60,
            active_monitoring_hours: 4,
            extended_monitoring_hours: 48,
        }
    }
}

/// The release retrospective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrospectivePolicy {
    /// On the first such weekday after the deployment.
    pub weekday: Day,
    /// At this local time.
    pub time: ClockTime,
    /// For this long.
    pub duration_minutes: u32,
    /// Move to the next working day when that day is a holiday.
    pub skip_holidays: bool,
}

impl Default for RetrospectivePolicy {
    fn default() -> Self {
        RetrospectivePolicy {
            weekday: Day::Monday,
            time: clock(10, 0),
            duration_minutes: 60,
            skip_holidays: true,
        }
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

fn is_snake_case(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
