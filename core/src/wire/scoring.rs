//! Contact scoring: the organisation's rules, a contact's ledger, and the
//! progress of a recompute after the rules changed (docs/scoring.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::{CallRecordId, ScoreRecomputeId};

str_enum! {
    /// What makes a rule score.
    pub enum ScoreTrigger {
        /// An outbound call record.
        CallPlaced => "call_placed",
        /// A call record that was answered (on air), either direction.
        CallAnswered => "call_answered",
        /// An inbound call record, answered or missed.
        InboundCall => "inbound_call",
        /// A call given the rule's `disposition` (its code).
        Disposition => "disposition",
        /// The contact's `counter` reaching the rule's `threshold`.
        CountReached => "count_reached",
    }
}

str_enum! {
    /// How often a rule scores.
    pub enum ScoreRepeat {
        /// The first time only.
        Once => "once",
        /// Every time (count rules: at every multiple of the threshold).
        Each => "each",
    }
}

str_enum! {
    /// What a `count_reached` rule counts.
    pub enum ScoreCounter {
        /// Every call with the contact.
        Calls => "calls",
        /// Calls answered.
        Answered => "answered",
        /// Inbound calls (answered or missed).
        Inbound => "inbound",
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRule {
    /// Unique in the set; names the rule in the ledger.
    pub key: String,
    /// Shown in the ledger.
    pub label: String,
    pub trigger: ScoreTrigger,
    pub repeat: ScoreRepeat,
    /// Points per award; negative allowed.
    pub points: i64,
    /// `disposition` rules: the disposition's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// `count_reached` rules: what is counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<ScoreCounter>,
    /// `count_reached` rules: the count that scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
    /// The group whose cap bounds this rule's points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A group of rules whose points together stay at most `cap` per contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreGroup {
    pub name: String,
    pub cap: i64,
}

/// A rule set as stored and as `PUT /v1/score-rules` sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRuleSet {
    /// At most this many points per contact in all.
    #[serde(default)]
    pub total_cap: Option<i64>,
    #[serde(default)]
    pub groups: Vec<ScoreGroup>,
    pub rules: Vec<ScoreRule>,
}

/// `GET /v1/score-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRules {
    /// Send it back in `PUT` so a concurrent change is refused.
    pub version: i64,
    #[serde(flatten)]
    pub set: ScoreRuleSet,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /v1/score-rules`: the new set and the version it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutScoreRules {
    pub version: i64,
    #[serde(default)]
    pub total_cap: Option<i64>,
    #[serde(default)]
    pub groups: Vec<ScoreGroup>,
    pub rules: Vec<ScoreRule>,
}

/// The answer to `PUT /v1/score-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRulesReplaced {
    pub rules: ScoreRules,
    /// The recompute the change started.
    pub recompute: ScoreRecompute,
}

/// One ledger row of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreEvent {
    pub seq: i64,
    pub rule_key: String,
    pub label: String,
    pub points: i64,
    /// The call that triggered it (for count rules: the call that reached
    /// the count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_record_id: Option<CallRecordId>,
    /// The rule-set version it was scored under.
    pub rule_version: i64,
    pub at: DateTime<Utc>,
}

str_enum! {
    /// Where a recompute is.
    pub enum ScoreRecomputeState {
        Running => "running",
        Done => "done",
        /// A later rule change started another recompute, which does the
        /// rest.
        Superseded => "superseded",
    }
}

/// `GET /v1/score-recomputes/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRecompute {
    pub id: ScoreRecomputeId,
    pub rule_version: i64,
    pub state: ScoreRecomputeState,
    pub contacts_total: i64,
    pub contacts_done: i64,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}
