//! The organisation's audit log (docs/audit.md). Rows are written in the
//! transaction of the change they record, through
//! `usecases::audit::record`; `seq` orders them.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::audit_events;
use crate::ids::{OrgId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{Actor, ActorKind, AuditAction, AuditEvent, AuditSubject, Page};

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub org_id: &'a str,
    pub action: AuditAction,
    pub subject_type: &'static str,
    pub subject_id: &'a str,
    pub user_id: Option<&'a str>,
    pub actor: &'a Actor,
    pub details: serde_json::Map<String, serde_json::Value>,
    pub at: Micros,
}

pub fn insert(conn: &mut DbConn, entry: &NewEntry<'_>) -> Result<(), RepoError> {
    let details = serde_json::Value::Object(entry.details.clone()).to_string();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::org_id.eq(entry.org_id),
            audit_events::action.eq(entry.action.as_str()),
            audit_events::subject_type.eq(entry.subject_type),
            audit_events::subject_id.eq(entry.subject_id),
            audit_events::user_id.eq(entry.user_id),
            audit_events::actor_kind.eq(entry.actor.kind.as_str()),
            audit_events::actor_id.eq(entry.actor.id.as_deref()),
            audit_events::details.eq(details),
            audit_events::at.eq(entry.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Filters of [`list`]; they combine.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// Entries whose action starts with this subject kind (`dial`, ...).
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// The user the entry concerns.
    pub user: Option<UserId>,
    /// The user who made the change.
    pub actor: Option<UserId>,
    pub from: Option<Micros>,
    pub until: Option<Micros>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct EntryRow {
    seq: i64,
    action: String,
    subject_type: String,
    subject_id: String,
    user_id: Option<String>,
    actor_kind: String,
    actor_id: Option<String>,
    details: String,
    at: i64,
}

impl EntryRow {
    fn to_wire(&self) -> Result<AuditEvent, RepoError> {
        let corrupt = |what: &str| RepoError::Corrupt(format!("audit entry {} {what}", self.seq));
        let details = match serde_json::from_str(&self.details) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(corrupt("details")),
        };
        Ok(AuditEvent {
            seq: self.seq,
            at: to_datetime(self.at),
            action: AuditAction::parse(&self.action).ok_or_else(|| corrupt("action"))?,
            subject: AuditSubject {
                kind: self.subject_type.clone(),
                id: self.subject_id.clone(),
            },
            user_id: self.user_id.as_deref().map(stored_id).transpose()?,
            actor: Actor {
                kind: ActorKind::parse(&self.actor_kind).ok_or_else(|| corrupt("actor_kind"))?,
                id: self.actor_id.clone(),
            },
            details,
        })
    }
}

/// Oldest first; the page's cursor is a `seq`. `visible` limits the
/// entries to those concerning these users (a manager's teams); `None` is
/// every entry of the organisation.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    visible: Option<&[String]>,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEvent>, RepoError> {
    let mut query = audit_events::table
        .filter(audit_events::org_id.eq(org.to_string()))
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(visible) = visible {
        query = query.filter(audit_events::user_id.eq_any(visible.to_vec()));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_events::action.eq(action.as_str()));
    }
    if let Some(kind) = &filter.subject_type {
        query = query.filter(audit_events::subject_type.eq(kind.clone()));
    }
    if let Some(id) = &filter.subject_id {
        query = query.filter(audit_events::subject_id.eq(id.clone()));
    }
    if let Some(user) = filter.user {
        query = query.filter(audit_events::user_id.eq(user.to_string()));
    }
    if let Some(actor) = filter.actor {
        query = query
            .filter(audit_events::actor_kind.eq(ActorKind::User.as_str()))
            .filter(audit_events::actor_id.eq(actor.to_string()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(after) = &page.after {
        let after: i64 = after
            .parse()
            .map_err(|_| RepoError::Corrupt(format!("sequence cursor {after:?}")))?;
        query = query.filter(audit_events::seq.gt(after));
    }
    let rows: Vec<EntryRow> = query
        .order(audit_events::seq.asc())
        .limit(page.fetch())
        .load(conn)?;
    page.finish(rows, |r| r.seq.to_string(), |r| r)
        .try_map(|r| r.to_wire())
}
