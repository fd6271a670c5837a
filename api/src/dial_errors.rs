//! How the dial repository's refusals read on the wire (docs/errors.md):
//! no usable binding is 409 (bind first), a blocklist refusal 403 with the
//! entry (`blocked_by`), an ambiguous or reused request 422.

use deskbind_core::time::to_datetime;
use deskbind_core::usecases::dial_authorisation::HoursRule;
use deskbind_core::usecases::dials::DialError;
use deskbind_core::wire::{BlocklistPattern, ErrorCode};

use crate::error::ApiError;

impl From<DialError> for ApiError {
    fn from(err: DialError) -> Self {
        match err {
            DialError::NoBinding => ApiError::Conflict {
                code: ErrorCode::NoBinding,
                detail: "you hold no desk phone; bind one first".into(),
            },
            DialError::NotHeld => ApiError::Conflict {
                code: ErrorCode::PhoneNotHeld,
                detail: "you do not hold this phone; bind it first".into(),
            },
            DialError::PhoneRequired => ApiError::Validation {
                code: ErrorCode::PhoneRequired,
                field: "phone_id".into(),
                detail: "you hold several phones; say which one dials".into(),
            },
            DialError::Blocked(by) => {
                // A whole-number entry is the do-not-call list of before
                // decision 0019; a prefix entry a blocked range.
                let (code, detail) = match by.pattern {
                    BlocklistPattern::Number => (
                        ErrorCode::NumberDoNotCall,
                        format!("the number is on the blocklist ({:?})", by.scope.as_str()),
                    ),
                    BlocklistPattern::Prefix => (
                        ErrorCode::NumberBlocked,
                        format!(
                            "numbers starting {} are on the blocklist ({:?})",
                            by.value,
                            by.scope.as_str()
                        ),
                    ),
                };
                ApiError::Blocked {
                    code,
                    detail,
                    by: Box::new(by),
                }
            }
            DialError::ClassNotAllowed { class, rule } => ApiError::DialRefused {
                code: ErrorCode::DialClassNotAllowed,
                detail: format!(
                    "{} numbers are not allowed for you ({} rule{})",
                    class.as_str(),
                    rule.scope.as_deref().unwrap_or("organisation"),
                    rule.role
                        .map(|r| format!(" for {}", r.as_str()))
                        .unwrap_or_default()
                ),
                rule: Box::new(rule),
                retry_at: None,
                now: 0,
            },
            DialError::OutsideHours {
                which,
                rule,
                retry_at,
                now,
            } => {
                let when = retry_at.map_or_else(
                    || "no allowed time within a year".to_owned(),
                    |at| format!("allowed from {}", to_datetime(at).to_rfc3339()),
                );
                let what = match which {
                    HoursRule::Caller => "outside your calling hours",
                    HoursRule::Callee => "outside the callee's local calling hours",
                };
                ApiError::DialRefused {
                    code: which.code(),
                    detail: format!("{what}; {when}"),
                    rule: Box::new(rule),
                    retry_at,
                    now,
                }
            }
            DialError::KeyReused => idempotency_key_reused(),
            DialError::Number(e) => e.into(),
            DialError::Repo(e) => e.into(),
        }
    }
}

/// A dial that has ended, failed, expired or been cancelled; `why` says which.
pub fn dial_finished(why: String) -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::DialFinished,
        detail: why,
    }
}

pub fn idempotency_key_reused() -> ApiError {
    ApiError::Validation {
        code: ErrorCode::IdempotencyKeyReused,
        field: "Idempotency-Key".into(),
        detail: "this key was used with a different request; use a new key per dial".into(),
    }
}

pub fn invalid_idempotency_key() -> ApiError {
    ApiError::Validation {
        code: ErrorCode::InvalidIdempotencyKey,
        field: "Idempotency-Key".into(),
        detail: "must be 1 to 255 visible ASCII characters".into(),
    }
}
