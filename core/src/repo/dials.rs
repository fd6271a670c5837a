//! Dial commands: the stored source of truth for what a phone was asked to
//! dial (docs/dialing.md). Creation checks the binding and the dial policy
//! and honours the Idempotency-Key in one transaction that locks the
//! binding's row and then the user's row, the order binding changes take
//! them in (docs/decisions/0003): a concurrent unbind either waits for the
//! command (which it then strands: commands of an ended binding are never
//! sent) or wins, and the dial sees the binding gone. Dials of different
//! phones do not wait for each other. State changes are compare-and-set on
//! the current state and write the user's live event in the same
//! transaction.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{bindings, dial_commands, phones};
use crate::domain::dial_lifecycle::{self, Step};
use crate::domain::dial_policy::Refusal;
use crate::domain::{DialNumber, FieldError};
use crate::ids::{DialId, OrgId, PhoneId, UserId};
use crate::time::{Micros, now_micros, to_datetime};
use crate::wire::{AppEvent, Dial, DialFailure, DialState, Page};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dial_commands)]
pub struct DialRow {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub phone_id: String,
    pub binding_id: String,
    pub number: String,
    pub state: String,
    pub failure: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub delivered_at: Option<Micros>,
    pub updated_at: Micros,
}

impl DialRow {
    pub fn state(&self) -> Result<DialState, RepoError> {
        DialState::parse(&self.state)
            .ok_or_else(|| RepoError::Corrupt(format!("dial state {:?}", self.state)))
    }

    pub fn dial_id(&self) -> Result<DialId, RepoError> {
        stored_id(&self.id)
    }

    pub fn phone(&self) -> Result<PhoneId, RepoError> {
        stored_id(&self.phone_id)
    }

    pub fn user(&self) -> Result<UserId, RepoError> {
        stored_id(&self.user_id)
    }

    pub fn to_wire(&self) -> Result<Dial, RepoError> {
        let failure = match &self.failure {
            None => None,
            Some(raw) => Some(
                DialFailure::parse(raw)
                    .ok_or_else(|| RepoError::Corrupt(format!("dial failure {raw:?}")))?,
            ),
        };
        Ok(Dial {
            id: self.dial_id()?,
            user_id: self.user()?,
            phone_id: self.phone()?,
            binding_id: stored_id(&self.binding_id)?,
            number: self.number.clone(),
            state: self.state()?,
            failure,
            created_at: to_datetime(self.created_at),
            expires_at: to_datetime(self.expires_at),
            delivered_at: self.delivered_at.map(to_datetime),
            updated_at: to_datetime(self.updated_at),
        })
    }
}

