//! Binding users to phones and ending bindings: by the app (phone id, NFC
//! token or numeric code), by the phone for a user, by takeover, by unbind,
//! and by expiry (the next bind on the phone, or the worker's sweep).
//!
//! Every change runs in one write transaction that takes its organisation's
//! lock first (docs/decisions/0003-binding-locks.md), so what a bind reads
//! stays as read until it commits. Each end and start is written to the
//! audit log and to the holder's event log in that transaction; after the
//! commit the phone is sent its current holder and the holders' streams
//! wake, whoever made the change (API, phone or worker).

use chrono_tz::Tz;

use super::call_list_handback::{self, Why};
use super::{AfterCommit, Services, app_events, audit};
use crate::db::{DbConn, DbError, write_tx};
use crate::domain::binding_rules::{self, Asker, CurrentHolder, Proceed};
use crate::ids::{BindingId, OrgId, PhoneId, UserId};
use crate::repo::binding_events::{self, By, Change, NewEvent};
use crate::repo::binding_tokens::{self, TokenProblem, TokenRef};
use crate::repo::bindings::{self, BindingRow};
use crate::repo::users::{self, UserRow, Visibility};
use crate::repo::{RepoError, binding_policy, grants, orgs, phones, stored_id};
use crate::time::{Micros, now_micros};
use crate::wire::{AuditAction, BindingEndReason, BindingVia, Role};

pub use crate::domain::binding_rules::Denial;

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

