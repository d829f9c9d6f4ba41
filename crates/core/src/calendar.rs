//! Deployment windows and the release calendar, in the policy's time zone.
//!
//! [`check_window`] tells whether a deployment may start at an instant and why;
//! [`next_slot`] finds the next instant it may; [`release_calendar`] lays out the planned releases
//! of a date range with their milestones. All of it works on wall-clock times in the policy's zone
//! through jiff, so the Thursday 14:00 window stays at 14:00 across daylight-saving changes.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use serde::{Deserialize, Serialize};

use crate::policy::{ClockTime, DatedBlackout, Day, Effect, Policy, TypeWindows, WeeklyWindow};
use crate::release::ReleaseType;

/// A holiday computed each year by rule (the US federal holidays and a few common extras).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayRule {
    /// January 1.
    NewYearsDay,
    /// Third Monday of January.
    MartinLutherKingJrDay,
    /// Third Monday of February (Washington's Birthday).
    PresidentsDay,
    /// Last Monday of May.
    MemorialDay,
    /// June 19.
    Juneteenth,
    /// July 4.
    IndependenceDay,
    /// First Monday of September.
    LaborDay,
    /// Second Monday of October (Columbus Day / Indigenous Peoples' Day).
    ColumbusDay,
    /// November 11.
    VeteransDay,
    /// Fourth Thursday of November.
    Thanksgiving,
    /// December 25.
    ChristmasDay,
    /// The Friday after Thanksgiving (not federal).
    DayAfterThanksgiving,
    /// December 24 (not federal).
    ChristmasEve,
    /// December 31 (not federal).
    NewYearsEve,
}

impl HolidayRule {
    /// The eleven US federal holidays.
    pub const FEDERAL: [HolidayRule; 11] = [
        HolidayRule::NewYearsDay,
        HolidayRule::MartinLutherKingJrDay,
        HolidayRule::PresidentsDay,
        HolidayRule::MemorialDay,
        HolidayRule::Juneteenth,
        HolidayRule::IndependenceDay,
        HolidayRule::LaborDay,
        HolidayRule::ColumbusDay,
        HolidayRule::VeteransDay,
        HolidayRule::Thanksgiving,
        HolidayRule::ChristmasDay,
    ];

    /// The holiday's English name.
    pub fn name(self) -> &'static str {
        match self {
            HolidayRule::NewYearsDay => "New Year's Day",
            HolidayRule::MartinLutherKingJrDay => "Martin Luther King Jr. Day",
            HolidayRule::PresidentsDay => "Presidents' Day",
            HolidayRule::MemorialDay => "Memorial Day",
            HolidayRule::Juneteenth => "Juneteenth",
            HolidayRule::IndependenceDay => "Independence Day",
            HolidayRule::LaborDay => "Labor Day",
            HolidayRule::ColumbusDay => "Columbus Day",
            HolidayRule::VeteransDay => "Veterans Day",
            HolidayRule::Thanksgiving => "Thanksgiving",
            HolidayRule::ChristmasDay => "Christmas Day",
            HolidayRule::DayAfterThanksgiving => "Day after Thanksgiving",
            HolidayRule::ChristmasEve => "Christmas Eve",
            HolidayRule::NewYearsEve => "New Year's Eve",
        }
    }

    /// The date of the holiday in `year`.
    pub fn date_in(self, year: i16) -> Date {
        use Weekday::{Monday, Thursday};
        match self {
            HolidayRule::NewYearsDay => ymd(year, 1, 1),
            HolidayRule::MartinLutherKingJrDay => nth_weekday(year, 1, Monday, 3),
            HolidayRule::PresidentsDay => nth_weekday(year, 2, Monday, 3),
            HolidayRule::MemorialDay => last_weekday(year, 5, Monday),
            HolidayRule::Juneteenth => ymd(year, 6, 19),
            HolidayRule::IndependenceDay => ymd(year, 7, 4),
            HolidayRule::LaborDay => nth_weekday(year, 9, Monday, 1),
            HolidayRule::ColumbusDay => nth_weekday(year, 10, Monday, 2),
            HolidayRule::VeteransDay => ymd(year, 11, 11),
            HolidayRule::Thanksgiving => nth_weekday(year, 11, Thursday, 4),
            HolidayRule::ChristmasDay => ymd(year, 12, 25),
            HolidayRule::DayAfterThanksgiving => nth_weekday(year, 11, Thursday, 4)
                .tomorrow()
                .unwrap_or(ymd(year, 11, 28)),
            HolidayRule::ChristmasEve => ymd(year, 12, 24),
            HolidayRule::NewYearsEve => ymd(year, 12, 31),
        }
    }

    /// The weekday a weekend holiday is observed on: Saturday -> Friday, Sunday -> Monday.
    pub fn observed(date: Date) -> Date {
        let shifted = match date.weekday() {
            Weekday::Saturday => date.yesterday(),
            Weekday::Sunday => date.tomorrow(),
            _ => Ok(date),
        };
        shifted.unwrap_or(date)
    }
}

fn ymd(year: i16, month: i8, day: i8) -> Date {
    Date::new(year, month, day).unwrap_or(Date::MIN)
}

fn nth_weekday(year: i16, month: i8, weekday: Weekday, n: i8) -> Date {
    ymd(year, month, 1)
        .nth_weekday_of_month(n, weekday)
        .unwrap_or(Date::MIN)
}

fn last_weekday(year: i16, month: i8, weekday: Weekday) -> Date {
    ymd(year, month, 1)
        .nth_weekday_of_month(-1, weekday)
        .unwrap_or(Date::MIN)
}

/// A day given in a policy file: `MM-DD` every year, or `YYYY-MM-DD` once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaySpec {
    /// Every year on this month and day.
    Yearly {
        /// 1-12.
        month: i8,
        /// 1-31.
        day: i8,
    },
    /// One date.
    Once(Date),
}

impl DaySpec {
    /// Reads `MM-DD` or `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<DaySpec, String> {
        let text = text.trim();
        if let Ok(date) = text.parse::<Date>() {
            return Ok(DaySpec::Once(date));
        }
        let bad = || format!("`{text}` is neither a date YYYY-MM-DD nor a yearly day MM-DD");
        let (m, d) = text.split_once('-').ok_or_else(bad)?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let day: i8 = d.parse().map_err(|_| bad())?;
        // 2024 is a leap year, so 02-29 is accepted.
        Date::new(2024, month, day).map_err(|_| bad())?;
        Ok(DaySpec::Yearly { month, day })
    }

    fn month_day(self) -> (i8, i8) {
        match self {
            DaySpec::Yearly { month, day } => (month, day),
            DaySpec::Once(date) => (date.month(), date.day()),
        }
    }

    /// Whether `date` is this day.
    pub fn matches(self, date: Date) -> bool {
        match self {
            DaySpec::Once(d) => d == date,
            DaySpec::Yearly { .. } => self.month_day() == (date.month(), date.day()),
        }
    }
}

