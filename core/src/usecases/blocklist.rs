//! Changing the blocklist and allow-list (docs/blocklist.md, decision
//! 0019): adding, changing and deleting entries, and a CSV import, each
//! under the organisation's lock so the per-organisation limit is counted
//! where no concurrent add can pass it.
//!
//! Who may change what: admins every scope; managers their teams'
//! entries and those of their teams' members and their own; salespeople
//! their own user-scope entries. Everyone reads the organisation's
//! entries, their teams' and their own (managers also their members').

use crate::db::{Database, DbConn, DbError, write_tx};
use crate::domain::FieldError;
use crate::domain::blocklist::{MAX_ENTRIES_PER_ORG, NewEntry};
use crate::ids::{BlocklistEntryId, OrgId, UserId};
use crate::repo::blocklist::{self as entries, EntryRow, Reach};
use crate::repo::users::Visibility;
use crate::repo::{RepoError, orgs, teams, users};
use crate::time::{Micros, now_micros};
use crate::wire::{AuditAction, BlocklistScope, Role, UpdateBlocklistEntry};

use super::audit;

/// Who asks for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A person: their role decides which scopes they may change.
    Person { user: UserId, role: Role },
    /// Another use case's rule that already decided the entry is due (a
    /// `do_not_call` disposition): no role check; `user` is its author.
    Rule { user: UserId },
}

