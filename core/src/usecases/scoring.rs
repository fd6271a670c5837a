//! Keeping contacts' scores and their ledger (docs/scoring.md): called
//! inside the transactions that change what a score depends on (a call
//! record ingest batch, a disposition, a recompute batch, a merge), which
//! all hold the organisation's change lock (`sync_seq`), so two of them
//! never score one contact at once.
//!
//! Two ways, one result. A contact already scored under the rule set in
//! force gains only what the touched records earn
//! ([`super::score_increments`]: its counts and ledger sums are read, not
//! its history). Any other contact (new, built under an older version, or
//! whose ledger may lack awards of earlier calls) is scored from its whole
//! eligible call history ([`score_contacts`]): what the history earns
//! (`domain::scoring`) minus the ledger rows already written for that
//! version is appended, and the contact's score set to the ledger's sum.
//! A contact built under an older version (or never) starts a fresh ledger
//! under the current one; its old rows stay as history. A fixed number of
//! queries per call, whatever the number of contacts.

use std::collections::{BTreeSet, HashMap};

use crate::db::DbConn;
use crate::domain::score_increments;
use crate::domain::scoring::{self, ScoredCall, Written};
use crate::ids::{ContactId, OrgId};
use crate::repo::call_history::{self, HistoryRow};
use crate::repo::score_events::{self, NewScoreEvent};
use crate::repo::score_rule_sets::StoredSet;
use crate::repo::{RepoError, contact_numbers, contacts, score_rule_sets};
use crate::time::Micros;
use crate::usecases::blocklist_check::{self, Screened};
use crate::usecases::contact_links;
use crate::wire::CallDirection;

/// A call record a change touched: its id and remote number (E.164).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched<'a> {
    pub id: &'a str,
    pub number: &'a str,
}

/// Scores the `touched` records: their contacts gain what they earn.
pub fn score_records(
    conn: &mut DbConn,
    org: OrgId,
    touched: &[Touched<'_>],
    now: Micros,
) -> Result<(), RepoError> {
    if touched.is_empty() {
        return Ok(());
    }
    // The same resolution the ingest links its records with.
    let numbers: Vec<&str> = touched.iter().map(|t| t.number).collect();
    let owners = contact_links::resolve(conn, org, &numbers)?;
    if owners.is_empty() {
        return Ok(());
    }
    let rules = score_rule_sets::current(conn, org)?;
    let ids: Vec<ContactId> = owners
        .values()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut batches: HashMap<ContactId, Vec<String>> = HashMap::new();
    let mut full = Vec::new();
    let incremental = score_increments::incremental(&rules.set);
    for (contact, _, built) in contacts::scores(conn, org, &ids)? {
        if incremental && built == Some(rules.version) {
            batches.insert(contact, Vec::new());
        } else {
            full.push(contact);
        }
    }
    for t in touched {
        if let Some(batch) = owners.get(t.number).and_then(|c| batches.get_mut(c)) {
            batch.push(t.id.to_owned());
        }
    }
    full.extend(super::score_increments::score(
        conn, org, &rules, &batches, now,
    )?);
    full.sort_unstable();
    score_under(conn, org, &rules, &full, now)
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
    score_under(conn, org, &rules, ids, now)
}

/// [`score_contacts`] under `rules`, the set in force.
fn score_under(
    conn: &mut DbConn,
    org: OrgId,
    rules: &StoredSet,
    ids: &[ContactId],
    now: Micros,
) -> Result<(), RepoError> {
    if ids.is_empty() {
        return Ok(());
    }
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
        inserts.extend(super::scoring::ledger_rows(org, &key, version, fresh, now));
    }
    score_events::insert_many(conn, &inserts)?;
    contacts::set_scores(conn, &scores, version)?;
    Ok(())
}

/// The numbers among `numbers` that an organisation-wide entry blocks at
/// `now` (a blocked caller accrues nothing).
pub(super) fn blocked_numbers(
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

pub(super) fn scored_call(
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

/// The ledger rows of `fresh` awards to the contact stored as `contact`.
pub(super) fn ledger_rows(
    org: OrgId,
    contact: &str,
    version: i64,
    fresh: Vec<crate::domain::scoring::Candidate>,
    now: Micros,
) -> impl Iterator<Item = NewScoreEvent> {
    let (org, contact) = (org.to_string(), contact.to_owned());
    fresh.into_iter().map(move |c| NewScoreEvent {
        org_id: org.clone(),
        contact_id: contact.clone(),
        rule_version: version,
        rule_key: c.rule_key,
        trigger_key: c.trigger_key,
        call_record_id: c.call_record_id,
        points: c.points,
        label: c.label,
        at: now,
    })
}
