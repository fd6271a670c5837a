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
    let mut woken = Vec::with_capacity(by_user.len());
    for (user, items) in by_user {
        let user_id: UserId = stored_id(user)?;
        let rows: Vec<CallRecordRow> = items.iter().map(|(row, _)| row.clone()).collect();
        let records = record_reads::for_reader(conn, user_id, &rows)?;
        let events: Vec<AppEvent> = items
            .iter()
            .zip(records)
            .map(|((_, change), record)| AppEvent::CallRecord {
                change: *change,
                record: Box::new(record),
            })
            .collect();
        app_events::record_many(conn, &rows[0].org_id, user, &events, now)?;
        woken.push(user_id);
    }
    Ok(woken)
}
