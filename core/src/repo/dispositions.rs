//! The `dispositions` table: an organisation's catalogue of what can come
//! of a call. Rows are archived, never deleted, so a call's disposition
//! always resolves.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::dispositions;
use crate::ids::{DispositionId, OrgId};
use crate::time::{Micros, to_datetime};
use crate::wire::{Disposition, DispositionRef};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = dispositions)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct DispositionRow {
    pub id: String,
    pub org_id: String,
    pub code: String,
    pub label: String,
    pub reached: i64,
    pub sale: i64,
    pub do_not_call: i64,
    pub callback: i64,
    pub sort_order: i64,
    pub archived_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The flags of a disposition, as stored (0/1) and sent (bool).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub reached: bool,
    pub sale: bool,
    pub do_not_call: bool,
    pub callback: bool,
}

impl DispositionRow {
    pub fn new(
        org: OrgId,
        code: &str,
        label: &str,
        flags: Flags,
        sort_order: i64,
        now: Micros,
    ) -> Self {
        let mut row = Self {
            id: DispositionId::new().to_string(),
            org_id: org.to_string(),
            code: code.to_owned(),
            label: label.to_owned(),
            reached: 0,
            sale: 0,
            do_not_call: 0,
            callback: 0,
            sort_order,
            archived_at: None,
            created_at: now,
            updated_at: now,
        };
        row.set_flags(flags);
        row
    }

    pub fn flags(&self) -> Flags {
        Flags {
            reached: self.reached != 0,
            sale: self.sale != 0,
            do_not_call: self.do_not_call != 0,
            callback: self.callback != 0,
        }
    }

    pub fn set_flags(&mut self, flags: Flags) {
        self.reached = i64::from(flags.reached);
        self.sale = i64::from(flags.sale);
        self.do_not_call = i64::from(flags.do_not_call);
        self.callback = i64::from(flags.callback);
    }

    pub fn to_wire(&self) -> Result<Disposition, RepoError> {
        let flags = self.flags();
        Ok(Disposition {
            id: stored_id(&self.id)?,
            code: self.code.clone(),
            label: self.label.clone(),
            reached: flags.reached,
            sale: flags.sale,
            do_not_call: flags.do_not_call,
            callback: flags.callback,
            sort_order: self.sort_order,
            archived: self.archived_at.is_some(),
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        })
    }

    pub fn to_ref(&self) -> Result<DispositionRef, RepoError> {
        Ok(DispositionRef {
            id: stored_id(&self.id)?,
            code: self.code.clone(),
            label: self.label.clone(),
        })
    }
}

/// The organisation's catalogue, by sort order then code.
pub fn list(conn: &mut DbConn, org: OrgId) -> Result<Vec<DispositionRow>, RepoError> {
    Ok(dispositions::table
        .filter(dispositions::org_id.eq(org.to_string()))
        .order((dispositions::sort_order.asc(), dispositions::code.asc()))
        .select(DispositionRow::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: DispositionId) -> Result<DispositionRow, RepoError> {
    Ok(dispositions::table
        .filter(dispositions::org_id.eq(org.to_string()))
        .filter(dispositions::id.eq(id.to_string()))
        .select(DispositionRow::as_select())
        .first(conn)?)
}

/// The rows of these ids (any organisation: the ids come from stored rows).
pub fn by_ids(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<DispositionRow>, RepoError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(dispositions::table
        .filter(dispositions::id.eq_any(ids))
        .select(DispositionRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut DbConn, org: OrgId) -> Result<i64, RepoError> {
    Ok(dispositions::table
        .filter(dispositions::org_id.eq(org.to_string()))
        .count()
        .get_result(conn)?)
}

/// `Conflict` when the organisation has the code already.
pub fn insert(conn: &mut DbConn, rows: &[DispositionRow]) -> Result<(), RepoError> {
    for row in rows {
        diesel::insert_into(dispositions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Writes every column of a stored row.
pub fn update(conn: &mut DbConn, row: &DispositionRow) -> Result<(), RepoError> {
    diesel::update(dispositions::table.find(row.id.clone()))
        .set(row)
        .execute(conn)?;
    Ok(())
}
