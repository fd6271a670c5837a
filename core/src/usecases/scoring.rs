//! Keeping contacts' scores and their ledger (docs/scoring.md): called
//! inside the transactions that change what a score depends on (a call
//! record ingest batch, a disposition, a recompute batch, a merge), which
//! all hold the organisation's change lock (`sync_seq`), so two of them
//! never score one contact at once.
//!
//! A contact is scored from its whole eligible call history under the
//! rule set in force: what the history earns (`domain::scoring`) minus the
//! ledger rows already written for that version is appended, and the
//! contact's score set to the ledger's sum. A contact built under an older
//! version (or never) starts a fresh ledger under the current one; its old
//! rows stay as history. A fixed number of queries per call, whatever the
//! number of contacts.

use std::collections::{BTreeSet, HashMap};

use crate::db::DbConn;
use crate::domain::scoring::{self, ScoredCall, Written};
use crate::ids::{ContactId, OrgId};
use crate::repo::call_history::{self, HistoryRow};
use crate::repo::score_events::{self, NewScoreEvent};
use crate::repo::{RepoError, contact_numbers, contacts, score_rule_sets};
use crate::time::Micros;
use crate::usecases::blocklist_check::{self, Screened};
use crate::usecases::contact_links;
use crate::wire::CallDirection;

/// Scores the calls with `numbers` (the remote E.164 numbers of the
/// records a change touched): their contacts are brought up to date.
pub fn score_numbers(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[&str],
    now: Micros,
) -> Result<(), RepoError> {
    if numbers.is_empty() {
        return Ok(());
    }
    // The same resolution the ingest links its records with.
    let contacts: BTreeSet<ContactId> = contact_links::resolve(conn, org, numbers)?
        .into_values()
        .collect();
    let contacts: Vec<ContactId> = contacts.into_iter().collect();
    score_contacts(conn, org, &contacts, now)
}

/// Brings `ids` (the organisation's contacts) up to date with their
/// history under the rule set in force. Call under the organisation's
/// change lock.
pub fn score_contacts(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[ContactId],
    now: Micros,
) -> Result<(), RepoError> {
    if ids.is_empty() {
        return Ok(());
    }
    let rules = score_rule_sets::current(conn, org)?;
    let version = rules.version;
    let stored = contacts::scores(conn, org, ids)?;
    let mut numbers_of: HashMap<ContactId, Vec<String>> = HashMap::new();
    for (contact, phone) in contact_numbers::of_contacts(conn, ids)? {
        numbers_of.entry(contact).or_default().push(phone.e164);
    }
    let numbers: Vec<String> = numbers_of.values().flatten().cloned().collect();
    let history = call_history::with_numbers(conn, org, &numbers)?;
    let blocked = blocked_numbers(conn, org, &numbers, now)?;
    let call_ids: Vec<String> = history.iter().map(|h| h.id.clone()).collect();
    let codes: HashMap<String, String> = call_history::disposition_codes(conn, org, &call_ids)?
        .into_iter()
        .collect();
    let mut calls_of: HashMap<&str, Vec<ScoredCall>> = HashMap::new();
    for row in &history {
        let Some(number) = row.remote_e164.as_deref() else {
            continue;
        };
        calls_of.entry(number).or_default().push(scored_call(
            row,
            blocked.contains(number),
            &codes,
        ));
    }
    let contact_keys: Vec<String> = stored.iter().map(|(c, _, _)| c.to_string()).collect();
    let mut written: HashMap<String, Vec<Written>> = HashMap::new();
    for row in score_events::of_contacts(conn, &contact_keys, version)? {
        written.entry(row.contact_id).or_default().push(Written {
            rule_key: row.rule_key,
            trigger_key: row.trigger_key,
            points: row.points,
        });
    }
    let mut inserts = Vec::new();
    let mut scores = Vec::new();
    for (contact, score, built) in stored {
        let history: Vec<ScoredCall> = numbers_of
            .get(&contact)
            .into_iter()
            .flatten()
            .filter_map(|n| calls_of.get(n.as_str()))
            .flatten()
            .cloned()
            .collect();
        let key = contact.to_string();
        let before = written.remove(&key).unwrap_or_default();
        let fresh = scoring::awards(
            &rules.set,
            &before,
            scoring::candidates(&rules.set, &history),
        );
        let sum: i64 = before.iter().map(|w| w.points).sum::<i64>()
            + fresh.iter().map(|c| c.points).sum::<i64>();
        if sum != score || built != Some(version) {
            scores.push((contact, sum));
        }
        inserts.extend(fresh.into_iter().map(|c| NewScoreEvent {
            org_id: org.to_string(),
            contact_id: key.clone(),
            rule_version: version,
            rule_key: c.rule_key,
            trigger_key: c.trigger_key,
            call_record_id: c.call_record_id,
            points: c.points,
            label: c.label,
            at: now,
        }));
    }
    score_events::insert_many(conn, &inserts)?;
    for (contact, sum) in scores {
        contacts::set_score(conn, contact, sum, version)?;
    }
    Ok(())
}

/// The numbers among `numbers` that an organisation-wide entry blocks at
/// `now` (a blocked caller accrues nothing).
fn blocked_numbers(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[String],
    now: Micros,
) -> Result<BTreeSet<String>, RepoError> {
    let screened: Vec<Screened<'_>> = numbers
        .iter()
        .map(|n| Screened {
            user_id: None,
            number: n,
        })
        .collect();
    let verdicts = blocklist_check::blocked_calls(conn, org, &screened, now)?;
    Ok(numbers
        .iter()
        .zip(verdicts)
        .filter(|(_, blocked)| *blocked)
        .map(|(n, _)| n.clone())
        .collect())
}

fn scored_call(
    row: &HistoryRow,
    number_blocked: bool,
    codes: &HashMap<String, String>,
) -> ScoredCall {
    ScoredCall {
        id: row.id.clone(),
        started_at: row.started_at,
        outbound: row.direction == CallDirection::Outbound.as_str(),
        answered: row.answered_at.is_some(),
        disposition: codes.get(&row.id).cloned(),
        eligible: !row.blocked && !number_blocked,
    }
}
