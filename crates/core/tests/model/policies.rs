//! The policies sequences run under (the defaults and a few variations), where each sequence's
//! clock starts, and the oracle's own deployment-window calendar.
//!
//! The calendar here is written from the spec and the policy's data (windows, avoided times,
//! school weeks), with the federal holidays of 2026-2027 listed by hand, so it does not share code
//! with `greenlight_core::calendar`.

use std::sync::{Arc, OnceLock};

use greenlight_core::Policy;
use greenlight_core::policy::{Effect, TypeWindows, WeeklyWindow};
use greenlight_core::release::ReleaseType;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// A named policy: the default, or TOML merged over it.
pub const VARIANTS: [(&str, &str); 4] = [
    ("default", ""),
    (
        // Another zone (DST on other dates), a morning standard window, a slower flag rollout.
        "berlin",
        r#"
timezone = "Europe/Berlin"
[windows.standard]
outside_preferred = "block"
[[windows.standard.preferred]]
days = ["wednesday"]
start = "10:00"
end = "12:00"
[feature_flags]
stages = [5, 20, 100]
min_stage_minutes = 30
"#,
    ),
    (
        // Stricter: the product owner must approve patches too, a hotfix may not go out in a
        // blackout, Severity 2 bugs never block.
        "strict",
        r#"
[approvals.patch]
required = ["engineering_lead", "qa_lead", "product_owner"]
optional = []
minimum = 3
[windows.hotfix]
preferred = []
outside_preferred = "allow"
blackout_effect = "block"
[severity]
sev2_blocks_without_workaround = false
"#,
    ),
    (
        // Lenient: standard releases only discouraged outside Thursday afternoons, holidays
        // discouraged, short lead times.
        "lenient",
        r#"
[windows.standard]
outside_preferred = "discourage"
[windows.holidays]
effect = "discourage"
[cadence.standard]
lead_days_min = 2
[cadence.major]
lead_days_min = 5
"#,
    ),
];

/// The policy called `name`, parsed once.
pub fn policy(index: usize) -> Arc<Policy> {
    static POLICIES: OnceLock<Vec<Arc<Policy>>> = OnceLock::new();
    let all = POLICIES.get_or_init(|| {
        VARIANTS
            .iter()
            .map(|(name, toml)| {
                let policy = if toml.is_empty() {
                    Policy::default()
                } else {
                    Policy::from_toml(toml)
                        .unwrap_or_else(|e| panic!("policy variant {name} does not load: {e}"))
                };
                Arc::new(policy)
            })
            .collect()
    });
    Arc::clone(&all[index % all.len()])
}

/// Where a sequence's clock starts: weeks with DST changes, holidays and school weeks ahead.
pub const STARTS: [&str; 5] = [
    // Mon 2026-10-19: US DST ends Nov 1, EU DST ends Oct 25, Veterans Day, Thanksgiving.
    "2026-10-19T16:00:00Z",
    // Mon 2027-03-01: US DST starts Mar 14, EU DST starts Mar 28.
    "2027-03-01T17:00:00Z",
    // Mon 2026-06-01: school year end week (06-08..06-14), Juneteenth, July 3 observed.
    "2026-06-01T16:00:00Z",
    // Mon 2026-08-17: school year start week (08-24..08-30), Labor Day.
    "2026-08-17T16:00:00Z",
    // Mon 2026-11-16: Thanksgiving, December, Christmas and New Year observed.
    "2026-11-16T17:00:00Z",
];

/// US federal holidays (as the default policy's rules name them) and the weekdays they are
/// observed on, 2026-2027, written out by hand.
const HOLIDAYS: [&str; 27] = [
    "2026-01-01",
    "2026-01-19",
    "2026-02-16",
    "2026-05-25",
    "2026-06-19",
    "2026-07-03",
    "2026-07-04",
    "2026-09-07",
    "2026-10-12",
    "2026-11-11",
    "2026-11-26",
    "2026-12-25",
    "2027-01-01",
    "2027-01-18",
    "2027-02-15",
    "2027-05-31",
    "2027-06-18",
    "2027-06-19",
    "2027-07-04",
    "2027-07-05",
    "2027-09-06",
    "2027-10-11",
    "2027-11-11",
    "2027-11-25",
    "2027-12-24",
    "2027-12-25",
    "2027-12-31",
];

/// Why the deployment window blocks a deployment of `release_type` at `at`; `None` if it may
/// start then (allowed or only discouraged).
pub fn blocked(policy: &Policy, at: Timestamp, release_type: ReleaseType) -> Option<String> {
    let tz = TimeZone::get(&policy.timezone).expect("the policy's zone exists");
    let local = at.to_zoned(tz);
    let windows = type_windows(policy, release_type);
    let effect = |e: Effect| windows.blackout_effect.unwrap_or(e);
    let seconds = seconds_of_day(&local);
    let weekday = local.weekday();
    let mut why = Vec::new();
    if windows.outside_preferred == Effect::Block
        && !windows
            .preferred
            .iter()
            .any(|w| within(w, weekday, seconds))
    {
        why.push("outside the preferred windows".to_string());
    }
    for rule in &policy.windows.avoid {
        let day = rule.days.iter().any(|d| d.weekday() == weekday);
        let time = in_range(seconds, rule.start.minutes(), rule.end.minutes());
        if day && time && effect(rule.effect) == Effect::Block {
            why.push(rule.name.clone());
        }
    }
    let date = local.date();
    if effect(policy.windows.holidays.effect) == Effect::Block
        && HOLIDAYS
            .iter()
            .any(|h| h.parse::<Date>().ok() == Some(date))
    {
        why.push(format!("holiday {date}"));
    }
    for week in &policy.windows.school_weeks {
        if effect(week.effect) == Effect::Block && in_school_week(date, &week.from, &week.to) {
            why.push(week.name.clone());
        }
    }
    (!why.is_empty()).then(|| format!("{}: {}", local.strftime("%a %F %H:%M %Z"), why.join(", ")))
}

fn type_windows(policy: &Policy, release_type: ReleaseType) -> &TypeWindows {
    match release_type {
        ReleaseType::Standard => &policy.windows.standard,
        ReleaseType::Patch => &policy.windows.patch,
        ReleaseType::Hotfix => &policy.windows.hotfix,
        ReleaseType::Major => &policy.windows.major,
    }
}

fn seconds_of_day(local: &Zoned) -> u32 {
    let t = local.time();
    u32::try_from(i32::from(t.hour()) * 3600 + i32::from(t.minute()) * 60 + i32::from(t.second()))
        .unwrap_or(0)
}

fn in_range(seconds: u32, start_minutes: u16, end_minutes: u16) -> bool {
    seconds >= u32::from(start_minutes) * 60 && seconds < u32::from(end_minutes) * 60
}

fn within(window: &WeeklyWindow, weekday: jiff::civil::Weekday, seconds: u32) -> bool {
    window.days.iter().any(|d| d.weekday() == weekday)
        && in_range(seconds, window.start.minutes(), window.end.minutes())
}

/// `MM-DD` ranges every year, inclusive, possibly wrapping the new year.
fn in_school_week(date: Date, from: &str, to: &str) -> bool {
    let md = |text: &str| -> Option<(i8, i8)> {
        let (m, d) = text.split_once('-')?;
        Some((m.parse().ok()?, d.parse().ok()?))
    };
    let (Some(from), Some(to)) = (md(from), md(to)) else {
        return false;
    };
    let day = (date.month(), date.day());
    if from <= to {
        from <= day && day <= to
    } else {
        day >= from || day <= to
    }
}