/// Whether `date` falls in the inclusive range `from..=to` of day specs.
///
/// Yearly ranges may wrap the new year (`12-20` to `01-05`).
pub fn in_day_range(from: DaySpec, to: DaySpec, date: Date) -> bool {
    match (from, to) {
        (DaySpec::Once(a), DaySpec::Once(b)) => a <= date && date <= b,
        _ => {
            let md = (date.month(), date.day());
            let (a, b) = (from.month_day(), to.month_day());
            if a <= b {
                a <= md && md <= b
            } else {
                md >= a || md <= b
            }
        }
    }
}

/// A blackout: an interval in which deployments are blocked or discouraged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blackout {
    /// What it is (a school event, a freeze).
    pub name: String,
    /// Start, inclusive.
    pub start: Timestamp,
    /// End, exclusive.
    pub end: Timestamp,
    /// Block or discourage.
    pub effect: Effect,
}

impl Blackout {
    /// A blackout from a policy entry whose ends are dates (whole local days) or times.
    pub fn from_dated(entry: &DatedBlackout, tz: &TimeZone) -> Result<Blackout, String> {
        let start = parse_bound(&entry.from, tz, false)?;
        let end = parse_bound(&entry.to, tz, true)?;
        if end <= start {
            return Err(format!(
                "`to` {} is not after `from` {}",
                entry.to, entry.from
            ));
        }
        Ok(Blackout {
            name: entry.name.clone(),
            start,
            end,
            effect: entry.effect,
        })
    }

    /// Whether `at` is inside the blackout.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// Reads a blackout bound: a date (start of that day, or the start of the next day for an end),
/// an RFC 3339 time, or a local date-time.
fn parse_bound(text: &str, tz: &TimeZone, is_end: bool) -> Result<Timestamp, String> {
    let text = text.trim();
    // A bare date only: jiff reads the date part of a date-time as a date too, which would
    // turn a timed bound into a whole day.
    let bare_date = !text.contains(['T', 't', ' ']);
    if bare_date && let Ok(date) = text.parse::<Date>() {
        let day = if is_end {
            date.tomorrow().map_err(|e| e.to_string())?
        } else {
            date
        };
        return start_of_day(day, tz).map(|z| z.timestamp());
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    text.parse::<DateTime>()
        .and_then(|dt| dt.to_zoned(tz.clone()))
        .map(|z| z.timestamp())
        .map_err(|_| {
            format!("`{text}` is not a date (2026-12-24) or a time (2026-12-24T09:00:00-08:00)")
        })
}

fn start_of_day(date: Date, tz: &TimeZone) -> Result<Zoned, String> {
    date.to_zoned(tz.clone()).map_err(|e| e.to_string())
}

/// Where a deployment starting at an instant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    /// Inside a preferred window, nothing against it.
    Preferred,
    /// Outside the preferred windows, but allowed for this release type.
    Allowed,
    /// Allowed, with warnings.
    Discouraged,
    /// Not allowed without an override.
    Blocked,
}

impl WindowStatus {
    /// `preferred`, `allowed`, `discouraged`, `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowStatus::Preferred => "preferred",
            WindowStatus::Allowed => "allowed",
            WindowStatus::Discouraged => "discouraged",
            WindowStatus::Blocked => "blocked",
        }
    }
}

impl fmt::Display for WindowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that has something to say about an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowFinding {
    /// The rule's name (`monday_morning`, `holiday`, `outside_window`, a blackout's name).
    pub rule: String,
    /// What it does for this release type.
    pub effect: Effect,
    /// Why, for people.
    pub message: String,
}

/// The verdict on one instant for one release type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowVerdict {
    /// The instant, in the policy's zone.
    pub at: Zoned,
    /// The release type judged.
    pub release_type: ReleaseType,
    /// The overall status: the worst finding.
    pub status: WindowStatus,
    /// Every rule that matched, with its effect.
    pub findings: Vec<WindowFinding>,
    /// When a deployment starting then is expected to end (the policy's `[deployment]`
    /// duration for the type); the rules are checked over the whole deployment.
    pub ends_at: Zoned,
}

impl WindowVerdict {
    /// Whether a deployment may start then without an override.
    pub fn may_start(&self) -> bool {
        self.status != WindowStatus::Blocked
    }

    /// The findings that block.
    pub fn blocking(&self) -> impl Iterator<Item = &WindowFinding> {
        self.findings.iter().filter(|f| f.effect == Effect::Block)
    }
}

/// Whether a deployment of `release_type` may start at `at`, and why: every rule is checked over
/// the whole deployment, from `at` to its expected end (`[deployment]` minutes for the type), so a
/// start whose end falls outside the window, or into an avoided time, a holiday or a blackout, is
/// judged by that too.
pub fn check_window(policy: &Policy, at: Timestamp, release_type: ReleaseType) -> WindowVerdict {
    let minutes = policy.deployment.expected_minutes(release_type);
    let end = at
        .checked_add(jiff::SignedDuration::from_mins(i64::from(minutes)))
        .unwrap_or(at);
    let mut verdict = check_instant(policy, at, release_type);
    verdict.ends_at = end.to_zoned(policy.tz().clone());
    let days = i64::from(minutes / (24 * 60)) + 2;
    let later = boundaries_from(policy, at, release_type, days)
        .into_iter()
        .filter(|t| *t > at && *t < end);
    for instant in later {
        let during = check_instant(policy, instant, release_type);
        merge_later(&mut verdict, during, minutes);
    }
    verdict
}

/// Adds what holds at a later instant of the deployment: its new findings, worded with when
/// they begin and when the deployment would end, and the worse status.
fn merge_later(verdict: &mut WindowVerdict, during: WindowVerdict, minutes: u32) {
    verdict.status = verdict.status.max(during.status);
    for finding in during.findings {
        if verdict.findings.iter().any(|f| f.rule == finding.rule) {
            continue;
        }
        let message = format!(
            "{} from {}, before the deployment's expected end at {} ({minutes} minutes)",
            finding.message,
            during.at.strftime("%H:%M"),
            verdict.ends_at.strftime("%H:%M %Z")
        );
        verdict.findings.push(WindowFinding { message, ..finding });
    }
}

