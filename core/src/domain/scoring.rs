//! Contact scoring rules (docs/scoring.md): what a valid rule set is, the
//! seed set every organisation starts with, and which ledger rows a
//! contact's call history earns. No I/O: `usecases::scoring` loads the
//! history and the rows already written and stores what this decides.

use std::collections::{HashMap, HashSet};

use crate::time::Micros;
use crate::wire::{ErrorCode, ScoreCounter, ScoreRepeat, ScoreRule, ScoreRuleSet, ScoreTrigger};

/// The most rules one organisation has.
pub const MAX_RULES: usize = 100;
/// The most groups one set has.
pub const MAX_GROUPS: usize = 20;
/// Points of one award, either sign.
pub const MAX_POINTS: i64 = 1_000_000;
/// The largest cap (a group's or the total).
pub const MAX_CAP: i64 = 1_000_000_000;
/// The largest `count_reached` threshold.
pub const MAX_THRESHOLD: i64 = 1_000_000;
const MAX_KEY_CHARS: usize = 40;
const MAX_LABEL_CHARS: usize = 80;

/// A refused rule set: the field (`rules[2].threshold`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct RuleError {
    pub field: String,
    pub code: ErrorCode,
    pub detail: String,
}

fn invalid(field: String, detail: &str) -> RuleError {
    RuleError {
        field,
        code: ErrorCode::InvalidScoreRule,
        detail: detail.to_owned(),
    }
}

/// The seed system's rules: +5 per outbound call, +20 per call on air,
/// +1000 once past 100 calls, +100 once past 10 on air. (Blocked callers
/// accrue nothing whatever the rules say.) Migration 000019 stores the
/// same set for the organisations that existed before it.
pub fn seed_rules() -> ScoreRuleSet {
    let rule = |key: &str, label: &str, trigger, repeat, points| ScoreRule {
        key: key.into(),
        label: label.into(),
        trigger,
        repeat,
        points,
        disposition: None,
        counter: None,
        threshold: None,
        group: None,
    };
    let count = |key: &str, label: &str, counter, threshold, points| ScoreRule {
        counter: Some(counter),
        threshold: Some(threshold),
        ..rule(
            key,
            label,
            ScoreTrigger::CountReached,
            ScoreRepeat::Once,
            points,
        )
    };
    ScoreRuleSet {
        total_cap: None,
        groups: Vec::new(),
        rules: vec![
            rule(
                "call_placed",
                "Call placed",
                ScoreTrigger::CallPlaced,
                ScoreRepeat::Each,
                5,
            ),
            rule(
                "call_answered",
                "Call on air",
                ScoreTrigger::CallAnswered,
                ScoreRepeat::Each,
                20,
            ),
            count(
                "past_100_calls",
                "Past 100 calls",
                ScoreCounter::Calls,
                101,
                1000,
            ),
            count(
                "past_10_on_air",
                "Past 10 calls on air",
                ScoreCounter::Answered,
                11,
                100,
            ),
        ],
    }
}

/// Checks a whole set: sizes, unique keys and group names, each rule's
/// fields for its trigger, bounds on points, thresholds and caps.
pub fn validate(set: &ScoreRuleSet) -> Result<(), RuleError> {
    if set.rules.len() > MAX_RULES || set.groups.len() > MAX_GROUPS {
        return Err(RuleError {
            field: if set.rules.len() > MAX_RULES {
                "rules".into()
            } else {
                "groups".into()
            },
            code: ErrorCode::TooManyScoreRules,
            detail: format!("at most {MAX_RULES} rules and {MAX_GROUPS} groups"),
        });
    }
    if let Some(cap) = set.total_cap
        && !(1..=MAX_CAP).contains(&cap)
    {
        return Err(invalid(
            "total_cap".into(),
            "must be between 1 and 1000000000",
        ));
    }
    let mut groups = HashSet::new();
    for (i, group) in set.groups.iter().enumerate() {
        check_name(&group.name, &format!("groups[{i}].name"))?;
        if !groups.insert(group.name.as_str()) {
            return Err(invalid(format!("groups[{i}].name"), "is given twice"));
        }
        if !(1..=MAX_CAP).contains(&group.cap) {
            return Err(invalid(
                format!("groups[{i}].cap"),
                "must be between 1 and 1000000000",
            ));
        }
    }
    let mut keys = HashSet::new();
    for (i, rule) in set.rules.iter().enumerate() {
        check_rule(rule, i, &groups)?;
        if !keys.insert(rule.key.as_str()) {
            return Err(invalid(format!("rules[{i}].key"), "is given twice"));
        }
    }
    Ok(())
}

