//! Bulk import (docs/contacts.md, "Import"): one transaction for the
//! request, each row in its own savepoint, so a bad row is rejected alone.
//! A row finds its contact by `external_id`, else by one of its numbers;
//! found, the row updates it (or changes nothing), else creates it. Two
//! imports of the same rows at once end with each contact once: the second
//! writer's insert hits the unique keys, its savepoint rolls back, and the
//! row is tried once more, now finding the contact the first one wrote.
//! (Imports themselves take the organisation's lock, so that second try
//! serves a single create racing an import.)

use crate::db::{Database, DbConn, write_tx};
use crate::domain::FieldError;
use crate::domain::contacts::ContactFields;
use crate::ids::{ContactId, OrgId, UserId};
use crate::repo::contacts::ContactRow;
use crate::repo::{RepoError, contact_numbers, contacts as contact_rows, orgs};
use crate::time::Micros;
use crate::wire::{ContactSource, ErrorCode, ImportRowResult, ImportStatus};

use super::contacts::{ContactError, check_owner, insert_in, store_in, stored_fields};

/// One row to import: checked fields and the owner it names, or why it
/// could not be read.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub fields: Result<ContactFields, FieldError>,
    pub owner: Option<UserId>,
}

/// Imports `rows` in one transaction; one result per row, in order.
pub async fn import(
    db: &Database,
    org: OrgId,
    rows: Vec<ImportRow>,
    now: Micros,
) -> Result<Vec<ImportRowResult>, RepoError> {
    db.write(move |conn| {
        // Imports of one organisation take turns: two imports meeting the
        // same numbers in opposite orders would otherwise each hold a key
        // the other waits for, and PostgreSQL would abort one of them.
        orgs::lock(conn, &org.to_string())?;
        let mut results = Vec::with_capacity(rows.len());
        for (index, row) in (0_u32..).zip(rows) {
            results.push(import_row(conn, org, index, row, now)?);
        }
        Ok(results)
    })
    .await
}

fn import_row(
    conn: &mut DbConn,
    org: OrgId,
    index: u32,
    row: ImportRow,
    now: Micros,
) -> Result<ImportRowResult, RepoError> {
    let fields = match row.fields {
        Ok(fields) => fields,
        Err(e) => return Ok(rejected(index, e.code, Some(e.field), e.message, None)),
    };
    // A second try finds what a concurrent import inserted first.
    let mut outcome = write_tx(conn, |conn| apply(conn, org, &fields, row.owner, now));
    if matches!(
        outcome,
        Err(ContactError::NumberTaken { .. } | ContactError::ExternalIdTaken { .. })
    ) {
        outcome = write_tx(conn, |conn| apply(conn, org, &fields, row.owner, now));
    }
    Ok(match outcome {
        Ok((status, id)) => ImportRowResult {
            row: index,
            status,
            contact_id: Some(id),
            code: None,
            field: None,
            message: None,
        },
        Err(ContactError::Repo(e)) => return Err(e),
        Err(ContactError::Field(e)) => rejected(index, e.code, Some(e.field), e.message, None),
        Err(ContactError::NumberTaken { number, contact }) => rejected(
            index,
            ErrorCode::ContactNumberTaken,
            Some("numbers"),
            format!("{number} belongs to another contact"),
            Some(contact),
        ),
        Err(ContactError::ExternalIdTaken { contact }) => rejected(
            index,
            ErrorCode::ExternalIdTaken,
            Some("external_id"),
            "the external_id belongs to another contact".into(),
            Some(contact),
        ),
        Err(ContactError::UnknownOwner) => rejected(
            index,
            ErrorCode::UnknownOwner,
            Some("owner_id"),
            "no user of the organisation has this id".into(),
            None,
        ),
        Err(ContactError::Forbidden) => rejected(
            index,
            ErrorCode::Forbidden,
            None,
            "not allowed".into(),
            None,
        ),
        // An import never deletes; kept for the match to be whole.
        Err(ContactError::Held) => rejected(
            index,
            ErrorCode::ContactHeld,
            None,
            "a legal hold keeps this contact".into(),
            None,
        ),
    })
}

/// Creates, updates or leaves the row's contact.
fn apply(
    conn: &mut DbConn,
    org: OrgId,
    fields: &ContactFields,
    owner: Option<UserId>,
    now: Micros,
) -> Result<(ImportStatus, ContactId), ContactError> {
    check_owner(conn, org, owner)?;
    let Some(existing) = find(conn, org, fields)? else {
        let row = insert_in(conn, org, fields, owner, ContactSource::Import, now)?;
        return Ok((ImportStatus::Created, row.id));
    };
    let stored = stored_fields(conn, &existing)?;
    let next = stored.imported(fields);
    let next_owner = owner.or(existing.owner_id);
    if next == stored && next_owner == existing.owner_id {
        return Ok((ImportStatus::Unchanged, existing.id));
    }
    let row = store_in(conn, existing, &next, next_owner, now)?;
    Ok((ImportStatus::Updated, row.id))
}

/// The contact a row describes: by external id, else by its numbers (all
/// of which must belong to that one contact, and its external id must not
/// say it is another).
fn find(
    conn: &mut DbConn,
    org: OrgId,
    fields: &ContactFields,
) -> Result<Option<ContactRow>, ContactError> {
    if let Some(external) = &fields.external_id
        && let Some(found) = contact_rows::by_external_id(conn, org, external)?
    {
        return Ok(Some(found));
    }
    let wanted: Vec<&str> = fields.numbers.iter().map(|n| n.e164.as_str()).collect();
    let owners = contact_numbers::owners(conn, org, &wanted)?;
    let Some((_, first)) = owners.first().cloned() else {
        return Ok(None);
    };
    if let Some((number, other)) = owners.into_iter().find(|(_, c)| *c != first) {
        return Err(ContactError::NumberTaken {
            number,
            contact: other,
        });
    }
    let found = contact_rows::get(conn, org, first)?;
    if fields.external_id.is_some()
        && found.external_id.is_some()
        && found.external_id != fields.external_id
    {
        let number = wanted.first().map(|n| (*n).to_owned()).unwrap_or_default();
        return Err(ContactError::NumberTaken {
            number,
            contact: found.id,
        });
    }
    Ok(Some(found))
}

fn rejected(
    row: u32,
    code: ErrorCode,
    field: Option<&str>,
    message: String,
    contact_id: Option<ContactId>,
) -> ImportRowResult {
    ImportRowResult {
        row,
        status: ImportStatus::Rejected,
        contact_id,
        code: Some(code.as_str().to_owned()),
        field: field.map(str::to_owned),
        message: Some(message),
    }
}