/// The verdict on one instant alone.
fn check_instant(policy: &Policy, at: Timestamp, release_type: ReleaseType) -> WindowVerdict {
    let local = at.to_zoned(policy.tz().clone());
    let windows = policy.windows.of(release_type);
    let mut findings = blackout_findings(policy, &local);
    if let Some(cap) = windows.blackout_effect {
        for finding in &mut findings {
            finding.effect = cap;
        }
    }
    let in_preferred = windows.preferred.iter().any(|w| window_contains(w, &local));
    if !in_preferred && windows.outside_preferred != Effect::Allow {
        findings.push(WindowFinding {
            rule: "outside_window".into(),
            effect: windows.outside_preferred,
            message: format!(
                "outside the {release_type} deployment window ({})",
                describe_windows(windows)
            ),
        });
    }
    findings.retain(|f| f.effect != Effect::Allow);
    let worst = findings.iter().map(|f| f.effect).max();
    let status = match worst {
        Some(Effect::Block) => WindowStatus::Blocked,
        Some(Effect::Discourage) => WindowStatus::Discouraged,
        _ if in_preferred => WindowStatus::Preferred,
        _ => WindowStatus::Allowed,
    };
    WindowVerdict {
        ends_at: local.clone(),
        at: local,
        release_type,
        status,
        findings,
    }
}

/// The avoid rules, holidays, school weeks and blackouts that match `local`.
fn blackout_findings(policy: &Policy, local: &Zoned) -> Vec<WindowFinding> {
    let mut findings = Vec::new();
    let date = local.date();
    let minutes = minutes_of_day(local);
    let day = Day::of(date.weekday());
    for rule in &policy.windows.avoid {
        if rule.days.contains(&day)
            && rule.start.minutes() <= minutes
            && minutes < rule.end.minutes()
        {
            findings.push(WindowFinding {
                rule: rule.name.clone(),
                effect: rule.effect,
                message: format!(
                    "{} ({} {}-{})",
                    rule.reason,
                    day.name(),
                    rule.start,
                    rule.end
                ),
            });
        }
    }
    if let Some(name) = holiday_on(policy, date) {
        findings.push(WindowFinding {
            rule: "holiday".into(),
            effect: policy.windows.holidays.effect,
            message: format!("{date} is a holiday: {name}"),
        });
    }
    for range in &policy.windows.school_weeks {
        let (Ok(from), Ok(to)) = (DaySpec::parse(&range.from), DaySpec::parse(&range.to)) else {
            continue;
        };
        if in_day_range(from, to, date) {
            findings.push(WindowFinding {
                rule: "school_week".into(),
                effect: range.effect,
                message: format!(
                    "{date} is in the {} ({} to {}): high usage, low tolerance for issues",
                    range.name, range.from, range.to
                ),
            });
        }
    }
    let at = local.timestamp();
    for blackout in all_blackouts(policy) {
        if blackout.contains(at) {
            findings.push(WindowFinding {
                rule: "blackout".into(),
                effect: blackout.effect,
                message: format!(
                    "blackout: {} ({} to {})",
                    blackout.name, blackout.start, blackout.end
                ),
            });
        }
    }
    findings
}

/// The dated blackouts of the policy and those read from its calendars.
pub fn all_blackouts(policy: &Policy) -> Vec<Blackout> {
    let tz = policy.tz();
    let mut all: Vec<Blackout> = policy
        .windows
        .blackouts
        .iter()
        .filter_map(|entry| Blackout::from_dated(entry, tz).ok())
        .collect();
    all.extend(policy.calendar_blackouts.iter().cloned());
    all
}

/// The holiday on `date`, by rule, by observance, or from the extra list.
pub fn holiday_on(policy: &Policy, date: Date) -> Option<String> {
    let holidays = &policy.windows.holidays;
    for year in [date.year(), date.year() + 1] {
        for rule in &holidays.rules {
            let actual = rule.date_in(year);
            if actual == date {
                return Some(rule.name().to_string());
            }
            if holidays.observed && HolidayRule::observed(actual) == date {
                return Some(format!("{} (observed)", rule.name()));
            }
        }
    }
    holidays
        .extra
        .iter()
        .filter_map(|text| DaySpec::parse(text).ok())
        .find(|spec| spec.matches(date))
        .map(|_| "holiday".to_string())
}

fn minutes_of_day(local: &Zoned) -> u16 {
    (local.hour() as u16) * 60 + local.minute() as u16
}

fn window_contains(window: &WeeklyWindow, local: &Zoned) -> bool {
    let minutes = minutes_of_day(local);
    window.days.contains(&Day::of(local.weekday()))
        && window.start.minutes() <= minutes
        && minutes < window.end.minutes()
}

