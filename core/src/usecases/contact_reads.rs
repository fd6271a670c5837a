//! Contacts as sent: stored rows with their numbers, tags and custom fields
//! (one query for the numbers of a whole page).

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use crate::db::DbConn;
use crate::domain::contacts::ContactPhone;
use crate::repo::contacts::ContactRow;
use crate::repo::{RepoError, contact_numbers};
use crate::time::to_datetime;
use crate::wire::{Contact, ContactNumber};

/// The rows as sent, in their order.
pub fn many(conn: &mut DbConn, rows: Vec<ContactRow>) -> Result<Vec<Contact>, RepoError> {
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let mut numbers: HashMap<_, Vec<ContactNumber>> = HashMap::new();
    for (id, ContactPhone { e164, raw }) in contact_numbers::of_contacts(conn, &ids)? {
        numbers
            .entry(id)
            .or_default()
            .push(ContactNumber { e164, raw });
    }
    rows.into_iter()
        .map(|row| {
            let numbers = numbers.remove(&row.id).unwrap_or_default();
            to_wire(row, numbers)
        })
        .collect()
}

/// One row as sent.
pub fn one(conn: &mut DbConn, row: ContactRow) -> Result<Contact, RepoError> {
    many(conn, vec![row])?
        .pop()
        .ok_or_else(|| RepoError::Corrupt("contact vanished while read".into()))
}

fn to_wire(row: ContactRow, numbers: Vec<ContactNumber>) -> Result<Contact, RepoError> {
    Ok(Contact {
        id: row.id,
        name: row.name,
        company: row.company,
        notes: row.notes,
        email: row.email,
        numbers,
        tags: json_of(&row.tags)?,
        external_id: row.external_id,
        owner_id: row.owner_id,
        custom_fields: json_of(&row.custom_fields)?,
        source: row.source,
        score: row.score,
        created_at: to_datetime(row.created_at),
        updated_at: to_datetime(row.updated_at),
    })
}

/// A stored JSON column (tags, custom fields).
pub(crate) fn json_of<T: DeserializeOwned>(text: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(|e| RepoError::Corrupt(format!("contact JSON: {e}")))
}
