//! `AppClient`'s blocklist and allow-list (docs/blocklist.md): list, check,
//! add, change and delete entries, and the CSV import and export. Enum
//! values are their wire names.

use std::time::SystemTime;

use deskbind_mobile::wire::{
    self, BlocklistKind, BlocklistPattern, BlocklistScope, CreateBlocklistEntry,
    UpdateBlocklistEntry,
};
use deskbind_mobile::{BlocklistQuery, PageQuery};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::*;

#[derive(Debug, Clone, uniffi::Record)]
pub struct BlocklistEntryInfo {
    pub id: String,
    /// `block` or `allow`.
    pub kind: String,
    /// `organisation`, `team` or `user`.
    pub scope: String,
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    /// `number` or `prefix`.
    pub pattern: String,
    /// An E.164 number or prefix, as `pattern` says.
    pub value: String,
    pub label: String,
    pub reason: String,
    /// From then on the entry no longer applies.
    pub expires_at: Option<SystemTime>,
    pub created_at: SystemTime,
    pub created_by: Option<String>,
    pub updated_at: SystemTime,
}

impl From<wire::BlocklistEntry> for BlocklistEntryInfo {
    fn from(e: wire::BlocklistEntry) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind.as_str().to_owned(),
            scope: e.scope.as_str().to_owned(),
            team_id: e.team_id.map(|t| t.to_string()),
            user_id: e.user_id.map(|u| u.to_string()),
            pattern: e.pattern.as_str().to_owned(),
            value: e.value,
            label: e.label,
            reason: e.reason,
            expires_at: e.expires_at.map(instant),
            created_at: instant(e.created_at),
            created_by: e.created_by.map(|u| u.to_string()),
            updated_at: instant(e.updated_at),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BlocklistPage {
    pub items: Vec<BlocklistEntryInfo>,
    pub next_cursor: Option<String>,
}

/// A new entry: `team_id` with scope `team`, `user_id` with scope `user`,
/// neither with `organisation`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BlocklistEntryInput {
    /// `block` or `allow`.
    pub kind: String,
    /// `organisation`, `team` or `user`.
    pub scope: String,
    #[uniffi(default = None)]
    pub team_id: Option<String>,
    #[uniffi(default = None)]
    pub user_id: Option<String>,
    /// `number` or `prefix`.
    pub pattern: String,
    pub value: String,
    #[uniffi(default = "")]
    pub label: String,
    #[uniffi(default = "")]
    pub reason: String,
    #[uniffi(default = None)]
    pub expires_at: Option<SystemTime>,
}

/// A change of an entry; `None` leaves a field as it is. The match and the
/// scope do not change (delete and add). `clear_expiry` removes the expiry.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct BlocklistUpdateInput {
    /// `block` or `allow`.
    #[uniffi(default = None)]
    pub kind: Option<String>,
    #[uniffi(default = None)]
    pub label: Option<String>,
    #[uniffi(default = None)]
    pub reason: Option<String>,
    #[uniffi(default = None)]
    pub expires_at: Option<SystemTime>,
    #[uniffi(default = false)]
    pub clear_expiry: bool,
}

/// The entry that decides a number: `allowed` when it is an allow entry.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BlocklistVerdictInfo {
    pub allowed: bool,
    pub entry_id: String,
}

/// What one CSV row of an import did (`row` counts from 1, the header not
/// included).
#[derive(Debug, Clone, uniffi::Record)]
pub struct BlocklistImportRowInfo {
    pub row: u32,
    /// `created`, `unchanged` or `rejected`.
    pub outcome: String,
    pub entry_id: Option<String>,
    pub code: Option<String>,
    pub field: Option<String>,
    pub detail: Option<String>,
}

