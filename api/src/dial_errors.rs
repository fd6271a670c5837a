//! How the dial repository's refusals read on the wire (docs/errors.md):
//! no usable binding is 409 (bind first), a policy refusal 403 with the
//! rule, an ambiguous or reused request 422.

use deskbind_core::domain::dial_policy::Refusal;
use deskbind_core::usecases::dials::DialError;
use deskbind_core::wire::ErrorCode;

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
            DialError::Refused(Refusal::DoNotCall) => ApiError::Denied {
                code: ErrorCode::NumberDoNotCall,
                detail: "the number is on the organisation's do-not-call list".into(),
            },
            DialError::Refused(Refusal::BlockedPrefix(prefix)) => ApiError::Denied {
                code: ErrorCode::NumberBlocked,
                detail: format!("numbers starting {prefix} are blocked by the dial policy"),
            },
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