impl Actor {
    fn user(self) -> UserId {
        match self {
            Self::Person { user, .. } | Self::Rule { user } => user,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    #[error("{0}")]
    Invalid(FieldError),
    /// The actor's role may not change entries of this scope.
    #[error("not allowed to change this entry")]
    Forbidden,
    #[error("no such entry")]
    NotFound,
    /// An entry with the same scope and match exists (it is carried, so a
    /// rule that only wants the number listed can take it as done).
    #[error("an entry with this scope and match exists")]
    Exists(Box<EntryRow>),
    /// The organisation has `MAX_ENTRIES_PER_ORG` entries.
    #[error("the organisation's blocklist is full")]
    Full,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for BlocklistError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<DbError> for BlocklistError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

/// The entries `user` with `role` reads (see the module comment).
pub fn reach_of(conn: &mut DbConn, user: UserId, role: Role) -> Result<Reach, RepoError> {
    if role == Role::Admin {
        return Ok(Reach {
            all: true,
            ..Reach::default()
        });
    }
    let me = user.to_string();
    let team_ids = users::team_ids_of(conn, std::slice::from_ref(&me))?
        .remove(&me)
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.to_string())
        .collect();
    let user_ids = match role {
        Role::Manager => users::visible_ids(conn, Visibility::TeamsOf(user))?.unwrap_or_default(),
        _ => vec![me],
    };
    Ok(Reach {
        all: false,
        team_ids,
        user_ids,
    })
}

/// Whether `actor` may change an entry of `scope` for `scope_id`.
fn may_change(
    conn: &mut DbConn,
    actor: Actor,
    scope: BlocklistScope,
    scope_id: &str,
) -> Result<bool, RepoError> {
    let Actor::Person { user, role } = actor else {
        return Ok(true);
    };
    if role == Role::Admin {
        return Ok(true);
    }
    let reach = reach_of(conn, user, role)?;
    Ok(match scope {
        BlocklistScope::Organisation => false,
        BlocklistScope::Team => {
            role == Role::Manager && reach.team_ids.iter().any(|t| t == scope_id)
        }
        BlocklistScope::User => reach.user_ids.iter().any(|u| u == scope_id),
    })
}

/// The scope's team or user must be the organisation's.
fn check_target(conn: &mut DbConn, org: OrgId, entry: &NewEntry) -> Result<(), BlocklistError> {
    let found = match entry.scope {
        BlocklistScope::Organisation => true,
        BlocklistScope::Team => match entry.scope_id.parse() {
            Ok(team) => teams::exists(conn, org, team)?,
            Err(_) => false,
        },
        BlocklistScope::User => match entry.scope_id.parse() {
            Ok(user) => users::exists_in_org(conn, org, user)?,
            Err(_) => false,
        },
    };
    if found {
        Ok(())
    } else {
        Err(BlocklistError::Invalid(entry.unknown_target()))
    }
}

/// Adds `entry` (checked by `NewEntry::parse`). For a caller already in
/// a write transaction (another use case's rule): it takes the
/// organisation's lock, so call it before any lock that comes after the
/// organisation's in the order (docs/decisions/0003).
pub fn add_in(
    conn: &mut DbConn,
    org: OrgId,
    entry: NewEntry,
    actor: Actor,
    now: Micros,
) -> Result<EntryRow, BlocklistError> {
    write_tx(conn, |conn| {
        add_under_org_lock(conn, org, entry, actor, now)
    })
}

/// [`add_in`] as its own transaction.
pub async fn add(
    db: &Database,
    org: OrgId,
    entry: NewEntry,
    actor: Actor,
    now: Micros,
) -> Result<EntryRow, BlocklistError> {
    db.write(move |conn| add_under_org_lock(conn, org, entry, actor, now))
        .await
}

fn add_under_org_lock(
    conn: &mut DbConn,
    org: OrgId,
    entry: NewEntry,
    actor: Actor,
    now: Micros,
) -> Result<EntryRow, BlocklistError> {
    orgs::lock(conn, &org.to_string())?;
    add_locked(conn, org, entry, actor, now)
}

fn add_locked(
    conn: &mut DbConn,
    org: OrgId,
    entry: NewEntry,
    actor: Actor,
    now: Micros,
) -> Result<EntryRow, BlocklistError> {
    check_target(conn, org, &entry)?;
    if !may_change(conn, actor, entry.scope, &entry.scope_id)? {
        return Err(BlocklistError::Forbidden);
    }
    if let Some(existing) = entries::find(
        conn,
        org,
        entry.scope,
        &entry.scope_id,
        entry.pattern,
        &entry.value,
    )? {
        return Err(BlocklistError::Exists(Box::new(existing)));
    }
    if entries::count(conn, org)? >= MAX_ENTRIES_PER_ORG {
        return Err(BlocklistError::Full);
    }
    let row = EntryRow {
        id: BlocklistEntryId::new(),
        org_id: org,
        kind: entry.kind,
        scope: entry.scope,
        scope_id: entry.scope_id,
        pattern: entry.pattern,
        value: entry.value,
        label: entry.label,
        reason: entry.reason,
        expires_at: entry.expires_at,
        created_at: now,
        created_by: Some(actor.user().to_string()),
        updated_at: now,
    };
    entries::insert(conn, &row)?;
    audit_entry(&row, AuditAction::BlocklistEntryAdded, actor).record(conn, now)?;
    Ok(row)
}

/// The change as the audit log keeps it: the entry's match and scope; a
/// user-scope entry concerns that user.
fn audit_entry(row: &EntryRow, action: AuditAction, actor: Actor) -> audit::Entry {
    let entry = audit::Entry::new(
        &row.org_id.to_string(),
        action,
        "blocklist_entry",
        &row.id.to_string(),
        audit::by_user(actor.user()),
    )
    .detail("kind", row.kind.as_str())
    .detail("scope", row.scope.as_str())
    .detail("pattern", row.pattern.as_str())
    .detail("value", row.value.as_str())
    .detail("label", row.label.as_str())
    .detail("reason", row.reason.as_str());
    match row.scope {
        BlocklistScope::User => entry.concerning(&row.scope_id),
        BlocklistScope::Team => entry.detail("team_id", row.scope_id.as_str()),
        BlocklistScope::Organisation => entry,
    }
}

/// The entry `id` if the person may read it (else not found, like an id
/// that does not exist) and, when `change` is set, change it (else
/// forbidden).
fn readable(
    conn: &mut DbConn,
    org: OrgId,
    id: BlocklistEntryId,
    actor: Actor,
    change: bool,
) -> Result<EntryRow, BlocklistError> {
    let row = entries::get(conn, org, id)?.ok_or(BlocklistError::NotFound)?;
    if let Actor::Person { user, role } = actor {
        let reach = reach_of(conn, user, role)?;
        let visible = reach.all
            || match row.scope {
                BlocklistScope::Organisation => true,
                BlocklistScope::Team => reach.team_ids.contains(&row.scope_id),
                BlocklistScope::User => reach.user_ids.contains(&row.scope_id),
            };
        if !visible {
            return Err(BlocklistError::NotFound);
        }
    }
    if change && !may_change(conn, actor, row.scope, &row.scope_id)? {
        return Err(BlocklistError::Forbidden);
    }
    Ok(row)
}

/// One entry, for `GET /v1/blocklist/{id}`.
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: BlocklistEntryId,
    actor: Actor,
) -> Result<EntryRow, BlocklistError> {
    readable(conn, org, id, actor, false)
}

/// Checked changes of `PATCH /v1/blocklist/{id}`.
#[derive(Debug, Clone, Default)]
pub struct EntryChanges {
    pub kind: Option<crate::wire::BlocklistKind>,
    pub label: Option<String>,
    pub reason: Option<String>,
    pub expires_at: Option<Option<Micros>>,
}

impl EntryChanges {
    pub fn parse(body: &UpdateBlocklistEntry, now: Micros) -> Result<Self, FieldError> {
        use crate::domain::blocklist::{
            MAX_LABEL_CHARS, MAX_REASON_CHARS, check_expiry, parse_text,
        };
        let expires_at = body.expires_at.map(|at| at.map(|t| t.timestamp_micros()));
        if let Some(at) = expires_at {
            check_expiry(at, now)?;
        }
        Ok(Self {
            kind: body.kind,
            label: body
                .label
                .as_deref()
                .map(|l| parse_text("label", l, MAX_LABEL_CHARS))
                .transpose()?,
            reason: body
                .reason
                .as_deref()
                .map(|r| parse_text("reason", r, MAX_REASON_CHARS))
                .transpose()?,
            expires_at,
        })
    }
}

pub async fn update(
    db: &Database,
    org: OrgId,
    id: BlocklistEntryId,
    changes: EntryChanges,
    actor: Actor,
    now: Micros,
) -> Result<EntryRow, BlocklistError> {
    db.write(move |conn| {
        let mut row = readable(conn, org, id, actor, true)?;
        if let Some(kind) = changes.kind {
            row.kind = kind;
        }
        if let Some(label) = changes.label {
            row.label = label;
        }
        if let Some(reason) = changes.reason {
            row.reason = reason;
        }
        if let Some(expires_at) = changes.expires_at {
            row.expires_at = expires_at;
        }
        row.updated_at = now;
        entries::update(conn, &row)?;
        audit_entry(&row, AuditAction::BlocklistEntryChanged, actor).record(conn, now)?;
        Ok(row)
    })
    .await
}

pub async fn delete(
    db: &Database,
    org: OrgId,
    id: BlocklistEntryId,
    actor: Actor,
) -> Result<(), BlocklistError> {
    db.write(move |conn| {
        let row = readable(conn, org, id, actor, true)?;
        entries::delete(conn, org, id)?;
        audit_entry(&row, AuditAction::BlocklistEntryRemoved, actor).record(conn, now_micros())?;
        Ok(())
    })
    .await
}

/// What became of one imported row.
#[derive(Debug)]
pub enum Imported {
    Created(EntryRow),
    /// The same scope and match exists; it is left as it is.
    Unchanged(EntryRow),
    Rejected(BlocklistError),
}

/// Adds each parsed row (a row that did not parse is rejected with its
/// field error) in one transaction under the organisation's lock; one
/// outcome per row, in order. A refused row never fails the others.
pub async fn import(
    db: &Database,
    org: OrgId,
    rows: Vec<Result<NewEntry, FieldError>>,
    actor: Actor,
    now: Micros,
) -> Result<Vec<Imported>, BlocklistError> {
    db.write(move |conn| {
        orgs::lock(conn, &org.to_string())?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let outcome = match row {
                Err(e) => Imported::Rejected(BlocklistError::Invalid(e)),
                Ok(entry) => match add_locked(conn, org, entry, actor, now) {
                    Ok(created) => Imported::Created(created),
                    Err(BlocklistError::Exists(existing)) => Imported::Unchanged(*existing),
                    // Checks run before the insert, so nothing was written
                    // and the transaction goes on.
                    Err(BlocklistError::Repo(e)) => return Err(BlocklistError::Repo(e)),
                    Err(refused) => Imported::Rejected(refused),
                },
            };
            out.push(outcome);
        }
        Ok(out)
    })
    .await
}
