//! `AppClient::check_dial`: whether a dial would be accepted now, without
//! dialling (docs/dialing.md, "Why not: POST /v1/dials/check"), so the app
//! can grey out its button and say when it may dial.

use std::time::SystemTime;

use deskbind_mobile::wire;

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::*;

#[derive(Debug, Clone, uniffi::Record)]
pub struct DialCheckInfo {
    pub allowed: bool,
    /// What the phone would dial (E.164 or a short code), when allowed.
    pub number: Option<String>,
    /// `domestic`, `mobile`, `international`, `premium_rate`, `emergency`
    /// or `internal`, when allowed.
    pub class: Option<String>,
    /// The refusal's code, as `dial` would fail with it.
    pub code: Option<String>,
    pub detail: Option<String>,
    /// The refusing rule's kind: `classes`, `calling_hours`,
    /// `callee_hours`, `blocklist`, `binding` or `number`.
    pub rule: Option<String>,
    /// When the dial would next be allowed (hours refusals).
    pub retry_at: Option<SystemTime>,
    /// The blocklist entry's id, for blocklist refusals.
    pub blocked_by: Option<String>,
}

impl From<wire::DialCheckResult> for DialCheckInfo {
    fn from(r: wire::DialCheckResult) -> Self {
        Self {
            allowed: r.allowed,
            number: r.number,
            class: r.class,
            code: r.code,
            detail: r.detail,
            rule: r.rule.map(|rule| rule.kind),
            retry_at: r.retry_at.map(instant),
            blocked_by: r.blocked_by.map(|b| b.entry_id.to_string()),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// Whether `dial(number, phone_id)` would be accepted now, and if not
    /// which rule refuses it and when it would be allowed.
    pub async fn check_dial(
        &self,
        number: String,
        phone_id: Option<String>,
    ) -> Result<DialCheckInfo> {
        let phone = phone_id.as_deref().map(|p| id("phone_id", p)).transpose()?;
        let out = self.inner().check_dial(&number, phone).await;
        done(out).map(DialCheckInfo::from)
    }
}
