//! The console's team statistics (docs/console.md "Statistics"): per person
//! and local day, calls, answered, connect rate, talk time, missed calls
//! not called back, first and last call; totals per day; a weekday x hour
//! count; leaders against the team average.
//!
//! Calls stream past newest first (the order the call list pages in), so a
//! missed call is judged when every later call has been seen: it was
//! called back when an outbound call to its number started after it.
//! Memory: one tally per (person, day), one entry per distinct number
//! called, 7 x 24 counters; never the calls themselves.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;

use crate::time::{Micros, to_datetime};
use crate::wire::{CallDirection, CallResult};

/// What one call record contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsCall {
    /// Who held the phone; calls without a holder count for nobody.
    pub user_id: Option<String>,
    pub started_at: Micros,
    pub direction: CallDirection,
    pub answered: bool,
    /// Talk time of an answered call; 0 otherwise.
    pub talk_secs: u64,
    /// The number a callback would dial ([`callback_key`]).
    pub number: Option<String>,
}

impl StatsCall {
    /// From a stored record's columns.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        user_id: Option<String>,
        started_at: Micros,
        direction: CallDirection,
        result: Option<CallResult>,
        answered_at: Option<Micros>,
        duration_secs: Option<i64>,
        remote_number: &str,
        remote_e164: Option<&str>,
    ) -> Self {
        let answered = answered_at.is_some() || result == Some(CallResult::Answered);
        Self {
            user_id,
            started_at,
            direction,
            answered,
            talk_secs: if answered {
                u64::try_from(duration_secs.unwrap_or(0)).unwrap_or(0)
            } else {
                0
            },
            number: callback_key(remote_number, remote_e164),
        }
    }

    /// An inbound call nobody answered (recorded as `missed`, or as
    /// `inbound` without being answered).
    pub fn is_missed(&self) -> bool {
        match self.direction {
            CallDirection::Missed => true,
            CallDirection::Inbound => !self.answered,
            CallDirection::Outbound => false,
        }
    }
}

/// Which number two calls share: the E.164 form where the record has one,
/// else the digits as shown (a leading `+` kept). `None` when there are no
/// digits (e.g. `anonymous`): such a caller cannot be called back.
pub fn callback_key(remote_number: &str, remote_e164: Option<&str>) -> Option<String> {
    if let Some(e164) = remote_e164.filter(|e| !e.is_empty()) {
        return Some(e164.to_owned());
    }
    let digits: String = remote_number
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    Some(if remote_number.trim_start().starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    })
}

/// Figures over a set of calls (one person's day, a person's window, a day
/// of the whole selection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub calls: u64,
    pub answered: u64,
    pub talk_secs: u64,
    pub missed_not_called_back: u64,
    pub first_call: Option<Micros>,
    pub last_call: Option<Micros>,
}

impl Tally {
    fn add(&mut self, call: &StatsCall, not_called_back: bool, counts: bool) {
        if counts {
            self.calls += 1;
            if call.answered {
                self.answered += 1;
                self.talk_secs += call.talk_secs;
            }
        }
        if not_called_back {
            self.missed_not_called_back += 1;
        }
        self.first_call = Some(
            self.first_call
                .map_or(call.started_at, |f| f.min(call.started_at)),
        );
        self.last_call = Some(
            self.last_call
                .map_or(call.started_at, |l| l.max(call.started_at)),
        );
    }

    fn merge(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.answered += other.answered;
        self.talk_secs += other.talk_secs;
        self.missed_not_called_back += other.missed_not_called_back;
        self.first_call = match (self.first_call, other.first_call) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_call = match (self.last_call, other.last_call) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Answered calls over all calls (outbound, inbound and missed), 0..=1;
    /// `None` without calls.
    pub fn connect_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.answered as f64 / self.calls as f64)
    }

    /// Talk time per answered call; `None` without answered calls.
    pub fn average_talk_secs(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.talk_secs as f64 / self.answered as f64)
    }
}

/// Calls per local weekday (Monday first) and hour.
pub type HeatMap = [[u64; 24]; 7];

