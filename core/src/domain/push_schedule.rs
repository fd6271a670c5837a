//! A push schedule, checked, and when it is next due. Daily times are local
//! to the user's time zone and resolved per date, so a daily 18:00 stays at
//! 18:00 local across DST changes (the UTC instant moves by an hour).

use crate::wire::ErrorCode;
use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveTime, Offset as _, TimeDelta, TimeZone as _, Utc,
};
use chrono_tz::Tz;

use super::FieldError;
use crate::wire::{MAX_EVERY_MINUTES, MIN_EVERY_MINUTES, PushScheduleRule};

/// A schedule whose parts are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleRule {
    pub daily_at: Option<NaiveTime>,
    pub every_minutes: Option<u32>,
    pub on_missed_call: bool,
    pub on_new_records: bool,
}

impl Default for ScheduleRule {
    /// Without an organisation default: a daily digest at 18:00 and a push
    /// on each missed call.
    fn default() -> Self {
        Self {
            daily_at: NaiveTime::from_hms_opt(18, 0, 0),
            every_minutes: None,
            on_missed_call: true,
            on_new_records: false,
        }
    }
}

impl ScheduleRule {
    pub fn parse(rule: &PushScheduleRule) -> Result<Self, FieldError> {
        let daily_at = rule.daily_at.as_deref().map(parse_daily_at).transpose()?;
        if let Some(n) = rule.every_minutes
            && !(MIN_EVERY_MINUTES..=MAX_EVERY_MINUTES).contains(&n)
        {
            return Err(FieldError::new(
                "every_minutes",
                ErrorCode::InvalidSchedule,
                format!("must be between {MIN_EVERY_MINUTES} and {MAX_EVERY_MINUTES}"),
            ));
        }
        Ok(Self {
            daily_at,
            every_minutes: rule.every_minutes,
            on_missed_call: rule.on_missed_call,
            on_new_records: rule.on_new_records,
        })
    }

    pub fn to_wire(self) -> PushScheduleRule {
        PushScheduleRule {
            daily_at: self.daily_at.map(format_daily_at),
            every_minutes: self.every_minutes,
            on_missed_call: self.on_missed_call,
            on_new_records: self.on_new_records,
        }
    }

    /// The first time strictly after `after` a digest is due by the clock
    /// (daily or every N minutes); `None` when neither is set. `previous`
    /// is the occurrence just processed: "every N minutes" counts from it,
    /// so the scheduler's lag does not add up period after period.
    pub fn next_due(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        previous: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let daily = self.daily_at.map(|at| next_daily(at, tz, after));
        let every = self.every_minutes.map(|n| {
            let step = TimeDelta::minutes(i64::from(n));
            match previous {
                Some(p) if p + step > after => p + step,
                _ => after + step,
            }
        });
        match (daily, every) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// "HH:MM", 24-hour.
pub fn parse_daily_at(raw: &str) -> Result<NaiveTime, FieldError> {
    let bad = || {
        FieldError::new(
            "daily_at",
            ErrorCode::InvalidSchedule,
            "must be a local time HH:MM, 00:00 to 23:59",
        )
    };
    if raw.len() != 5 {
        return Err(bad());
    }
    NaiveTime::parse_from_str(raw, "%H:%M").map_err(|_| bad())
}

pub fn format_daily_at(at: NaiveTime) -> String {
    at.format("%H:%M").to_string()
}

/// The first local `at` strictly after `after`, in `tz`.
pub fn next_daily(at: NaiveTime, tz: Tz, after: DateTime<Utc>) -> DateTime<Utc> {
    let mut date = after.with_timezone(&tz).date_naive();
    loop {
        let candidate = on_date(date, at, tz);
        if candidate > after {
            return candidate;
        }
        date = date.checked_add_days(Days::new(1)).unwrap_or(date);
        if date == NaiveDate::MAX {
            return candidate;
        }
    }
}

/// `at` on `date` in `tz`. A time that occurs twice (clocks go back) is
/// the first one; a time that does not occur (clocks go forward) is moved
/// forward by the gap, as a wall clock would show it.
fn on_date(date: NaiveDate, at: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(at);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall time with the offset in force before the gap
            // (the same time a day earlier): 02:30 CET is 03:30 CEST.
            let before = tz
                .from_local_datetime(&(local - TimeDelta::days(1)))
                .earliest()
                .map_or(0, |t| t.offset().fix().local_minus_utc());
            (local - TimeDelta::seconds(i64::from(before))).and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn daily(at: &str) -> ScheduleRule {
        ScheduleRule {
            daily_at: Some(parse_daily_at(at).unwrap()),
            every_minutes: None,
            on_missed_call: false,
            on_new_records: false,
        }
    }

    #[test]
    fn daily_stays_at_local_time_across_spring_forward() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let rule = daily("18:00");
        // 2026-03-29: CET (+1) becomes CEST (+2) at 02:00 local.
        let first = rule
            .next_due(tz, utc("2026-03-28T12:00:00Z"), None)
            .unwrap();
        assert_eq!(first, utc("2026-03-28T17:00:00Z"));
        let second = rule.next_due(tz, first, None).unwrap();
        assert_eq!(second, utc("2026-03-29T16:00:00Z"));
        let third = rule.next_due(tz, second, None).unwrap();
        assert_eq!(third, utc("2026-03-30T16:00:00Z"));
    }

    #[test]
    fn daily_stays_at_local_time_across_fall_back() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let rule = daily("18:00");
        // 2026-11-01: EDT (-4) becomes EST (-5).
        let first = rule
            .next_due(tz, utc("2026-10-31T12:00:00Z"), None)
            .unwrap();
        assert_eq!(first, utc("2026-10-31T22:00:00Z"));
        let second = rule.next_due(tz, first, None).unwrap();
        assert_eq!(second, utc("2026-11-01T23:00:00Z"));
    }

