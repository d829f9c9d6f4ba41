//! iCalendar in and out: blackouts read from a calendar (a school district's), and the release
//! calendar written for calendar apps to subscribe to.
//!
//! The `ical` crate does the syntax (line unfolding, parameters, folding on output); this module
//! interprets dates in the policy's zone and escapes text values.

use std::fmt::Write as _;

use ical::generator::{Emitter, IcalCalendarBuilder, IcalEvent};
use ical::parser::Component;
use ical::property::Property;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use crate::calendar::{
    Blackout, CalendarPolicy, Effect, MilestoneKind, PlannedRelease, ReleaseMilestone, closures_on,
};
use crate::state::Release;

/// What an iCalendar file gave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IcsImport {
    /// One blackout per event.
    pub blackouts: Vec<Blackout>,
    /// Events that were skipped, and why (recurring events are not expanded).
    pub skipped: Vec<String>,
}

/// Why an iCalendar file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid iCalendar file: {0}")]
pub struct IcsError(String);

/// Reads the events of an iCalendar text as blackouts with `effect`.
///
/// All-day events black out whole local days; timed events their interval. Times without a zone
/// are in `tz`; `TZID` parameters name their zone.
pub fn blackouts_from_ics(
    text: &str,
    tz: &TimeZone,
    effect: Effect,
) -> Result<IcsImport, IcsError> {
    let mut import = IcsImport::default();
    for calendar in ical::IcalParser::new(text.as_bytes()) {
        let calendar = calendar.map_err(|e| IcsError(e.to_string()))?;
        for event in &calendar.events {
            match event_blackout(event, tz, effect) {
                Ok(blackout) => import.blackouts.push(blackout),
                Err(why) => import.skipped.push(why),
            }
        }
    }
    Ok(import)
}

fn event_blackout(event: &IcalEvent, tz: &TimeZone, effect: Effect) -> Result<Blackout, String> {
    let name = event
        .get_property("SUMMARY")
        .and_then(|p| p.value.as_deref())
        .map(unescape_text)
        .unwrap_or_else(|| "calendar event".into());
    if event.get_property("RRULE").is_some() {
        return Err(format!("`{name}`: recurring events are not expanded"));
    }
    let start_prop = event
        .get_property("DTSTART")
        .ok_or_else(|| format!("`{name}`: no DTSTART"))?;
    let start = ics_time(start_prop, tz).map_err(|e| format!("`{name}`: DTSTART {e}"))?;
    let end = match event.get_property("DTEND") {
        Some(prop) => ics_time(prop, tz).map_err(|e| format!("`{name}`: DTEND {e}"))?,
        None => default_end(event, &start, tz).map_err(|e| format!("`{name}`: {e}"))?,
    };
    let (start, end) = (start.timestamp, end.timestamp);
    if end <= start {
        return Err(format!("`{name}`: ends before it starts"));
    }
    Ok(Blackout {
        name,
        start,
        end,
        effect,
    })
}

struct IcsTime {
    timestamp: Timestamp,
    all_day: bool,
}

/// The end of an event without DTEND: DURATION if given, else one day for an all-day event.
fn default_end(event: &IcalEvent, start: &IcsTime, tz: &TimeZone) -> Result<IcsTime, String> {
    let span = match event
        .get_property("DURATION")
        .and_then(|p| p.value.as_deref())
    {
        Some(text) => text
            .parse::<Span>()
            .map_err(|_| format!("DURATION `{text}` is not an ISO 8601 duration"))?,
        None if start.all_day => Span::new().days(1),
        None => return Err("no DTEND or DURATION".into()),
    };
    let zoned = start.timestamp.to_zoned(tz.clone());
    let end = zoned.checked_add(span).map_err(|e| e.to_string())?;
    Ok(IcsTime {
        timestamp: end.timestamp(),
        all_day: start.all_day,
    })
}

fn ics_time(prop: &Property, default_tz: &TimeZone) -> Result<IcsTime, String> {
    let value = prop.value.as_deref().unwrap_or("").trim();
    let param = |name: &str| {
        prop.params.as_ref().and_then(|params| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, values)| values.first().cloned())
        })
    };
    let tz = match param("TZID") {
        Some(id) => TimeZone::get(id.trim_matches('"'))
            .map_err(|_| format!("names an unknown time zone `{id}`"))?,
        None => default_tz.clone(),
    };
    let is_date =
        param("VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE")) || value.len() == 8;
    if is_date {
        let date = jiff::fmt::strtime::parse("%Y%m%d", value)
            .and_then(|t| t.to_date())
            .map_err(|_| format!("`{value}` is not a date YYYYMMDD"))?;
        return day_start(date, &tz).map(|timestamp| IcsTime {
            timestamp,
            all_day: true,
        });
    }
    let (text, utc) = match value.strip_suffix('Z') {
        Some(rest) => (rest, true),
        None => (value, false),
    };
    let datetime: DateTime = jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", text)
        .and_then(|t| t.to_datetime())
        .map_err(|_| format!("`{value}` is not a date-time YYYYMMDDTHHMMSS"))?;
    let zone = if utc { TimeZone::UTC } else { tz };
    let timestamp = datetime
        .to_zoned(zone)
        .map_err(|e| e.to_string())?
        .timestamp();
    Ok(IcsTime {
        timestamp,
        all_day: false,
    })
}