fn check_name(name: &str, field: &str) -> Result<(), RuleError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_KEY_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field.to_owned(),
            "must be 1 to 40 characters of a-z, 0-9 and _",
        ))
    }
}

fn check_rule(rule: &ScoreRule, i: usize, groups: &HashSet<&str>) -> Result<(), RuleError> {
    let field = |name: &str| format!("rules[{i}].{name}");
    check_name(&rule.key, &field("key"))?;
    let label = rule.label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS || label != rule.label {
        return Err(invalid(
            field("label"),
            "must be 1 to 80 characters without surrounding spaces",
        ));
    }
    if rule.points == 0 || !(-MAX_POINTS..=MAX_POINTS).contains(&rule.points) {
        return Err(invalid(
            field("points"),
            "must be non-zero and between -1000000 and 1000000",
        ));
    }
    if let Some(group) = &rule.group
        && !groups.contains(group.as_str())
    {
        return Err(invalid(field("group"), "names no group of the set"));
    }
    let is_count = rule.trigger == ScoreTrigger::CountReached;
    match (is_count, rule.counter, rule.threshold) {
        (true, None, _) => return Err(invalid(field("counter"), "is required for count_reached")),
        (true, _, None) => {
            return Err(invalid(field("threshold"), "is required for count_reached"));
        }
        (true, _, Some(n)) if !(1..=MAX_THRESHOLD).contains(&n) => {
            return Err(invalid(field("threshold"), "must be between 1 and 1000000"));
        }
        (false, Some(_), _) => {
            return Err(invalid(field("counter"), "is only for count_reached"));
        }
        (false, _, Some(_)) => {
            return Err(invalid(field("threshold"), "is only for count_reached"));
        }
        _ => {}
    }
    let is_disposition = rule.trigger == ScoreTrigger::Disposition;
    match (&rule.disposition, is_disposition) {
        (None, true) => Err(invalid(
            field("disposition"),
            "is required for the disposition trigger",
        )),
        (Some(_), false) => Err(invalid(
            field("disposition"),
            "is only for the disposition trigger",
        )),
        (Some(code), true) if code.is_empty() || code.chars().count() > 64 => Err(invalid(
            field("disposition"),
            "must be a disposition code (1 to 64 characters)",
        )),
        _ => Ok(()),
    }
}

/// One call of a contact's history, as scoring sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredCall {
    pub id: String,
    pub started_at: Micros,
    pub outbound: bool,
    pub answered: bool,
    /// The code of the call's disposition.
    pub disposition: Option<String>,
    /// False for a blocked caller: such a call neither scores nor counts.
    pub eligible: bool,
}

/// A ledger row a rule would write, before caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub rule_key: String,
    /// With the rule (and version), what makes the row unique: `call:<id>`,
    /// `count:<n>` or `once`.
    pub trigger_key: String,
    pub call_record_id: Option<String>,
    pub points: i64,
    pub label: String,
}

/// Everything the history earns under `set`, in the order it was earned
/// (calls by start time, then id). Ineligible calls are skipped entirely.
pub fn candidates(set: &ScoreRuleSet, history: &[ScoredCall]) -> Vec<Candidate> {
    let mut calls: Vec<&ScoredCall> = history.iter().filter(|c| c.eligible).collect();
    calls.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    let mut counts: HashMap<ScoreCounter, i64> = HashMap::new();
    let mut out = Vec::new();
    for call in calls {
        for counter in COUNTERS {
            if counts_toward(counter, call) {
                *counts.entry(counter).or_default() += 1;
            }
        }
        for rule in &set.rules {
            let key = match rule.trigger {
                ScoreTrigger::CountReached => count_key(rule, &counts),
                _ => per_call_key(rule, call),
            };
            if let Some(key) = key {
                out.push(candidate(rule, key, call));
            }
        }
    }
    out
}

/// Every counter a count rule may name.
pub const COUNTERS: [ScoreCounter; 3] = [
    ScoreCounter::Calls,
    ScoreCounter::Answered,
    ScoreCounter::Inbound,
];

/// Whether `call` counts toward `counter`.
pub fn counts_toward(counter: ScoreCounter, call: &ScoredCall) -> bool {
    match counter {
        ScoreCounter::Calls => true,
        ScoreCounter::Answered => call.answered,
        ScoreCounter::Inbound => !call.outbound,
    }
}

