//! Writing contacts: create, update, delete, and the organisation's
//! visibility setting (docs/contacts.md). Access follows
//! `domain::contacts::access`, checked inside the transaction against the
//! stored owner. A number belongs to at most one contact of an
//! organisation and an external id to at most one: both are checked first
//! for a clear answer and enforced by unique keys, whose violation under a
//! concurrent writer becomes the same answer (the write runs in a
//! savepoint, so the transaction can still read who won).

use crate::db::{Database, DbConn, DbError, write_tx};
use crate::domain::FieldError;
use crate::domain::contacts::{self, ContactAccess, ContactFields, ContactPhone};
use crate::ids::{ContactId, OrgId, UserId};
use crate::repo::contacts::ContactRow;
use crate::repo::{RepoError, contact_numbers, contact_settings, orgs, users};
use crate::time::Micros;
use crate::wire::{
    Contact, ContactSource, ContactVisibility, Role, UpdateContact, WebhookEventType,
};

use super::{contact_links, contact_reads};

/// Who writes: the caller's user and role.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user: UserId,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("invalid field {}: {}", .0.field, .0.message)]
    Field(FieldError),
    /// The caller may see the contact but not change it this way.
    #[error("forbidden")]
    Forbidden,
    /// The owner is no user of the organisation.
    #[error("unknown owner")]
    UnknownOwner,
    #[error("number {number} belongs to contact {contact}")]
    NumberTaken { number: String, contact: ContactId },
    #[error("external id belongs to contact {contact}")]
    ExternalIdTaken { contact: ContactId },
    /// A legal hold keeps the contact's calls: it may not be deleted or
    /// merged away (that would unlink them from the hold).
    #[error("contact under a legal hold")]
    Held,
}

impl From<DbError> for ContactError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for ContactError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<FieldError> for ContactError {
    fn from(e: FieldError) -> Self {
        Self::Field(e)
    }
}

/// Creates a contact. A salesperson's contact is theirs (`owner` must be
/// them or absent); others may give any user of the organisation or none.
pub async fn create(
    db: &Database,
    org: OrgId,
    actor: Actor,
    fields: ContactFields,
    owner: Option<UserId>,
    now: Micros,
) -> Result<Contact, ContactError> {
    let owner = match (actor.role, owner) {
        (Role::Salesperson, None) => Some(actor.user),
        (_, owner) => owner,
    };
    if !contacts::may_assign(actor.role, actor.user, owner) {
        return Err(ContactError::Forbidden);
    }
    db.write(move |conn| {
        check_owner(conn, org, owner)?;
        let row = insert_in(conn, org, &fields, owner, ContactSource::Manual, now)?;
        Ok(contact_reads::one(conn, row)?)
    })
    .await
}

/// Applies `patch` to a contact the actor may edit.
pub async fn update(
    db: &Database,
    org: OrgId,
    actor: Actor,
    id: ContactId,
    patch: UpdateContact,
    now: Micros,
) -> Result<Contact, ContactError> {
    db.write(move |conn| {
        let (row, fields) = editable(conn, org, actor, id)?;
        let next = fields.patched(&patch)?;
        let owner = match patch.owner_id {
            Some(owner) => {
                if !contacts::may_assign(actor.role, actor.user, owner) {
                    return Err(ContactError::Forbidden);
                }
                check_owner(conn, org, owner)?;
                owner
            }
            None => row.owner_id,
        };
        let row = store_in(conn, row, &next, owner, now)?;
        Ok(contact_reads::one(conn, row)?)
    })
    .await
}

/// Deletes a contact the actor may edit, with its numbers.
pub async fn delete(
    db: &Database,
    org: OrgId,
    actor: Actor,
    id: ContactId,
) -> Result<(), ContactError> {
    db.write(move |conn| {
        // The lock a legal hold takes: a hold and a delete never pass
        // each other.
        crate::repo::orgs::lock(conn, &org.to_string())?;
        let (row, _) = editable(conn, org, actor, id)?;
        refuse_if_held(conn, org, id)?;
        super::webhook_outbox::contact_in(
            conn,
            WebhookEventType::ContactDeleted,
            &row,
            crate::time::now_micros(),
        )?;
        contact_links::contact_deleted(conn, org, id)?;
        contact_numbers::delete_of(conn, id)?;
        crate::repo::score_events::delete_of(conn, org, id)?;
        crate::repo::contacts::delete(conn, org, id)?;
        Ok(())
    })
    .await
}

