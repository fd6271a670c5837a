use serde::{Deserialize, Serialize};

/// An RFC 9457 problem document. `code` is the stable machine-readable value
/// clients branch on; `title` and `detail` are for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field at fault, for validation problems (e.g. `email`, `number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait, for `rate_limited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The blocklist entry that refused a dial (`number_blocked`,
    /// `number_do_not_call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<super::BlockedBy>,
    /// The other contact, for `contact_number_taken` and `external_id_taken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The dial authorisation rule that refused a dial
    /// (`dial_class_not_allowed`, `outside_calling_hours`,
    /// `outside_callee_hours`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<super::DialRuleRef>,
    /// When a dial refused by hours would next be allowed (`retry_after`
    /// then says the same in seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

pub fn problem_type_uri(code: &str) -> String {
    format!("urn:deskbind:problem:{code}")
}
