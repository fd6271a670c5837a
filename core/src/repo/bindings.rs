//! Bindings of users to phones. `bind` runs the whole decision in one write
//! transaction: it takes the organisation's lock, reads the phone and user,
//! applies the policy, ends
//! what a takeover or expiry ends, inserts the binding and writes the audit
//! log. A partial unique index allows one active binding per phone, so even
//! a bug in the locking could not give a phone two holders.
//!
//! An expired binding counts as ended from its `expires_at` on, for every
//! read; the row itself is ended (and logged) by the next bind on its phone
//! or by the worker's sweep, whichever comes first.
//!
//! Every transaction that changes bindings takes its organisation's lock
//! first (see `orgs::lock` and docs/decisions/0003-binding-locks.md).

use crate::wire::ErrorCode;
use std::collections::HashMap;

use chrono_tz::Tz;
use diesel::prelude::*;

use super::binding_events::{self, By, Change, NewEvent};
use super::binding_tokens::{self, TokenProblem, TokenRef};
use super::users::{UserRow, Visibility};
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{bindings, users};
use crate::ids::{BindingId, OrgId, PhoneId, UserId};
use crate::time::{Micros, now_micros, to_datetime};
use crate::wire::{Binding, BindingEndReason, BindingVia, Page, PhoneHolder, Role};

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

/// Why the policy refuses a binding; each has a stable API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    PhoneDisabled,
    UserDisabled,
    NotGranted,
    PhoneBoundToOther,
    TakeoverNotPermitted,
    LimitReached,
}

impl Denial {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::PhoneDisabled => ErrorCode::PhoneDisabled,
            Self::UserDisabled => ErrorCode::UserDisabled,
            Self::NotGranted => ErrorCode::NotGranted,
            Self::PhoneBoundToOther => ErrorCode::PhoneBoundToOther,
            Self::TakeoverNotPermitted => ErrorCode::TakeoverNotPermitted,
            Self::LimitReached => ErrorCode::LimitReached,
        }
    }

    pub fn detail(self) -> &'static str {
        match self {
            Self::PhoneDisabled => "the phone is disabled",
            Self::UserDisabled => "the user is disabled",
            Self::NotGranted => "no grant lets this user bind this phone; ask an admin",
            Self::PhoneBoundToOther => {
                "someone else holds this phone; ask with takeover=true if the policy lets you take it over"
            }
            Self::TakeoverNotPermitted => {
                "the binding policy does not let this user take over a phone someone else holds"
            }
            Self::LimitReached => {
                "the user already holds as many phones as the binding policy allows; unbind one first"
            }
        }
    }
}

#[derive(Debug)]
pub enum BindError {
    Denied(Denial),
    Token(TokenProblem),
    /// The asking phone's credential was revoked while the request ran.
    CredentialRevoked,
    PhoneNotFound,
    UserNotFound,
    Repo(RepoError),
}

impl From<RepoError> for BindError {
    fn from(e: RepoError) -> Self {
        Self::Repo(e)
    }
}

impl From<crate::db::DbError> for BindError {
    fn from(e: crate::db::DbError) -> Self {
        RepoError::Db(e).into()
    }
}

impl From<diesel::result::Error> for BindError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// The phone to bind: named directly, or by a token or code it issued.
#[derive(Debug, Clone)]
pub enum Target {
    Phone(PhoneId),
    Token(TokenRef),
}

/// The user who will hold the phone.
#[derive(Debug, Clone)]
pub enum Holder {
    Id(UserId),
    Email(String),
}

#[derive(Debug, Clone)]
pub struct BindRequest {
    pub org: OrgId,
    pub target: Target,
    pub holder: Holder,
    pub via: BindingVia,
    pub by: By,
    /// Take the phone from its current holder if the policy allows.
    pub takeover: bool,
    /// On the phone path, the asking phone's credential hash, rechecked
    /// under the organisation's lock (which a revoke also takes).
    pub phone_credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    Created(BindingRow),
    /// The user already held the phone; nothing changed.
    AlreadyHeld(BindingRow),
}

