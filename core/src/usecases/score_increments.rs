//! Incremental scoring (docs/scoring.md, "Incremental scoring"): the
//! contacts already scored under the rule set in force gain what their
//! touched records earn, read against their counts (one aggregate query)
//! and their ledger's per-rule sums, never their history or whole ledger.
//! A contact whose ledger may lack awards of earlier calls (a number it
//! gained with calls, a block lifted) is handed back for a full scoring.
//! Called by `usecases::scoring` under the organisation's change lock.

use std::collections::{HashMap, HashSet};

use super::scoring::{blocked_numbers, scored_call};
use crate::db::DbConn;
use crate::domain::score_increments::{self, Counts};
use crate::domain::scoring::{self, LedgerState, ScoredCall};
use crate::ids::{ContactId, OrgId};
use crate::repo::call_history;
use crate::repo::score_events;
use crate::repo::score_rule_sets::StoredSet;
use crate::repo::{RepoError, contact_numbers, contacts};
use crate::time::Micros;
use crate::wire::CallDirection;

/// Scores each contact of `batches` (all built under `rules`) for its
/// touched record ids; returns the contacts that need a full scoring.
pub(super) fn score(
    conn: &mut DbConn,
    org: OrgId,
    rules: &StoredSet,
    batches: &HashMap<ContactId, Vec<String>>,
    now: Micros,
) -> Result<Vec<ContactId>, RepoError> {
    if batches.is_empty() {
        return Ok(Vec::new());
    }
    let (set, version) = (&rules.set, rules.version);
    let ids: Vec<ContactId> = batches.keys().copied().collect();
    let mut numbers_of: HashMap<ContactId, Vec<String>> = HashMap::new();
    for (contact, phone) in contact_numbers::of_contacts(conn, &ids)? {
        numbers_of.entry(contact).or_default().push(phone.e164);
    }
    let numbers: Vec<String> = numbers_of.values().flatten().cloned().collect();
    let blocked = blocked_numbers(conn, org, &numbers, now)?;
    let counts = counts_of_numbers(conn, org, &numbers)?;
    let record_ids: Vec<String> = batches.values().flatten().cloned().collect();
    let codes: HashMap<String, String> = call_history::disposition_codes(conn, org, &record_ids)?
        .into_iter()
        .collect();
    let calls: HashMap<String, ScoredCall> = call_history::with_ids(conn, org, &record_ids)?
        .iter()
        .map(|row| {
            let number_blocked = row
                .remote_e164
                .as_deref()
                .is_some_and(|n| blocked.contains(n));
            (row.id.clone(), scored_call(row, number_blocked, &codes))
        })
        .collect();
    let keys: Vec<String> = ids.iter().map(ContactId::to_string).collect();
    let mut states: HashMap<String, LedgerState> = HashMap::new();
    let mut rows: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (contact, rule, count, points) in score_events::sums_by_rule(conn, &keys, version)? {
        states
            .entry(contact.clone())
            .or_default()
            .add_points(set, &rule, points);
        rows.entry(contact).or_default().insert(rule, count);
    }

    let mut full = Vec::new();
    let mut pending: Vec<(ContactId, Vec<scoring::Candidate>)> = Vec::new();
    for (contact, record_ids) in batches {
        let key = contact.to_string();
        let state = states.get(&key).cloned().unwrap_or_default();
        let batch: Vec<ScoredCall> = record_ids
            .iter()
            .filter_map(|id| calls.get(id).cloned())
            .collect();
        let batch = score_increments::eligible(&batch);
        let mut now_counts = Counts::default();
        for n in numbers_of.get(contact).into_iter().flatten() {
            if let (false, Some(c)) = (blocked.contains(n), counts.get(n)) {
                now_counts = add(now_counts, *c);
            }
        }
        let complete = score_increments::complete_before(
            set,
            &now_counts.without(&batch),
            rows.get(&key).unwrap_or(&HashMap::new()),
            |rule| state.room(set, rule),
        );
        if complete {
            let found = score_increments::candidates(set, &batch, &now_counts);
            pending.push((*contact, found));
        } else {
            full.push(*contact);
        }
    }

    // Of the keys the batch would write, those written already.
    let triggers: Vec<String> = pending
        .iter()
        .flat_map(|(_, found)| found.iter().map(|c| c.trigger_key.clone()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let owners: Vec<String> = pending.iter().map(|(c, _)| c.to_string()).collect();
    for row in score_events::with_triggers(conn, &owners, version, &triggers)? {
        states
            .entry(row.contact_id)
            .or_default()
            .done
            .insert((row.rule_key, row.trigger_key));
    }
    let mut inserts = Vec::new();
    let mut scores = Vec::new();
    for (contact, found) in pending {
        let key = contact.to_string();
        let state = states.remove(&key).unwrap_or_default();
        let before = state.total;
        let fresh = scoring::awards_after(set, state, found);
        if fresh.is_empty() {
            continue;
        }
        let sum = before + fresh.iter().map(|c| c.points).sum::<i64>();
        inserts.extend(super::scoring::ledger_rows(org, &key, version, fresh, now));
        scores.push((contact, sum));
    }
    score_events::insert_many(conn, &inserts)?;
    contacts::set_scores(conn, &scores, version)?;
    Ok(full)
}

/// Each number's counts of unblocked calls (one aggregate query).
fn counts_of_numbers(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[String],
) -> Result<HashMap<String, Counts>, RepoError> {
    let mut counts: HashMap<String, Counts> = HashMap::new();
    for row in call_history::counts_by_number(conn, org, numbers)? {
        let Some(number) = row.number else {
            continue;
        };
        let outbound = row.direction == CallDirection::Outbound.as_str();
        let c = counts.entry(number).or_default();
        c.calls += row.calls;
        c.answered += row.answered;
        if outbound {
            c.outbound += row.calls;
        } else {
            c.inbound += row.calls;
        }
    }
    Ok(counts)
}

fn add(a: Counts, b: Counts) -> Counts {
    Counts {
        calls: a.calls + b.calls,
        answered: a.answered + b.answered,
        inbound: a.inbound + b.inbound,
        outbound: a.outbound + b.outbound,
    }
}
