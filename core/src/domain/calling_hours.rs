//! When dials are allowed (docs/dialing.md, "Calling hours"): weekly
//! windows with holidays in the caller's zone, and a daily window in every
//! zone of the callee's country. Each rule answers whether an instant is
//! inside it and at which instants it opens; [`next_allowed`] finds the
//! first instant every rule allows, which a refusal reports.
//!
//! Local times follow the zone's clock through both DST changes: a window
//! opening at a local time the spring change skips opens at the first
//! instant after the gap; one opening at a time the autumn change repeats
//! opens at its first occurrence.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::time::{Micros, to_datetime};

pub const MINUTES_PER_DAY: u32 = 24 * 60;

/// A window of a day in minutes since local midnight: `from` included,
/// `to` excluded (`to` may be 1440, the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: u32,
    pub to: u32,
}

impl Window {
    fn contains(self, minute: u32) -> bool {
        self.from <= minute && minute < self.to
    }
}

/// Something that allows some instants and opens at others.
pub trait TimeRule {
    fn allows(&self, at: Micros) -> bool;
    /// The instants in `[from, until)` at which the rule opens (may include
    /// instants it was already open at).
    fn openings(&self, from: Micros, until: Micros) -> Vec<Micros>;
}

/// Weekly windows (Monday first) and holidays in one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weekly {
    pub zone: Tz,
    pub days: [Vec<Window>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

impl TimeRule for Weekly {
    fn allows(&self, at: Micros) -> bool {
        let local = to_datetime(at).with_timezone(&self.zone);
        let date = local.date_naive();
        if self.holidays.contains(&date) {
            return false;
        }
        let minute = local.hour() * 60 + local.minute();
        self.days[date.weekday().num_days_from_monday() as usize]
            .iter()
            .any(|w| w.contains(minute))
    }

    fn openings(&self, from: Micros, until: Micros) -> Vec<Micros> {
        local_days(self.zone, from, until)
            .filter(|date| !self.holidays.contains(date))
            .flat_map(|date| {
                self.days[date.weekday().num_days_from_monday() as usize]
                    .iter()
                    .map(move |w| instant(self.zone, date, w.from))
            })
            .filter(|at| (from..until).contains(at))
            .collect()
    }
}

/// One daily window that must hold in every zone (the callee's country's
/// zones: their intersection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EveryZone {
    pub zones: Vec<Tz>,
    pub window: Window,
}

impl TimeRule for EveryZone {
    fn allows(&self, at: Micros) -> bool {
        self.zones.iter().all(|zone| {
            let local = to_datetime(at).with_timezone(zone);
            self.window.contains(local.hour() * 60 + local.minute())
        })
    }

    fn openings(&self, from: Micros, until: Micros) -> Vec<Micros> {
        // The intersection opens when its last zone opens.
        self.zones
            .iter()
            .flat_map(|zone| {
                local_days(*zone, from, until).map(|date| instant(*zone, date, self.window.from))
            })
            .filter(|at| (from..until).contains(at))
            .collect()
    }
}

/// Any of several rules (a user in several teams with their own hours).
pub struct AnyOf<'a>(pub Vec<&'a dyn TimeRule>);

impl std::fmt::Debug for AnyOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyOf({} rules)", self.0.len())
    }
}

impl TimeRule for AnyOf<'_> {
    fn allows(&self, at: Micros) -> bool {
        self.0.iter().any(|r| r.allows(at))
    }

    fn openings(&self, from: Micros, until: Micros) -> Vec<Micros> {
        self.0
            .iter()
            .flat_map(|r| r.openings(from, until))
            .collect()
    }
}

/// How far [`next_allowed`] looks: a week first (the usual case), then a
/// year and a bit (holidays can close long stretches).
const HORIZONS_DAYS: [i64; 2] = [8, 400];

/// The first instant at or after `now` that every rule allows; `None`
/// when none does within a year (e.g. every day a holiday).
pub fn next_allowed(rules: &[&dyn TimeRule], now: Micros) -> Option<Micros> {
    if rules.iter().all(|r| r.allows(now)) {
        return Some(now);
    }
    let mut from = now;
    for days in HORIZONS_DAYS {
        let until = now + days * 86_400_000_000;
        let mut candidates: Vec<Micros> =
            rules.iter().flat_map(|r| r.openings(from, until)).collect();
        candidates.sort_unstable();
        candidates.dedup();
        if let Some(at) = candidates
            .into_iter()
            .find(|at| rules.iter().all(|r| r.allows(*at)))
        {
            return Some(at);
        }
        from = until;
    }
    None
}

/// The local dates of `zone` that `[from, until)` touches (one more on
/// each side, so windows near midnight are not missed).
fn local_days(zone: Tz, from: Micros, until: Micros) -> impl Iterator<Item = NaiveDate> {
    let first = to_datetime(from).with_timezone(&zone).date_naive() - Duration::days(1);
    let last = to_datetime(until).with_timezone(&zone).date_naive() + Duration::days(1);
    first.iter_days().take_while(move |d| *d <= last)
}

