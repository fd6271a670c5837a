//! The organisation's audit log as records (the shape of
//! `GET /v1/audit-events`); enum values are their wire names.

use std::time::SystemTime;

use deskbind_mobile::AuditQuery;
use deskbind_mobile::wire::{self, AuditAction};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::{id, instant, wire_enum};

/// One entry: who changed what, and when.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AuditEntryInfo {
    pub seq: i64,
    pub at: SystemTime,
    /// `dial.created`, `binding.ended`, ... (docs/audit.md).
    pub action: String,
    /// `binding`, `dial`, `phone` or `organisation`.
    pub subject_type: String,
    pub subject_id: String,
    /// The user the entry concerns.
    pub user_id: Option<String>,
    /// `user`, `phone` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// The facts of the change as a JSON object.
    pub details_json: String,
}

impl From<wire::AuditEvent> for AuditEntryInfo {
    fn from(e: wire::AuditEvent) -> Self {
        Self {
            seq: e.seq,
            at: instant(e.at),
            action: e.action.as_str().to_owned(),
            subject_type: e.subject.kind,
            subject_id: e.subject.id,
            user_id: e.user_id.map(|u| u.to_string()),
            actor_kind: e.actor.kind.as_str().to_owned(),
            actor_id: e.actor.id,
            details_json: serde_json::Value::Object(e.details).to_string(),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct AuditPage {
    pub items: Vec<AuditEntryInfo>,
    pub next_cursor: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// The audit log, oldest first (managers: their teams' members; admins:
    /// everything). `action` and `user_id` filter.
    pub async fn list_audit_events(
        &self,
        action: Option<String>,
        user_id: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<AuditPage> {
        let query = AuditQuery {
            page: deskbind_mobile::PageQuery { cursor, limit },
            action: action
                .as_deref()
                .map(|a| wire_enum("action", a, AuditAction::parse))
                .transpose()?,
            user_id: user_id.as_deref().map(|u| id("user_id", u)).transpose()?,
            ..AuditQuery::default()
        };
        let out = done(self.inner().list_audit_events(&query).await)?;
        Ok(AuditPage {
            items: out.items.into_iter().map(AuditEntryInfo::from).collect(),
            next_cursor: out.next_cursor,
        })
    }
}
