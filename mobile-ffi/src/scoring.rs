//! Contact scoring as records (docs/scoring.md): reading the rules (the
//! rule list as JSON, its shape is `ScoreRule` in openapi.yaml), a
//! recompute's progress, and a contact's ledger. Replacing the rules is an
//! admin action of the console, not wrapped here.

use std::time::SystemTime;

use deskbind_mobile::PageQuery;
use deskbind_mobile::wire;

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::{id, instant};

/// The rule set in force.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ScoreRulesInfo {
    pub version: i64,
    pub total_cap: Option<i64>,
    /// The groups (`name`, `cap`) as a JSON array.
    pub groups_json: String,
    /// The rules as a JSON array (openapi.yaml `ScoreRule`).
    pub rules_json: String,
    pub updated_at: SystemTime,
}

/// A recompute after a rule change.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ScoreRecomputeInfo {
    pub id: String,
    pub rule_version: i64,
    /// `running`, `done` or `superseded`.
    pub state: String,
    pub contacts_total: i64,
    pub contacts_done: i64,
}

/// One ledger row.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ScoreEventInfo {
    pub seq: i64,
    pub rule_key: String,
    pub label: String,
    pub points: i64,
    pub call_record_id: Option<String>,
    pub rule_version: i64,
    pub at: SystemTime,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ScoreEventPage {
    pub items: Vec<ScoreEventInfo>,
    pub next_cursor: Option<String>,
}

impl From<wire::ScoreEvent> for ScoreEventInfo {
    fn from(e: wire::ScoreEvent) -> Self {
        Self {
            seq: e.seq,
            rule_key: e.rule_key,
            label: e.label,
            points: e.points,
            call_record_id: e.call_record_id.map(|c| c.to_string()),
            rule_version: e.rule_version,
            at: instant(e.at),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// The organisation's scoring rules (every role).
    pub async fn score_rules(&self) -> Result<ScoreRulesInfo> {
        let rules = done(self.inner().score_rules().await)?;
        Ok(ScoreRulesInfo {
            version: rules.version,
            total_cap: rules.set.total_cap,
            groups_json: serde_json::to_string(&rules.set.groups).unwrap_or_default(),
            rules_json: serde_json::to_string(&rules.set.rules).unwrap_or_default(),
            updated_at: instant(rules.updated_at),
        })
    }

    /// A recompute's progress.
    pub async fn score_recompute(&self, recompute_id: String) -> Result<ScoreRecomputeInfo> {
        let id = id("recompute_id", &recompute_id)?;
        let r = done(self.inner().score_recompute(id).await)?;
        Ok(ScoreRecomputeInfo {
            id: r.id.to_string(),
            rule_version: r.rule_version,
            state: r.state.as_str().to_owned(),
            contacts_total: r.contacts_total,
            contacts_done: r.contacts_done,
        })
    }

    /// The ledger explaining a contact's score, oldest first.
    pub async fn list_contact_score_events(
        &self,
        contact_id: String,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<ScoreEventPage> {
        let contact = id("contact_id", &contact_id)?;
        let page = PageQuery { cursor, limit };
        let out = done(self.inner().list_contact_score_events(contact, &page).await)?;
        Ok(ScoreEventPage {
            items: out.items.into_iter().map(ScoreEventInfo::from).collect(),
            next_cursor: out.next_cursor,
        })
    }
}