fn day_start(date: Date, tz: &TimeZone) -> Result<Timestamp, String> {
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

/// Undoes RFC 5545 TEXT escaping.
fn unescape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}

fn utc_stamp(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn property(name: &str, value: String) -> Property {
    Property {
        name: name.into(),
        params: None,
        value: Some(value),
    }
}

/// The release calendar as an iCalendar file: one event per milestone.
///
/// UIDs are stable (type, nominal date and milestone), so a subscribed calendar updates in place;
/// `generated_at` is the DTSTAMP. Times are written in UTC.
pub fn calendar_to_ics(releases: &[PlannedRelease], generated_at: Timestamp) -> String {
    feed_to_ics("Greenlight releases", &train_events(releases), generated_at)
}

/// When an event of a calendar feed happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedTime {
    /// At an instant, for some minutes (written in UTC).
    At {
        /// Start.
        start: Timestamp,
        /// Length in minutes.
        minutes: i64,
    },
    /// Whole days, `first` through `last` (an all-day event; calendar apps show it on those
    /// days in any zone).
    Days {
        /// First day.
        first: Date,
        /// Last day, inclusive.
        last: Date,
    },
}

/// One event of a calendar feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Stable identity, so a subscribed calendar updates the event in place.
    pub uid: String,
    /// The title.
    pub summary: String,
    /// More words.
    pub description: String,
    /// When.
    pub when: FeedTime,
    /// A page about it, if there is one.
    pub url: Option<String>,
}

/// A calendar named `name` with `events`, as iCalendar text; `generated_at` is every
/// event's DTSTAMP. The `ical` crate writes the syntax (folding); text values are escaped here.
pub fn feed_to_ics(name: &str, events: &[FeedEvent], generated_at: Timestamp) -> String {
    let mut builder = IcalCalendarBuilder::version("2.0")
        .gregorian()
        .prodid("-//Greenlight//Release calendar//EN")
        .set(property("X-WR-CALNAME", escape_text(name)))
        // Ask subscribed apps to poll hourly (Apple, Outlook; others poll on their own terms).
        .set(property("X-PUBLISHED-TTL", "PT1H".into()))
        .set(Property {
            name: "REFRESH-INTERVAL".into(),
            params: Some(vec![("VALUE".into(), vec!["DURATION".into()])]),
            value: Some("PT1H".into()),
        });
    for event in events {
        let (start, end) = match event.when {
            FeedTime::At { start, minutes } => {
                let end = start
                    .saturating_add(jiff::SignedDuration::from_mins(minutes))
                    .unwrap_or(start);
                (
                    property("DTSTART", utc_stamp(start)),
                    property("DTEND", utc_stamp(end)),
                )
            }
            FeedTime::Days { first, last } => {
                let after = last.tomorrow().unwrap_or(last);
                (
                    date_property("DTSTART", first),
                    date_property("DTEND", after),
                )
            }
        };
        let mut properties = vec![
            property("UID", event.uid.clone()),
            property("DTSTAMP", utc_stamp(generated_at)),
            start,
            end,
            property("SUMMARY", escape_text(&event.summary)),
            property("DESCRIPTION", escape_text(&event.description)),
        ];
        if let Some(url) = &event.url {
            properties.push(property("URL", url.clone()));
        }
        builder = builder.add_event(IcalEvent {
            properties,
            alarms: Vec::new(),
        });
    }
    builder.build().generate()
}

fn date_property(name: &str, date: Date) -> Property {
    Property {
        name: name.into(),
        params: Some(vec![("VALUE".into(), vec!["DATE".into()])]),
        value: Some(date.strftime("%Y%m%d").to_string()),
    }
}

/// The release train's milestones (code freeze, staging, Go/No-Go, deployment,
/// retrospective of each planned release) as feed events.
pub fn train_events(releases: &[PlannedRelease]) -> Vec<FeedEvent> {
    let mut out = Vec::new();
    for release in releases {
        for (key, summary, start, minutes) in milestone_events(release) {
            let mut description = String::new();
            let _ = write!(description, "{} release", release.release_type);
            if release.optional {
                description.push_str(" (only if needed)");
            }
            if let Some(moved) = &release.moved {
                let _ = write!(
                    description,
                    ". Moved from {}: {moved}",
                    release.nominal_date
                );
            }
            out.push(FeedEvent {
                uid: format!(
                    "{}-{}-{key}@greenlight",
                    release.release_type, release.nominal_date
                ),
                summary,
                description,
                when: FeedTime::At { start, minutes },
                url: None,
            });
        }
    }
    out
}