/// The trigger key `call` scores under a rule about one call (not a count
/// rule), if it matches.
pub fn per_call_key(rule: &ScoreRule, call: &ScoredCall) -> Option<String> {
    let matches = match rule.trigger {
        ScoreTrigger::CallPlaced => call.outbound,
        ScoreTrigger::CallAnswered => call.answered,
        ScoreTrigger::InboundCall => !call.outbound,
        ScoreTrigger::Disposition => {
            call.disposition.is_some() && call.disposition == rule.disposition
        }
        ScoreTrigger::CountReached => false,
    };
    matches.then(|| match rule.repeat {
        ScoreRepeat::Once => "once".to_owned(),
        ScoreRepeat::Each => format!("call:{}", call.id),
    })
}

/// The trigger key of a count rule the current call makes score, if any.
fn count_key(rule: &ScoreRule, counts: &HashMap<ScoreCounter, i64>) -> Option<String> {
    let counter = rule.counter?;
    let n = rule.threshold?;
    let count = counts.get(&counter).copied().unwrap_or(0);
    let hits = match rule.repeat {
        ScoreRepeat::Once => count == n,
        ScoreRepeat::Each => count > 0 && count % n == 0,
    };
    hits.then(|| format!("count:{count}"))
}

/// The row `rule` writes for `call` under `trigger_key`, before caps.
pub fn candidate(rule: &ScoreRule, trigger_key: String, call: &ScoredCall) -> Candidate {
    Candidate {
        rule_key: rule.key.clone(),
        trigger_key,
        call_record_id: Some(call.id.clone()),
        points: rule.points,
        label: rule.label.clone(),
    }
}

/// A ledger row already written: its rule, trigger and points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub rule_key: String,
    pub trigger_key: String,
    pub points: i64,
}

/// What a contact's ledger holds under one version, as de-duplication and
/// caps need it: the keys written (or those of them that matter) and the
/// points per group and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerState {
    /// (rule, trigger) keys written.
    pub done: HashSet<(String, String)>,
    pub total: i64,
    /// Points per group name.
    pub group_sums: HashMap<String, i64>,
}

fn group_of<'a>(set: &'a ScoreRuleSet, rule_key: &str) -> Option<&'a str> {
    set.rules
        .iter()
        .find(|r| r.key == rule_key)
        .and_then(|r| r.group.as_deref())
}

impl LedgerState {
    /// The state of `written`, every row of the version.
    pub fn of_written(set: &ScoreRuleSet, written: &[Written]) -> Self {
        let mut state = Self::default();
        for row in written {
            state
                .done
                .insert((row.rule_key.clone(), row.trigger_key.clone()));
            state.add_points(set, &row.rule_key, row.points);
        }
        state
    }

    /// Counts `points` of `rule_key` toward the sums (not a key).
    pub fn add_points(&mut self, set: &ScoreRuleSet, rule_key: &str, points: i64) {
        self.total += points;
        if let Some(g) = group_of(set, rule_key) {
            *self.group_sums.entry(g.to_owned()).or_default() += points;
        }
    }

    /// How many more positive points `rule_key` may award before a cap
    /// (its group's or the total) stops it.
    pub fn room(&self, set: &ScoreRuleSet, rule_key: &str) -> i64 {
        let mut room = set.total_cap.map_or(i64::MAX, |cap| cap - self.total);
        if let Some(g) = group_of(set, rule_key)
            && let Some(group) = set.groups.iter().find(|x| x.name == g)
        {
            room = room.min(group.cap - self.group_sums.get(g).copied().unwrap_or(0));
        }
        room
    }
}

/// The candidates not written yet, with their points cut so no group and
/// not the total pass its cap (counting what is written). Rows are never
/// changed once written, so a cap only bounds what comes after; a
/// candidate cut to nothing is left out (and may score later if negative
/// points make room). Negative points are never cut.
pub fn awards(
    set: &ScoreRuleSet,
    written: &[Written],
    candidates: Vec<Candidate>,
) -> Vec<Candidate> {
    awards_after(set, LedgerState::of_written(set, written), candidates)
}

