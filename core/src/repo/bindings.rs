//! Bindings of users to phones, as rows. A partial unique index allows one
//! active binding per phone, so even a bug in the locking could not give a
//! phone two holders. The decisions (policy, takeover, expiry, the audit
//! log) are made in `usecases::bindings`.
//!
//! An expired binding counts as ended from its `expires_at` on, for every
//! read; the row itself is ended (and logged) by the next bind on its phone
//! or by the worker's sweep, whichever comes first.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{bindings, users};
use crate::ids::{BindingId, OrgId, PhoneId, UserId};
use crate::time::{Micros, now_micros, to_datetime};
use crate::wire::{Binding, BindingEndReason, BindingVia, Page, PhoneHolder};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = bindings)]
pub struct BindingRow {
    pub id: String,
    pub org_id: String,
    pub phone_id: String,
    pub user_id: String,
    pub via: String,
    pub started_at: i64,
    pub expires_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

impl BindingRow {
    pub fn binding_id(&self) -> Result<BindingId, RepoError> {
        stored_id(&self.id)
    }

    pub fn via(&self) -> Result<BindingVia, RepoError> {
        BindingVia::parse(&self.via)
            .ok_or_else(|| RepoError::Corrupt(format!("binding via {:?}", self.via)))
    }

    /// Not ended, but past its expiry: it counts as ended from `expires_at`.
    pub fn is_expired(&self, now: Micros) -> bool {
        self.ended_at.is_none() && self.expires_at.is_some_and(|e| e <= now)
    }