/// The blackouts of the local days `from..=to` as feed events: whole days closed by a holiday,
/// a school week or a blackout (consecutive days of the same closure as one event), and timed
/// blackouts at their hours. The weekly times to avoid are left out: they recur every week
/// and belong with the windows.
pub fn blackout_events(policy: &dyn CalendarPolicy, from: Date, to: Date) -> Vec<FeedEvent> {
    let mut out: Vec<FeedEvent> = Vec::new();
    // (rule, name, effect) -> index in `out` of the all-day event that ended yesterday.
    let mut open: Vec<((String, String, Effect), usize)> = Vec::new();
    let mut date = from;
    while date <= to {
        let mut still_open = Vec::new();
        for closure in closures_on(policy, date) {
            let weekly = !matches!(
                closure.rule.as_str(),
                "holiday" | "school_week" | "blackout"
            );
            if weekly || closure.effect == Effect::Allow {
                continue;
            }
            let verb = closure.verb();
            let summary = format!("{verb}: {}", closure.name);
            let description = format!(
                "{} ({}): {} for planned releases",
                closure.name,
                closure.rule.replace('_', " "),
                verb.to_lowercase()
            );
            match closure.hours {
                Some((start, end)) => out.push(FeedEvent {
                    uid: format!(
                        "blackout-{}-{}@greenlight",
                        utc_stamp(start.timestamp()),
                        slug(&closure.name)
                    ),
                    summary,
                    description,
                    when: FeedTime::At {
                        start: start.timestamp(),
                        minutes: end.timestamp().duration_since(start.timestamp()).as_mins(),
                    },
                    url: None,
                }),
                None => {
                    let key = (closure.rule.clone(), closure.name.clone(), closure.effect);
                    let extended = open.iter().find(|(k, _)| *k == key).map(|(_, i)| *i);
                    let index = match extended {
                        Some(i) => {
                            if let Some(FeedTime::Days { last, .. }) =
                                out.get_mut(i).map(|e| &mut e.when)
                            {
                                *last = date;
                            }
                            i
                        }
                        None => {
                            out.push(FeedEvent {
                                uid: format!("blackout-{date}-{}@greenlight", slug(&closure.name)),
                                summary,
                                description,
                                when: FeedTime::Days {
                                    first: date,
                                    last: date,
                                },
                                url: None,
                            });
                            out.len() - 1
                        }
                    };
                    still_open.push((key, index));
                }
            }
        }
        open = still_open;
        let Ok(next) = date.tomorrow() else { break };
        date = next;
    }
    out
}

/// A stored release's milestones as feed events, linked to `url` (its page) when given.
pub fn release_events(
    release: &Release,
    milestones: &[ReleaseMilestone],
    url: Option<&str>,
) -> Vec<FeedEvent> {
    let record = &release.record;
    milestones
        .iter()
        .map(|m| {
            let minutes = match m.kind {
                MilestoneKind::CodeFreeze => 30,
                MilestoneKind::Staging => 60,
                MilestoneKind::Production => 45,
            };
            let state = if m.done { "done" } else { "planned" };
            let mut description = format!(
                "{} release {} ({}), {state}",
                record.release_type, record.version, record.status
            );
            if let Some(title) = &release.title {
                let _ = write!(description, ": {title}");
            }
            FeedEvent {
                uid: format!("release-{}-{}@greenlight", record.release_id, m.kind.key()),
                summary: format!("{}: {}", m.kind.label(), record.version),
                description,
                when: FeedTime::At {
                    start: m.at,
                    minutes,
                },
                url: url.map(str::to_string),
            }
        })
        .collect()
}