/// "Thursday 14:00-16:00, Tuesday 14:00-16:00".
pub fn describe_windows(windows: &TypeWindows) -> String {
    if windows.preferred.is_empty() {
        return "no preferred window".into();
    }
    windows
        .preferred
        .iter()
        .map(|w| {
            let days: Vec<&str> = w.days.iter().map(|d| d.name()).collect();
            format!("{} {}-{}", days.join("/"), w.start, w.end)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A span of time in which a deployment may start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    /// First instant a deployment may start.
    pub start: Zoned,
    /// When the status changes again (the window closes); `None` if not within a week. The last
    /// start is earlier by the type's expected duration: the whole deployment must fit.
    pub end: Option<Zoned>,
    /// The status throughout the slot.
    pub status: WindowStatus,
}

/// How far ahead [`next_slot`] searches.
const SEARCH_DAYS: i64 = 400;

/// The first instant at or after `after` when a deployment of `release_type` may start.
///
/// Only instants where some rule begins or ends can change the verdict, so those are the
/// candidates; a day's boundaries are computed in local time, which keeps DST days right.
pub fn next_slot(policy: &Policy, after: Timestamp, release_type: ReleaseType) -> Option<Slot> {
    // An allowed span of starts begins where a rule begins or ends, so those are the candidates.
    let mut candidates = boundaries_from(policy, after, release_type, SEARCH_DAYS);
    candidates.insert(after);
    let mut iter = candidates.into_iter().filter(|t| *t >= after);
    let (start, verdict) = iter.by_ref().find_map(|t| {
        let verdict = check_window(policy, t, release_type);
        verdict.may_start().then_some((t, verdict))
    })?;
    let horizon = start
        .checked_add(jiff::SignedDuration::from_hours(24 * 7))
        .ok()?;
    let end = iter
        .take_while(|t| *t <= horizon)
        .find(|t| check_window(policy, *t, release_type).status != verdict.status)
        .map(|t| t.to_zoned(policy.tz().clone()));
    Some(Slot {
        start: start.to_zoned(policy.tz().clone()),
        end,
        status: verdict.status,
    })
}

/// Every instant in `days` local days from `after` at which some window rule starts or ends.
fn boundaries_from(
    policy: &Policy,
    after: Timestamp,
    release_type: ReleaseType,
    days: i64,
) -> BTreeSet<Timestamp> {
    let tz = policy.tz();
    let mut times: BTreeSet<ClockTime> = BTreeSet::new();
    times.insert(ClockTime::MIDNIGHT);
    for w in &policy.windows.of(release_type).preferred {
        times.extend([w.start, w.end]);
    }
    for rule in &policy.windows.avoid {
        times.extend([rule.start, rule.end]);
    }
    let mut out = BTreeSet::new();
    let first = after.to_zoned(tz.clone()).date();
    for offset in 0..days {
        let Ok(date) = first.checked_add(offset.days()) else {
            break;
        };
        for time in &times {
            if let Some(ts) = local_instant(date, *time, tz) {
                out.insert(ts);
            }
        }
    }
    let last = out.last().copied().unwrap_or(after);
    for blackout in all_blackouts(policy) {
        for edge in [blackout.start, blackout.end] {
            if edge >= after && edge <= last {
                out.insert(edge);
            }
        }
    }
    out
}

/// The instant of a local date and clock time (`24:00` is the next day's midnight).
pub fn local_instant(date: Date, time: ClockTime, tz: &TimeZone) -> Option<Timestamp> {
    let (date, time) = if time == ClockTime::END_OF_DAY {
        (date.tomorrow().ok()?, ClockTime::MIDNIGHT)
    } else {
        (date, time)
    };
    date.at(time.hour(), time.minute(), 0, 0)
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// One planned release of the calendar, with its milestones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRelease {
    /// standard, patch or major.
    pub release_type: ReleaseType,
    /// The train's date for it.
    pub nominal_date: Date,
    /// The deployment slot.
    pub deploy: Zoned,
    /// Why the deployment moved from the nominal date, if it did.
    pub moved: Option<String>,
    /// Code freeze: release branch and first candidate.
    pub code_freeze: Zoned,
    /// Staging deployment (Phase 2).
    pub staging: Zoned,
    /// Go/No-Go meeting.
    pub go_no_go: Zoned,
    /// Release retrospective.
    pub retrospective: Zoned,
    /// Happens only if needed (patch releases).
    pub optional: bool,
}

/// The planned releases whose nominal date is within `from..=to`, sorted by deployment.
pub fn release_calendar(policy: &Policy, from: Date, to: Date) -> Vec<PlannedRelease> {
    let mut out = Vec::new();
    for release_type in [
        ReleaseType::Standard,
        ReleaseType::Patch,
        ReleaseType::Major,
    ] {
        for date in train_dates(policy, release_type, from, to) {
            if let Some(planned) = plan_on(policy, release_type, date) {
                out.push(planned);
            }
        }
    }
    out.sort_by(|a, b| a.deploy.cmp(&b.deploy));
    out
}

/// The nominal deployment dates of a type's train within `from..=to`.
fn train_dates(policy: &Policy, release_type: ReleaseType, from: Date, to: Date) -> Vec<Date> {
    let rule = cadence_of(policy, release_type);
    let mut dates: BTreeSet<Date> = rule
        .dates
        .iter()
        .copied()
        .filter(|d| from <= *d && *d <= to)
        .collect();
    if rule.every_weeks > 0 {
        let step = i64::from(rule.every_weeks) * 7;
        let gap = (from - rule.anchor).get_days() as i64;
        let k = gap.div_euclid(step);
        let mut date = rule.anchor.checked_add((k * step).days()).ok();
        while let Some(d) = date {
            if d > to {
                break;
            }
            if d >= from {
                dates.insert(d);
            }
            date = d.checked_add(step.days()).ok();
        }
    }
    dates.into_iter().collect()
}

/// The cadence rule of a planned type (hotfixes have none and use the standard one's lead).
pub fn cadence_of(policy: &Policy, release_type: ReleaseType) -> &crate::policy::CadenceRule {
    match release_type {
        ReleaseType::Patch => &policy.cadence.patch,
        ReleaseType::Major => &policy.cadence.major,
        ReleaseType::Standard | ReleaseType::Hotfix => &policy.cadence.standard,
    }
}

/// The release of `release_type` nominally deployed on `date`, moved to the next slot if blocked.
pub fn plan_on(policy: &Policy, release_type: ReleaseType, date: Date) -> Option<PlannedRelease> {
    let tz = policy.tz();
    let window_start = nominal_start(policy.windows.of(release_type), date);
    let nominal = local_instant(date, window_start, tz)?;
    let verdict = check_window(policy, nominal, release_type);
    let (deploy, moved) = if verdict.may_start() {
        (nominal.to_zoned(tz.clone()), None)
    } else {
        let reasons: Vec<String> = verdict.blocking().map(|f| f.message.clone()).collect();
        let slot = next_slot(policy, nominal, release_type)?;
        (slot.start, Some(reasons.join("; ")))
    };
    Some(milestones(policy, release_type, date, deploy, moved))
}

/// When on `date` the type's window opens (its first preferred window that day, else the first).
fn nominal_start(windows: &TypeWindows, date: Date) -> ClockTime {
    let day = Day::of(date.weekday());
    windows
        .preferred
        .iter()
        .find(|w| w.days.contains(&day))
        .or_else(|| windows.preferred.first())
        .map(|w| w.start)
        .unwrap_or(ClockTime::MIDNIGHT)
}

/// Clock time of code freeze and staging milestones.
const FREEZE_TIME: ClockTime = match ClockTime::hm(9, 0) {
    Some(t) => t,
    None => ClockTime::MIDNIGHT,
};
const STAGING_TIME: ClockTime = match ClockTime::hm(10, 0) {
    Some(t) => t,
    None => ClockTime::MIDNIGHT,
};

/// The milestones of a release deployed at `deploy`.
pub fn milestones(
    policy: &Policy,
    release_type: ReleaseType,
    nominal_date: Date,
    deploy: Zoned,
    moved: Option<String>,
) -> PlannedRelease {
    let tz = policy.tz();
    let rule = cadence_of(policy, release_type);
    let deploy_date = deploy.date();
    let latest_freeze = deploy_date
        .checked_sub(i64::from(rule.lead_days_min).days())
        .unwrap_or(deploy_date);
    let freeze_date = on_or_before(latest_freeze, rule.freeze_weekday.weekday());
    let staging_date = deploy_date
        .yesterday()
        .map(|d| on_or_before(d, rule.staging_weekday.weekday()))
        .ok()
        .filter(|d| *d > freeze_date)
        .or_else(|| freeze_date.tomorrow().ok())
        .unwrap_or(freeze_date);
    let at = |date: Date, time: ClockTime| {
        local_instant(date, time, tz)
            .map(|t| t.to_zoned(tz.clone()))
            .unwrap_or_else(|| deploy.clone())
    };
    let go_no_go = deploy
        .checked_sub(i64::from(policy.go_no_go.minutes_before_deployment).minutes())
        .unwrap_or_else(|_| deploy.clone());
    PlannedRelease {
        release_type,
        nominal_date,
        code_freeze: at(freeze_date, FREEZE_TIME),
        staging: at(staging_date, STAGING_TIME),
        go_no_go,
        retrospective: at(
            retrospective_date(policy, deploy_date),
            policy.retrospective.time,
        ),
        deploy,
        moved,
        optional: rule.optional,
    }
}

/// The last date on or before `date` that is a `weekday`.
fn on_or_before(date: Date, weekday: Weekday) -> Date {
    let back = i64::from(date.weekday().since(weekday));
    date.checked_sub(back.days()).unwrap_or(date)
}

/// The retrospective's date: the first policy weekday after the deployment date; when that is a
/// holiday, the next working day that is not.
pub fn retrospective_date(policy: &Policy, deployed_on: Date) -> Date {
    let weekday = policy.retrospective.weekday.weekday();
    let mut date = deployed_on
        .tomorrow()
        .map(|d| {
            let ahead = i64::from(weekday.since(d.weekday()));
            d.checked_add(ahead.days()).unwrap_or(d)
        })
        .unwrap_or(deployed_on);
    if !policy.retrospective.skip_holidays {
        return date;
    }
    for _ in 0..14 {
        let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
        if !weekend && holiday_on(policy, date).is_none() {
            break;
        }
        date = date.tomorrow().unwrap_or(date);
    }
    date
}

/// Something that closes or narrows deployments on one local day: a holiday, a school week, a
/// dated or calendar blackout, or a weekly time to avoid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayClosure {
    /// `holiday`, `school_week`, `blackout`, or the avoid rule's name (`monday_morning`).
    pub rule: String,
    /// What it is, for people (`Thanksgiving`, `school year start week`).
    pub name: String,
    /// Block or discourage, as the policy says for planned releases (a hotfix's windows may
    /// cap it: see [`TypeWindows::blackout_effect`]).
    pub effect: Effect,
    /// The part of the day it covers, local start and end; `None` for the whole day.
    pub hours: Option<(Zoned, Zoned)>,
}

impl DayClosure {
    /// Whether it closes the whole day to deployments that it blocks.
    pub fn whole_day(&self) -> bool {
        self.hours.is_none()
    }

    /// What it does to deployments, for people: `No deploys`, `Deploys discouraged`.
    pub fn verb(&self) -> &'static str {
        match self.effect {
            Effect::Block => "No deploys",
            Effect::Discourage => "Deploys discouraged",
            Effect::Allow => "Deploys allowed",
        }
    }
}

