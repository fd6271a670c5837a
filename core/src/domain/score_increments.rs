//! Scoring a batch of a contact's calls without its history
//! (docs/scoring.md, "Incremental scoring"). A contact already scored
//! under the version in force has every award its earlier calls earn, so
//! a batch (calls just stored or changed) can only add the awards of its
//! own calls and the counts they reach. What the batch's calls earn needs
//! only the contact's counts now (which include the batch); the ledger's
//! per-rule row counts tell whether the earlier awards are all there
//! ([`complete_before`]), and when they may not be (a number gained with
//! its calls, a block lifted) the caller scores the whole history instead.
//! No I/O.

use std::collections::HashMap;

use super::scoring::{COUNTERS, Candidate, ScoredCall, candidate, counts_toward, per_call_key};
use crate::wire::{ScoreCounter, ScoreRepeat, ScoreRuleSet, ScoreTrigger};

/// A contact's eligible calls, by what count rules count (outbound too,
/// for the completeness check of `call_placed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: i64,
    pub answered: i64,
    pub inbound: i64,
    pub outbound: i64,
}

impl Counts {
    pub fn of(&self, counter: ScoreCounter) -> i64 {
        match counter {
            ScoreCounter::Calls => self.calls,
            ScoreCounter::Answered => self.answered,
            ScoreCounter::Inbound => self.inbound,
        }
    }

    /// These counts less the calls of `batch` (the counts before it).
    pub fn without(&self, batch: &[&ScoredCall]) -> Self {
        let n = |f: &dyn Fn(&ScoredCall) -> bool| {
            i64::try_from(batch.iter().filter(|c| f(c)).count()).unwrap_or(i64::MAX)
        };
        Self {
            calls: self.calls - n(&|_| true),
            answered: self.answered - n(&|c| c.answered),
            inbound: self.inbound - n(&|c| !c.outbound),
            outbound: self.outbound - n(&|c| c.outbound),
        }
    }
}

/// The eligible calls of `batch`, once each, in the order they started.
pub fn eligible(batch: &[ScoredCall]) -> Vec<&ScoredCall> {
    let mut calls: Vec<&ScoredCall> = batch.iter().filter(|c| c.eligible).collect();
    calls.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    calls.dedup_by(|a, b| a.id == b.id);
    calls
}

/// What the batch's eligible calls earn, given the contact's counts
/// `now` (which count them). The batch's calls are counted last: its
/// k-th call toward a counter is number `before + k`, so a count rule
/// scores at the batch's call that reaches its threshold (or a multiple).
/// Keys already written are dropped later, as for a full scoring.
pub fn candidates(set: &ScoreRuleSet, batch: &[&ScoredCall], now: &Counts) -> Vec<Candidate> {
    let before = now.without(batch);
    let mut position: HashMap<ScoreCounter, i64> =
        COUNTERS.iter().map(|&c| (c, before.of(c))).collect();
    let mut out = Vec::new();
    for call in batch {
        for counter in COUNTERS {
            if counts_toward(counter, call) {
                *position.entry(counter).or_default() += 1;
            }
        }
        for rule in &set.rules {
            let key = match (rule.trigger, rule.counter, rule.threshold) {
                (ScoreTrigger::CountReached, Some(counter), Some(n)) => {
                    let count = position.get(&counter).copied().unwrap_or(0);
                    let reached = counts_toward(counter, call)
                        && match rule.repeat {
                            ScoreRepeat::Once => count == n,
                            ScoreRepeat::Each => count > 0 && count % n == 0,
                        };
                    reached.then(|| format!("count:{count}"))
                }
                (ScoreTrigger::CountReached, _, _) => None,
                _ => per_call_key(rule, call),
            };
            if let Some(key) = key {
                out.push(candidate(rule, key, call));
            }
        }
    }
    out
}

/// Whether the ledger can have every award the calls before the batch
/// earn: for each rule, at least as many rows as those calls earn
/// (`rows`: rows per rule key), unless its cap has no room left (`room`),
/// in which case a full scoring would add nothing either. Disposition
/// rules are not checked (their rows stay when a disposition is removed).
pub fn complete_before(
    set: &ScoreRuleSet,
    before: &Counts,
    rows: &HashMap<String, i64>,
    room: impl Fn(&str) -> i64,
) -> bool {
    set.rules.iter().all(|rule| {
        let matching = match rule.trigger {
            ScoreTrigger::CallPlaced => before.outbound,
            ScoreTrigger::CallAnswered => before.answered,
            ScoreTrigger::InboundCall => before.inbound,
            ScoreTrigger::Disposition => return true,
            ScoreTrigger::CountReached => {
                let (Some(counter), Some(n)) = (rule.counter, rule.threshold) else {
                    return true;
                };
                let count = before.of(counter);
                match rule.repeat {
                    ScoreRepeat::Once => i64::from(count >= n),
                    ScoreRepeat::Each => count / n.max(1),
                }
            }
        };
        let expected = match (rule.trigger, rule.repeat) {
            (ScoreTrigger::CountReached, _) | (_, ScoreRepeat::Each) => matching,
            (_, ScoreRepeat::Once) => matching.min(1),
        };
        let written = rows.get(&rule.key).copied().unwrap_or(0);
        written >= expected || (rule.points > 0 && room(&rule.key) <= 0)
    })
}

/// Whether a batch may be scored incrementally under `set` at all: a cap
/// with negative points can make room for awards a cap left out earlier,
/// which only a full scoring finds again.
pub fn incremental(set: &ScoreRuleSet) -> bool {
    let capped = set.total_cap.is_some() || !set.groups.is_empty();
    !(capped && set.rules.iter().any(|r| r.points < 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scoring::{awards, candidates as full, seed_rules};

    fn call(i: usize, outbound: bool, answered: bool) -> ScoredCall {
        ScoredCall {
            id: format!("c{i:04}"),
            started_at: i as i64,
            outbound,
            answered,
            disposition: None,
            eligible: true,
        }
    }

    fn counts(history: &[ScoredCall]) -> Counts {
        let n = |f: fn(&ScoredCall) -> bool| history.iter().filter(|c| f(c)).count() as i64;
        Counts {
            calls: n(|_| true),
            answered: n(|c| c.answered),
            inbound: n(|c| !c.outbound),
            outbound: n(|c| c.outbound),
        }
    }

    #[test]
    fn batch_by_batch_earns_what_the_whole_history_earns() {
        let set = seed_rules();
        let history: Vec<ScoredCall> = (0..230).map(|i| call(i, i % 3 != 0, i % 4 == 0)).collect();
        let whole: i64 = awards(&set, &[], full(&set, &history))
            .iter()
            .map(|c| c.points)
            .sum();
        let mut written = Vec::new();
        for end in (7..=230).step_by(7).chain([230]) {
            let seen = &history[..end];
            let batch = eligible(&seen[end.saturating_sub(7)..]);
            let fresh = awards(&set, &written, candidates(&set, &batch, &counts(seen)));
            written.extend(fresh.into_iter().map(|c| crate::domain::scoring::Written {
                rule_key: c.rule_key,
                trigger_key: c.trigger_key,
                points: c.points,
            }));
        }
        let incremental: i64 = written.iter().map(|w| w.points).sum();
        assert_eq!(incremental, whole);
        // 153 outbound, 58 answered, past both counts.
        assert_eq!(whole, 153 * 5 + 58 * 20 + 1000 + 100);
    }
}