/// A name as a UID-safe word: lowercase letters and digits, dashes between.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// (uid key, summary, start, minutes) of each milestone of a release.
fn milestone_events(release: &PlannedRelease) -> Vec<(&'static str, String, Timestamp, i64)> {
    let kind = release.release_type;
    vec![
        (
            "freeze",
            format!("Code freeze: {kind} release"),
            release.code_freeze.timestamp(),
            30,
        ),
        (
            "staging",
            format!("Staging deployment: {kind} release"),
            release.staging.timestamp(),
            60,
        ),
        (
            "go-no-go",
            format!("Go/No-Go: {kind} release"),
            release.go_no_go.timestamp(),
            15,
        ),
        (
            "deploy",
            format!("Production deployment: {kind} release"),
            release.deploy.timestamp(),
            45,
        ),
        (
            "retro",
            format!("Retrospective: {kind} release"),
            release.retrospective.timestamp(),
            60,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::release_calendar;
    use crate::policy::Policy;
    use jiff::civil::date;

    fn la() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    const DISTRICT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//District//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20270412\r\nDTEND;VALUE=DATE:20270417\r\n\
SUMMARY:State testing\\, grades 3-8\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2\r\nDTSTART;TZID=America/New_York:20270301T180000\r\n\
DTEND;TZID=America/New_York:20270301T200000\r\nSUMMARY:Parent-teacher\r\n  conferences\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:3\r\nDTSTART:20270501T160000Z\r\nDURATION:PT3H\r\nSUMMARY:Board meeting\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:4\r\nDTSTART;VALUE=DATE:20270105\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn district_calendar_events_become_blackouts() {
        let import = blackouts_from_ics(DISTRICT, &la(), Effect::Block).unwrap();
        assert_eq!(import.blackouts.len(), 3, "{import:?}");
        let testing = &import.blackouts[0];
        assert_eq!(testing.name, "State testing, grades 3-8");
        assert_eq!(testing.start.to_zoned(la()).date(), date(2027, 4, 12));
        // DTEND of an all-day event is exclusive: the last blocked day is April 16.
        assert_eq!(testing.end.to_zoned(la()).date(), date(2027, 4, 17));
        let conferences = &import.blackouts[1];
        assert_eq!(conferences.name, "Parent-teacher conferences");
        assert_eq!(conferences.start, "2027-03-01T23:00:00Z".parse().unwrap());
        let board = &import.blackouts[2];
        assert_eq!(board.end, "2027-05-01T19:00:00Z".parse().unwrap());
        assert_eq!(import.skipped.len(), 1);
        assert!(import.skipped[0].contains("recurring"));
    }

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        for text in ["hello", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "\u{0}\u{1}"] {
            assert!(
                blackouts_from_ics(text, &la(), Effect::Block).is_err(),
                "{text:?}"
            );
        }
        let bad_date = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2027xx01\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let import = blackouts_from_ics(bad_date, &la(), Effect::Block).unwrap();
        assert!(import.blackouts.is_empty());
        assert!(import.skipped[0].contains("DTSTART"));
    }

    #[test]
    fn release_calendar_exports_every_milestone_with_stable_uids() {
        let policy = Policy::default();
        let releases = release_calendar(&policy, date(2026, 12, 1), date(2026, 12, 10));
        let generated = "2026-11-24T12:00:00Z".parse().unwrap();
        let ics = calendar_to_ics(&releases, generated);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("UID:standard-2026-12-10-deploy@greenlight\r\n"));
        assert!(ics.contains("DTSTART:20261210T220000Z\r\n"));
        assert!(ics.contains("SUMMARY:Code freeze: standard release\r\n"));
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), releases.len() * 5);
        // What we write, we can read back.
        let back = blackouts_from_ics(&ics, &la(), Effect::Block).unwrap();
        assert_eq!(back.blackouts.len(), releases.len() * 5);
    }

    #[test]
    fn text_escaping_round_trips() {
        let text = "a, b; c\\d\nline";
        assert_eq!(unescape_text(&escape_text(text)), text);
    }
    #[test]
    fn blackouts_become_all_day_events_merged_over_consecutive_days() {
        let mut policy = Policy::default();
        policy.windows.blackouts.push(crate::policy::DatedBlackout {
            name: "state testing".into(),
            from: "2027-04-13".into(),
            to: "2027-04-15".into(),
            effect: Effect::Block,
        });
        let events = blackout_events(&policy, date(2027, 4, 12), date(2027, 4, 16));
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].summary, "No deploys: state testing");
        assert_eq!(
            events[0].when,
            FeedTime::Days {
                first: date(2027, 4, 13),
                last: date(2027, 4, 15)
            }
        );
        let thanksgiving =
            blackout_events(&Policy::default(), date(2026, 11, 23), date(2026, 11, 29));
        assert_eq!(thanksgiving.len(), 1);
        let ics = feed_to_ics(
            "Greenlight",
            &thanksgiving,
            "2026-11-01T00:00:00Z".parse().unwrap(),
        );
        assert!(ics.contains("DTSTART;VALUE=DATE:20261126\r\n"), "{ics}");
        assert!(ics.contains("DTEND;VALUE=DATE:20261127\r\n"), "{ics}");
        assert!(
            ics.contains("SUMMARY:No deploys: Thanksgiving\r\n"),
            "{ics}"
        );
        // What we write, a calendar parser reads: one event, a whole local day.
        let back = blackouts_from_ics(&ics, &la(), Effect::Block).unwrap();
        assert_eq!(
            back.blackouts[0].start.to_zoned(la()).date(),
            date(2026, 11, 26)
        );
        assert_eq!(
            back.blackouts[0].end.to_zoned(la()).date(),
            date(2026, 11, 27)
        );
    }
}
