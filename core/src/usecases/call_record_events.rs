//! `call_record` events: the app stream announces a call record that was
//! stored or changed to the record's user, in the transaction that stored
//! or changed it (the stream is a table, so an app that resumes from its
//! cursor misses none). The caller wakes the returned users' streams after
//! the commit. A record without a user (nobody held the phone) is nobody's
//! to announce to the app; webhooks (`webhook_outbox`) hear of it too.

use std::collections::BTreeMap;

use super::{app_events, record_reads};
use crate::db::DbConn;
use crate::ids::UserId;
use crate::repo::call_records::CallRecordRow;
use crate::repo::{RepoError, stored_id};
use crate::time::Micros;
use crate::wire::{AppEvent, CallRecordChange};

/// Writes one event per record (each row once: the caller passes each
/// record it touched one time, as written), as the record's user reads it
/// in the call log. Users are locked in id order, the same in every
/// transaction, so two batches cannot deadlock on them. Returns the users
/// whose streams to wake.
pub fn record_in(
    conn: &mut DbConn,
    changed: &[(CallRecordRow, CallRecordChange)],
    now: Micros,
) -> Result<Vec<UserId>, RepoError> {
    // Webhooks hear of every record, a userless one too.
    super::webhook_outbox::calls_in(conn, changed, false, now)?;
    let mut by_user: BTreeMap<&str, Vec<&(CallRecordRow, CallRecordChange)>> = BTreeMap::new();
    for item in changed {
        if let Some(user) = item.0.user_id.as_deref() {
            by_user.entry(user).or_default().push(item);
        }
    }
    let Some(org_id) = changed.first().map(|(row, _)| row.org_id.as_str()) else {
        return Ok(Vec::new());
    };
    let woken = by_user
        .keys()
        .map(|user| stored_id::<UserId>(user))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<Vec<CallRecordRow>> = by_user
        .values()
        .map(|items| items.iter().map(|(row, _)| row.clone()).collect())
        .collect();
    let readers: Vec<(UserId, &[CallRecordRow])> = woken
        .iter()
        .zip(&rows)
        .map(|(user, rows)| (*user, rows.as_slice()))
        .collect();
    // Each user reads their records as the call log shows them; what that
    // needs is read once for the batch.
    let records = record_reads::for_readers(conn, &readers)?;
    let mut events: Vec<(&str, AppEvent)> = Vec::with_capacity(changed.len());
    for ((user, items), records) in by_user.iter().zip(records) {
        events.extend(items.iter().zip(records).map(|((_, change), record)| {
            let event = AppEvent::CallRecord {
                change: *change,
                record: Box::new(record),
            };
            (*user, event)
        }));
    }
    // Every user locked and every event written at once: in the batch's
    // transaction that is the same as user by user (locks in id order).
    app_events::record_for_users(conn, org_id, &events, now)?;
    Ok(woken)
}