/// [`awards`] against a ledger's state rather than its rows.
pub fn awards_after(
    set: &ScoreRuleSet,
    mut state: LedgerState,
    candidates: Vec<Candidate>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for mut c in candidates {
        if !state
            .done
            .insert((c.rule_key.clone(), c.trigger_key.clone()))
        {
            continue;
        }
        if c.points > 0 {
            c.points = c.points.min(state.room(set, &c.rule_key));
            if c.points <= 0 {
                state
                    .done
                    .remove(&(c.rule_key.clone(), c.trigger_key.clone()));
                continue;
            }
        }
        state.add_points(set, &c.rule_key, c.points);
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ScoreGroup;

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

    fn total(set: &ScoreRuleSet, history: &[ScoredCall]) -> i64 {
        awards(set, &[], candidates(set, history))
            .iter()
            .map(|c| c.points)
            .sum()
    }

    #[test]
    fn the_seed_gives_the_seed_totals() {
        let seed = seed_rules();
        validate(&seed).expect("seed is valid");
        let history: Vec<_> = (0..101).map(|i| call(i, true, i < 11)).collect();
        assert_eq!(total(&seed, &history), 101 * 5 + 11 * 20 + 1000 + 100);
        let history: Vec<_> = (0..101)
            .map(|i| {
                if i < 5 {
                    call(i, true, true)
                } else {
                    call(i, false, false)
                }
            })
            .collect();
        assert_eq!(total(&seed, &history), 1125);
        assert_eq!(total(&seed, &history[..100]), 125);
    }

    #[test]
    fn blocked_calls_neither_score_nor_count() {
        let seed = seed_rules();
        let mut history: Vec<_> = (0..101).map(|i| call(i, true, false)).collect();
        history[3].eligible = false;
        assert_eq!(total(&seed, &history), 100 * 5);
    }

    #[test]
    fn written_rows_are_not_scored_again_and_updates_add_only_the_new_rule() {
        let seed = seed_rules();
        let placed = candidates(&seed, &[call(1, true, false)]);
        let written: Vec<Written> = awards(&seed, &[], placed)
            .into_iter()
            .map(|c| Written {
                rule_key: c.rule_key,
                trigger_key: c.trigger_key,
                points: c.points,
            })
            .collect();
        let again = awards(&seed, &written, candidates(&seed, &[call(1, true, true)]));
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].rule_key, "call_answered");
    }

    #[test]
    fn caps_bound_groups_and_the_total() {
        let mut set = seed_rules();
        set.groups.push(ScoreGroup {
            name: "calls".into(),
            cap: 12,
        });
        set.rules[0].group = Some("calls".into());
        validate(&set).expect("valid");
        let history: Vec<_> = (0..5).map(|i| call(i, true, false)).collect();
        assert_eq!(total(&set, &history), 12);
        set.total_cap = Some(30);
        let history: Vec<_> = (0..5).map(|i| call(i, true, true)).collect();
        assert_eq!(total(&set, &history), 30);
    }

    #[test]
    fn each_count_rules_score_at_every_multiple() {
        let mut set = seed_rules();
        set.rules[2].repeat = ScoreRepeat::Each;
        set.rules[2].threshold = Some(10);
        let history: Vec<_> = (0..25).map(|i| call(i, true, false)).collect();
        assert_eq!(total(&set, &history), 25 * 5 + 2 * 1000);
    }

    #[test]
    fn bad_sets_are_refused_with_the_field() {
        let mut set = seed_rules();
        set.rules[2].threshold = None;
        assert_eq!(
            validate(&set).map_err(|e| e.field),
            Err("rules[2].threshold".into())
        );
        let mut set = seed_rules();
        set.rules[1].key = "call_placed".into();
        assert_eq!(
            validate(&set).map_err(|e| e.field),
            Err("rules[1].key".into())
        );
        let mut set = seed_rules();
        set.rules[0].group = Some("nope".into());
        assert_eq!(
            validate(&set).map_err(|e| e.field),
            Err("rules[0].group".into())
        );
        let mut set = seed_rules();
        set.rules[0].points = MAX_POINTS + 1;
        assert_eq!(
            validate(&set).map_err(|e| e.code),
            Err(ErrorCode::InvalidScoreRule)
        );
        let mut set = seed_rules();
        set.rules = (0..=MAX_RULES)
            .map(|_| seed_rules().rules[0].clone())
            .collect();
        assert_eq!(
            validate(&set).map_err(|e| e.code),
            Err(ErrorCode::TooManyScoreRules)
        );
    }

    #[test]
    fn the_migration_seeds_the_same_set() {
        let up = include_str!("../../../migrations/sqlite/2026-12-03-000019_scoring/up.sql");
        let json = up
            .split('\'')
            .find(|part| part.starts_with("{\"total_cap\""))
            .unwrap_or_default();
        let stored: ScoreRuleSet = serde_json::from_str(json).unwrap_or_else(|_| ScoreRuleSet {
            total_cap: Some(-1),
            groups: Vec::new(),
            rules: Vec::new(),
        });
        assert_eq!(stored, seed_rules());
    }
}
