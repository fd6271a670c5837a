//! Named time windows (Today, This week, ...) and custom day ranges, in a
//! viewer's time zone. Pure: the caller passes "now", so tests use fixed
//! instants. Every window is half-open, `[from, until)`, in microseconds,
//! and starts and ends at local midnights; weeks start on Monday.
//! The console's statistics and call log both use these.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
/// Re-exported so callers name zones without depending on chrono-tz.
pub use chrono_tz::Tz;

use crate::time::{Micros, to_datetime};

/// The longest window a page or the JSON statistics accept.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// A named window relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    /// Today and the 29 days before it.
    Last30Days,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Today,
        Preset::Yesterday,
        Preset::ThisWeek,
        Preset::LastWeek,
        Preset::Last30Days,
    ];

    /// The value a form or URL carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Today => "today",
            Preset::Yesterday => "yesterday",
            Preset::ThisWeek => "this_week",
            Preset::LastWeek => "last_week",
            Preset::Last30Days => "last_30_days",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Today => "Today",
            Preset::Yesterday => "Yesterday",
            Preset::ThisWeek => "This week",
            Preset::LastWeek => "Last week",
            Preset::Last30Days => "Last 30 days",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// The local days the window covers, first and last (inclusive).
    pub fn days(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        match self {
            Preset::Today => (today, today),
            Preset::Yesterday => {
                let y = today - Duration::days(1);
                (y, y)
            }
            Preset::ThisWeek => (monday, monday + Duration::days(6)),
            Preset::LastWeek => (monday - Duration::days(7), monday - Duration::days(1)),
            Preset::Last30Days => (today - Duration::days(29), today),
        }
    }
}

/// The local calendar day of an instant in `tz`.
pub fn local_day(at: Micros, tz: Tz) -> NaiveDate {
    to_datetime(at).with_timezone(&tz).date_naive()
}

/// The instant a local day starts in `tz`. Where midnight is skipped by a
/// clock change (some zones switch at 00:00) the day starts at the first
/// local time that exists; where it repeats, at the earlier one.
pub fn start_of_day(day: NaiveDate, tz: Tz) -> Micros {
    let midnight: NaiveDateTime = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Gaps are at most a few hours; look a minute at a time past one.
    for minutes in 0..=(24 * 60) {
        let local = midnight + Duration::minutes(minutes);
        if let Some(at) = tz.from_local_datetime(&local).earliest() {
            return at.timestamp_micros();
        }
    }
    // No zone skips a whole day at a minute's resolution except by moving
    // the date line, which drops the day: it starts where the next does.
    start_of_day(day + Duration::days(1), tz)
}

/// `[from, until)` of the local days `first..=last` in `tz`.
pub fn days_window(first: NaiveDate, last: NaiveDate, tz: Tz) -> (Micros, Micros) {
    (
        start_of_day(first, tz),
        start_of_day(last + Duration::days(1), tz),
    )
}

/// The window of `preset` in `tz` as of `now`.
pub fn window(preset: Preset, tz: Tz, now: Micros) -> (Micros, Micros) {
    let (first, last) = preset.days(local_day(now, tz));
    days_window(first, last, tz)
}

/// Why a custom day range was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeError {
    /// The last day is before the first.
    Reversed,
    /// More than [`MAX_WINDOW_DAYS`] days.
    TooLong,
}

impl std::fmt::Display for RangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeError::Reversed => f.write_str("The last day must not be before the first."),
            RangeError::TooLong => {
                write!(f, "A period may cover at most {MAX_WINDOW_DAYS} days.")
            }
        }
    }
}

/// The window of the local days `first..=last` (both inclusive), at most
/// [`MAX_WINDOW_DAYS`] days.
pub fn custom_window(
    first: NaiveDate,
    last: NaiveDate,
    tz: Tz,
) -> Result<(Micros, Micros), RangeError> {
    let days = (last - first).num_days() + 1;
    if days < 1 {
        return Err(RangeError::Reversed);
    }
    if days > MAX_WINDOW_DAYS {
        return Err(RangeError::TooLong);
    }
    Ok(days_window(first, last, tz))
}