    #[test]
    fn a_time_in_the_gap_moves_forward_and_a_repeated_time_fires_once() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let gap = daily("02:30");
        let due = gap.next_due(tz, utc("2026-03-28T12:00:00Z"), None).unwrap();
        // 02:30 does not exist on 29 March; 03:30 CEST is 01:30 UTC.
        assert_eq!(due, utc("2026-03-29T01:30:00Z"));
        let twice = daily("02:30");
        // 02:30 occurs twice on 25 October: the first (CEST, 00:30 UTC).
        let first = twice
            .next_due(tz, utc("2026-10-24T12:00:00Z"), None)
            .unwrap();
        assert_eq!(first, utc("2026-10-25T00:30:00Z"));
        let next = twice.next_due(tz, first, None).unwrap();
        assert_eq!(next, utc("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn every_n_minutes_and_daily_combine() {
        let tz: Tz = "UTC".parse().unwrap();
        let mut rule = daily("18:00");
        rule.every_minutes = Some(60);
        assert_eq!(
            rule.next_due(tz, utc("2026-05-01T17:30:00Z"), None),
            Some(utc("2026-05-01T18:00:00Z"))
        );
        assert_eq!(
            rule.next_due(tz, utc("2026-05-01T10:00:00Z"), None),
            Some(utc("2026-05-01T11:00:00Z"))
        );
        // Counted from the occurrence, not from when it was processed.
        assert_eq!(
            rule.next_due(
                tz,
                utc("2026-05-01T10:00:03Z"),
                Some(utc("2026-05-01T10:00:00Z"))
            ),
            Some(utc("2026-05-01T11:00:00Z"))
        );
        let none = ScheduleRule {
            daily_at: None,
            ..rule
        };
        assert_eq!(
            ScheduleRule {
                every_minutes: None,
                ..none
            }
            .next_due(tz, utc("2026-05-01T10:00:00Z"), None),
            None
        );
    }

    #[test]
    fn bad_rules_name_the_field() {
        for bad in ["25:00", "7:00", "18:00:00", "six"] {
            let rule = PushScheduleRule {
                daily_at: Some(bad.into()),
                every_minutes: None,
                on_missed_call: false,
                on_new_records: false,
            };
            assert_eq!(ScheduleRule::parse(&rule).unwrap_err().field, "daily_at");
        }
        let rule = PushScheduleRule {
            daily_at: None,
            every_minutes: Some(1),
            on_missed_call: false,
            on_new_records: false,
        };
        assert_eq!(
            ScheduleRule::parse(&rule).unwrap_err().field,
            "every_minutes"
        );
    }
}