/// Everything in the policy that closes or narrows deployments on the local `date`: holidays
/// (by rule, observed or extra), school weeks, dated and calendar blackouts that overlap the
/// day, and the weekly times to avoid. A day's bounds are its local midnights, so a 23- or
/// 25-hour day across a daylight-saving change is covered exactly.
pub fn closures_on(policy: &Policy, date: Date) -> Vec<DayClosure> {
    let tz = policy.tz();
    let mut out = Vec::new();
    if let Some(name) = holiday_on(policy, date) {
        out.push(DayClosure {
            rule: "holiday".into(),
            name,
            effect: policy.windows.holidays.effect,
            hours: None,
        });
    }
    for range in &policy.windows.school_weeks {
        let (Ok(from), Ok(to)) = (DaySpec::parse(&range.from), DaySpec::parse(&range.to)) else {
            continue;
        };
        if in_day_range(from, to, date) {
            out.push(DayClosure {
                rule: "school_week".into(),
                name: range.name.clone(),
                effect: range.effect,
                hours: None,
            });
        }
    }
    let (Ok(start), Some(end)) = (
        start_of_day(date, tz),
        date.tomorrow().ok().and_then(|d| start_of_day(d, tz).ok()),
    ) else {
        return out;
    };
    let (day_start, day_end) = (start.timestamp(), end.timestamp());
    for blackout in all_blackouts(policy) {
        if blackout.end <= day_start || blackout.start >= day_end {
            continue;
        }
        let hours = if blackout.start <= day_start && blackout.end >= day_end {
            None
        } else {
            Some((
                blackout.start.max(day_start).to_zoned(tz.clone()),
                blackout.end.min(day_end).to_zoned(tz.clone()),
            ))
        };
        out.push(DayClosure {
            rule: "blackout".into(),
            name: blackout.name,
            effect: blackout.effect,
            hours,
        });
    }
    let day = Day::of(date.weekday());
    for rule in &policy.windows.avoid {
        if !rule.days.contains(&day) {
            continue;
        }
        let (Some(from), Some(to)) = (
            local_instant(date, rule.start, tz),
            local_instant(date, rule.end, tz),
        ) else {
            continue;
        };
        let hours = if from <= day_start && to >= day_end {
            None
        } else {
            Some((from.to_zoned(tz.clone()), to.to_zoned(tz.clone())))
        };
        out.push(DayClosure {
            rule: rule.name.clone(),
            name: rule.reason.clone(),
            effect: rule.effect,
            hours,
        });
    }
    out
}

/// The preferred deployment windows of `release_type` on the local `date`, as local start and
/// end instants (the same wall-clock hours in summer and in winter).
pub fn windows_on(policy: &Policy, release_type: ReleaseType, date: Date) -> Vec<(Zoned, Zoned)> {
    let tz = policy.tz();
    let day = Day::of(date.weekday());
    policy
        .windows
        .of(release_type)
        .preferred
        .iter()
        .filter(|w| w.days.contains(&day))
        .filter_map(|w| {
            let start = local_instant(date, w.start, tz)?;
            let end = local_instant(date, w.end, tz)?;
            Some((start.to_zoned(tz.clone()), end.to_zoned(tz.clone())))
        })
        .collect()
}

