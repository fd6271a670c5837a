//! Legal holds (docs/retention.md): an admin keeps every call of a user or
//! a contact, or one call, past retention until the hold is released. A
//! hold is placed and released under the organisation's lock, the lock
//! each purge batch takes, so a batch never deletes what a hold committed
//! before it keeps. At most [`MAX_ACTIVE_LEGAL_HOLDS`] active holds, one
//! per subject. Both changes are audited.

use crate::db::{Database, DbError};
use crate::domain::{FieldError, NonBlank};
use crate::ids::{LegalHoldId, OrgId, UserId};
use crate::repo::RepoError;
use crate::repo::legal_holds::{self, LegalHoldRow};
use crate::repo::page::PageRequest;
use crate::time::Micros;
use crate::wire::{
    AuditAction, ErrorCode, LegalHold, LegalHoldSubject, MAX_ACTIVE_LEGAL_HOLDS,
    MAX_LEGAL_HOLD_REASON_CHARS, Page, PlaceLegalHold,
};

use super::audit::{Entry, by_user};
use super::users::{UpdateError, lock_org_as_admin};

#[derive(Debug, thiserror::Error)]
pub enum LegalHoldError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No such user, contact or call in the organisation.
    #[error("unknown subject")]
    UnknownSubject,
    /// The subject is held already (by this hold).
    #[error("already held")]
    Exists(LegalHoldId),
    #[error("too many holds")]
    Full,
    #[error("not an admin")]
    NotAdmin,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for LegalHoldError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for LegalHoldError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<UpdateError> for LegalHoldError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Repo(e) => Self::Repo(e),
            _ => Self::NotAdmin,
        }
    }
}

fn subject(raw: &str) -> Result<LegalHoldSubject, FieldError> {
    LegalHoldSubject::parse(raw.trim()).ok_or_else(|| {
        FieldError::new(
            "subject_type",
            ErrorCode::InvalidField,
            "one of user, contact, call",
        )
    })
}

/// Ids are UUIDs; anything else names nothing (checked before any query).
fn subject_id(raw: &str) -> Result<String, LegalHoldError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.to_string())
        .map_err(|_| LegalHoldError::UnknownSubject)
}

pub async fn place(
    db: &Database,
    org: OrgId,
    by: UserId,
    input: PlaceLegalHold,
    now: Micros,
) -> Result<LegalHold, LegalHoldError> {
    let kind = subject(&input.subject_type)?;
    let reason = NonBlank::parse("reason", &input.reason, MAX_LEGAL_HOLD_REASON_CHARS)?;
    let id = subject_id(&input.subject_id)?;
    let row = LegalHoldRow {
        id: LegalHoldId::new().to_string(),
        org_id: org.to_string(),
        subject_type: kind.as_str().to_owned(),
        subject_id: id,
        reason: reason.into_inner(),
        created_by: by.to_string(),
        created_at: now,
        released_at: None,
        released_by: None,
    };
    let stored = db
        .write(move |conn| {
            lock_org_as_admin(conn, org, by)?;
            if !legal_holds::subject_exists(conn, org, kind, &row.subject_id)? {
                return Err(LegalHoldError::UnknownSubject);
            }
            if let Some(existing) = legal_holds::active_on(conn, org, kind, &row.subject_id)? {
                return Err(LegalHoldError::Exists(crate::repo::stored_id(
                    &existing.id,
                )?));
            }
            if legal_holds::count_active(conn, org)? >= MAX_ACTIVE_LEGAL_HOLDS as i64 {
                return Err(LegalHoldError::Full);
            }
            legal_holds::insert(conn, &row)?;
            let entry = Entry::new(
                &row.org_id,
                AuditAction::LegalHoldPlaced,
                "legal_hold",
                &row.id,
                by_user(by),
            )
            .detail("subject_type", row.subject_type.clone())
            .detail("subject_id", row.subject_id.clone())
            .detail("reason", row.reason.clone());
            let entry = match kind {
                LegalHoldSubject::User => entry.concerning(&row.subject_id),
                _ => entry,
            };
            entry.record(conn, now)?;
            Ok::<_, LegalHoldError>(row)
        })
        .await?;
    Ok(stored.to_wire()?)
}

/// Releases a hold of `org`. Releasing a released hold changes nothing
/// and is not an error; another organisation's id is not found.
pub async fn release(
    db: &Database,
    org: OrgId,
    by: UserId,
    id: LegalHoldId,
    now: Micros,
) -> Result<LegalHold, LegalHoldError> {
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let row = legal_holds::get(conn, org, id)?;
        if legal_holds::release(conn, org, id, by, now)? {
            Entry::new(
                &row.org_id,
                AuditAction::LegalHoldReleased,
                "legal_hold",
                &row.id,
                by_user(by),
            )
            .detail("subject_type", row.subject_type.clone())
            .detail("subject_id", row.subject_id.clone())
            .record(conn, now)?;
        }
        Ok::<_, LegalHoldError>(legal_holds::get(conn, org, id)?.to_wire()?)
    })
    .await
}

/// One page of the organisation's holds; released ones only when asked.
pub async fn list(
    db: &Database,
    org: OrgId,
    include_released: bool,
    page: PageRequest,
) -> Result<Page<LegalHold>, LegalHoldError> {
    db.run(move |conn| {
        let rows = legal_holds::list(conn, org, include_released, &page)?;
        let items = rows
            .items
            .iter()
            .map(LegalHoldRow::to_wire)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    })
    .await
}
