//! `GET /v1/audit-events`: the organisation's audit log (docs/audit.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bindings::Actor;
use super::str_enum::str_enum;
use crate::ids::UserId;

str_enum! {
    /// What an audit entry records. The part before the dot is the kind of
    /// subject it is about.
    pub enum AuditAction {
        /// A binding started (`details`: phone_id, via).
        BindingBound => "binding.bound",
        /// A binding ended (`details`: phone_id, reason, previous_user_id).
        BindingEnded => "binding.ended",
        /// A dial command was placed (`details`: phone_id, number).
        DialCreated => "dial.created",
        /// A dial command was cancelled (`details`: from).
        DialCancelled => "dial.cancelled",
        /// A dial command moved to another state (`details`: from, to,
        /// failure).
        DialStateChanged => "dial.state_changed",
        /// The users granted a phone were replaced (`details`: user_ids).
        GrantsReplaced => "grants.replaced",
        /// The dial policy was replaced (`details`: the new counts).
        DialPolicyReplaced => "dial_policy.replaced",
        /// The binding policy was replaced (`details`: the new policy).
        BindingPolicyReplaced => "binding_policy.replaced",
        /// The organisation's default push schedule was replaced.
        PushDefaultReplaced => "push_default.replaced",
        /// A blocklist or allow-list entry was added (`details`: kind,
        /// scope, pattern, value, label, reason, team_id).
        BlocklistEntryAdded => "blocklist.entry_added",
        /// An entry's kind, label, reason or expiry changed (`details`: the
        /// entry as it is now).
        BlocklistEntryChanged => "blocklist.entry_changed",
        /// An entry was removed (`details`: the entry as it was).
        BlocklistEntryRemoved => "blocklist.entry_removed",
        /// A contact was merged into another and deleted (`details`:
        /// into, from, and the numbers, calls and dials moved).
        ContactMerged => "contact.merged",
        /// The score rules were replaced (`details`: version, rules,
        /// recompute_id).
        ScoreRulesReplaced => "score_rules.replaced",
        /// The dial authorisation rules were replaced (`details`: version,
        /// rules).
        DialRulesReplaced => "dial_rules.replaced",
        /// A manager moved a user's unfinished tasks of a call list
        /// (`details`: from_user_id, to_user_id or to_team_id or to_pool,
        /// moved).
        CallTasksReassigned => "call_list.tasks_reassigned",
        /// An admin created an API key (`details`: name, scopes, prefix).
        ApiKeyCreated => "api_key.created",
        /// An admin revoked an API key (`details`: name, prefix).
        ApiKeyRevoked => "api_key.revoked",
        /// An admin issued (or replaced) a vendor phone's direct-mode event
        /// token (`details`: vendor, mac).
        VendorTokenIssued => "phone.vendor_token_issued",
        /// An admin ended a vendor phone's direct mode.
        VendorTokenRevoked => "phone.vendor_token_revoked",
        /// An admin registered a webhook endpoint (`details`: url,
        /// event_types).
        WebhookEndpointCreated => "webhook_endpoint.created",
        /// An admin changed an endpoint (`details`: the endpoint as it is
        /// now: url, event_types, disabled).
        WebhookEndpointChanged => "webhook_endpoint.changed",
        /// An admin deleted an endpoint (`details`: url).
        WebhookEndpointDeleted => "webhook_endpoint.deleted",
        /// An admin rotated an endpoint's secret (`details`:
        /// overlap_hours).
        WebhookSecretRotated => "webhook_endpoint.secret_rotated",
        /// deskbind disabled an endpoint that answered 410 Gone
        /// (`details`: url, status).
        WebhookEndpointGone => "webhook_endpoint.gone",
        /// An admin changed the organisation's retention (`details`:
        /// call_record_days, recording_days; null follows the default).
        RetentionChanged => "retention.changed",
        /// The worker purged what passed its retention (`details`:
        /// call_records, recordings, recording_bytes, archive_parts).
        RetentionPurged => "retention.purged",
        /// An admin downloaded a month of the call archive (`details`:
        /// month, records, size_bytes).
        ArchiveDownloaded => "archive.downloaded",
        /// An admin placed a legal hold (`details`: subject_type,
        /// subject_id, reason).
        LegalHoldPlaced => "legal_hold.placed",
        /// An admin released a legal hold (`details`: subject_type,
        /// subject_id).
        LegalHoldReleased => "legal_hold.released",
    }
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSubject {
    /// `binding`, `dial`, `phone`, `organisation`, `blocklist_entry`,
    /// `call_list`, `api_key`, `webhook_endpoint` or `legal_hold`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Increases with every entry: the log's order and its page cursor.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    pub subject: AuditSubject,
    /// The user the entry concerns (a dial's caller, a binding's holder);
    /// managers see the entries of their teams' members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Who made the change.
    pub actor: Actor,
    /// Facts of the change; the keys depend on `action`.
    pub details: serde_json::Map<String, serde_json::Value>,
}