/// A held contact may gain numbers but not lose one: its calls from a
/// dropped number would be unlinked from it, and so from the hold.
fn keep_held_numbers(
    conn: &mut DbConn,
    org: OrgId,
    id: ContactId,
    fields: &ContactFields,
) -> Result<(), ContactError> {
    let kept = e164s(fields);
    let dropped = contact_numbers::of_contacts(conn, &[id])?
        .into_iter()
        .any(|(_, number)| !kept.contains(&number.e164.as_str()));
    if dropped {
        refuse_if_held(conn, org, id)?;
    }
    Ok(())
}

/// [`ContactError::Held`] when a legal hold names the contact; call
/// under the organisation's lock.
pub fn refuse_if_held(conn: &mut DbConn, org: OrgId, id: ContactId) -> Result<(), ContactError> {
    let hold = crate::repo::legal_holds::active_on(
        conn,
        org,
        crate::wire::LegalHoldSubject::Contact,
        &id.to_string(),
    )?;
    match hold {
        Some(_) => Err(ContactError::Held),
        None => Ok(()),
    }
}

/// Sets who sees which contacts (admins only: checked by the caller).
pub async fn set_visibility(
    db: &Database,
    org: OrgId,
    visibility: ContactVisibility,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    db.write(move |conn| {
        orgs::lock(conn, &org.to_string())?;
        contact_settings::put(conn, org, visibility, by, now)
    })
    .await
}

/// The contact and its fields, when the actor may edit it: `NotFound`
/// when hidden from them, `Forbidden` when they may only read it.
pub(super) fn editable(
    conn: &mut DbConn,
    org: OrgId,
    actor: Actor,
    id: ContactId,
) -> Result<(ContactRow, ContactFields), ContactError> {
    let row = crate::repo::contacts::get(conn, org, id)?;
    let (visibility, _) = contact_settings::get(conn, org)?;
    match contacts::access(actor.role, actor.user, row.owner_id, visibility) {
        ContactAccess::Hidden => Err(RepoError::NotFound.into()),
        ContactAccess::Read => Err(ContactError::Forbidden),
        ContactAccess::Edit => {
            let fields = stored_fields(conn, &row)?;
            Ok((row, fields))
        }
    }
}

pub(super) fn check_owner(
    conn: &mut DbConn,
    org: OrgId,
    owner: Option<UserId>,
) -> Result<(), ContactError> {
    match owner {
        Some(user) if !users::exists_in_org(conn, org, user)? => Err(ContactError::UnknownOwner),
        _ => Ok(()),
    }
}

/// The fields of a stored contact, with its numbers.
pub(super) fn stored_fields(
    conn: &mut DbConn,
    row: &ContactRow,
) -> Result<ContactFields, ContactError> {
    let numbers = contact_numbers::of_contacts(conn, &[row.id])?
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    Ok(ContactFields {
        name: row.name.clone(),
        company: row.company.clone(),
        notes: row.notes.clone(),
        email: row.email.clone(),
        numbers,
        tags: contact_reads::json_of(&row.tags)?,
        external_id: row.external_id.clone(),
        custom_fields: contact_reads::json_of(&row.custom_fields)?,
    })
}

/// Inserts a new contact with its numbers.
pub(super) fn insert_in(
    conn: &mut DbConn,
    org: OrgId,
    fields: &ContactFields,
    owner: Option<UserId>,
    source: ContactSource,
    now: Micros,
) -> Result<ContactRow, ContactError> {
    let row = ContactRow {
        id: ContactId::new(),
        org_id: org,
        name: String::new(),
        company: None,
        notes: None,
        email: None,
        tags: String::new(),
        external_id: None,
        owner_id: owner,
        custom_fields: String::new(),
        source,
        score: 0,
        search_text: String::new(),
        created_at: now,
        updated_at: now,
    };
    let row = with_fields(row, fields, owner, now)?;
    check_free(conn, org, row.id, fields)?;
    guarded(conn, org, row.id, fields, |conn| {
        crate::repo::contacts::insert(conn, &row)?;
        contact_numbers::replace(conn, org, row.id, &fields.numbers)
    })?;
    contact_links::numbers_changed(conn, org, row.id, &e164s(fields))?;
    super::webhook_outbox::contact_in(conn, WebhookEventType::ContactCreated, &row, now)?;
    Ok(row)
}

