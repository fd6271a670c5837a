//! Merging one contact into another (docs/contacts.md, "Merge"; decision
//! 0021): the `from` contact's numbers, tags, the fields the target lacks,
//! and its call and dial links move to the target, and `from` is deleted,
//! in one transaction with one audit entry. The organisation's lock is
//! taken first, so merges of one organisation run one at a time: of two
//! concurrent merges A→B and B→A one wins and the other finds its `from`
//! (or target) gone and answers not found, without a deadlock.

use crate::db::{Database, DbConn, DbError};
use crate::domain::FieldError;
use crate::ids::{ContactId, OrgId};
use crate::repo::{RepoError, contact_numbers, contacts, orgs, score_events, sync_seq};
use crate::time::Micros;
use crate::wire::{AuditAction, Contact};

use super::contacts::{Actor, ContactError, editable, store_in};
use super::{audit, contact_links, contact_reads, scoring};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("a contact cannot be merged into itself")]
    IntoSelf,
    #[error(transparent)]
    Contact(#[from] ContactError),
}

impl From<RepoError> for MergeError {
    fn from(e: RepoError) -> Self {
        Self::Contact(e.into())
    }
}

impl From<DbError> for MergeError {
    fn from(e: DbError) -> Self {
        Self::Contact(e.into())
    }
}

impl From<diesel::result::Error> for MergeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Contact(e.into())
    }
}

impl From<FieldError> for MergeError {
    fn from(e: FieldError) -> Self {
        Self::Contact(e.into())
    }
}

/// Merges `from` into `into`, both contacts the actor may edit (a
/// salesperson: two they own); the target as it is afterwards.
pub async fn merge(
    db: &Database,
    org: OrgId,
    actor: Actor,
    into: ContactId,
    from: ContactId,
    now: Micros,
) -> Result<Contact, MergeError> {
    if into == from {
        return Err(MergeError::IntoSelf);
    }
    db.write(move |conn| merge_in(conn, org, actor, into, from, now))
        .await
}

/// [`merge`] inside the caller's write transaction.
pub fn merge_in(
    conn: &mut DbConn,
    org: OrgId,
    actor: Actor,
    into: ContactId,
    from: ContactId,
    now: Micros,
) -> Result<Contact, MergeError> {
    if into == from {
        return Err(MergeError::IntoSelf);
    }
    orgs::lock(conn, &org.to_string())?;
    // Scores change only under the change lock (docs/scoring.md); taken
    // after the organisation's lock, in the order annotations take both.
    sync_seq::lock(conn, &org.to_string())?;
    let (target, target_fields) = editable(conn, org, actor, into)?;
    let (source, source_fields) = editable(conn, org, actor, from)?;
    super::contacts::refuse_if_held(conn, org, from)?;
    let merged = target_fields.merged_with(&source_fields)?;
    let numbers_moved = merged.numbers.len() - target_fields.numbers.len();
    let moved = contact_links::move_links(conn, org, from, into)?;
    // `from`'s ledger stays as the target's archived history.
    score_events::archive_to(conn, org, from, into)?;
    // `from` goes before the target takes its numbers and external id,
    // which are unique in the organisation.
    contact_numbers::delete_of(conn, from)?;
    super::webhook_outbox::contact_in(
        conn,
        crate::wire::WebhookEventType::ContactDeleted,
        &source,
        now,
    )?;
    contacts::delete(conn, org, from)?;
    let owner = target.owner_id.or(source.owner_id);
    store_in(conn, target, &merged, owner, now)?;
    // The target now has `from`'s numbers and calls: score it again.
    scoring::score_contacts(conn, org, &[into], now)?;
    let row = contacts::get(conn, org, into)?;
    audit::Entry::new(
        &org.to_string(),
        AuditAction::ContactMerged,
        "contact",
        &into.to_string(),
        audit::by_user(actor.user),
    )
    .detail("into", into.to_string())
    .detail("from", from.to_string())
    .detail("numbers_moved", numbers_moved)
    .detail("calls_moved", moved.calls)
    .detail("dials_moved", moved.dials)
    .record(conn, now)?;
    Ok(contact_reads::one(conn, row)?)
}