/// Accumulates [`StatsCall`]s, newest first.
#[derive(Debug)]
pub struct TeamStats {
    tz: Tz,
    /// Whose calls are counted (`None`: everyone's with a holder). Calls of
    /// others still count as callbacks.
    counted: Option<HashSet<String>>,
    latest_outbound: HashMap<String, Micros>,
    by_person_day: BTreeMap<(String, NaiveDate), Tally>,
    heat: HeatMap,
    /// Calls, answered, talk time and the heat map come from
    /// [`TeamStats::add_counts`] (the rollups, which outlive purged calls),
    /// not from the calls passed to [`TeamStats::add`].
    counts_apart: bool,
}

/// The finished figures.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamReport {
    /// Per person and local day, ordered by person id then day.
    pub person_days: Vec<(String, NaiveDate, Tally)>,
    /// Per person over the whole window, ordered by person id.
    pub people: Vec<(String, Tally)>,
    /// Everyone counted, per local day, in day order.
    pub days: BTreeMap<NaiveDate, Tally>,
    pub total: Tally,
    pub heat: HeatMap,
}

impl TeamStats {
    pub fn new(tz: Tz, counted: Option<Vec<String>>) -> Self {
        Self {
            tz,
            counted: counted.map(|c| c.into_iter().collect()),
            latest_outbound: HashMap::new(),
            by_person_day: BTreeMap::new(),
            heat: [[0; 24]; 7],
            counts_apart: false,
        }
    }

    /// Counts come only from [`TeamStats::add_counts`]; the calls passed to
    /// [`TeamStats::add`] then give missed calls, first and last calls.
    pub fn with_counts_apart(mut self) -> Self {
        self.counts_apart = true;
        self
    }

    /// Adds calls summed elsewhere (a rollup of one quarter hour, which
    /// lies inside one local day and hour).
    pub fn add_counts(
        &mut self,
        user: &str,
        at: Micros,
        calls: u64,
        answered: u64,
        talk_secs: u64,
    ) {
        if self.counted.as_ref().is_some_and(|c| !c.contains(user)) {
            return;
        }
        let local = to_datetime(at).with_timezone(&self.tz);
        self.heat[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += calls;
        let tally = self
            .by_person_day
            .entry((user.to_owned(), local.date_naive()))
            .or_default();
        tally.calls += calls;
        tally.answered += answered;
        tally.talk_secs += talk_secs;
    }

    /// Adds the next call; calls must come newest first.
    pub fn add(&mut self, call: StatsCall) {
        let Some(user) = call.user_id.clone() else {
            return;
        };
        let not_called_back = call.is_missed()
            && call.number.as_ref().is_some_and(|n| {
                self.latest_outbound
                    .get(n)
                    .is_none_or(|callback| *callback <= call.started_at)
            });
        if call.direction == CallDirection::Outbound
            && let Some(number) = &call.number
        {
            let latest = self
                .latest_outbound
                .entry(number.clone())
                .or_insert(call.started_at);
            *latest = (*latest).max(call.started_at);
        }
        if self.counted.as_ref().is_some_and(|c| !c.contains(&user)) {
            return;
        }
        let local = to_datetime(call.started_at).with_timezone(&self.tz);
        if !self.counts_apart {
            self.heat[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1;
        }
        self.by_person_day
            .entry((user, local.date_naive()))
            .or_default()
            .add(&call, not_called_back, !self.counts_apart);
    }

    pub fn finish(self) -> TeamReport {
        let mut people: BTreeMap<String, Tally> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
        let mut total = Tally::default();
        for ((user, day), tally) in &self.by_person_day {
            people.entry(user.clone()).or_default().merge(tally);
            days.entry(*day).or_default().merge(tally);
            total.merge(tally);
        }
        TeamReport {
            person_days: self
                .by_person_day
                .into_iter()
                .map(|((user, day), t)| (user, day, t))
                .collect(),
            people: people.into_iter().collect(),
            days,
            total,
            heat: self.heat,
        }
    }
}

/// A figure leaders are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Calls,
    Answered,
    ConnectRate,
    TalkTime,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::Calls,
        Metric::Answered,
        Metric::ConnectRate,
        Metric::TalkTime,
    ];

    /// The person's value: a count, a rate 0..=1, or seconds.
    pub fn of(self, t: &Tally) -> f64 {
        match self {
            Metric::Calls => t.calls as f64,
            Metric::Answered => t.answered as f64,
            Metric::ConnectRate => t.connect_rate().unwrap_or(0.0),
            Metric::TalkTime => t.talk_secs as f64,
        }
    }
}