/// Writes `fields` and `owner` over a stored contact.
pub(super) fn store_in(
    conn: &mut DbConn,
    row: ContactRow,
    fields: &ContactFields,
    owner: Option<UserId>,
    now: Micros,
) -> Result<ContactRow, ContactError> {
    let org = row.org_id;
    let row = with_fields(row, fields, owner, now)?;
    check_free(conn, org, row.id, fields)?;
    keep_held_numbers(conn, org, row.id, fields)?;
    guarded(conn, org, row.id, fields, |conn| {
        crate::repo::contacts::update(conn, &row)?;
        contact_numbers::replace(conn, org, row.id, &fields.numbers)
    })?;
    contact_links::numbers_changed(conn, org, row.id, &e164s(fields))?;
    super::webhook_outbox::contact_in(conn, WebhookEventType::ContactUpdated, &row, now)?;
    Ok(row)
}

fn e164s(fields: &ContactFields) -> Vec<&str> {
    fields.numbers.iter().map(|n| n.e164.as_str()).collect()
}

fn with_fields(
    mut row: ContactRow,
    fields: &ContactFields,
    owner: Option<UserId>,
    now: Micros,
) -> Result<ContactRow, ContactError> {
    let json = |value: serde_json::Result<String>| {
        value.map_err(|e| ContactError::Repo(RepoError::Corrupt(e.to_string())))
    };
    row.name.clone_from(&fields.name);
    row.company.clone_from(&fields.company);
    row.notes.clone_from(&fields.notes);
    row.email.clone_from(&fields.email);
    row.tags = json(serde_json::to_string(&fields.tags))?;
    row.external_id.clone_from(&fields.external_id);
    row.owner_id = owner;
    row.custom_fields = json(serde_json::to_string(&fields.custom_fields))?;
    row.search_text = fields.search_text();
    row.updated_at = now;
    Ok(row)
}

/// Refuses numbers or an external id that belong to another contact.
fn check_free(
    conn: &mut DbConn,
    org: OrgId,
    me: ContactId,
    fields: &ContactFields,
) -> Result<(), ContactError> {
    if let Some(external) = &fields.external_id
        && let Some(other) = crate::repo::contacts::by_external_id(conn, org, external)?
        && other.id != me
    {
        return Err(ContactError::ExternalIdTaken { contact: other.id });
    }
    taken_number(conn, org, me, &fields.numbers)
}

fn taken_number(
    conn: &mut DbConn,
    org: OrgId,
    me: ContactId,
    numbers: &[ContactPhone],
) -> Result<(), ContactError> {
    let wanted: Vec<&str> = numbers.iter().map(|n| n.e164.as_str()).collect();
    match contact_numbers::owners(conn, org, &wanted)?
        .into_iter()
        .find(|(_, owner)| *owner != me)
    {
        Some((number, contact)) => Err(ContactError::NumberTaken { number, contact }),
        None => Ok(()),
    }
}

/// Runs `write` in a savepoint; a unique-key violation (a concurrent
/// writer took the number or external id after [`check_free`]) becomes the
/// answer `check_free` would now give.
fn guarded(
    conn: &mut DbConn,
    org: OrgId,
    me: ContactId,
    fields: &ContactFields,
    write: impl FnOnce(&mut DbConn) -> Result<(), RepoError>,
) -> Result<(), ContactError> {
    match write_tx(conn, write) {
        Err(RepoError::Conflict) => {
            check_free(conn, org, me, fields)?;
            Err(RepoError::Conflict.into())
        }
        other => Ok(other?),
    }
}