impl From<DbError> for BindError {
    fn from(e: DbError) -> Self {
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

/// Binds, then tells the phone its holder and wakes the streams of everyone
/// whose binding started or ended.
pub async fn bind(services: &Services, req: BindRequest) -> Result<BindOutcome, BindError> {
    let (outcome, after) = services
        .db
        .write(move |conn| {
            let mut after = AfterCommit::new();
            let outcome = bind_locked(conn, &req, &mut after)?;
            Ok::<_, BindError>((outcome, after))
        })
        .await?;
    after.run(services).await;
    Ok(outcome)
}

/// [`bind`]'s transaction, with what must follow its commit.
pub fn bind_in(
    conn: &mut DbConn,
    req: &BindRequest,
) -> Result<(BindOutcome, AfterCommit), BindError> {
    let mut after = AfterCommit::new();
    let outcome = write_tx(conn, |conn| bind_locked(conn, req, &mut after))?;
    Ok((outcome, after))
}

fn bind_locked(
    conn: &mut DbConn,
    req: &BindRequest,
    after: &mut AfterCommit,
) -> Result<BindOutcome, BindError> {
    let now = now_micros();
    // Every binding change (and every disable or revoke) takes this lock
    // first, so all that is read below stays as read until commit.
    orgs::lock(conn, &req.org.to_string())?;
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
    let phone = match phones::get(conn, req.org, phone_id) {
        Err(RepoError::NotFound) => return Err(BindError::PhoneNotFound),
        other => other?,
    };
    if let Some(hash) = &req.phone_credential
        && !phones::credential_is_live(conn, &phone.id, hash)?
    {
        return Err(BindError::CredentialRevoked);
    }
    if let Some(token) = &token {
        binding_tokens::spend(conn, token, user_id, now)?.map_err(BindError::Token)?;
    }
    let role = user.role()?;
    // Admins need no grant, so theirs is not looked up.
    let granted = role == Role::Admin || grants::permits(conn, phone_id, user_id)?;
    binding_rules::admission(
        phone.disabled_at.is_some(),
        user.disabled_at.is_some(),
        role,
        granted,
    )
    .map_err(BindError::Denied)?;
    let (policy, _) = binding_policy::get(conn, req.org)?;
    // At most one is active; an expired one ends here, freeing the phone.
    let mut current = None;
    for row in bindings::active_of_phone(conn, &phone.id)? {
        if row.is_expired(now) {
            end_as_expired(conn, &row, now, after)?;
        } else {
            current = Some(row);
        }
    }
    let holder = match &current {
        None => CurrentHolder::Nobody,
        Some(c) if c.user_id == user.id => CurrentHolder::TheSameUser,
        Some(_) => CurrentHolder::Someone,
    };
    let asker = match req.by {
        By::Phone(_) => Asker::Phone,
        _ => Asker::User,
    };
    let proceed = binding_rules::against_current_holder(&policy, holder, req.takeover, role, asker)
        .map_err(BindError::Denied)?;
    if let (Proceed::AlreadyHeld, Some(current)) = (proceed, &current) {
        return Ok(BindOutcome::AlreadyHeld(current.clone()));
    }
    // Expired bindings on other phones no longer count; the sweep closes
    // them (ending them here would lock rows of phones we do not hold).
    let held = bindings::held_by(conn, &user.id, now)?.len();
    binding_rules::within_limit(&policy, held).map_err(BindError::Denied)?;
    if let Some(current) = &current {
        end(
            conn,
            current,
            BindingEndReason::TakenOver,
            req.by,
            now,
            after,
        )?;
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
    match bindings::insert(conn, &row) {
        // The one-holder index: unreachable while the organisation lock holds.
        Err(RepoError::Conflict) => return Err(BindError::Denied(Denial::PhoneBoundToOther)),
        other => other?,
    };
    log_change(
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
        after,
    )?;
    Ok(BindOutcome::Created(row))
}

fn find_holder(
    conn: &mut DbConn,
    org: OrgId,
    holder: &Holder,
) -> Result<Option<UserRow>, RepoError> {
    match holder {
        Holder::Id(id) => match users::get(conn, org, *id, Visibility::Org) {
            Err(RepoError::NotFound) => Ok(None),
            other => other.map(Some),
        },
        Holder::Email(email) => users::find_in_org_by_email(conn, org, email),
    }
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

impl From<DbError> for UnbindError {
    fn from(e: DbError) -> Self {
        RepoError::Db(e).into()
    }
}

impl From<diesel::result::Error> for UnbindError {
    fn from(e: diesel::result::Error) -> Self {
        RepoError::from(e).into()
    }
}

/// Ends a binding the caller can see (holder, their manager, an admin),
/// then tells the phone it is free and wakes the holder's streams.
pub async fn unbind(
    services: &Services,
    org: OrgId,
    id: BindingId,
    visibility: Visibility,
    by: By,
) -> Result<BindingRow, UnbindError> {
    let (row, after) = services
        .db
        .write(move |conn| {
            let mut after = AfterCommit::new();
            orgs::lock(conn, &org.to_string())?;
            let scope = users::visible_ids(conn, visibility)?;
            let row = bindings::get(conn, org, id, scope)?;
            let now = now_micros();
            if row.ended_at.is_some() || row.is_expired(now) {
                return Err(UnbindError::AlreadyEnded);
            }
            end(conn, &row, BindingEndReason::Unbound, by, now, &mut after)?;
            let row = BindingRow {
                ended_at: Some(now),
                end_reason: Some(BindingEndReason::Unbound.as_str().to_owned()),
                ..row
            };
            Ok::<_, UnbindError>((row, after))
        })
        .await?;
    after.run(services).await;
    Ok(row)
}

/// Bindings ended per batch of the sweep.
pub const EXPIRY_BATCH: i64 = 500;

/// The worker's sweep: ends every binding whose expiry has passed, each in
/// its own short transaction under its organisation's lock (so the sweep
/// never holds many rows and keeps the lock order of every other binding
/// change), and after each commit tells the phone it is free and wakes the
/// holder's streams, exactly as an unbind does. Returns how many it ended
/// (a concurrent bind or worker may have ended some first).
pub async fn end_expired(services: &Services) -> Result<usize, RepoError> {
    let mut total = 0;
    loop {
        let now = now_micros();
        let due = services
            .db
            .run(move |conn| bindings::due_expired(conn, now, EXPIRY_BATCH))
            .await?;
        let count = due.len();
        for row in due {
            let (done, after) = services
                .db
                .write(move |conn| {
                    let mut after = AfterCommit::new();
                    orgs::lock(conn, &row.org_id)?;
                    let done = end_as_expired(conn, &row, now, &mut after)?;
                    Ok::<_, RepoError>((done, after))
                })
                .await?;
            if done {
                total += 1;
                after.run(services).await;
            }
        }
        if (count as i64) < EXPIRY_BATCH {
            return Ok(total);
        }
    }
}

/// Ends the phone's binding (disabled, credential revoked). Call inside a
/// write transaction that holds the organisation's lock; returns how many
/// ended. Their holders' streams wake after commit; the phone itself is
/// told by whatever the caller does to it.
pub fn end_for_phone(
    conn: &mut DbConn,
    phone: PhoneId,
    reason: BindingEndReason,
    by: By,
    after: &mut AfterCommit,
) -> Result<usize, RepoError> {
    let rows = bindings::active_of_phone(conn, &phone.to_string())?;
    end_all(conn, rows, reason, by, after)
}

/// Ends every binding of the user (disabled). Call inside a write
/// transaction that holds the organisation's lock, before the user's row
/// lock. The phones hear they are free after commit.
pub fn end_for_user(
    conn: &mut DbConn,
    user: UserId,
    reason: BindingEndReason,
    by: By,
    after: &mut AfterCommit,
) -> Result<usize, RepoError> {
    let rows = bindings::active_of_user(conn, &user.to_string())?;
    end_all(conn, rows, reason, by, after)
}

fn end_all(
    conn: &mut DbConn,
    rows: Vec<BindingRow>,
    reason: BindingEndReason,
    by: By,
    after: &mut AfterCommit,
) -> Result<usize, RepoError> {
    let now = now_micros();
    let mut ended = 0;
    for row in rows {
        // An expired binding ended at its expiry, whatever happens now.
        let done = if row.is_expired(now) {
            end_as_expired(conn, &row, now, after)?
        } else {
            end(conn, &row, reason, by, now, after)?
        };
        if done {
            ended += 1;
        }
    }
    Ok(ended)
}

/// An expired binding ends at its expiry, by deskbind itself.
fn end_as_expired(
    conn: &mut DbConn,
    row: &BindingRow,
    now: Micros,
    after: &mut AfterCommit,
) -> Result<bool, RepoError> {
    let at = row.expires_at.unwrap_or(now);
    end(conn, row, BindingEndReason::Expired, By::System, at, after)
}

/// Ends one active binding and logs it; `false` when it had already ended.
/// When it was the holder's last phone, their call-list work goes back
/// (`call_list_handback`): tasks are dialled from a held phone.
fn end(
    conn: &mut DbConn,
    row: &BindingRow,
    reason: BindingEndReason,
    by: By,
    at: Micros,
    after: &mut AfterCommit,
) -> Result<bool, RepoError> {
    if !bindings::set_ended(conn, &row.id, reason, at)? {
        return Ok(false);
    }
    log_change(
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
        after,
    )?;
    if bindings::held_by(conn, &row.user_id, at)?.is_empty() {
        call_list_handback::hand_back_in(
            conn,
            stored_id(&row.org_id)?,
            stored_id(&row.user_id)?,
            Why::Unbound,
            at,
        )?;
    }
    Ok(true)
}

/// Writes the audit entry and the holder's event, and notes what follows
/// the commit: the holder's streams wake, the phone hears its holder.
fn log_change(
    conn: &mut DbConn,
    event: &NewEvent<'_>,
    after: &mut AfterCommit,
) -> Result<(), RepoError> {
    binding_events::insert(conn, event)?;
    audit_entry(event).record(conn, event.at)?;
    webhook_event(conn, event)?;
    let app_event = binding_events::app_event(event)?;
    app_events::record(conn, event.org_id, event.user_id, &app_event, event.at)?;
    // AfterCommit queues each once (a takeover ends and starts on one phone).
    after.wake_user(stored_id(event.user_id)?);
    after.holder_changed(stored_id(event.phone_id)?);
    // The console's live board shows who holds which phone.
    after.wake_org(stored_id(event.org_id)?);
    // Taking or leaving a phone moves the holder's line and connection.
    after.presence_changed(stored_id(event.org_id)?, stored_id(event.user_id)?);
    Ok(())
}

/// The `binding.changed` webhook, for the endpoints that want it.
fn webhook_event(conn: &mut DbConn, event: &NewEvent<'_>) -> Result<(), RepoError> {
    let (change, via, reason) = match event.change {
        Change::Bound(via) => ("bound", Some(via.as_str()), None),
        Change::Ended(reason) => ("ended", None, Some(reason.as_str())),
    };
    let data = serde_json::json!({
        "binding_id": event.binding_id,
        "phone_id": event.phone_id,
        "user_id": event.user_id,
        "change": change,
        "via": via,
        "reason": reason,
        "previous_user_id": event.previous_user_id,
        "at": crate::time::to_datetime(event.at),
    });
    super::webhook_outbox::enqueue_in(
        conn,
        event.org_id,
        &[super::webhook_outbox::Event {
            kind: crate::wire::WebhookEventType::BindingChanged,
            ordering_key: event.phone_id.to_owned(),
            data,
        }],
        event.at,
    )
    .map(drop)
}

/// The binding change as the organisation's audit log keeps it.
fn audit_entry(event: &NewEvent<'_>) -> audit::Entry {
    let (action, via, reason) = match event.change {
        Change::Bound(via) => (AuditAction::BindingBound, Some(via.as_str()), None),
        Change::Ended(reason) => (AuditAction::BindingEnded, None, Some(reason.as_str())),
    };
    audit::Entry::new(
        event.org_id,
        action,
        "binding",
        event.binding_id,
        event.by.actor(),
    )
    .concerning(event.user_id)
    .detail("phone_id", event.phone_id)
    .detail("via", via)
    .detail("reason", reason)
    .detail("previous_user_id", event.previous_user_id)
}
