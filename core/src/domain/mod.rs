//! Parse-don't-validate domain values. Request DTOs become these before any
//! database work, and each failure names the request field at fault.

pub mod api_keys;
pub mod audio;
pub mod audio_structure;
pub mod binding_policy;
pub mod binding_rules;
pub mod blocklist;
pub mod call_facts;
pub mod call_lists;
pub mod call_outcomes;
pub mod call_rollup;
pub mod call_stats;
pub mod call_task_outcomes;
pub mod calling_hours;
pub mod contacts;
pub mod country_zones;
pub mod dial_class;
pub mod dial_lifecycle;
pub mod dial_policy;
pub mod dial_rules;
mod email;
pub mod number_search;
pub mod periods;
pub mod phone_models;
mod phone_number;
pub mod presence;
pub mod push_message;
pub mod push_schedule;
pub mod recording_link;
pub mod retry_policy;
pub mod score_increments;
pub mod scoring;
pub mod team_stats;
mod text;
pub mod webhook_retries;
pub mod webhook_signature;
pub mod webhook_targets;

pub use email::Email;
pub use phone_number::{DialNumber, E164, Region, best_effort_e164, region_of};
pub use text::{NonBlank, Password, TimeZoneName};

use crate::wire::ErrorCode;

/// A request field that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    /// Stable machine code, e.g. `invalid_email`.
    pub code: ErrorCode,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