pub fn bind(conn: &mut DbConn, req: &BindRequest) -> Result<BindOutcome, BindError> {
    crate::db::write_tx(conn, |conn| {
        let now = now_micros();
        // Every binding change (and every disable or revoke) takes this lock
        // first, so all that is read below stays as read until commit.
        super::orgs::lock(conn, &req.org.to_string())?;
        let user = find_holder(conn, req.org, &req.holder)?.ok_or(BindError::UserNotFound)?;
        let user_id = user.user_id()?;
        let (phone_id, token) = match &req.target {
            Target::Phone(id) => (*id, None),
            Target::Token(token) => {
                let row = binding_tokens::find(conn, req.org, token)?
                    .ok_or(BindError::Token(TokenProblem::Invalid))?;
                (row.phone_id, Some(row))
            }
        };
        let phone = match super::phones::get(conn, req.org, phone_id) {
            Err(RepoError::NotFound) => return Err(BindError::PhoneNotFound),
            other => other?,
        };
        if let Some(hash) = &req.phone_credential
            && !super::phones::credential_is_live(conn, &phone.id, hash)?
        {
            return Err(BindError::CredentialRevoked);
        }
        if let Some(token) = &token {
            binding_tokens::spend(conn, token, user_id, now)?.map_err(BindError::Token)?;
        }
        if phone.disabled_at.is_some() {
            return Err(BindError::Denied(Denial::PhoneDisabled));
        }
        if user.disabled_at.is_some() {
            return Err(BindError::Denied(Denial::UserDisabled));
        }
        let role = user.role()?;
        if role != Role::Admin && !super::grants::permits(conn, phone_id, user_id)? {
            return Err(BindError::Denied(Denial::NotGranted));
        }
        let (policy, _) = super::binding_policy::get(conn, req.org)?;
        // At most one is active; an expired one ends here, freeing the phone.
        let mut current = None;
        for row in active_of(conn, Of::Phone(&phone.id))? {
            if row.is_expired(now) {
                end_as_expired(conn, &row, now)?;
            } else {
                current = Some(row);
            }
        }
        if let Some(current) = &current {
            if current.user_id == user.id {
                return Ok(BindOutcome::AlreadyHeld(current.clone()));
            }
            if !req.takeover {
                return Err(BindError::Denied(Denial::PhoneBoundToOther));
            }
            // A phone asking for someone takes over only where anyone may:
            // whoever stands at it is not vouched for by the named user's role.
            let taker = match req.by {
                By::Phone(_) => Role::Salesperson,
                _ => role,
            };
            if !policy.may_take_over(taker) {
                return Err(BindError::Denied(Denial::TakeoverNotPermitted));
            }
        }
        // Expired bindings on other phones no longer count; the sweep closes
        // them (ending them here would lock rows of phones we do not hold).
        let held = active_of(conn, Of::User(&user.id))?
            .iter()
            .filter(|b| !b.is_expired(now))
            .count();
        if held >= policy.max_phones_per_user as usize {
            return Err(BindError::Denied(Denial::LimitReached));
        }
        if let Some(current) = &current {
            end(conn, current, BindingEndReason::TakenOver, req.by, now)?;
        }
        let zone: Tz = user.time_zone.parse().unwrap_or_else(|_| {
            tracing::warn!(user = %user.id, time_zone = %user.time_zone, "unreadable time zone; expiry computed in UTC");
            Tz::UTC
        });
        let row = BindingRow {
            id: BindingId::new().to_string(),
            org_id: req.org.to_string(),
            phone_id: phone.id.clone(),
            user_id: user.id.clone(),
            via: req.via.as_str().to_owned(),
            started_at: now,
            expires_at: policy.expires_at(now, zone),
            ended_at: None,
            end_reason: None,
        };
        match diesel::insert_into(bindings::table)
            .values(&row)
            .execute(conn)
            .map_err(RepoError::from)
        {
            // The one-holder index: unreachable while the organisation lock holds.
            Err(RepoError::Conflict) => return Err(BindError::Denied(Denial::PhoneBoundToOther)),
            other => other?,
        };
        binding_events::record(
            conn,
            &NewEvent {
                org_id: &row.org_id,
                binding_id: &row.id,
                phone_id: &row.phone_id,
                user_id: &row.user_id,
                change: Change::Bound(req.via),
                by: req.by,
                previous_user_id: current.as_ref().map(|c| c.user_id.as_str()),
                at: now,
            },
        )?;
        Ok(BindOutcome::Created(row))
    })
}