/// The instant `minute` minutes after local midnight of `date` in `zone`:
/// the first occurrence when the clock repeats it, the first instant after
/// the gap when the clock skips it.
pub fn instant(zone: Tz, date: NaiveDate, minute: u32) -> Micros {
    let midnight = NaiveDateTime::new(date, NaiveTime::MIN);
    let local = midnight + Duration::minutes(i64::from(minute));
    // A gap is at most a few hours; walk forward a minute at a time.
    for skip in 0..(24 * 60) {
        let candidate = local + Duration::minutes(skip);
        if let Some(at) = zone.from_local_datetime(&candidate).earliest() {
            // Inside a gap, the first valid minute is the gap's end.
            return at.timestamp_micros();
        }
    }
    zone.from_utc_datetime(&local).timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn at(text: &str) -> Micros {
        text.parse::<chrono::DateTime<Utc>>()
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .timestamp_micros()
    }

    fn iso(micros: Micros) -> String {
        to_datetime(micros).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn office(zone: Tz) -> Weekly {
        let day = vec![Window {
            from: 9 * 60,
            to: 17 * 60,
        }];
        let none = Vec::new();
        Weekly {
            zone,
            days: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                none.clone(),
                none,
            ],
            holidays: BTreeSet::new(),
        }
    }

    #[test]
    fn weekly_windows_follow_the_local_clock_through_both_dst_changes() {
        let berlin = office(chrono_tz::Europe::Berlin);
        // Friday 2026-03-27 16:59 CET is open, 17:00 closed; the next
        // opening is Monday 2026-03-30 09:00 CEST (07:00 UTC), after the
        // Sunday 29 March change.
        assert!(berlin.allows(at("2026-03-27T15:59:00Z")));
        assert!(!berlin.allows(at("2026-03-27T16:00:00Z")));
        assert_eq!(
            next_allowed(&[&berlin], at("2026-03-27T16:00:00Z")).map(iso),
            Some("2026-03-30T07:00:00Z".into())
        );
        // Friday 2026-10-23 after hours (CEST) → Monday 26 October 09:00
        // CET (08:00 UTC), after the Sunday 25 October change.
        assert_eq!(
            next_allowed(&[&berlin], at("2026-10-23T15:30:00Z")).map(iso),
            Some("2026-10-26T08:00:00Z".into())
        );
        assert!(berlin.allows(at("2026-10-26T08:00:00Z")));
        assert!(!berlin.allows(at("2026-10-26T07:59:00Z")));
    }

    #[test]
    fn a_window_in_the_skipped_hour_opens_after_the_gap_and_a_repeated_one_at_its_first_occurrence()
    {
        let zone = chrono_tz::Europe::Berlin;
        let sunday_night = Window {
            from: 2 * 60 + 30,
            to: 4 * 60,
        };
        let mut rule = office(zone);
        rule.days[6] = vec![sunday_night];
        // 2026-03-29 02:30 does not exist in Berlin: opens at 03:00 CEST.
        assert_eq!(
            next_allowed(&[&rule], at("2026-03-28T23:00:00Z")).map(iso),
            Some("2026-03-29T01:00:00Z".into())
        );
        // 2026-10-25 02:30 happens twice: opens at the first (CEST).
        assert_eq!(
            next_allowed(&[&rule], at("2026-10-24T23:00:00Z")).map(iso),
            Some("2026-10-25T00:30:00Z".into())
        );
    }

    #[test]
    fn holidays_close_the_whole_day() {
        let mut rule = office(chrono_tz::Europe::Berlin);
        rule.holidays
            .insert(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap_or_default());
        assert!(!rule.allows(at("2026-12-24T10:00:00Z")));
        assert_eq!(
            next_allowed(&[&rule], at("2026-12-24T10:00:00Z")).map(iso),
            Some("2026-12-25T08:00:00Z".into())
        );
    }

    #[test]
    fn the_callees_country_is_the_intersection_of_its_zones() {
        let us = EveryZone {
            zones: vec![
                chrono_tz::America::New_York,
                chrono_tz::America::Los_Angeles,
            ],
            window: Window {
                from: 9 * 60,
                to: 20 * 60,
            },
        };
        // 13:00 in New York is 10:00 in Los Angeles: allowed.
        assert!(us.allows(at("2026-06-10T17:00:00Z")));
        // 10:00 in New York is 07:00 in Los Angeles: not yet; it opens at
        // 09:00 in Los Angeles (16:00 UTC in summer).
        assert!(!us.allows(at("2026-06-10T14:00:00Z")));
        assert_eq!(
            next_allowed(&[&us], at("2026-06-10T14:00:00Z")).map(iso),
            Some("2026-06-10T16:00:00Z".into())
        );
        // 21:00 in New York: tomorrow 09:00 in Los Angeles.
        assert_eq!(
            next_allowed(&[&us], at("2026-06-11T01:00:00Z")).map(iso),
            Some("2026-06-11T16:00:00Z".into())
        );
    }

    #[test]
    fn several_rules_must_all_allow_and_any_of_a_group_does() {
        let berlin = office(chrono_tz::Europe::Berlin);
        let tokyo = EveryZone {
            zones: vec![chrono_tz::Asia::Tokyo],
            window: Window {
                from: 9 * 60,
                to: 20 * 60,
            },
        };
        // Monday 09:00 in Berlin (07:00 UTC) is 16:00 in Tokyo: both allow.
        assert_eq!(
            next_allowed(&[&berlin, &tokyo], at("2026-06-08T06:00:00Z")).map(iso),
            Some("2026-06-08T07:00:00Z".into())
        );
        let mut late = office(chrono_tz::Europe::Berlin);
        late.days[0] = vec![Window {
            from: 18 * 60,
            to: 20 * 60,
        }];
        let either = AnyOf(vec![&berlin, &late]);
        assert!(either.allows(at("2026-06-08T16:30:00Z")));
        assert!(!berlin.allows(at("2026-06-08T16:30:00Z")));
    }
}
