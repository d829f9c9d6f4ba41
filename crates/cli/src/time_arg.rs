//! Reading times and dates from the command line.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::exit::usage;

/// Reads a local date (`2026-11-01`, from its midnight in `tz`) or a time as [`parse_time`].
pub fn parse_date_or_time(text: &str, tz: &TimeZone, now: Timestamp) -> anyhow::Result<Timestamp> {
    if let Ok(date) = text.trim().parse::<Date>() {
        return date
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| usage(format!("`{text}`: {e}")));
    }
    parse_time(text, tz, now)
}

/// Reads a time: RFC 3339 with an offset (`2026-12-03T14:30:00-08:00`, `...Z`), a local date-time
/// in the policy's zone (`2026-12-03T14:30`, `2026-12-03 14:30`), or `now`.
pub fn parse_time(text: &str, tz: &TimeZone, now: Timestamp) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(zoned) = text.parse::<Zoned>() {
        return Ok(zoned.timestamp());
    }
    let civil = text.replacen(' ', "T", 1);
    if let Ok(dt) = civil.parse::<DateTime>() {
        return dt
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| usage(format!("`{text}`: {e}")));
    }
    Err(usage(format!(
        "`{text}` is not a time: use 2026-12-03T14:30:00-08:00, 2026-12-03T22:30:00Z, \
         2026-12-03T14:30 (in the policy's time zone) or now"
    )))
}

/// Reads a date `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> anyhow::Result<Date> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| usage(format!("`{text}` is not a date like 2026-12-03")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    #[test]
    fn reads_offsets_utc_local_and_now() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let expected: Timestamp = "2026-12-03T22:30:00Z".parse().unwrap();
        for text in [
            "2026-12-03T14:30:00-08:00",
            "2026-12-03T22:30:00Z",
            "2026-12-03T14:30",
            "2026-12-03 14:30",
        ] {
            assert_eq!(parse_time(text, &la(), now).unwrap(), expected, "{text}");
        }
        assert_eq!(parse_time("now", &la(), now).unwrap(), now);
        assert!(parse_time("next thursday", &la(), now).is_err());
    }
}