/// The best person for a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Leader {
    pub metric: Metric,
    /// Index into the people passed to [`leaders`].
    pub index: usize,
    pub value: f64,
    /// The team average: the mean of every listed person's value.
    pub average: f64,
    /// How far above the average the leader is, in whole percent; `None`
    /// when the average is 0.
    pub vs_average_pct: Option<i64>,
}

/// For each metric, the person with the highest value (the first listed
/// wins a tie) and how they compare to the mean over all `people`. A
/// metric where nobody has more than 0 has no leader.
pub fn leaders(people: &[&Tally]) -> Vec<Leader> {
    if people.is_empty() {
        return Vec::new();
    }
    Metric::ALL
        .into_iter()
        .filter_map(|metric| {
            let values: Vec<f64> = people.iter().map(|t| metric.of(t)).collect();
            let average = values.iter().sum::<f64>() / values.len() as f64;
            let (index, value) = values.iter().copied().enumerate().fold(
                None,
                |best: Option<(usize, f64)>, (i, v)| match best {
                    Some((_, b)) if b >= v => best,
                    _ => Some((i, v)),
                },
            )?;
            (value > 0.0).then(|| Leader {
                metric,
                index,
                value,
                average,
                vs_average_pct: (average > 0.0)
                    .then(|| ((value - average) / average * 100.0).round() as i64),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Europe::Berlin, UTC};

    const ANNA: &str = "anna";
    const BEN: &str = "ben";

    fn at(rfc3339: &str) -> Micros {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_micros()
    }

    fn call(
        user: &str,
        when: &str,
        direction: CallDirection,
        talk: Option<i64>,
        number: &str,
    ) -> StatsCall {
        StatsCall::new(
            Some(user.into()),
            at(when),
            direction,
            talk.map(|_| CallResult::Answered),
            None,
            talk,
            number,
            None,
        )
    }

    /// Feeds calls newest first, as the call list pages.
    fn report(mut calls: Vec<StatsCall>, tz: Tz, counted: Option<Vec<String>>) -> TeamReport {
        calls.sort_by_key(|c| std::cmp::Reverse(c.started_at));
        let mut stats = TeamStats::new(tz, counted);
        for c in calls {
            stats.add(c);
        }
        stats.finish()
    }

    use CallDirection::{Inbound, Missed, Outbound};

    #[test]
    fn days_are_local_across_the_spring_change() {
        // Berlin switches to CEST at 01:00 UTC on 2026-03-29: 22:30 UTC on
        // the 28th is still the 28th (CET), 22:30 UTC on the 29th is the 30th.
        let calls = vec![
            call(ANNA, "2026-03-28T22:30:00Z", Outbound, Some(60), "+4930111"),
            call(ANNA, "2026-03-28T23:30:00Z", Outbound, None, "+4930111"),
            call(ANNA, "2026-03-29T21:59:00Z", Outbound, Some(30), "+4930111"),
            call(ANNA, "2026-03-29T22:30:00Z", Outbound, None, "+4930111"),
        ];
        let berlin = report(calls.clone(), Berlin, None);
        let days: Vec<(NaiveDate, u64)> = berlin.days.iter().map(|(d, t)| (*d, t.calls)).collect();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            days,
            vec![
                (d("2026-03-28"), 1),
                (d("2026-03-29"), 2),
                (d("2026-03-30"), 1)
            ]
        );
        let utc = report(calls, UTC, None);
        assert_eq!(utc.days.len(), 2);
        // 2026-03-28 is a Saturday: the 23:30 Berlin call is Saturday 23h.
        assert_eq!(berlin.heat[5][23], 1);
        assert_eq!(berlin.heat[6][0], 1);
        // First and last call of the 29th in Berlin.
        let sunday = &berlin.days[&d("2026-03-29")];
        assert_eq!(sunday.first_call, Some(at("2026-03-28T23:30:00Z")));
        assert_eq!(sunday.last_call, Some(at("2026-03-29T21:59:00Z")));
    }

    #[test]
    fn connect_rate_is_answered_over_all_calls() {
        let calls = vec![
            call(ANNA, "2026-05-04T09:00:00Z", Outbound, Some(120), "1"),
            call(ANNA, "2026-05-04T09:10:00Z", Outbound, None, "2"),
            call(ANNA, "2026-05-04T09:20:00Z", Inbound, Some(60), "3"),
            call(ANNA, "2026-05-04T09:30:00Z", Missed, None, "4"),
        ];
        let r = report(calls, UTC, None);
        let anna = &r.people[0].1;
        assert_eq!((anna.calls, anna.answered, anna.talk_secs), (4, 2, 180));
        assert_eq!(anna.connect_rate(), Some(0.5));
        assert_eq!(anna.average_talk_secs(), Some(90.0));
        assert_eq!(Tally::default().connect_rate(), None);
        assert_eq!(Tally::default().average_talk_secs(), None);
    }

    #[test]
    fn a_missed_call_counts_until_anyone_visible_calls_the_number_back() {
        let calls = vec![
            // Called back later by Ben: not counted.
            call(ANNA, "2026-05-04T09:00:00Z", Missed, None, "+49 30 111"),
            call(BEN, "2026-05-04T10:00:00Z", Outbound, None, "+4930111"),
            // Called before it came in, never after: counted.
            call(ANNA, "2026-05-04T08:00:00Z", Outbound, Some(10), "+4930222"),
            call(ANNA, "2026-05-04T09:30:00Z", Missed, None, "+4930222"),
            // An unanswered inbound call is missed too; never called back.
            call(ANNA, "2026-05-04T11:00:00Z", Inbound, None, "030333"),
            // An anonymous caller cannot be called back: not counted.
            call(ANNA, "2026-05-04T11:30:00Z", Missed, None, "anonymous"),
            // An answered inbound call is not missed.
            call(ANNA, "2026-05-04T12:00:00Z", Inbound, Some(5), "030444"),
        ];
        // Only Anna is counted; Ben's callback still clears her missed call.
        let r = report(calls, UTC, Some(vec![ANNA.into()]));
        assert_eq!(r.people.len(), 1);
        assert_eq!(r.people[0].1.missed_not_called_back, 2);
        assert_eq!(r.total.calls, 6);
    }

    #[test]
    fn a_callback_at_the_same_instant_is_not_after_the_missed_call() {
        let calls = vec![
            call(ANNA, "2026-05-04T09:00:00Z", Missed, None, "+4930111"),
            call(BEN, "2026-05-04T09:00:00Z", Outbound, None, "+4930111"),
        ];
        let r = report(calls, UTC, None);
        assert_eq!(r.total.missed_not_called_back, 1);
    }

    #[test]
    fn callback_keys_prefer_e164_and_ignore_formatting() {
        assert_eq!(
            callback_key("030 111", Some("+4930111")).as_deref(),
            Some("+4930111")
        );
        assert_eq!(
            callback_key("+49 (30) 111", None).as_deref(),
            Some("+4930111")
        );
        assert_eq!(callback_key("anonymous", None), None);
    }

    #[test]
    fn leaders_compare_with_the_mean_of_everyone_listed() {
        let a = Tally {
            calls: 6,
            answered: 3,
            talk_secs: 600,
            ..Tally::default()
        };
        let b = Tally {
            calls: 2,
            answered: 2,
            talk_secs: 0,
            ..Tally::default()
        };
        let list = leaders(&[&a, &b]);
        let by = |m: Metric| list.iter().find(|l| l.metric == m).unwrap();
        // Calls: 6 vs mean 4 -> +50 %.
        assert_eq!(
            (by(Metric::Calls).index, by(Metric::Calls).vs_average_pct),
            (0, Some(50))
        );
        // Answered: a tie at 3 vs 2? No: 3 > 2, mean 2.5 -> +20 %.
        assert_eq!(
            (
                by(Metric::Answered).index,
                by(Metric::Answered).vs_average_pct
            ),
            (0, Some(20))
        );
        // Connect rate: b 100 % vs mean 75 % -> +33 %.
        assert_eq!(by(Metric::ConnectRate).index, 1);
        assert_eq!(by(Metric::ConnectRate).vs_average_pct, Some(33));
        // Talk time: 600 vs mean 300 -> +100 %.
        assert_eq!(by(Metric::TalkTime).vs_average_pct, Some(100));
        // A tie goes to the first listed; nobody above 0 means no leader.
        let c = Tally {
            calls: 2,
            ..Tally::default()
        };
        let tied = leaders(&[&b, &c]);
        assert_eq!(
            tied.iter()
                .find(|l| l.metric == Metric::Calls)
                .unwrap()
                .index,
            0
        );
        assert!(leaders(&[&c]).iter().all(|l| l.metric == Metric::Calls));
        assert!(leaders(&[]).is_empty());
    }
}
