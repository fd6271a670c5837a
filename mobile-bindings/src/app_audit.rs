//! `AppClient`'s read of the organisation's audit log (managers and
//! admins; docs/audit.md).

use chrono::{DateTime, Utc};
use deskbind_core::ids::UserId;
use deskbind_core::wire::{AuditAction, AuditEvent, Page};

use crate::Result;
use crate::app::{AppClient, PageQuery};

/// Filters of [`AppClient::list_audit_events`]; they combine.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub page: PageQuery,
    pub action: Option<AuditAction>,
    /// `binding`, `dial`, `phone` or `organisation`.
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// The user an entry concerns.
    pub user_id: Option<UserId>,
    /// The user who made the change.
    pub actor_id: Option<UserId>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl AuditQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = self.page.pairs();
        let filters = [
            ("action", self.action.map(|a| a.as_str().to_owned())),
            ("subject_type", self.subject_type.clone()),
            ("subject_id", self.subject_id.clone()),
            ("user_id", self.user_id.map(|i| i.to_string())),
            ("actor_id", self.actor_id.map(|i| i.to_string())),
            ("from", self.from.map(|t| t.to_rfc3339())),
            ("until", self.until.map(|t| t.to_rfc3339())),
        ];
        out.extend(filters.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        out
    }
}

impl AppClient {
    /// The audit log, oldest first: every entry for admins, the entries
    /// about their teams' members for managers.
    pub async fn list_audit_events(&self, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        self.get_with("v1/audit-events", &query.pairs()).await
    }
}
