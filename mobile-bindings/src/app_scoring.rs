//! `AppClient`'s contact scoring calls (docs/scoring.md): the rules (every
//! role reads them, admins replace them), a recompute's progress, and the
//! ledger that explains a contact's score.

use deskbind_core::ids::{ContactId, ScoreRecomputeId};
use deskbind_core::wire::{
    Page, PutScoreRules, ScoreEvent, ScoreRecompute, ScoreRules, ScoreRulesReplaced,
};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};

impl AppClient {
    /// The organisation's scoring rules in force.
    pub async fn score_rules(&self) -> Result<ScoreRules> {
        self.get("v1/score-rules").await
    }

    /// Replaces the rules (admins); `rules.version` is the version read.
    pub async fn put_score_rules(&self, rules: &PutScoreRules) -> Result<ScoreRulesReplaced> {
        self.send(Method::PUT, "v1/score-rules", rules).await
    }

    /// A recompute's progress.
    pub async fn score_recompute(&self, id: ScoreRecomputeId) -> Result<ScoreRecompute> {
        self.get(&format!("v1/score-recomputes/{id}")).await
    }

    /// One page of the ledger explaining the contact's score, oldest first.
    pub async fn list_contact_score_events(
        &self,
        contact: ContactId,
        page: &PageQuery,
    ) -> Result<Page<ScoreEvent>> {
        self.get_with(
            &format!("v1/contacts/{contact}/score-events"),
            &page.pairs(),
        )
        .await
    }
}
