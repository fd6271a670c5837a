//! The `legal_holds` table: holds that keep a user's, a contact's or one
//! call's records past retention until released.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{call_records, contacts, legal_holds, users};
use crate::ids::{LegalHoldId, OrgId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{LegalHold, LegalHoldSubject, Page};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = legal_holds)]
pub struct LegalHoldRow {
    pub id: String,
    pub org_id: String,
    pub subject_type: String,
    pub subject_id: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
    pub released_at: Option<i64>,
    pub released_by: Option<String>,
}

impl LegalHoldRow {
    pub fn subject(&self) -> Result<LegalHoldSubject, RepoError> {
        LegalHoldSubject::parse(&self.subject_type)
            .ok_or_else(|| RepoError::Corrupt(format!("hold subject {:?}", self.subject_type)))
    }

    pub fn to_wire(&self) -> Result<LegalHold, RepoError> {
        Ok(LegalHold {
            id: stored_id(&self.id)?,
            subject_type: self.subject()?,
            subject_id: self.subject_id.clone(),
            reason: self.reason.clone(),
            created_at: to_datetime(self.created_at),
            created_by: stored_id(&self.created_by)?,
            released_at: self.released_at.map(to_datetime),
            released_by: self.released_by.as_deref().map(stored_id).transpose()?,
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &LegalHoldRow) -> Result<(), RepoError> {
    diesel::insert_into(legal_holds::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Holds of the organisation that are not released.
pub fn count_active(conn: &mut DbConn, org: OrgId) -> Result<i64, RepoError> {
    Ok(legal_holds::table
        .filter(legal_holds::org_id.eq(org.to_string()))
        .filter(legal_holds::released_at.is_null())
        .count()
        .get_result(conn)?)
}

/// The active hold on this subject, if any.
pub fn active_on(
    conn: &mut DbConn,
    org: OrgId,
    subject: LegalHoldSubject,
    subject_id: &str,
) -> Result<Option<LegalHoldRow>, RepoError> {
    Ok(legal_holds::table
        .filter(legal_holds::org_id.eq(org.to_string()))
        .filter(legal_holds::subject_type.eq(subject.as_str()))
        .filter(legal_holds::subject_id.eq(subject_id))
        .filter(legal_holds::released_at.is_null())
        .select(LegalHoldRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether the subject exists in the organisation (a user, a contact or a
/// call record); another organisation's id does not.
pub fn subject_exists(
    conn: &mut DbConn,
    org: OrgId,
    subject: LegalHoldSubject,
    subject_id: &str,
) -> Result<bool, RepoError> {
    let org = org.to_string();
    let found: i64 = match subject {
        LegalHoldSubject::User => users::table
            .filter(users::org_id.eq(&org))
            .filter(users::id.eq(subject_id))
            .count()
            .get_result(conn)?,
        LegalHoldSubject::Contact => contacts::table
            .filter(contacts::org_id.eq(&org))
            .filter(contacts::id.eq(subject_id))
            .count()
            .get_result(conn)?,
        LegalHoldSubject::Call => call_records::table
            .filter(call_records::org_id.eq(&org))
            .filter(call_records::id.eq(subject_id))
            .count()
            .get_result(conn)?,
    };
    Ok(found > 0)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: LegalHoldId) -> Result<LegalHoldRow, RepoError> {
    Ok(legal_holds::table
        .filter(legal_holds::org_id.eq(org.to_string()))
        .filter(legal_holds::id.eq(id.to_string()))
        .select(LegalHoldRow::as_select())
        .first(conn)?)
}

/// The organisation's holds, oldest first; released ones only when asked.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    include_released: bool,
    page: &PageRequest,
) -> Result<Page<LegalHoldRow>, RepoError> {
    let mut query = legal_holds::table
        .filter(legal_holds::org_id.eq(org.to_string()))
        .select(LegalHoldRow::as_select())
        .into_boxed();
    if !include_released {
        query = query.filter(legal_holds::released_at.is_null());
    }
    if let Some(after) = &page.after {
        query = query.filter(legal_holds::id.gt(after.clone()));
    }
    let rows = query
        .order(legal_holds::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// Marks the hold released unless it is already; whether this call did it.
pub fn release(
    conn: &mut DbConn,
    org: OrgId,
    id: LegalHoldId,
    by: UserId,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        legal_holds::table
            .filter(legal_holds::org_id.eq(org.to_string()))
            .filter(legal_holds::id.eq(id.to_string()))
            .filter(legal_holds::released_at.is_null()),
    )
    .set((
        legal_holds::released_at.eq(now),
        legal_holds::released_by.eq(by.to_string()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