/// Every local day that `[from, until)` touches, in order.
pub fn days_in(from: Micros, until: Micros, tz: Tz) -> Vec<NaiveDate> {
    if until <= from {
        return Vec::new();
    }
    let first = local_day(from, tz);
    let last = local_day(until - 1, tz);
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .take(MAX_WINDOW_DAYS as usize + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::Santiago, Europe::Berlin, UTC};

    fn at(rfc3339: &str) -> Micros {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_micros()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn today_and_yesterday_are_local_days() {
        // 23:30 UTC on Tuesday 2026-03-24 is already Wednesday in Berlin.
        let now = at("2026-03-24T23:30:00Z");
        assert_eq!(
            window(Preset::Today, Berlin, now),
            (at("2026-03-24T23:00:00Z"), at("2026-03-25T23:00:00Z"))
        );
        assert_eq!(
            window(Preset::Today, UTC, now),
            (at("2026-03-24T00:00:00Z"), at("2026-03-25T00:00:00Z"))
        );
        assert_eq!(
            window(Preset::Yesterday, Berlin, now),
            (at("2026-03-23T23:00:00Z"), at("2026-03-24T23:00:00Z"))
        );
    }

    #[test]
    fn weeks_start_on_monday_and_span_the_dst_change() {
        // Sunday 2026-03-29 Berlin moves to summer time: that week is
        // 167 hours long.
        let now = at("2026-03-29T12:00:00Z");
        let (from, until) = window(Preset::ThisWeek, Berlin, now);
        assert_eq!(from, at("2026-03-23T00:00:00+01:00"));
        assert_eq!(until, at("2026-03-30T00:00:00+02:00"));
        assert_eq!((until - from) / 3_600_000_000, 167);
        // On a Monday, "this week" starts today and "last week" is the one before.
        let monday = at("2026-03-30T08:00:00+02:00");
        assert_eq!(
            window(Preset::ThisWeek, Berlin, monday).0,
            monday - 8 * 3_600_000_000
        );
        assert_eq!(
            window(Preset::LastWeek, Berlin, monday),
            (
                at("2026-03-23T00:00:00+01:00"),
                at("2026-03-30T00:00:00+02:00")
            )
        );
    }

    #[test]
    fn the_day_of_the_autumn_change_has_25_hours() {
        let now = at("2026-10-25T15:00:00Z");
        let (from, until) = window(Preset::Today, Berlin, now);
        assert_eq!(from, at("2026-10-25T00:00:00+02:00"));
        assert_eq!((until - from) / 3_600_000_000, 25);
    }

    #[test]
    fn last_30_days_ends_with_today() {
        let now = at("2026-12-02T08:00:00Z");
        let (from, until) = window(Preset::Last30Days, UTC, now);
        assert_eq!(from, at("2026-11-03T00:00:00Z"));
        assert_eq!(until, at("2026-12-03T00:00:00Z"));
        assert_eq!(days_in(from, until, UTC).len(), 30);
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_the_first_local_time() {
        // Chile moved clocks from 00:00 to 01:00 on 2026-09-06.
        let start = start_of_day(day(2026, 9, 6), Santiago);
        assert_eq!(start, at("2026-09-06T01:00:00-03:00"));
    }

    #[test]
    fn custom_ranges_are_inclusive_and_bounded() {
        let (from, until) = custom_window(day(2026, 1, 1), day(2026, 1, 31), UTC).unwrap();
        assert_eq!(days_in(from, until, UTC).len(), 31);
        assert_eq!(
            custom_window(day(2026, 1, 2), day(2026, 1, 1), UTC),
            Err(RangeError::Reversed)
        );
        assert!(custom_window(day(2024, 1, 1), day(2024, 12, 31), UTC).is_ok());
        assert_eq!(
            custom_window(day(2025, 1, 1), day(2026, 1, 2), UTC),
            Err(RangeError::TooLong)
        );
    }

    #[test]
    fn presets_round_trip_through_their_form_values() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.as_str()), Some(p));
        }
        assert_eq!(Preset::parse("forever"), None);
    }
}
