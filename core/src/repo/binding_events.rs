//! The binding audit log: every bind and every end, with who did it, how,
//! and whose binding a takeover ended. Rows are written in the transaction
//! of the change itself, so the log and the bindings never disagree; `seq`
//! orders them.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::binding_events;
use crate::ids::{BindingId, OrgId, PhoneId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{
    Actor, ActorKind, AppEvent, BindingAction, BindingEndReason, BindingEvent, BindingVia, Page,
};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    User(UserId),
    Phone(PhoneId),
    /// deskbind itself (expiry).
    System,
}

impl By {
    /// The actor as the API shows it.
    pub fn actor(self) -> Actor {
        let (kind, id) = match self {
            Self::User(id) => (ActorKind::User, Some(id.to_string())),
            Self::Phone(id) => (ActorKind::Phone, Some(id.to_string())),
            Self::System => (ActorKind::System, None),
        };
        Actor { kind, id }
    }

    fn parts(self) -> (&'static str, Option<String>) {
        match self {
            Self::User(id) => (ActorKind::User.as_str(), Some(id.to_string())),
            Self::Phone(id) => (ActorKind::Phone.as_str(), Some(id.to_string())),
            Self::System => (ActorKind::System.as_str(), None),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Bound(BindingVia),
    Ended(BindingEndReason),
}

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub org_id: &'a str,
    pub binding_id: &'a str,
    pub phone_id: &'a str,
    pub user_id: &'a str,
    pub change: Change,
    pub by: By,
    pub previous_user_id: Option<&'a str>,
    pub at: Micros,
}

/// Appends the audit entry; call it inside the change's transaction (the
/// holder's [`app_event`] goes into their event log in the same one).
pub fn insert(conn: &mut DbConn, event: &NewEvent<'_>) -> Result<(), RepoError> {
    let (action, via, reason) = match event.change {
        Change::Bound(via) => (BindingAction::Bound, Some(via.as_str()), None),
        Change::Ended(reason) => (BindingAction::Ended, None, Some(reason.as_str())),
    };
    let (actor_kind, actor_id) = event.by.parts();
    diesel::insert_into(binding_events::table)
        .values((
            binding_events::org_id.eq(event.org_id),
            binding_events::binding_id.eq(event.binding_id),
            binding_events::phone_id.eq(event.phone_id),
            binding_events::user_id.eq(event.user_id),
            binding_events::action.eq(action.as_str()),
            binding_events::via.eq(via),
            binding_events::reason.eq(reason),
            binding_events::actor_kind.eq(actor_kind),
            binding_events::actor_id.eq(actor_id),
            binding_events::previous_user_id.eq(event.previous_user_id),
            binding_events::at.eq(event.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The entry as the holder's event stream shows it.
pub fn app_event(event: &NewEvent<'_>) -> Result<AppEvent, RepoError> {
    let action = match event.change {
        Change::Bound(_) => BindingAction::Bound,
        Change::Ended(_) => BindingAction::Ended,
    };
    Ok(AppEvent::Binding {
        binding_id: stored_id(event.binding_id)?,
        phone_id: stored_id(event.phone_id)?,
        action,
        via: match event.change {
            Change::Bound(via) => Some(via),
            Change::Ended(_) => None,
        },
        reason: match event.change {
            Change::Ended(reason) => Some(reason),
            Change::Bound(_) => None,
        },
        at: to_datetime(event.at),
    })
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub phone: Option<PhoneId>,
    /// The holder the change is about, or the holder a takeover displaced.
    pub user: Option<UserId>,
    pub binding: Option<BindingId>,
    pub action: Option<BindingAction>,
    pub from: Option<Micros>,
    pub until: Option<Micros>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = binding_events)]
struct EventRow {
    seq: i64,
    binding_id: String,
    phone_id: String,
    user_id: String,
    action: String,
    via: Option<String>,
    reason: Option<String>,
    actor_kind: String,
    actor_id: Option<String>,
    previous_user_id: Option<String>,
    at: i64,
}

impl EventRow {
    fn to_wire(&self) -> Result<BindingEvent, RepoError> {
        let corrupt = |what: &str| RepoError::Corrupt(format!("binding event {} {what}", self.seq));
        Ok(BindingEvent {
            seq: self.seq,
            at: to_datetime(self.at),
            action: BindingAction::parse(&self.action).ok_or_else(|| corrupt("action"))?,
            binding_id: stored_id(&self.binding_id)?,
            phone_id: stored_id(&self.phone_id)?,
            user_id: stored_id(&self.user_id)?,
            via: self
                .via
                .as_deref()
                .map(|v| BindingVia::parse(v).ok_or_else(|| corrupt("via")))
                .transpose()?,
            reason: self
                .reason
                .as_deref()
                .map(|r| BindingEndReason::parse(r).ok_or_else(|| corrupt("reason")))
                .transpose()?,
            actor: Actor {
                kind: ActorKind::parse(&self.actor_kind).ok_or_else(|| corrupt("actor_kind"))?,
                id: self.actor_id.clone(),
            },
            previous_user_id: self
                .previous_user_id
                .as_deref()
                .map(stored_id)
                .transpose()?,
        })
    }
}

/// Oldest first; the page's cursor is a `seq`.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<BindingEvent>, RepoError> {
    let mut query = binding_events::table
        .filter(binding_events::org_id.eq(org.to_string()))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(phone) = filter.phone {
        query = query.filter(binding_events::phone_id.eq(phone.to_string()));
    }
    if let Some(user) = filter.user {
        query = query.filter(
            binding_events::user_id
                .eq(user.to_string())
                .or(binding_events::previous_user_id.eq(user.to_string())),
        );
    }
    if let Some(binding) = filter.binding {
        query = query.filter(binding_events::binding_id.eq(binding.to_string()));
    }
    if let Some(action) = filter.action {
        query = query.filter(binding_events::action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(binding_events::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(binding_events::at.lt(until));
    }
    if let Some(after) = &page.after {
        let after: i64 = after
            .parse()
            .map_err(|_| RepoError::Corrupt(format!("sequence cursor {after:?}")))?;
        query = query.filter(binding_events::seq.gt(after));
    }
    let rows: Vec<EventRow> = query
        .order(binding_events::seq.asc())
        .limit(page.fetch())
        .load(conn)?;
    page.finish(rows, |r| r.seq.to_string(), |r| r)
        .try_map(|r| r.to_wire())
}