/// A dated step of a stored release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneKind {
    /// Code freeze: the release branch and first candidate.
    CodeFreeze,
    /// Deployment to staging (Phase 2).
    Staging,
    /// Deployment to production (Phase 3).
    Production,
}

impl MilestoneKind {
    /// `Code freeze`, `Staging deployment`, `Production deployment`.
    pub fn label(self) -> &'static str {
        match self {
            MilestoneKind::CodeFreeze => "Code freeze",
            MilestoneKind::Staging => "Staging deployment",
            MilestoneKind::Production => "Production deployment",
        }
    }

    /// `freeze`, `staging`, `production`: stable keys (calendar UIDs).
    pub fn key(self) -> &'static str {
        match self {
            MilestoneKind::CodeFreeze => "freeze",
            MilestoneKind::Staging => "staging",
            MilestoneKind::Production => "production",
        }
    }
}

/// One milestone of a stored release: when, and whether it has happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseMilestone {
    /// Which step.
    pub kind: MilestoneKind,
    /// When it happened, or when it is planned.
    pub at: Timestamp,
    /// It happened (otherwise it is planned).
    pub done: bool,
}

/// The code freeze, staging and production dates of a stored release, as recorded or as
/// planned: the freeze from the record; staging when it happened, else the cadence's staging
/// day before the planned deployment (none for a hotfix, which has no train); production when
/// deployed, else the planned deployment. A cancelled release has none.
pub fn release_milestones(
    policy: &Policy,
    release: &crate::state::Release,
) -> Vec<ReleaseMilestone> {
    use crate::release::ReleaseStatus;
    let record = &release.record;
    if record.status == ReleaseStatus::Cancelled {
        return Vec::new();
    }
    let mut out = vec![ReleaseMilestone {
        kind: MilestoneKind::CodeFreeze,
        at: record.code_freeze_date,
        done: release.checklist.code_freeze_complete,
    }];
    let staging = match release.staging_deployed_at {
        Some(at) => Some((at, true)),
        None if record.release_type == ReleaseType::Hotfix || record.deployed_date.is_some() => {
            None
        }
        None => {
            let local = record.planned_date.to_zoned(policy.tz().clone());
            let planned = milestones(policy, record.release_type, local.date(), local, None)
                .staging
                .timestamp();
            (planned > record.code_freeze_date && planned < record.planned_date)
                .then_some((planned, false))
        }
    };
    if let Some((at, done)) = staging {
        out.push(ReleaseMilestone {
            kind: MilestoneKind::Staging,
            at,
            done,
        });
    }
    out.push(match record.deployed_date {
        Some(at) => ReleaseMilestone {
            kind: MilestoneKind::Production,
            at,
            done: true,
        },
        None => ReleaseMilestone {
            kind: MilestoneKind::Production,
            at: record.planned_date,
            done: false,
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn policy() -> Policy {
        Policy::default()
    }

    #[test]
    fn federal_holidays_by_rule() {
        let expected_2026 = [
            (HolidayRule::NewYearsDay, date(2026, 1, 1)),
            (HolidayRule::MartinLutherKingJrDay, date(2026, 1, 19)),
            (HolidayRule::PresidentsDay, date(2026, 2, 16)),
            (HolidayRule::MemorialDay, date(2026, 5, 25)),
            (HolidayRule::Juneteenth, date(2026, 6, 19)),
            (HolidayRule::IndependenceDay, date(2026, 7, 4)),
            (HolidayRule::LaborDay, date(2026, 9, 7)),
            (HolidayRule::ColumbusDay, date(2026, 10, 12)),
            (HolidayRule::VeteransDay, date(2026, 11, 11)),
            (HolidayRule::Thanksgiving, date(2026, 11, 26)),
            (HolidayRule::ChristmasDay, date(2026, 12, 25)),
        ];
        for (rule, day) in expected_2026 {
            assert_eq!(rule.date_in(2026), day, "{rule:?}");
        }
        assert_eq!(HolidayRule::Thanksgiving.date_in(2027), date(2027, 11, 25));
        assert_eq!(HolidayRule::MemorialDay.date_in(2027), date(2027, 5, 31));
    }

    #[test]
    fn thanksgiving_is_always_a_thursday() {
        for year in 2000..2100 {
            let day = HolidayRule::Thanksgiving.date_in(year);
            assert_eq!(day.weekday(), Weekday::Thursday);
            assert!((22..=28).contains(&day.day()));
        }
    }

    #[test]
    fn weekend_holidays_are_observed_on_the_nearest_weekday() {
        // July 4, 2026 is a Saturday: observed Friday July 3.
        assert_eq!(
            holiday_on(&policy(), date(2026, 7, 3)).as_deref(),
            Some("Independence Day (observed)")
        );
        // New Year's Day 2028 is a Saturday: observed Friday Dec 31, 2027.
        assert!(holiday_on(&policy(), date(2027, 12, 31)).is_some());
        // Christmas 2027 is a Saturday: observed Friday Dec 24.
        assert!(holiday_on(&policy(), date(2027, 12, 24)).is_some());
        assert!(holiday_on(&policy(), date(2026, 7, 6)).is_none());
    }

    #[test]
    fn preferred_window_is_thursday_afternoon_pacific() {
        // 2026-12-03 is a Thursday; 14:30 PST is 22:30 UTC.
        let verdict = check_window(&policy(), ts("2026-12-03T22:30:00Z"), ReleaseType::Standard);
        assert_eq!(verdict.status, WindowStatus::Preferred);
        assert!(verdict.findings.is_empty());
        let late = check_window(&policy(), ts("2026-12-04T00:30:00Z"), ReleaseType::Standard);
        assert_eq!(late.status, WindowStatus::Blocked);
        assert_eq!(late.findings[0].rule, "outside_window");
    }

    #[test]
    fn preferred_window_stays_at_local_time_across_daylight_saving() {
        // Summer (PDT, UTC-7): Thursday 2026-07-09 14:00 local is 21:00 UTC.
        let summer = check_window(&policy(), ts("2026-07-09T21:00:00Z"), ReleaseType::Standard);
        assert_eq!(summer.status, WindowStatus::Preferred);
        // The same UTC time in winter (PST, UTC-8) is 13:00 local: outside.
        let winter = check_window(&policy(), ts("2026-12-10T21:00:00Z"), ReleaseType::Standard);
        assert_eq!(winter.status, WindowStatus::Blocked);
        // First Thursday after the fall-back change (Nov 1, 2026): 14:00 PST = 22:00 UTC.
        let after_change =
            check_window(&policy(), ts("2026-11-05T22:00:00Z"), ReleaseType::Standard);
        assert_eq!(after_change.status, WindowStatus::Preferred);
    }

    #[test]
    fn monday_morning_is_avoided() {
        let verdict = check_window(&policy(), ts("2026-12-07T17:00:00Z"), ReleaseType::Hotfix);
        assert_eq!(verdict.status, WindowStatus::Discouraged);
        assert_eq!(verdict.findings[0].rule, "monday_morning");
        let patch = check_window(&policy(), ts("2026-12-07T17:00:00Z"), ReleaseType::Patch);
        assert_eq!(patch.status, WindowStatus::Blocked);
    }

    #[test]
    fn friday_evening_is_avoided() {
        // Friday 2026-12-04 18:00 PST.
        let verdict = check_window(&policy(), ts("2026-12-05T02:00:00Z"), ReleaseType::Hotfix);
        assert!(verdict.findings.iter().any(|f| f.rule == "friday_evening"));
    }

    #[test]
    fn holidays_block_deployment_even_in_the_window() {
        // Thanksgiving 2026-11-26 is a Thursday, 14:30 PST.
        let verdict = check_window(&policy(), ts("2026-11-26T22:30:00Z"), ReleaseType::Standard);
        assert_eq!(verdict.status, WindowStatus::Blocked);
        assert!(
            verdict
                .findings
                .iter()
                .any(|f| f.rule == "holiday" && f.message.contains("Thanksgiving"))
        );
    }

    #[test]
    fn school_year_weeks_block_deployment() {
        // 2027-08-26 is a Thursday inside the default start week 08-24..08-30.
        let verdict = check_window(&policy(), ts("2027-08-26T21:30:00Z"), ReleaseType::Standard);
        assert!(verdict.findings.iter().any(|f| f.rule == "school_week"));
        assert_eq!(verdict.status, WindowStatus::Blocked);
    }

    #[test]
    fn hotfix_may_deploy_any_time_but_is_warned_in_blackouts() {
        let tuesday_night =
            check_window(&policy(), ts("2026-12-09T07:00:00Z"), ReleaseType::Hotfix);
        assert_eq!(tuesday_night.status, WindowStatus::Allowed);
        let thanksgiving = check_window(&policy(), ts("2026-11-26T20:00:00Z"), ReleaseType::Hotfix);
        assert_eq!(thanksgiving.status, WindowStatus::Discouraged);
        assert!(thanksgiving.may_start());
    }

    #[test]
    fn dated_blackouts_and_wrapping_yearly_ranges() {
        let mut p = policy();
        p.windows.blackouts.push(DatedBlackout {
            name: "state testing".into(),
            from: "2027-04-13".into(),
            to: "2027-04-16".into(),
            effect: Effect::Block,
        });
        // Thursday 2027-04-15 14:30 PDT.
        let verdict = check_window(&p, ts("2027-04-15T21:30:00Z"), ReleaseType::Standard);
        assert!(
            verdict
                .findings
                .iter()
                .any(|f| f.message.contains("state testing"))
        );
        let winter = (
            DaySpec::parse("12-20").unwrap(),
            DaySpec::parse("01-05").unwrap(),
        );
        assert!(in_day_range(winter.0, winter.1, date(2027, 1, 2)));
        assert!(in_day_range(winter.0, winter.1, date(2026, 12, 24)));
        assert!(!in_day_range(winter.0, winter.1, date(2026, 7, 2)));
    }

    #[test]
    fn the_whole_deployment_must_fit_the_window() {
        // Thursday 2026-12-03: 15:15 PST + 45 minutes ends at 16:00, inside the window.
        let fits = check_window(&policy(), ts("2026-12-03T23:15:00Z"), ReleaseType::Standard);
        assert_eq!(fits.status, WindowStatus::Preferred);
        assert_eq!(fits.ends_at.timestamp(), ts("2026-12-04T00:00:00Z"));
        // 15:59 would end at 16:44, after the window closes.
        let late = check_window(&policy(), ts("2026-12-03T23:59:00Z"), ReleaseType::Standard);
        assert_eq!(late.status, WindowStatus::Blocked);
        let finding = &late.findings[0];
        assert_eq!(finding.rule, "outside_window");
        assert!(finding.message.contains("16:44 PST"), "{}", finding.message);
        // A hotfix (20 minutes) from Friday 15:50 runs into the Friday evening, which only
        // discourages a hotfix.
        let hotfix = check_window(&policy(), ts("2026-12-04T23:50:00Z"), ReleaseType::Hotfix);
        assert_eq!(hotfix.status, WindowStatus::Discouraged);
        assert_eq!(hotfix.findings[0].rule, "friday_evening");
    }

    #[test]
    fn next_slot_is_the_next_thursday_window() {
        // Monday 2026-11-30 10:00 PST -> Thursday 2026-12-03 14:00 PST.
        let slot = next_slot(&policy(), ts("2026-11-30T18:00:00Z"), ReleaseType::Standard).unwrap();
        assert_eq!(slot.start.timestamp(), ts("2026-12-03T22:00:00Z"));
        assert_eq!(slot.status, WindowStatus::Preferred);
        assert_eq!(
            slot.end.map(|e| e.timestamp()),
            Some(ts("2026-12-04T00:00:00Z"))
        );
    }

    #[test]
    fn next_slot_skips_thanksgiving() {
        // Tuesday 2026-11-24 -> not Thanksgiving Thursday, but Thursday 2026-12-03.
        let slot = next_slot(&policy(), ts("2026-11-24T18:00:00Z"), ReleaseType::Standard).unwrap();
        assert_eq!(slot.start.date(), date(2026, 12, 3));
    }

    #[test]
    fn next_slot_inside_a_window_starts_now() {
        let now = ts("2026-12-03T22:45:00Z");
        let slot = next_slot(&policy(), now, ReleaseType::Standard).unwrap();
        assert_eq!(slot.start.timestamp(), now);
    }

    #[test]
    fn next_slot_for_hotfix_leaves_friday_evening() {
        // Friday 2026-12-04 18:00 PST: hotfix blackouts only discourage, so it may start now.
        let now = ts("2026-12-05T02:00:00Z");
        let slot = next_slot(&policy(), now, ReleaseType::Hotfix).unwrap();
        assert_eq!(slot.start.timestamp(), now);
        assert_eq!(slot.status, WindowStatus::Discouraged);
    }

    #[test]
    fn calendar_lays_out_the_biweekly_train_with_milestones() {
        let releases = release_calendar(&policy(), date(2026, 12, 1), date(2026, 12, 31));
        let standard: Vec<&PlannedRelease> = releases
            .iter()
            .filter(|r| r.release_type == ReleaseType::Standard)
            .collect();
        // Anchor 2026-01-08 + 2k weeks: Dec 10 and Dec 24 (Dec 3 is 47 weeks after the anchor).
        let dates: Vec<Date> = standard.iter().map(|r| r.nominal_date).collect();
        assert_eq!(dates, vec![date(2026, 12, 10), date(2026, 12, 24)]);
        let first = standard[0];
        assert_eq!(first.deploy.date(), date(2026, 12, 10));
        assert_eq!(first.deploy.hour(), 14);
        // Code freeze: the Monday at least 7 days before: Nov 30.
        assert_eq!(first.code_freeze.date(), date(2026, 11, 30));
        assert_eq!(first.staging.date(), date(2026, 12, 8));
        assert_eq!(first.go_no_go.hour(), 13);
        assert_eq!(first.retrospective.date(), date(2026, 12, 14));
        let patches = releases
            .iter()
            .filter(|r| r.release_type == ReleaseType::Patch);
        assert!(
            patches
                .clone()
                .all(|r| r.optional && r.deploy.weekday() == Weekday::Tuesday)
        );
    }

    #[test]
    fn calendar_moves_a_release_off_thanksgiving() {
        let mut p = policy();
        p.cadence.standard.anchor = date(2026, 11, 26);
        let releases = release_calendar(&p, date(2026, 11, 20), date(2026, 11, 30));
        let release = &releases[0];
        assert_eq!(release.nominal_date, date(2026, 11, 26));
        assert_eq!(release.deploy.date(), date(2026, 12, 3));
        assert!(
            release
                .moved
                .as_deref()
                .is_some_and(|m| m.contains("Thanksgiving"))
        );
    }

    #[test]
    fn retrospective_moves_past_a_monday_holiday() {
        // Deployed Thursday 2027-01-14; the following Monday is MLK Day -> Tuesday 2027-01-19.
        assert_eq!(
            retrospective_date(&policy(), date(2027, 1, 14)),
            date(2027, 1, 19)
        );
        // Deployed Thursday 2026-09-03; Monday Sept 7 is Labor Day -> Tuesday Sept 8.
        assert_eq!(
            retrospective_date(&policy(), date(2026, 9, 3)),
            date(2026, 9, 8)
        );
        assert_eq!(
            retrospective_date(&policy(), date(2026, 12, 3)),
            date(2026, 12, 7)
        );
    }
    #[test]
    fn thanksgiving_closes_the_whole_day_and_avoid_rules_part_of_one() {
        let closures = closures_on(&policy(), date(2026, 11, 26));
        assert_eq!(closures.len(), 1, "{closures:?}");
        assert_eq!(closures[0].name, "Thanksgiving");
        assert!(closures[0].whole_day() && closures[0].effect == Effect::Block);
        let monday = closures_on(&policy(), date(2026, 11, 30));
        let (from, to) = monday[0].hours.clone().unwrap();
        assert_eq!((from.hour(), to.hour()), (0, 12));
        assert!(closures_on(&policy(), date(2026, 12, 2)).is_empty());
    }

    #[test]
    fn closures_of_timed_blackouts_are_clipped_to_the_local_day() {
        let mut p = policy();
        p.windows.blackouts.push(DatedBlackout {
            name: "board meeting".into(),
            from: "2026-11-03T18:00:00-08:00".into(),
            to: "2026-11-04T10:00:00-08:00".into(),
            effect: Effect::Discourage,
        });
        let first = closures_on(&p, date(2026, 11, 3));
        let (from, to) = first[0].hours.clone().unwrap();
        assert_eq!((from.hour(), to.date()), (18, date(2026, 11, 4)));
        let second = closures_on(&p, date(2026, 11, 4));
        let (from, to) = second[0].hours.clone().unwrap();
        assert_eq!((from.hour(), to.hour()), (0, 10));
    }

    #[test]
    fn windows_keep_their_wall_clock_hours_across_the_fall_back_change() {
        let before = windows_on(&policy(), ReleaseType::Standard, date(2026, 10, 29));
        let after = windows_on(&policy(), ReleaseType::Standard, date(2026, 11, 5));
        assert_eq!(before[0].0.hour(), 14);
        assert_eq!(after[0].0.hour(), 14);
        assert_eq!(before[0].0.timestamp(), ts("2026-10-29T21:00:00Z"));
        assert_eq!(after[0].0.timestamp(), ts("2026-11-05T22:00:00Z"));
        assert!(windows_on(&policy(), ReleaseType::Standard, date(2026, 11, 1)).is_empty());
    }
    #[test]
    fn a_stored_release_has_its_freeze_staging_and_production_dates() {
        use crate::roles::{Actor, Role};
        let p = policy();
        let actor = Actor::user("erin", [Role::EngineeringLead]);
        let world = crate::decide::World::default();
        let ctx = crate::decide::Context {
            policy: &p,
            now: ts("2026-10-20T17:00:00Z"),
            actor: &actor,
            world: &world,
        };
        let cmd = crate::decide::PlanRelease {
            release_id: uuid::Uuid::new_v4(),
            checklist_id: uuid::Uuid::new_v4(),
            release_type: ReleaseType::Standard,
            version: Some(semver::Version::new(2, 0, 0)),
            planned_date: Some(ts("2026-11-05T22:00:00Z")),
            title: None,
            from_version: None,
            trigger: None,
            severity: None,
        };
        let events = crate::decide::plan(&cmd, &ctx).unwrap();
        let mut release = crate::state::Release::replay(&events).unwrap();
        let dates: Vec<(MilestoneKind, Timestamp, bool)> = release_milestones(&p, &release)
            .into_iter()
            .map(|m| (m.kind, m.at, m.done))
            .collect();
        // Freeze Monday 09:00 PDT, staging Tuesday 10:00 PST (after the change), deploy 14:00 PST.
        assert_eq!(
            dates,
            vec![
                (MilestoneKind::CodeFreeze, ts("2026-10-26T16:00:00Z"), false),
                (MilestoneKind::Staging, ts("2026-11-03T18:00:00Z"), false),
                (MilestoneKind::Production, ts("2026-11-05T22:00:00Z"), false),
            ]
        );
        release.record.status = crate::release::ReleaseStatus::Cancelled;
        assert!(release_milestones(&p, &release).is_empty());
    }
}
