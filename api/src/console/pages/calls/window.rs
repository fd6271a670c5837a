//! The call log's time window presets, as instants: days and weeks are the
//! viewer's (their IANA zone; weeks start on Monday). Pure: the handler
//! passes the current instant, the tests a fixed one.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use deskbind_core::domain::periods;
use deskbind_core::time::to_datetime;

/// A window the filter form offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// No time bound (or only the custom dates, when given).
    Any,
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    /// From `from_date` (inclusive) until `until_date` (inclusive).
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Any,
        Preset::Today,
        Preset::Yesterday,
        Preset::ThisWeek,
        Preset::LastWeek,
        Preset::Custom,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "",
            Self::Today => "today",
            Self::Yesterday => "yesterday",
            Self::ThisWeek => "this_week",
            Self::LastWeek => "last_week",
            Self::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Any => "Any time",
            Self::Today => "Today",
            Self::Yesterday => "Yesterday",
            Self::ThisWeek => "This week",
            Self::LastWeek => "Last week",
            Self::Custom => "Custom dates",
        }
    }
}

/// A half-open window `[from, until)`; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// The window of `preset` at instant `now` in zone `tz`. `from_date` and
/// `until_date` count only for [`Preset::Custom`]; `until_date` is the last
/// day included. The day arithmetic is `domain::periods`, shared with the
/// statistics page.
pub fn window(
    preset: Preset,
    from_date: Option<NaiveDate>,
    until_date: Option<NaiveDate>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Window {
    let named = |p: periods::Preset| {
        let (from, until) = periods::window(p, tz, now.timestamp_micros());
        Window {
            from: Some(to_datetime(from)),
            until: Some(to_datetime(until)),
        }
    };
    match preset {
        Preset::Any => Window::default(),
        Preset::Today => named(periods::Preset::Today),
        Preset::Yesterday => named(periods::Preset::Yesterday),
        Preset::ThisWeek => named(periods::Preset::ThisWeek),
        Preset::LastWeek => named(periods::Preset::LastWeek),
        Preset::Custom => Window {
            from: from_date.map(|d| start_of_day(tz, d)),
            until: until_date.map(|d| start_of_day(tz, d + Days::new(1))),
        },
    }
}

/// The first instant of `date` in `tz` (the first local time that exists,
/// where a clock change skips midnight).
pub fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    to_datetime(periods::start_of_day(date, tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    // Wednesday 2026-12-02, 23:30 UTC: already Thursday in Berlin.
    const NOW: &str = "2026-12-02T23:30:00Z";

    #[test]
    fn today_and_yesterday_are_the_viewers_days() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let w = window(Preset::Today, None, None, berlin, at(NOW));
        assert_eq!(w.from, Some(at("2026-12-02T23:00:00Z")));
        assert_eq!(w.until, Some(at("2026-12-03T23:00:00Z")));
        let w = window(Preset::Yesterday, None, None, berlin, at(NOW));
        assert_eq!(w.from, Some(at("2026-12-01T23:00:00Z")));
        assert_eq!(w.until, Some(at("2026-12-02T23:00:00Z")));
        let w = window(Preset::Today, None, None, Tz::UTC, at(NOW));
        assert_eq!(w.from, Some(at("2026-12-02T00:00:00Z")));
    }

    #[test]
    fn weeks_start_on_monday() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 18:30 on Wednesday in New York: the week began Monday 2026-11-30.
        let w = window(Preset::ThisWeek, None, None, ny, at(NOW));
        assert_eq!(w.from, Some(at("2026-11-30T05:00:00Z")));
        assert_eq!(w.until, Some(at("2026-12-07T05:00:00Z")));
        let w = window(Preset::LastWeek, None, None, ny, at(NOW));
        assert_eq!(w.from, Some(at("2026-11-23T05:00:00Z")));
        assert_eq!(w.until, Some(at("2026-11-30T05:00:00Z")));
        // On a Monday the week is that day's.
        let w = window(
            Preset::ThisWeek,
            None,
            None,
            Tz::UTC,
            at("2026-11-30T00:00:00Z"),
        );
        assert_eq!(w.from, Some(at("2026-11-30T00:00:00Z")));
        // On a Sunday it began six days before.
        let w = window(
            Preset::ThisWeek,
            None,
            None,
            Tz::UTC,
            at("2026-12-06T23:59:59Z"),
        );
        assert_eq!(w.from, Some(at("2026-11-30T00:00:00Z")));
    }

    #[test]
    fn a_week_across_a_clock_change_is_seven_local_days() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Summer time ended on Sunday 2026-10-25: that week is 169 hours.
        let w = window(
            Preset::LastWeek,
            None,
            None,
            berlin,
            at("2026-10-28T12:00:00Z"),
        );
        assert_eq!(w.from, Some(at("2026-10-18T22:00:00Z")));
        assert_eq!(w.until, Some(at("2026-10-25T23:00:00Z")));
    }

    #[test]
    fn custom_dates_include_the_last_day() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let w = window(
            Preset::Custom,
            Some(date("2026-11-01")),
            Some(date("2026-11-01")),
            berlin,
            at(NOW),
        );
        assert_eq!(w.from, Some(at("2026-10-31T23:00:00Z")));
        assert_eq!(w.until, Some(at("2026-11-01T23:00:00Z")));
        let open = window(
            Preset::Custom,
            None,
            Some(date("2026-11-01")),
            Tz::UTC,
            at(NOW),
        );
        assert_eq!(open.from, None);
        assert_eq!(open.until, Some(at("2026-11-02T00:00:00Z")));
        assert_eq!(
            window(Preset::Any, None, None, berlin, at(NOW)),
            Window::default()
        );
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_at_its_first_hour() {
        // Havana springs forward at midnight: 2026-03-08 begins at 01:00.
        let havana: Tz = "America/Havana".parse().unwrap();
        assert_eq!(
            start_of_day(havana, date("2026-03-08")),
            at("2026-03-08T05:00:00Z")
        );
    }

    #[test]
    fn presets_round_trip_their_query_values() {
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.as_str()), Some(preset));
        }
        assert_eq!(Preset::parse("fortnight"), None);
    }
}
