//! Dial commands (docs/dialing.md): placing one, honouring its
//! Idempotency-Key, and moving it through its states (a cancel, a phone's
//! ack or call report). Every change writes the user's live event in its
//! transaction; after the commit the phone hears what it must act on (a
//! queued command's `dial` frame, a cancelled one's `hangup`) and the
//! user's streams wake.
//!
//! Placing locks the binding's row and then the user's row, the order
//! binding changes take them in (docs/decisions/0003): a concurrent unbind
//! either waits for the command (which it then strands: commands of an
//! ended binding are never sent) or wins, and the dial sees the binding
//! gone. Dials of different phones do not wait for each other. State
//! changes are compare-and-set on the current state, then the user's lock
//! (taken by the event); a dial row is never held while waiting for a
//! binding or the organisation.

use super::dial_authorisation::{self, HoursRule};
use super::{AfterCommit, Services, app_events, audit, contact_links, phone_frames};
use crate::db::{DbConn, DbError, write_tx};
use crate::domain::dial_class::DestinationClass;
use crate::domain::dial_lifecycle::{self, Step};
use crate::domain::dial_policy::PhoneChoiceRefusal;
use crate::domain::{DialNumber, FieldError};
use crate::ids::{DialId, OrgId, PhoneId, UserId};
use crate::repo::dials::{self, DialRow, Scope};
use crate::repo::users::Visibility;
use crate::repo::{RepoError, bindings, stored_id, users};
use crate::time::{Micros, now_micros};
use crate::wire::{
    Actor, AppEvent, AuditAction, BlockedBy, DialFailure, DialRuleRef, DialState, HangupReason,
    ServerFrame,
};

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
    /// A blocklist entry that applies to the caller blocks the number
    /// (and no allow entry applies).
    #[error("the blocklist refuses the number")]
    Blocked(BlockedBy),
    /// The caller's class rules do not allow the destination's class (and
    /// no blocklist `allow` entry applies).
    #[error("{} numbers are not allowed for you", class.as_str())]
    ClassNotAllowed {
        class: DestinationClass,
        rule: DialRuleRef,
    },
    /// Outside the caller's calling hours or the callee's local time;
    /// `retry_at`: the first instant every hours rule allows.
    #[error("outside the hours of the {which:?} rule")]
    OutsideHours {
        which: HoursRule,
        rule: DialRuleRef,
        retry_at: Option<Micros>,
        /// When it was decided.
        now: Micros,
    },
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

impl From<DbError> for DialError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<PhoneChoiceRefusal> for DialError {
    fn from(refusal: PhoneChoiceRefusal) -> Self {
        match refusal {
            PhoneChoiceRefusal::NoBinding => Self::NoBinding,
            PhoneChoiceRefusal::NotHeld => Self::NotHeld,
            PhoneChoiceRefusal::PhoneRequired => Self::PhoneRequired,
        }
    }
}

/// Places a dial (or finds the one its Idempotency-Key placed); a new one
/// is sent to the phone after the commit.
pub async fn place(services: &Services, req: NewDial) -> Result<Created, DialError> {
    let req = std::sync::Arc::new(req);
    // A retry of a stored request needs no lock (and no binding any more).
    if let Some(done) = replay_of(services, &req).await? {
        return Ok(done);
    }
    let outcome = {
        let req = req.clone();
        let now = services.clock.now();
        services
            .db
            .write(move |conn| place_locked(conn, &req, now))
            .await
    };
    let created = match outcome {
        // Two requests with one key raced past the lookup (impossible under
        // the user lock, kept as the index's second line): the first won.
        Err(DialError::Repo(RepoError::Conflict)) if req.idempotency.is_some() => {
            replay_of(services, &req)
                .await?
                .ok_or(DialError::Repo(RepoError::Conflict))?
        }
        outcome => outcome?,
    };
    if let Created::New(row) = &created {
        changed(row)?.run(services).await;
    }
    Ok(created)
}

/// The command a stored request with the same Idempotency-Key placed.
async fn replay_of(
    services: &Services,
    req: &std::sync::Arc<NewDial>,
) -> Result<Option<Created>, DialError> {
    let Some(idem) = req.idempotency.clone() else {
        return Ok(None);
    };
    let user = req.user;
    services.db.run(move |conn| replay(conn, user, &idem)).await
}