    /// The wire form as of `now`: an expired binding reads as ended.
    pub fn to_wire(&self, now: Micros) -> Result<Binding, RepoError> {
        let (ended_at, end_reason) = if self.is_expired(now) {
            (self.expires_at, Some(BindingEndReason::Expired))
        } else {
            (
                self.ended_at,
                self.end_reason
                    .as_deref()
                    .map(|r| {
                        BindingEndReason::parse(r)
                            .ok_or_else(|| RepoError::Corrupt(format!("end reason {r:?}")))
                    })
                    .transpose()?,
            )
        };
        Ok(Binding {
            id: self.binding_id()?,
            phone_id: stored_id(&self.phone_id)?,
            user_id: stored_id(&self.user_id)?,
            via: self.via()?,
            active: ended_at.is_none(),
            started_at: to_datetime(self.started_at),
            expires_at: self.expires_at.map(to_datetime),
            ended_at: ended_at.map(to_datetime),
            end_reason,
        })
    }
}

/// Whose bindings a helper works on.
#[derive(Debug, Clone, Copy)]
enum Of<'a> {
    Phone(&'a str),
    User(&'a str),
}

/// Active (not ended) rows of a phone or user, expired ones included.
fn active_of(conn: &mut DbConn, of: Of<'_>) -> Result<Vec<BindingRow>, RepoError> {
    let query = bindings::table
        .filter(bindings::ended_at.is_null())
        .select(BindingRow::as_select())
        .into_boxed();
    let query = match of {
        Of::Phone(id) => query.filter(bindings::phone_id.eq(id.to_owned())),
        Of::User(id) => query.filter(bindings::user_id.eq(id.to_owned())),
    };
    Ok(query.order(bindings::id.asc()).load(conn)?)
}

/// The phone's active rows (at most one), expired ones included.
pub fn active_of_phone(conn: &mut DbConn, phone_id: &str) -> Result<Vec<BindingRow>, RepoError> {
    active_of(conn, Of::Phone(phone_id))
}

/// The user's active rows, expired ones included.
pub fn active_of_user(conn: &mut DbConn, user_id: &str) -> Result<Vec<BindingRow>, RepoError> {
    active_of(conn, Of::User(user_id))
}

/// Takes the binding's row lock if it is still active (PostgreSQL; SQLite's
/// write transaction already serialises); `false` when it has ended.
pub fn lock_active(conn: &mut DbConn, id: &str) -> Result<bool, RepoError> {
    let locked = diesel::update(
        bindings::table
            .filter(bindings::id.eq(id))
            .filter(bindings::ended_at.is_null()),
    )
    .set(bindings::ended_at.eq(bindings::ended_at))
    .execute(conn)?;
    Ok(locked == 1)
}

/// The user's bindings in force at `now` (active and not expired).
pub fn held_by(
    conn: &mut DbConn,
    user_id: &str,
    now: Micros,
) -> Result<Vec<BindingRow>, RepoError> {
    Ok(active_of(conn, Of::User(user_id))?
        .into_iter()
        .filter(|b| !b.is_expired(now))
        .collect())
}

/// Stores a new binding; `Conflict` when the phone already has an active
/// one (the one-holder index).
pub fn insert(conn: &mut DbConn, row: &BindingRow) -> Result<(), RepoError> {
    diesel::insert_into(bindings::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Ends the binding at `at` if it is still active; `false` when something
/// else ended it first.
pub fn set_ended(
    conn: &mut DbConn,
    id: &str,
    reason: BindingEndReason,
    at: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        bindings::table
            .filter(bindings::id.eq(id))
            .filter(bindings::ended_at.is_null()),
    )
    .set((
        bindings::ended_at.eq(at),
        bindings::end_reason.eq(reason.as_str()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Up to `limit` active bindings whose expiry is at or before `now`,
/// soonest first.
pub fn due_expired(
    conn: &mut DbConn,
    now: Micros,
    limit: i64,
) -> Result<Vec<BindingRow>, RepoError> {
    Ok(bindings::table
        .filter(bindings::ended_at.is_null())
        .filter(bindings::expires_at.le(now))
        .order((bindings::expires_at.asc(), bindings::id.asc()))
        .limit(limit)
        .select(BindingRow::as_select())
        .load(conn)?)
}

/// A binding of `org` held by one of `scope` (see `users::visible_ids`;
/// `None`: anyone of the organisation); `NotFound` otherwise.
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: BindingId,
    scope: Option<Vec<String>>,
) -> Result<BindingRow, RepoError> {
    let mut query = bindings::table
        .filter(bindings::org_id.eq(org.to_string()))
        .filter(bindings::id.eq(id.to_string()))
        .select(BindingRow::as_select())
        .into_boxed();
    if let Some(users) = scope {
        query = query.filter(bindings::user_id.eq_any(users));
    }
    Ok(query.first(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct BindingFilter {
    pub phone: Option<PhoneId>,
    pub user: Option<UserId>,
    /// Ended (and expired) bindings too, not only the active ones.
    pub include_ended: bool,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    scope: Option<Vec<String>>,
    filter: &BindingFilter,
    page: &super::page::PageRequest,
) -> Result<Page<BindingRow>, RepoError> {
    let mut query = bindings::table
        .filter(bindings::org_id.eq(org.to_string()))
        .select(BindingRow::as_select())
        .into_boxed();
    if let Some(users) = scope {
        query = query.filter(bindings::user_id.eq_any(users));
    }
    if let Some(phone) = filter.phone {
        query = query.filter(bindings::phone_id.eq(phone.to_string()));
    }
    if let Some(user) = filter.user {
        query = query.filter(bindings::user_id.eq(user.to_string()));
    }
    if !filter.include_ended {
        let now = now_micros();
        query = query.filter(bindings::ended_at.is_null()).filter(
            bindings::expires_at
                .is_null()
                .or(bindings::expires_at.gt(now)),
        );
    }
    if let Some(after) = &page.after {
        query = query.filter(bindings::id.gt(after.clone()));
    }
    let rows = query
        .order(bindings::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// The current holder of each of `phone_ids` that has one.
pub fn holders(
    conn: &mut DbConn,
    phone_ids: &[String],
) -> Result<HashMap<String, PhoneHolder>, RepoError> {
    let now = now_micros();
    let rows: Vec<(BindingRow, String)> = bindings::table
        .inner_join(users::table)
        .filter(bindings::phone_id.eq_any(phone_ids))
        .filter(bindings::ended_at.is_null())
        .filter(
            bindings::expires_at
                .is_null()
                .or(bindings::expires_at.gt(now)),
        )
        .select((BindingRow::as_select(), users::display_name))
        .load(conn)?;
    rows.into_iter()
        .map(|(row, display_name)| {
            Ok((
                row.phone_id.clone(),
                PhoneHolder {
                    binding_id: row.binding_id()?,
                    user_id: stored_id(&row.user_id)?,
                    display_name,
                    via: row.via()?,
                    since: to_datetime(row.started_at),
                    expires_at: row.expires_at.map(to_datetime),
                },
            ))
        })
        .collect()
}

/// Who held `phone_id` at `at` (the same rule record uploads use: a binding
/// counts from its start until it ended or expired).
pub fn holder_at(
    conn: &mut DbConn,
    phone_id: &str,
    at: Micros,
) -> Result<Option<String>, RepoError> {
    Ok(bindings::table
        .filter(bindings::phone_id.eq(phone_id))
        .filter(bindings::started_at.le(at))
        .filter(bindings::ended_at.is_null().or(bindings::ended_at.gt(at)))
        .filter(
            bindings::expires_at
                .is_null()
                .or(bindings::expires_at.gt(at)),
        )
        .select(bindings::user_id)
        .first(conn)
        .optional()?)
}
