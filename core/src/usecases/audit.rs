//! Writing the organisation's audit log (docs/audit.md), in the
//! transaction of the change it records, so the log and the data never
//! disagree. Every use case that changes something a manager or an auditor
//! asks about calls [`Entry::record`].

use serde_json::{Map, Value};

use crate::db::DbConn;
use crate::ids::{OrgId, PhoneId, UserId};
use crate::repo::RepoError;
use crate::repo::audit_events::{self, NewEntry};
use crate::time::Micros;
use crate::wire::{Actor, ActorKind, AuditAction};

/// Who made a change, as the audit log names them.
pub fn by_user(user: UserId) -> Actor {
    Actor {
        kind: ActorKind::User,
        id: Some(user.to_string()),
    }
}

pub fn by_phone(phone: PhoneId) -> Actor {
    Actor {
        kind: ActorKind::Phone,
        id: Some(phone.to_string()),
    }
}

/// deskbind itself (an expiry sweep).
pub fn by_system() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: None,
    }
}

/// One entry, built up and then recorded.
#[derive(Debug, Clone)]
pub struct Entry {
    org_id: String,
    action: AuditAction,
    subject_type: &'static str,
    subject_id: String,
    user_id: Option<String>,
    actor: Actor,
    details: Map<String, Value>,
}

impl Entry {
    pub fn new(
        org_id: &str,
        action: AuditAction,
        subject_type: &'static str,
        subject_id: &str,
        actor: Actor,
    ) -> Self {
        Self {
            org_id: org_id.to_owned(),
            action,
            subject_type,
            subject_id: subject_id.to_owned(),
            user_id: None,
            actor,
            details: Map::new(),
        }
    }

    /// An entry about the organisation itself (a policy).
    pub fn about_org(org: OrgId, action: AuditAction, actor: Actor) -> Self {
        let org = org.to_string();
        Self::new(&org, action, "organisation", &org, actor)
    }

    /// The user the change concerns: managers see it when that user is in
    /// one of their teams.
    pub fn concerning(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    /// A fact of the change; `None` values are left out.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if !value.is_null() {
            self.details.insert(key.to_owned(), value);
        }
        self
    }

    /// Appends the entry; call it inside the change's transaction.
    pub fn record(self, conn: &mut DbConn, at: Micros) -> Result<(), RepoError> {
        audit_events::insert(
            conn,
            &NewEntry {
                org_id: &self.org_id,
                action: self.action,
                subject_type: self.subject_type,
                subject_id: &self.subject_id,
                user_id: self.user_id.as_deref(),
                actor: &self.actor,
                details: self.details,
                at,
            },
        )
    }
}