/// A client's Idempotency-Key and a hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewDial {
    pub org: OrgId,
    pub user: UserId,
    pub phone: Option<PhoneId>,
    /// Read in the country of the held phone's own number when national.
    pub number: DialNumber,
    pub idempotency: Option<Idempotency>,
    /// How long the phone may still act on it.
    pub ttl: Micros,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(DialRow),
    /// The same Idempotency-Key and request again: the first command.
    Replayed(DialRow),
}

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("you hold no phone")]
    NoBinding,
    #[error("you do not hold this phone")]
    NotHeld,
    #[error("you hold several phones; say which")]
    PhoneRequired,
    #[error("the dial policy refuses the number")]
    Refused(Refusal),
    #[error("the Idempotency-Key was used with a different request")]
    KeyReused,
    /// The number cannot be read for the phone that would dial it.
    #[error("{0}")]
    Number(FieldError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for DialError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<crate::db::DbError> for DialError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

pub fn create(conn: &mut DbConn, req: &NewDial) -> Result<Created, DialError> {
    // A retry of a stored request needs no lock (and no binding any more).
    if let Some(idem) = &req.idempotency
        && let Some(done) = replay(conn, req.user, idem)?
    {
        return Ok(done);
    }
    let outcome = crate::db::write_tx(conn, |conn| create_locked(conn, req));
    match (outcome, &req.idempotency) {
        // Two requests with one key raced past the lookup (impossible under
        // the user lock, kept as the index's second line): the first won.
        (Err(DialError::Repo(RepoError::Conflict)), Some(idem)) => {
            replay(conn, req.user, idem)?.ok_or(DialError::Repo(RepoError::Conflict))
        }
        (outcome, _) => outcome,
    }
}

fn replay(
    conn: &mut DbConn,
    user: UserId,
    idem: &Idempotency,
) -> Result<Option<Created>, DialError> {
    let existing: Option<DialRow> = dial_commands::table
        .filter(dial_commands::user_id.eq(user.to_string()))
        .filter(dial_commands::idempotency_key.eq(&idem.key))
        .select(DialRow::as_select())
        .first(conn)
        .optional()?;
    match existing {
        None => Ok(None),
        Some(row) if row.request_hash.as_deref() == Some(idem.request_hash.as_str()) => {
            Ok(Some(Created::Replayed(row)))
        }
        Some(_) => Err(DialError::KeyReused),
    }
}

fn create_locked(conn: &mut DbConn, req: &NewDial) -> Result<Created, DialError> {
    let now = now_micros();
    let user_id = req.user.to_string();
    let held = super::bindings::held_by(conn, &user_id, now)?;
    let binding = match req.phone {
        Some(phone) => held
            .into_iter()
            .find(|b| b.phone_id == phone.to_string())
            .ok_or(DialError::NotHeld)?,
        None => {
            let mut held = held.into_iter();
            match (held.next(), held.next()) {
                (None, _) => return Err(DialError::NoBinding),
                (Some(one), None) => one,
                (Some(_), Some(_)) => return Err(DialError::PhoneRequired),
            }
        }
    };
    if !super::bindings::lock_active(conn, &binding.id)? {
        // Ended between the read and the lock.
        return Err(match req.phone {
            Some(_) => DialError::NotHeld,
            None => DialError::NoBinding,
        });
    }
    super::users::lock(conn, &user_id)?;
    // Concurrent requests with one key serialise on the user's lock.
    if let Some(idem) = &req.idempotency
        && let Some(done) = replay(conn, req.user, idem)?
    {
        return Ok(done);
    }
    let phone_number: String = phones::table
        .filter(phones::id.eq(&binding.phone_id))
        .select(phones::number_e164)
        .first(conn)
        .map_err(RepoError::from)?;
    let number = req
        .number
        .resolve("number", &phone_number)
        .map_err(DialError::Number)?;
    let (rules, _) = super::dial_policy::get(conn, req.org)?;
    rules.check(&number).map_err(DialError::Refused)?;
    let row = DialRow {
        id: DialId::new().to_string(),
        org_id: req.org.to_string(),
        user_id: req.user.to_string(),
        phone_id: binding.phone_id,
        binding_id: binding.id,
        number: number.into_inner(),
        state: DialState::Queued.as_str().to_owned(),
        failure: None,
        idempotency_key: req.idempotency.as_ref().map(|i| i.key.clone()),
        request_hash: req.idempotency.as_ref().map(|i| i.request_hash.clone()),
        created_at: now,
        expires_at: now + req.ttl,
        delivered_at: None,
        updated_at: now,
    };
    diesel::insert_into(dial_commands::table)
        .values(&row)
        .execute(conn)
        .map_err(RepoError::from)?;
    announce(conn, &row)?;
    Ok(Created::New(row))
}

/// Writes the user's live event for the row's current state.
fn announce(conn: &mut DbConn, row: &DialRow) -> Result<(), RepoError> {
    let event = AppEvent::Dial {
        dial: row.to_wire()?,
    };
    crate::usecases::app_events::record(conn, &row.org_id, &row.user_id, &event, row.updated_at)
}

/// The result of asking a command to move to a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    Changed(DialRow),
    /// It was already there (a repeated event).
    Unchanged(DialRow),
    /// Not allowed from its current state (the row as it is).
    Refused(DialRow),
}

