//! Per-user, per-day call statistics, grouped in the caller's time zone.
//! Grouping happens here rather than in SQL because "the local day of a
//! timestamp in an IANA zone" cannot be written the same way on SQLite and
//! PostgreSQL.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::time::to_datetime;
use crate::wire::{CallResult, CallStatsRow};

/// What one call contributes.
#[derive(Debug, Clone)]
pub struct CallSample {
    pub user_id: String,
    pub started_at: i64,
    pub answered: bool,
    pub duration_secs: i64,
}

impl CallSample {
    pub fn new(
        user_id: String,
        started_at: i64,
        result: Option<&str>,
        answered_at: Option<i64>,
        duration_secs: Option<i64>,
    ) -> Self {
        let answered = answered_at.is_some() || result == Some(CallResult::Answered.as_str());
        Self {
            user_id,
            started_at,
            answered,
            duration_secs: if answered {
                duration_secs.unwrap_or(0).max(0)
            } else {
                0
            },
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    calls: u64,
    answered: u64,
    talk_secs: u64,
}

/// Tallies calls as they stream past, in constant memory per (user, day).
#[derive(Debug)]
pub struct DayTallies {
    tz: Tz,
    tallies: BTreeMap<(String, String), Tally>,
}

impl DayTallies {
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            tallies: BTreeMap::new(),
        }
    }

    /// Adds calls summed elsewhere (a rollup of one quarter hour, which
    /// lies inside one local day).
    pub fn add_counts(
        &mut self,
        user_id: String,
        at: i64,
        calls: u64,
        answered: u64,
        talk_secs: u64,
    ) {
        let day = to_datetime(at)
            .with_timezone(&self.tz)
            .date_naive()
            .format("%Y-%m-%d")
            .to_string();
        let tally = self.tallies.entry((user_id, day)).or_default();
        tally.calls += calls;
        tally.answered += answered;
        tally.talk_secs += talk_secs;
    }

    /// Rows ordered by user id, then day.
    pub fn finish(self) -> Vec<CallStatsRow> {
        self.tallies
            .into_iter()
            .filter_map(|((user_id, day), t)| {
                Some(CallStatsRow {
                    user_id: user_id.parse().ok()?,
                    day,
                    calls: t.calls,
                    answered: t.answered,
                    talk_secs: t.talk_secs,
                    average_secs: if t.answered == 0 {
                        0.0
                    } else {
                        t.talk_secs as f64 / t.answered as f64
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows the samples give, each counted as one call.
    fn per_user_and_day(samples: Vec<CallSample>, tz: Tz) -> Vec<CallStatsRow> {
        let mut tallies = DayTallies::new(tz);
        for s in samples {
            let talk = u64::try_from(s.duration_secs).unwrap_or(0);
            tallies.add_counts(s.user_id, s.started_at, 1, u64::from(s.answered), talk);
        }
        tallies.finish()
    }

    const USER: &str = "0192f000-0000-7000-8000-000000000001";

    #[test]
    fn groups_by_local_day_and_averages_answered_calls() {
        // 2026-03-29 23:30 UTC is already 2026-03-30 in Berlin (CEST).
        let late = 1_774_827_000_000_000;
        let samples = vec![
            CallSample::new(USER.into(), late, Some("answered"), None, Some(60)),
            CallSample::new(
                USER.into(),
                late + 60_000_000,
                Some("answered"),
                None,
                Some(120),
            ),
            CallSample::new(
                USER.into(),
                late + 120_000_000,
                Some("busy"),
                None,
                Some(999),
            ),
        ];
        let rows = per_user_and_day(samples.clone(), chrono_tz::Europe::Berlin);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].day, "2026-03-30");
        assert_eq!(
            (rows[0].calls, rows[0].answered, rows[0].talk_secs),
            (3, 2, 180)
        );
        assert!((rows[0].average_secs - 90.0).abs() < f64::EPSILON);
        let utc = per_user_and_day(samples, chrono_tz::UTC);
        assert_eq!(utc[0].day, "2026-03-29");
    }
}
