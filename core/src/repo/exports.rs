//! The `exports` table: export jobs (docs/exports.md), from queued through
//! running to ready (or failed), then expired when their file is deleted.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::exports;
use crate::ids::{ExportId, OrgId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{Export, ExportKind, ExportState};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = exports)]
#[diesel(treat_none_as_null = true)]
pub struct ExportRow {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub kind: String,
    pub filter: String,
    pub state: String,
    pub items_done: i64,
    pub items_total: Option<i64>,
    pub storage_key: Option<String>,
    pub store_id: Option<String>,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub expires_at: Option<i64>,
}

impl ExportRow {
    pub fn kind(&self) -> Result<ExportKind, RepoError> {
        ExportKind::parse(&self.kind)
            .ok_or_else(|| RepoError::Corrupt(format!("export {} kind {}", self.id, self.kind)))
    }

    pub fn state(&self) -> Result<ExportState, RepoError> {
        ExportState::parse(&self.state)
            .ok_or_else(|| RepoError::Corrupt(format!("export {} state {}", self.id, self.state)))
    }

    pub fn to_wire(&self) -> Result<Export, RepoError> {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(Export {
            id: stored_id(&self.id)?,
            kind: self.kind()?,
            state: self.state()?,
            items_done: count(self.items_done),
            items_total: self.items_total.map(count),
            size_bytes: self.size_bytes.map(count),
            error: self.error.clone(),
            created_at: to_datetime(self.created_at),
            finished_at: self.finished_at.map(to_datetime),
            expires_at: self.expires_at.map(to_datetime),
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &ExportRow) -> Result<(), RepoError> {
    diesel::insert_into(exports::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes every column of a stored row.
pub fn update(conn: &mut DbConn, row: &ExportRow) -> Result<(), RepoError> {
    diesel::update(exports::table.find(row.id.clone()))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Stores progress of a running export; false when it is no longer
/// running (expired meanwhile, or finished by another worker).
pub fn progress(
    conn: &mut DbConn,
    id: &str,
    items_done: i64,
    items_total: Option<i64>,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        exports::table
            .filter(exports::id.eq(id))
            .filter(exports::state.eq(ExportState::Running.as_str())),
    )
    .set((
        exports::items_done.eq(items_done),
        exports::items_total.eq(items_total),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// `user`'s export `id` in `org`; `NotFound` for anyone else's (another
/// user's or another organisation's), so no caller can forget the check.
pub fn get_own(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    id: ExportId,
) -> Result<ExportRow, RepoError> {
    exports::table
        .filter(exports::id.eq(id.to_string()))
        .filter(exports::org_id.eq(org.to_string()))
        .filter(exports::user_id.eq(user.to_string()))
        .select(ExportRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(RepoError::NotFound)
}

/// Whether any export waits for the expiry pass: ready past `now`, or
/// expired with its file still stored.
pub fn any_to_expire(conn: &mut DbConn, now: Micros) -> Result<bool, RepoError> {
    let due = exports::table
        .filter(
            exports::state
                .eq(ExportState::Ready.as_str())
                .and(exports::expires_at.le(now)),
        )
        .or_filter(
            exports::state
                .eq(ExportState::Expired.as_str())
                .and(exports::storage_key.is_not_null()),
        );
    Ok(diesel::select(diesel::dsl::exists(due)).get_result(conn)?)
}

/// The export by id alone (the worker's job names it).
pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<ExportRow>, RepoError> {
    Ok(exports::table
        .find(id)
        .select(ExportRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user's exports, newest first (ids are time-ordered), after the
/// export id `after`.
pub fn list_of_user(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ExportRow>, RepoError> {
    let mut query = exports::table
        .filter(exports::org_id.eq(org.to_string()))
        .filter(exports::user_id.eq(user.to_string()))
        .select(ExportRow::as_select())
        .order(exports::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(exports::id.lt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// How many of the user's exports are queued or running.
pub fn unfinished_of_user(conn: &mut DbConn, user: UserId) -> Result<i64, RepoError> {
    Ok(exports::table
        .filter(exports::user_id.eq(user.to_string()))
        .filter(
            exports::state.eq_any([ExportState::Queued.as_str(), ExportState::Running.as_str()]),
        )
        .count()
        .get_result(conn)?)
}

/// Ready exports whose time ran out at `now`, at most `limit`.
pub fn expired(conn: &mut DbConn, now: Micros, limit: i64) -> Result<Vec<ExportRow>, RepoError> {
    Ok(exports::table
        .filter(exports::state.eq(ExportState::Ready.as_str()))
        .filter(exports::expires_at.le(now))
        .select(ExportRow::as_select())
        .order(exports::expires_at.asc())
        .limit(limit)
        .load(conn)?)
}

/// Marks a ready export expired; false when it was not ready any more.
pub fn mark_expired(conn: &mut DbConn, id: &str) -> Result<bool, RepoError> {
    let n = diesel::update(
        exports::table
            .filter(exports::id.eq(id))
            .filter(exports::state.eq(ExportState::Ready.as_str())),
    )
    .set(exports::state.eq(ExportState::Expired.as_str()))
    .execute(conn)?;
    Ok(n == 1)
}

/// Expired exports whose file was not deleted yet (a crash between the
/// two steps of `usecases::exports::expire`).
pub fn expired_with_file(conn: &mut DbConn, limit: i64) -> Result<Vec<ExportRow>, RepoError> {
    Ok(exports::table
        .filter(exports::state.eq(ExportState::Expired.as_str()))
        .filter(exports::storage_key.is_not_null())
        .select(ExportRow::as_select())
        .order(exports::id.asc())
        .limit(limit)
        .load(conn)?)
}

/// Forgets an expired export's deleted file.
pub fn forget_file(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::update(exports::table.filter(exports::id.eq(id)))
        .set((
            exports::storage_key.eq(None::<String>),
            exports::store_id.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}