impl Moved {
    /// The command as it is now, whatever happened.
    pub fn row(&self) -> &DialRow {
        match self {
            Self::Changed(row) | Self::Unchanged(row) | Self::Refused(row) => row,
        }
    }
}

/// Which commands a caller may move.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The phone the command was sent to.
    Phone(PhoneId),
    /// Anyone of the organisation the caller already checked may.
    Org(OrgId),
}

/// Moves a command to `to`. Any report of a queued command past its expiry
/// makes it `expired` instead: the phone must not dial it.
pub fn advance(
    conn: &mut DbConn,
    scope: Scope,
    id: DialId,
    to: DialState,
    failure: Option<DialFailure>,
    now: Micros,
) -> Result<Moved, RepoError> {
    // Compare-and-set on the state: a concurrent change makes the update
    // miss, and the loop reads the new state and decides again.
    loop {
        let row = find(conn, scope, id)?.ok_or(RepoError::NotFound)?;
        let from = row.state()?;
        // A command past its expiry must not be dialed: whatever the phone
        // says about it first (ack, a call report) expires it instead.
        let to = if from == DialState::Queued && row.expires_at <= now && to != DialState::Cancelled
        {
            DialState::Expired
        } else {
            to
        };
        match dial_lifecycle::step(from, to) {
            Step::Repeat => return Ok(Moved::Unchanged(row)),
            Step::Refuse => return Ok(Moved::Refused(row)),
            Step::Apply => {}
        }
        if let Some(moved) =
            crate::db::write_tx(conn, |conn| set_state(conn, &row, to, failure, now))?
        {
            return Ok(Moved::Changed(moved));
        }
    }
}

fn find(conn: &mut DbConn, scope: Scope, id: DialId) -> Result<Option<DialRow>, RepoError> {
    let query = dial_commands::table
        .filter(dial_commands::id.eq(id.to_string()))
        .select(DialRow::as_select())
        .into_boxed();
    let query = match scope {
        Scope::Phone(phone) => query.filter(dial_commands::phone_id.eq(phone.to_string())),
        Scope::Org(org) => query.filter(dial_commands::org_id.eq(org.to_string())),
    };
    Ok(query.first(conn).optional()?)
}

