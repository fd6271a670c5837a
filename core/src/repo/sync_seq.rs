//! The per-organisation change counter behind `GET /v1/sync/calls`.
//!
//! Every transaction that changes call records reserves its numbers here.
//! The UPDATE holds the counter row's lock until commit, so the
//! organisation's record changes commit in number order: a reader that sees
//! change N sees every change before it, and paging by number never skips a
//! row still being written (PostgreSQL would otherwise hand out sequence
//! values at insert time and commit them in any order). On SQLite the write
//! transaction serialises anyway. Take it after any binding, user or dial
//! lock (docs/decisions/0004-call-record-sync.md).

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::sync_counters;

/// Reserves `count` change numbers for the organisation and returns the
/// first; the caller uses `first..first + count`.
pub fn reserve(conn: &mut DbConn, org_id: &str, count: i64) -> Result<i64, RepoError> {
    let bump = || {
        diesel::update(sync_counters::table.filter(sync_counters::org_id.eq(org_id)))
            .set(sync_counters::last_seq.eq(sync_counters::last_seq + count))
    };
    if bump().execute(conn)? == 0 {
        // Organisations made before the counter existed get their row here.
        diesel::insert_into(sync_counters::table)
            .values((
                sync_counters::org_id.eq(org_id),
                sync_counters::last_seq.eq(0_i64),
            ))
            .execute(conn)?;
        bump().execute(conn)?;
    }
    let last: i64 = sync_counters::table
        .find(org_id)
        .select(sync_counters::last_seq)
        .first(conn)?;
    Ok(last - count + 1)
}

/// Creates the counter with a new organisation.
pub fn create(conn: &mut DbConn, org_id: &str) -> Result<(), RepoError> {
    diesel::insert_into(sync_counters::table)
        .values((
            sync_counters::org_id.eq(org_id),
            sync_counters::last_seq.eq(0_i64),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the counter's lock without reserving: for a transaction that must
/// read call records or recordings consistently before it knows how many
/// changes it will make.
pub fn lock(conn: &mut DbConn, org_id: &str) -> Result<(), RepoError> {
    reserve(conn, org_id, 0).map(drop)
}

/// The organisation's last committed change number (0 before any). Every
/// change up to it is visible to a reader that read it (commits happen in
/// number order).
pub fn current(conn: &mut DbConn, org_id: &str) -> Result<i64, RepoError> {
    Ok(sync_counters::table
        .find(org_id)
        .select(sync_counters::last_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}
