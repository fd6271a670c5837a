//! The `contact_numbers` table: a contact's numbers in E.164 with the form
//! they were given in. The primary key (organisation, E.164) makes a number
//! belong to at most one contact of an organisation, also under concurrent
//! writers; `digits` serves the number search.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::contact_numbers;
use crate::domain::contacts::ContactPhone;
use crate::domain::number_search::stored_digits;
use crate::ids::{ContactId, OrgId};

/// The numbers of `contacts`, each contact's in its order.
pub fn of_contacts(
    conn: &mut DbConn,
    contacts: &[ContactId],
) -> Result<Vec<(ContactId, ContactPhone)>, RepoError> {
    let rows: Vec<(ContactId, String, String)> = contact_numbers::table
        .filter(contact_numbers::contact_id.eq_any(contacts))
        .order((contact_numbers::contact_id, contact_numbers::position))
        .select((
            contact_numbers::contact_id,
            contact_numbers::e164,
            contact_numbers::raw,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, e164, raw)| (id, ContactPhone { e164, raw }))
        .collect())
}

/// Which contact of the organisation each of `numbers` (E.164) belongs to,
/// for those that belong to one.
pub fn owners(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[&str],
) -> Result<Vec<(String, ContactId)>, RepoError> {
    Ok(contact_numbers::table
        .filter(contact_numbers::org_id.eq(org))
        .filter(contact_numbers::e164.eq_any(numbers))
        .select((contact_numbers::e164, contact_numbers::contact_id))
        .load(conn)?)
}

/// Replaces the contact's numbers with `numbers`; `Conflict` when one of
/// them belongs to another contact of the organisation.
pub fn replace(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    numbers: &[ContactPhone],
) -> Result<(), RepoError> {
    delete_of(conn, contact)?;
    // One statement per row: MultiConnection has no batch insert, and a
    // contact has at most a few numbers.
    for (position, number) in (0_i64..).zip(numbers) {
        diesel::insert_into(contact_numbers::table)
            .values((
                contact_numbers::org_id.eq(org),
                contact_numbers::e164.eq(&number.e164),
                contact_numbers::contact_id.eq(contact),
                contact_numbers::raw.eq(&number.raw),
                contact_numbers::digits.eq(stored_digits(&number.raw, Some(&number.e164))),
                contact_numbers::position.eq(position),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Gives each contact of `pairs` its one number (E.164), in one
/// statement; `Conflict` when one of them belongs to a contact already.
pub fn insert_only_numbers(
    conn: &mut DbConn,
    org: OrgId,
    pairs: &[(ContactId, &str)],
) -> Result<(), RepoError> {
    let rows: Vec<_> = pairs
        .iter()
        .map(|(contact, e164)| {
            (
                contact_numbers::org_id.eq(org),
                contact_numbers::e164.eq(*e164),
                contact_numbers::contact_id.eq(*contact),
                contact_numbers::raw.eq(*e164),
                contact_numbers::digits.eq(stored_digits(e164, Some(e164))),
                contact_numbers::position.eq(0_i64),
            )
        })
        .collect();
    crate::db::dialect::insert_batch(
        conn,
        diesel::insert_into(contact_numbers::table).values(rows),
    )?;
    Ok(())
}

pub fn delete_of(conn: &mut DbConn, contact: ContactId) -> Result<(), RepoError> {
    diesel::delete(contact_numbers::table.filter(contact_numbers::contact_id.eq(contact)))
        .execute(conn)?;
    Ok(())
}
