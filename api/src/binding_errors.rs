//! How the binding repository's errors read on the wire, next to
//! `From<RepoError>` in spirit: handlers just use `?`. Policy refusals are
//! 403 with the rule's code; token problems 400 (409 when already spent).

use deskbind_core::repo::binding_tokens::TokenProblem;
use deskbind_core::usecases::bindings::{BindError, UnbindError};
use deskbind_core::usecases::grants::GrantError;
use deskbind_core::wire::ErrorCode;

use crate::error::ApiError;

impl From<BindError> for ApiError {
    fn from(err: BindError) -> Self {
        match err {
            BindError::Denied(denial) => ApiError::Denied {
                code: denial.code(),
                detail: denial.detail().into(),
            },
            BindError::Token(TokenProblem::Invalid) => binding_token_invalid(),
            BindError::Token(TokenProblem::Expired) => ApiError::BadRequest {
                code: ErrorCode::BindingTokenExpired,
                detail: "the token expired; ask the phone for a new one".into(),
            },
            BindError::Token(TokenProblem::Used) => ApiError::Conflict {
                code: ErrorCode::BindingTokenUsed,
                detail: "the token was already redeemed; ask the phone for a new one".into(),
            },
            BindError::PhoneNotFound | BindError::UserNotFound => ApiError::NotFound,
            BindError::CredentialRevoked => ApiError::invalid_token(),
            BindError::Repo(e) => e.into(),
        }
    }
}

impl From<UnbindError> for ApiError {
    fn from(err: UnbindError) -> Self {
        match err {
            UnbindError::NotFound => ApiError::NotFound,
            UnbindError::AlreadyEnded => ApiError::Conflict {
                code: ErrorCode::BindingAlreadyEnded,
                detail: "this binding has already ended".into(),
            },
            UnbindError::Repo(e) => e.into(),
        }
    }
}

impl From<GrantError> for ApiError {
    fn from(err: GrantError) -> Self {
        match err {
            GrantError::UnknownGrantee { field, index } => ApiError::Validation {
                code: ErrorCode::UnknownGrantee,
                field: format!("{field}[{index}]"),
                detail: "no such user or team in this organisation".into(),
            },
            GrantError::Repo(e) => e.into(),
        }
    }
}

pub fn binding_token_invalid() -> ApiError {
    ApiError::BadRequest {
        code: ErrorCode::BindingTokenInvalid,
        detail: "the token is not one of ours; read it from the phone again".into(),
    }
}

/// One answer for every failed code: a code may be a guess, so it learns
/// nothing about why it failed.
pub fn binding_code_invalid() -> ApiError {
    ApiError::BadRequest {
        code: ErrorCode::BindingCodeInvalid,
        detail: "the code is wrong, used or expired; check the phone's display".into(),
    }
}