impl From<wire::BlocklistImportRow> for BlocklistImportRowInfo {
    fn from(r: wire::BlocklistImportRow) -> Self {
        Self {
            row: r.row,
            outcome: r.outcome.as_str().to_owned(),
            entry_id: r.id.map(|i| i.to_string()),
            code: r.code,
            field: r.field,
            detail: r.detail,
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// The entries the caller reads; `number` (E.164) gives the entries
    /// whose value is it or one of its prefixes.
    pub async fn list_blocklist(
        &self,
        kind: Option<String>,
        scope: Option<String>,
        number: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<BlocklistPage> {
        let query = BlocklistQuery {
            page: PageQuery { cursor, limit },
            kind: kind
                .as_deref()
                .map(|k| wire_enum("kind", k, BlocklistKind::parse))
                .transpose()?,
            scope: scope
                .as_deref()
                .map(|s| wire_enum("scope", s, BlocklistScope::parse))
                .transpose()?,
            number,
        };
        let page = done(self.inner().list_blocklist(&query).await)?;
        Ok(BlocklistPage {
            items: page
                .items
                .into_iter()
                .map(BlocklistEntryInfo::from)
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// The entry that decides `number` for `user_id` (default: the caller),
    /// or `None` when no entry applies.
    pub async fn check_number(
        &self,
        number: String,
        user_id: Option<String>,
    ) -> Result<Option<BlocklistVerdictInfo>> {
        let user = user_id.as_deref().map(|u| id("user_id", u)).transpose()?;
        let out = self.inner().check_number(&number, user).await;
        Ok(done(out)?.map(|v| BlocklistVerdictInfo {
            allowed: v.allowed,
            entry_id: v.entry_id.to_string(),
        }))
    }

    pub async fn create_blocklist_entry(
        &self,
        entry: BlocklistEntryInput,
    ) -> Result<BlocklistEntryInfo> {
        let body = CreateBlocklistEntry {
            kind: wire_enum("kind", &entry.kind, BlocklistKind::parse)?,
            scope: wire_enum("scope", &entry.scope, BlocklistScope::parse)?,
            team_id: entry
                .team_id
                .as_deref()
                .map(|t| id("team_id", t))
                .transpose()?,
            user_id: entry
                .user_id
                .as_deref()
                .map(|u| id("user_id", u))
                .transpose()?,
            pattern: wire_enum("pattern", &entry.pattern, BlocklistPattern::parse)?,
            value: entry.value,
            label: entry.label,
            reason: entry.reason,
            expires_at: entry.expires_at.map(datetime),
        };
        let out = self.inner().create_blocklist_entry(&body).await;
        done(out).map(BlocklistEntryInfo::from)
    }

    pub async fn get_blocklist_entry(&self, entry_id: String) -> Result<BlocklistEntryInfo> {
        let out = self
            .inner()
            .get_blocklist_entry(id("entry_id", &entry_id)?)
            .await;
        done(out).map(BlocklistEntryInfo::from)
    }

    /// Changes an entry; the entry as it is after.
    pub async fn update_blocklist_entry(
        &self,
        entry_id: String,
        change: BlocklistUpdateInput,
    ) -> Result<BlocklistEntryInfo> {
        let expires_at = if change.clear_expiry {
            Some(None)
        } else {
            change.expires_at.map(|t| Some(datetime(t)))
        };
        let body = UpdateBlocklistEntry {
            kind: change
                .kind
                .as_deref()
                .map(|k| wire_enum("kind", k, BlocklistKind::parse))
                .transpose()?,
            label: change.label,
            reason: change.reason,
            expires_at,
        };
        let out = self
            .inner()
            .update_blocklist_entry(id("entry_id", &entry_id)?, &body)
            .await;
        done(out).map(BlocklistEntryInfo::from)
    }

    pub async fn delete_blocklist_entry(&self, entry_id: String) -> Result<()> {
        let out = self
            .inner()
            .delete_blocklist_entry(id("entry_id", &entry_id)?)
            .await;
        done(out)
    }

    /// Imports CSV text (the columns of `export_blocklist_csv`); one result
    /// per row.
    pub async fn import_blocklist_csv(&self, csv: String) -> Result<Vec<BlocklistImportRowInfo>> {
        let out = self.inner().import_blocklist_csv(&csv).await;
        Ok(done(out)?
            .rows
            .into_iter()
            .map(BlocklistImportRowInfo::from)
            .collect())
    }

    /// The entries the caller reads, as CSV text.
    pub async fn export_blocklist_csv(&self) -> Result<String> {
        done(self.inner().export_blocklist_csv().await)
    }
}
