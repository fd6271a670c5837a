//! `AppClient`: what came of a call (docs/call-outcomes.md): annotate a
//! call, its edit history, the disposition catalogue, whether private
//! calls are allowed.

use std::time::SystemTime;

use deskbind_mobile::wire::{self, UpdateCall};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::*;

/// One entry of the organisation's disposition catalogue.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DispositionInfo {
    pub id: String,
    pub code: String,
    pub label: String,
    pub reached: bool,
    pub sale: bool,
    pub do_not_call: bool,
    pub callback: bool,
    pub sort_order: i64,
    pub archived: bool,
}

impl From<wire::Disposition> for DispositionInfo {
    fn from(d: wire::Disposition) -> Self {
        Self {
            id: d.id.to_string(),
            code: d.code,
            label: d.label,
            reached: d.reached,
            sale: d.sale,
            do_not_call: d.do_not_call,
            callback: d.callback,
            sort_order: d.sort_order,
            archived: d.archived,
        }
    }
}

/// A change of a call's annotation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CallUpdateInput {
    /// Empty clears the notes.
    pub notes: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Empty clears the disposition (and the callback with it).
    pub disposition_id: Option<String>,
    pub callback_at: Option<SystemTime>,
    pub private: Option<bool>,
    /// The call's `annotation_version` this change was made against.
    pub version: Option<i64>,
}

/// One edit of a call's annotation; `changes_json` is
/// `{field: {"before": ..., "after": ...}}`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallEditInfo {
    pub version: i64,
    pub editor_id: String,
    pub edited_at: SystemTime,
    pub changes_json: String,
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// Writes down what came of a call; the call as it is after.
    pub async fn update_call(
        &self,
        call_record_id: String,
        change: CallUpdateInput,
    ) -> Result<CallRecordInfo> {
        let disposition_id = match change.disposition_id.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(raw) => Some(Some(id("disposition_id", raw)?)),
        };
        let body = UpdateCall {
            notes: change.notes.map(Some),
            tags: change.tags,
            disposition_id,
            callback_at: change.callback_at.map(|t| Some(datetime(t))),
            private: change.private,
            version: change.version,
        };
        let out = self
            .inner()
            .update_call(id("call_record_id", &call_record_id)?, &body)
            .await;
        done(out).map(CallRecordInfo::from)
    }

    /// Every edit of the call's annotation, oldest first.
    pub async fn call_history(&self, call_record_id: String) -> Result<Vec<CallEditInfo>> {
        let out = self
            .inner()
            .call_history(id("call_record_id", &call_record_id)?)
            .await;
        done(out)?
            .items
            .into_iter()
            .map(|e| {
                Ok(CallEditInfo {
                    version: e.version,
                    editor_id: e.editor_id.to_string(),
                    edited_at: instant(e.edited_at),
                    changes_json: serde_json::to_string(&e.changes)
                        .map_err(|err| crate::error::local(err.to_string()))?,
                })
            })
            .collect()
    }

    /// The organisation's dispositions, active and archived.
    pub async fn list_dispositions(&self) -> Result<Vec<DispositionInfo>> {
        let out = self.inner().list_dispositions().await;
        Ok(done(out)?
            .items
            .into_iter()
            .map(DispositionInfo::from)
            .collect())
    }

    /// Whether the organisation lets users mark their calls private.
    pub async fn private_calls_allowed(&self) -> Result<bool> {
        let out = self.inner().call_settings().await;
        done(out).map(|s| s.allow_private)
    }
}
