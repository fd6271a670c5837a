//! What one call contributes to the statistics rollups (docs/retention.md
//! "Rollups"): a key (organisation, UTC quarter hour, user, phone,
//! direction, result, disposition, privacy) and three counts. Every write
//! that changes a call's key or counts takes its old contribution away and
//! adds its new one, so the rollups always equal what the raw rows would
//! sum to, and keep doing so after the rows are purged.

use std::collections::BTreeMap;

use crate::time::Micros;
use crate::wire::CallResult;

/// A quarter hour in microseconds. Every time zone offset in use is a whole
/// number of quarter hours, so a bucket lies inside one local day and hour.
pub const BUCKET_MICROS: i64 = 15 * 60 * 1_000_000;

/// The start of the quarter hour `at` falls in (also before 1970).
pub fn bucket_of(at: Micros) -> Micros {
    at - at.rem_euclid(BUCKET_MICROS)
}

/// The first bucket start at or after `at`.
pub fn bucket_ceil(at: Micros) -> Micros {
    let floor = bucket_of(at);
    if floor == at {
        at
    } else {
        floor.saturating_add(BUCKET_MICROS)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub org_id: String,
    pub bucket_start: Micros,
    pub user_id: String,
    pub phone_id: String,
    pub direction: String,
    /// '' for none.
    pub result: String,
    /// '' for none.
    pub disposition_id: String,
    /// 1 when the call's user marked it private (then only they see its
    /// disposition, so a disposition filter of anyone else skips it).
    pub private: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupCounts {
    pub calls: i64,
    pub answered: i64,
    pub talk_secs: i64,
}

impl RollupCounts {
    fn plus(self, other: Self, sign: i64) -> Self {
        Self {
            calls: self.calls + sign * other.calls,
            answered: self.answered + sign * other.answered,
            talk_secs: self.talk_secs + sign * other.talk_secs,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// The columns of a call (and its annotation) the rollups read.
#[derive(Debug, Clone, Copy)]
pub struct RolledCall<'a> {
    pub org_id: &'a str,
    pub user_id: Option<&'a str>,
    pub phone_id: &'a str,
    pub started_at: Micros,
    pub direction: &'a str,
    pub result: Option<&'a str>,
    pub answered_at: Option<Micros>,
    pub duration_secs: Option<i64>,
    pub disposition_id: Option<&'a str>,
    pub private: bool,
}

impl RolledCall<'_> {
    /// The call's key and counts; `None` for a call without a user, which
    /// counts for nobody (as in the statistics read from raw rows).
    pub fn contribution(&self) -> Option<(RollupKey, RollupCounts)> {
        let user = self.user_id?;
        let answered =
            self.answered_at.is_some() || self.result == Some(CallResult::Answered.as_str());
        let key = RollupKey {
            org_id: self.org_id.to_owned(),
            bucket_start: bucket_of(self.started_at),
            user_id: user.to_owned(),
            phone_id: self.phone_id.to_owned(),
            direction: self.direction.to_owned(),
            result: self.result.unwrap_or_default().to_owned(),
            disposition_id: self.disposition_id.unwrap_or_default().to_owned(),
            private: i64::from(self.private),
        };
        let counts = RollupCounts {
            calls: 1,
            answered: i64::from(answered),
            talk_secs: if answered {
                self.duration_secs.unwrap_or(0).max(0)
            } else {
                0
            },
        };
        Some((key, counts))
    }
}

/// Changes to the rollups, summed per key; keys whose changes cancel out
/// are dropped, so an edit that moves nothing writes nothing.
#[derive(Debug, Default)]
pub struct RollupDeltas {
    by_key: BTreeMap<RollupKey, RollupCounts>,
}

impl RollupDeltas {
    pub fn add(&mut self, call: &RolledCall<'_>) {
        self.apply(call, 1);
    }

    pub fn remove(&mut self, call: &RolledCall<'_>) {
        self.apply(call, -1);
    }

    /// Takes `before` away and adds `after`.
    pub fn replace(&mut self, before: &RolledCall<'_>, after: &RolledCall<'_>) {
        self.remove(before);
        self.add(after);
    }

    fn apply(&mut self, call: &RolledCall<'_>, sign: i64) {
        if let Some((key, counts)) = call.contribution() {
            let entry = self.by_key.entry(key).or_default();
            *entry = entry.plus(counts, sign);
        }
    }

    /// The non-zero changes in key order (the order rows are locked in,
    /// so two writers never wait on each other in a cycle).
    pub fn into_changes(self) -> Vec<(RollupKey, RollupCounts)> {
        self.by_key
            .into_iter()
            .filter(|(_, c)| !c.is_zero())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(result: Option<&'static str>, duration: Option<i64>) -> RolledCall<'static> {
        RolledCall {
            org_id: "o",
            user_id: Some("u"),
            phone_id: "p",
            started_at: 1_000 * BUCKET_MICROS + 7,
            direction: "outbound",
            result,
            answered_at: None,
            duration_secs: duration,
            disposition_id: None,
            private: false,
        }
    }

    #[test]
    fn buckets_are_quarter_hours_before_and_after_1970() {
        assert_eq!(bucket_of(BUCKET_MICROS + 1), BUCKET_MICROS);
        assert_eq!(bucket_of(-1), -BUCKET_MICROS);
        assert_eq!(bucket_ceil(BUCKET_MICROS), BUCKET_MICROS);
        assert_eq!(bucket_ceil(BUCKET_MICROS + 1), 2 * BUCKET_MICROS);
    }

    #[test]
    fn only_answered_calls_count_talk_time() {
        let (_, answered) = call(Some("answered"), Some(90)).contribution().unwrap();
        assert_eq!(
            (answered.calls, answered.answered, answered.talk_secs),
            (1, 1, 90)
        );
        let (_, busy) = call(Some("busy"), Some(90)).contribution().unwrap();
        assert_eq!((busy.calls, busy.answered, busy.talk_secs), (1, 0, 0));
        let nobody = RolledCall {
            user_id: None,
            ..call(None, None)
        };
        assert!(nobody.contribution().is_none());
    }

    #[test]
    fn a_change_moves_the_call_between_keys_and_no_op_edits_vanish() {
        let mut deltas = RollupDeltas::default();
        deltas.replace(&call(None, None), &call(Some("answered"), Some(30)));
        let changes = deltas.into_changes();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].0.result, "");
        assert_eq!(changes[0].1.calls, -1);
        assert_eq!(changes[1].0.result, "answered");
        assert_eq!(
            changes[1].1,
            RollupCounts {
                calls: 1,
                answered: 1,
                talk_secs: 30
            }
        );

        let mut same = RollupDeltas::default();
        same.replace(&call(Some("busy"), None), &call(Some("busy"), None));
        assert!(same.into_changes().is_empty());
    }
}