fn find_holder(
    conn: &mut DbConn,
    org: OrgId,
    holder: &Holder,
) -> Result<Option<UserRow>, RepoError> {
    let query = users::table
        .filter(users::org_id.eq(org.to_string()))
        .select(UserRow::as_select())
        .into_boxed();
    let query = match holder {
        Holder::Id(id) => query.filter(users::id.eq(id.to_string())),
        Holder::Email(email) => query.filter(users::email.eq(email.clone())),
    };
    Ok(query.first(conn).optional()?)
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

/// An expired binding ends at its expiry, by deskbind itself.
fn end_as_expired(conn: &mut DbConn, row: &BindingRow, now: Micros) -> Result<bool, RepoError> {
    let at = row.expires_at.unwrap_or(now);
    end(conn, row, BindingEndReason::Expired, By::System, at)
}

/// Ends one active binding and logs it. Call inside a write transaction.
fn end(
    conn: &mut DbConn,
    row: &BindingRow,
    reason: BindingEndReason,
    by: By,
    at: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        bindings::table
            .filter(bindings::id.eq(&row.id))
            .filter(bindings::ended_at.is_null()),
    )
    .set((
        bindings::ended_at.eq(at),
        bindings::end_reason.eq(reason.as_str()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    binding_events::record(
        conn,
        &NewEvent {
            org_id: &row.org_id,
            binding_id: &row.id,
            phone_id: &row.phone_id,
            user_id: &row.user_id,
            change: Change::Ended(reason),
            by,
            previous_user_id: None,
            at,
        },
    )?;
    Ok(true)
}

/// Ends the phone's binding (disabled, credential revoked). Call inside a
/// write transaction that holds the organisation's lock; returns how many ended.
pub fn end_for_phone(
    conn: &mut DbConn,
    phone: PhoneId,
    reason: BindingEndReason,
    by: By,
) -> Result<usize, RepoError> {
    end_all(conn, Of::Phone(&phone.to_string()), reason, by)
}

/// Ends every binding of the user (disabled). Call inside a write
/// transaction that holds the organisation's lock.
pub fn end_for_user(
    conn: &mut DbConn,
    user: UserId,
    reason: BindingEndReason,
    by: By,
) -> Result<usize, RepoError> {
    end_all(conn, Of::User(&user.to_string()), reason, by)
}

fn end_all(
    conn: &mut DbConn,
    of: Of<'_>,
    reason: BindingEndReason,
    by: By,
) -> Result<usize, RepoError> {
    let now = now_micros();
    let mut ended = 0;
    for row in active_of(conn, of)? {
        // An expired binding ended at its expiry, whatever happens now.
        let done = if row.is_expired(now) {
            end_as_expired(conn, &row, now)?
        } else {
            end(conn, &row, reason, by, now)?
        };
        if done {
            ended += 1;
        }
    }
    Ok(ended)
}

/// The worker's sweep: ends up to `limit` expired bindings; returns those
/// it ended and how many were due (a concurrent bind or worker may have
/// ended some first).
/// Each ends in its own short transaction under its organisation's lock,
/// so the sweep never holds many rows and keeps the lock order of every
/// other binding change.
pub fn end_expired(conn: &mut DbConn, limit: i64) -> Result<(Vec<BindingRow>, usize), RepoError> {
    let now = now_micros();
    let due: Vec<BindingRow> = bindings::table
        .filter(bindings::ended_at.is_null())
        .filter(bindings::expires_at.le(now))
        .order((bindings::expires_at.asc(), bindings::id.asc()))
        .limit(limit)
        .select(BindingRow::as_select())
        .load(conn)?;
    let count = due.len();
    let mut ended = Vec::new();
    for row in due {
        let done = crate::db::write_tx(conn, |conn| {
            super::orgs::lock(conn, &row.org_id)?;
            end_as_expired(conn, &row, now)
        })?;
        if done {
            ended.push(row);
        }
    }
    Ok((ended, count))
}

#[derive(Debug)]
pub enum UnbindError {
    NotFound,
    AlreadyEnded,
    Repo(RepoError),
}

impl From<RepoError> for UnbindError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => Self::NotFound,
            other => Self::Repo(other),
        }
    }
}

impl From<crate::db::DbError> for UnbindError {
    fn from(e: crate::db::DbError) -> Self {
        RepoError::Db(e).into()
    }
}

impl From<diesel::result::Error> for UnbindError {
    fn from(e: diesel::result::Error) -> Self {
        RepoError::from(e).into()
    }
}

/// Ends a binding the caller can see (holder, their manager, an admin).
pub fn unbind(
    conn: &mut DbConn,
    org: OrgId,
    id: BindingId,
    visibility: Visibility,
    by: By,
) -> Result<BindingRow, UnbindError> {
    crate::db::write_tx(conn, |conn| {
        super::orgs::lock(conn, &org.to_string())?;
        let row = get(conn, org, id, visibility)?;
        let now = now_micros();
        if row.ended_at.is_some() || row.is_expired(now) {
            return Err(UnbindError::AlreadyEnded);
        }
        end(conn, &row, BindingEndReason::Unbound, by, now)?;
        Ok(BindingRow {
            ended_at: Some(now),
            end_reason: Some(BindingEndReason::Unbound.as_str().to_owned()),
            ..row
        })
    })
}

/// A binding of `org` whose holder `visibility` allows; `NotFound` otherwise.
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: BindingId,
    visibility: Visibility,
) -> Result<BindingRow, RepoError> {
    let mut query = bindings::table
        .filter(bindings::org_id.eq(org.to_string()))
        .filter(bindings::id.eq(id.to_string()))
        .select(BindingRow::as_select())
        .into_boxed();
    if let Some(users) = super::users::visible_ids(conn, visibility)? {
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
    visibility: Visibility,
    filter: &BindingFilter,
    page: &super::page::PageRequest,
) -> Result<Page<BindingRow>, RepoError> {
    let mut query = bindings::table
        .filter(bindings::org_id.eq(org.to_string()))
        .select(BindingRow::as_select())
        .into_boxed();
    if let Some(users) = super::users::visible_ids(conn, visibility)? {
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