/// [`place`] on a connection, without the after-commit effects.
pub fn place_in(conn: &mut DbConn, req: &NewDial) -> Result<Created, DialError> {
    if let Some(idem) = &req.idempotency
        && let Some(done) = replay(conn, req.user, idem)?
    {
        return Ok(done);
    }
    let outcome = write_tx(conn, |conn| place_locked(conn, req, now_micros()));
    match (outcome, &req.idempotency) {
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
    match dials::find_by_idempotency_key(conn, user, &idem.key)? {
        None => Ok(None),
        Some(row) if row.request_hash.as_deref() == Some(idem.request_hash.as_str()) => {
            Ok(Some(Created::Replayed(row)))
        }
        Some(_) => Err(DialError::KeyReused),
    }
}

pub(super) fn place_locked(
    conn: &mut DbConn,
    req: &NewDial,
    now: Micros,
) -> Result<Created, DialError> {
    let user_id = req.user.to_string();
    let binding = dial_authorisation::choose_binding(conn, req.user, req.phone, now)?;
    if !bindings::lock_active(conn, &binding.id)? {
        // Ended between the read and the lock.
        return Err(match req.phone {
            Some(_) => DialError::NotHeld,
            None => DialError::NoBinding,
        });
    }
    users::lock(conn, &user_id)?;
    // Concurrent requests with one key serialise on the user's lock.
    if let Some(idem) = &req.idempotency
        && let Some(done) = replay(conn, req.user, idem)?
    {
        return Ok(done);
    }
    // Before anything is stored or sent: a refused dial leaves no row.
    let number =
        dial_authorisation::authorise_in(conn, req.org, req.user, &binding, &req.number, now)?
            .number;
    let contact_id = contact_links::resolve(conn, req.org, &[number.as_str()])?
        .into_values()
        .next()
        .map(|c| c.to_string());
    let row = DialRow {
        id: DialId::new().to_string(),
        org_id: req.org.to_string(),
        user_id,
        phone_id: binding.phone_id,
        binding_id: binding.id,
        number,
        state: DialState::Queued.as_str().to_owned(),
        failure: None,
        idempotency_key: req.idempotency.as_ref().map(|i| i.key.clone()),
        request_hash: req.idempotency.as_ref().map(|i| i.request_hash.clone()),
        created_at: now,
        expires_at: now + req.ttl,
        delivered_at: None,
        updated_at: now,
        contact_id,
    };
    dials::insert(conn, &row)?;
    audit::Entry::new(
        &row.org_id,
        AuditAction::DialCreated,
        "dial",
        &row.id,
        audit::by_user(req.user),
    )
    .concerning(&row.user_id)
    .detail("phone_id", row.phone_id.as_str())
    .detail("number", row.number.as_str())
    .record(conn, now)?;
    announce(conn, &row)?;
    Ok(Created::New(row))
}

/// Writes the user's live event for the row's current state (taking the
/// user's lock, which orders their events), and the `dial.state_changed`
/// webhook for the endpoints that want it.
fn announce(conn: &mut DbConn, row: &DialRow) -> Result<(), RepoError> {
    let dial = row.to_wire()?;
    let data = serde_json::to_value(&dial)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable dial: {e}")))?;
    super::webhook_outbox::enqueue_in(
        conn,
        &row.org_id,
        &[super::webhook_outbox::Event {
            kind: crate::wire::WebhookEventType::DialStateChanged,
            ordering_key: row.id.clone(),
            data,
        }],
        row.updated_at,
    )?;
    let event = AppEvent::Dial { dial };
    app_events::record(conn, &row.org_id, &row.user_id, &event, row.updated_at)
}

/// What follows a committed change of a command: the phone hears what it
/// must act on, the user's streams wake.
pub fn changed(row: &DialRow) -> Result<AfterCommit, RepoError> {
    let mut after = AfterCommit::new();
    let phone = row.phone()?;
    match row.state()? {
        DialState::Queued => {
            after.send_to_phone(phone, phone_frames::dial_frame(row)?);
        }
        DialState::Cancelled => {
            let frame = ServerFrame::Hangup {
                command_id: row.dial_id()?,
                reason: HangupReason::Cancelled,
            };
            after.send_to_phone(phone, frame);
        }
        _ => {}
    }
    after.wake_user(row.user()?);
    // The console's live board shows every dial's state.
    after.wake_org(stored_id(&row.org_id)?);
    Ok(after)
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

/// Moves a command to `to` (a phone's ack or call report, or a cancel)
/// and, when it changed, runs what follows. Any report of a queued command
/// past its expiry makes it `expired` instead: the phone must not dial it.
pub async fn advance(
    services: &Services,
    scope: Scope,
    id: DialId,
    to: DialState,
    failure: Option<DialFailure>,
    by: Actor,
) -> Result<Moved, RepoError> {
    let moved = services
        .db
        .write(move |conn| {
            let change = Change {
                to,
                failure,
                by: &by,
                now: now_micros(),
            };
            advance_with(conn, scope, id, &change, apply_state)
        })
        .await?;
    if let Moved::Changed(row) = &moved {
        changed(row)?.run(services).await;
    }
    Ok(moved)
}

/// Cancels a command the caller (`by`, who sees `visibility`) may see; the
/// phone is told to hang up.
pub async fn cancel(
    services: &Services,
    org: OrgId,
    visibility: Visibility,
    id: DialId,
    by: UserId,
) -> Result<Moved, RepoError> {
    let moved = services
        .db
        .write(move |conn| {
            let visible = users::visible_ids(conn, visibility)?;
            dials::get(conn, org, id, visible.as_deref())?;
            let change = Change {
                to: DialState::Cancelled,
                failure: None,
                by: &audit::by_user(by),
                now: now_micros(),
            };
            advance_with(conn, Scope::Org(org), id, &change, apply_state)
        })
        .await?;
    if let Moved::Changed(row) = &moved {
        changed(row)?.run(services).await;
    }
    Ok(moved)
}

/// [`advance`] on a connection, without the after-commit effects.
pub fn advance_in(
    conn: &mut DbConn,
    scope: Scope,
    id: DialId,
    change: &Change<'_>,
) -> Result<Moved, RepoError> {
    advance_with(conn, scope, id, change, set_state)
}

/// A state a command is asked to move to, by whom and when.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub to: DialState,
    pub failure: Option<DialFailure>,
    /// Named in the audit log.
    pub by: &'a Actor,
    pub now: Micros,
}

/// How a state change is written: in its own transaction ([`set_state`]),
/// or inside one the caller holds ([`apply_state`]).
type StateWrite = fn(&mut DbConn, &DialRow, &Change<'_>) -> Result<Option<DialRow>, RepoError>;

fn advance_with(
    conn: &mut DbConn,
    scope: Scope,
    id: DialId,
    change: &Change<'_>,
    write: StateWrite,
) -> Result<Moved, RepoError> {
    // Compare-and-set on the state: a concurrent change makes the update
    // miss, and the loop reads the new state and decides again.
    loop {
        let row = dials::find(conn, scope, id)?.ok_or(RepoError::NotFound)?;
        let from = row.state()?;
        let to = dial_lifecycle::target(from, change.to, row.expires_at <= change.now);
        match dial_lifecycle::step(from, to) {
            Step::Repeat => return Ok(Moved::Unchanged(row)),
            Step::Refuse => return Ok(Moved::Refused(row)),
            Step::Apply => {}
        }
        if let Some(moved) = write(conn, &row, &Change { to, ..*change })? {
            return Ok(Moved::Changed(moved));
        }
    }
}

/// The state change, its audit entry and the user's event, in one
/// transaction; `None` when the row's state changed since it was read.
pub(super) fn set_state(
    conn: &mut DbConn,
    row: &DialRow,
    change: &Change<'_>,
) -> Result<Option<DialRow>, RepoError> {
    write_tx(conn, |conn| apply_state(conn, row, change))
}

/// [`set_state`] inside a transaction the caller holds.
pub(super) fn apply_state(
    conn: &mut DbConn,
    row: &DialRow,
    change: &Change<'_>,
) -> Result<Option<DialRow>, RepoError> {
    let Some(moved) = dials::set_state(conn, row, change.to, change.failure, change.now)? else {
        return Ok(None);
    };
    let action = match change.to {
        DialState::Cancelled => AuditAction::DialCancelled,
        _ => AuditAction::DialStateChanged,
    };
    audit::Entry::new(&moved.org_id, action, "dial", &moved.id, change.by.clone())
        .concerning(&moved.user_id)
        .detail("from", row.state.as_str())
        .detail("to", moved.state.as_str())
        .detail("failure", moved.failure.as_deref())
        .record(conn, change.now)?;
    announce(conn, &moved)?;
    if moved.state()?.is_final() {
        // A call-list task's attempt learns how its dial ended.
        super::call_list_dials::dial_finished_in(conn, &moved, change.now)?;
    }
    Ok(Some(moved))
}
