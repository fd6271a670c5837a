//! The `webhook_messages` table: the outbox of webhook events, one row per
//! event, written in the transaction of the change it describes.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::webhook_messages;
use crate::time::Micros;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = webhook_messages)]
pub struct MessageRow {
    pub seq: i64,
    pub id: String,
    pub org_id: String,
    pub event_type: String,
    pub ordering_key: String,
    pub payload: String,
    pub created_at: i64,
}

/// Appends a message; its `seq`.
pub fn insert(
    conn: &mut DbConn,
    id: &str,
    org_id: &str,
    event_type: &str,
    ordering_key: &str,
    payload: &str,
    now: Micros,
) -> Result<i64, RepoError> {
    diesel::insert_into(webhook_messages::table)
        .values((
            webhook_messages::id.eq(id),
            webhook_messages::org_id.eq(org_id),
            webhook_messages::event_type.eq(event_type),
            webhook_messages::ordering_key.eq(ordering_key),
            webhook_messages::payload.eq(payload),
            webhook_messages::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(webhook_messages::table
        .filter(webhook_messages::id.eq(id))
        .select(webhook_messages::seq)
        .first(conn)?)
}

pub fn by_seqs(conn: &mut DbConn, seqs: &[i64]) -> Result<Vec<MessageRow>, RepoError> {
    Ok(webhook_messages::table
        .filter(webhook_messages::seq.eq_any(seqs))
        .select(MessageRow::as_select())
        .load(conn)?)
}