/// The update itself; `None` when the row's state changed since it was read.
fn set_state(
    conn: &mut DbConn,
    row: &DialRow,
    to: DialState,
    failure: Option<DialFailure>,
    now: Micros,
) -> Result<Option<DialRow>, RepoError> {
    let failure = match to {
        DialState::Failed => Some(failure.unwrap_or(DialFailure::Error).as_str().to_owned()),
        _ => None,
    };
    let reached_phone = !matches!(
        to,
        DialState::Queued | DialState::Expired | DialState::Cancelled
    );
    let delivered_at = match row.delivered_at {
        None if reached_phone => Some(now),
        other => other,
    };
    let updated = diesel::update(
        dial_commands::table
            .filter(dial_commands::id.eq(&row.id))
            .filter(dial_commands::state.eq(&row.state)),
    )
    .set((
        dial_commands::state.eq(to.as_str()),
        dial_commands::failure.eq(&failure),
        dial_commands::delivered_at.eq(delivered_at),
        dial_commands::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    let moved = DialRow {
        state: to.as_str().to_owned(),
        failure,
        delivered_at,
        updated_at: now,
        ..row.clone()
    };
    announce(conn, &moved)?;
    Ok(Some(moved))
}

/// Queued commands whose binding still holds (a command never reaches the
/// phone's next holder) and which may still be dialed, oldest first.
macro_rules! sendable {
    ($now:expr) => {
        dial_commands::table
            .inner_join(bindings::table)
            .filter(dial_commands::state.eq(DialState::Queued.as_str()))
            .filter(dial_commands::expires_at.gt($now))
            .filter(bindings::ended_at.is_null())
            .filter(
                bindings::expires_at
                    .is_null()
                    .or(bindings::expires_at.gt($now)),
            )
    };
}

/// Whether command `id` may still be sent to its phone: queued, unexpired,
/// and its binding still holds.
pub fn is_sendable(conn: &mut DbConn, id: DialId, now: Micros) -> Result<bool, RepoError> {
    Ok(diesel::select(diesel::dsl::exists(
        sendable!(now).filter(dial_commands::id.eq(id.to_string())),
    ))
    .get_result(conn)?)
}

/// What a (re)connecting phone is sent.
pub fn pending_for_phone(
    conn: &mut DbConn,
    phone: PhoneId,
    now: Micros,
) -> Result<Vec<DialRow>, RepoError> {
    Ok(sendable!(now)
        .filter(dial_commands::phone_id.eq(phone.to_string()))
        .order(dial_commands::id.asc())
        .select(DialRow::as_select())
        .load(conn)?)
}

/// Sendable commands of these phones created before `created_before`: sent
/// but not acknowledged, or sent while the relay could not reach the phone.
pub fn unacknowledged(
    conn: &mut DbConn,
    phones: &[String],
    created_before: Micros,
    now: Micros,
) -> Result<Vec<DialRow>, RepoError> {
    Ok(sendable!(now)
        .filter(dial_commands::phone_id.eq_any(phones))
        .filter(dial_commands::created_at.lt(created_before))
        .order(dial_commands::id.asc())
        .select(DialRow::as_select())
        .load(conn)?)
}

/// Marks queued commands past their expiry `expired`, at most `limit`;
/// returns those it changed.
pub fn expire_due(conn: &mut DbConn, now: Micros, limit: i64) -> Result<Vec<DialRow>, RepoError> {
    let due: Vec<DialRow> = dial_commands::table
        .filter(dial_commands::state.eq(DialState::Queued.as_str()))
        .filter(dial_commands::expires_at.le(now))
        .order(dial_commands::expires_at.asc())
        .limit(limit)
        .select(DialRow::as_select())
        .load(conn)?;
    let mut expired = Vec::with_capacity(due.len());
    for row in due {
        // Each row on its own: an ack racing the sweep wins or loses whole.
        if let Some(moved) = crate::db::write_tx(conn, |conn| {
            set_state(conn, &row, DialState::Expired, None, now)
        })? {
            expired.push(moved);
        }
    }
    Ok(expired)
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: DialId,
    visible_users: Option<&[String]>,
) -> Result<DialRow, RepoError> {
    let mut query = dial_commands::table
        .filter(dial_commands::org_id.eq(org.to_string()))
        .filter(dial_commands::id.eq(id.to_string()))
        .select(DialRow::as_select())
        .into_boxed();
    if let Some(users) = visible_users {
        query = query.filter(dial_commands::user_id.eq_any(users.to_vec()));
    }
    Ok(query.first(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct DialFilter {
    pub user: Option<UserId>,
    pub phone: Option<PhoneId>,
    pub state: Option<DialState>,
}

/// Commands the caller may see, oldest first.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    visible_users: Option<Vec<String>>,
    filter: &DialFilter,
    page: &PageRequest,
) -> Result<Page<DialRow>, RepoError> {
    let mut query = dial_commands::table
        .filter(dial_commands::org_id.eq(org.to_string()))
        .select(DialRow::as_select())
        .into_boxed();
    if let Some(users) = visible_users {
        query = query.filter(dial_commands::user_id.eq_any(users));
    }
    if let Some(user) = filter.user {
        query = query.filter(dial_commands::user_id.eq(user.to_string()));
    }
    if let Some(phone) = filter.phone {
        query = query.filter(dial_commands::phone_id.eq(phone.to_string()));
    }
    if let Some(state) = filter.state {
        query = query.filter(dial_commands::state.eq(state.as_str()));
    }
    if let Some(after) = &page.after {
        query = query.filter(dial_commands::id.gt(after.clone()));
    }
    let rows = query
        .order(dial_commands::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}
