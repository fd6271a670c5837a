//! The one error type every binding sees, sorted by what the app should do
//! about it; `code` is the server's stable machine code (docs/errors.md).

use deskbind_mobile::ClientError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DeskbindError {
    /// The server could not be reached or the connection broke: retry later.
    #[error("network: {message}")]
    Network { message: String },
    /// Not signed in, or the session ended: sign in again.
    #[error("unauthorized ({code})")]
    Unauthorized { code: String },
    /// Signed in, but not allowed; `code` says why (e.g. `not_granted`).
    #[error("forbidden ({code}): {message}")]
    Forbidden { code: String, message: String },
    /// No such thing, or it belongs to another organisation.
    #[error("not found")]
    NotFound,
    /// A value was refused; `field` names it when the server did.
    #[error("invalid ({code}) {field:?}: {message}")]
    Validation {
        code: String,
        field: Option<String>,
        message: String,
    },
    /// The request conflicts with the current state (e.g. `binding_token_used`).
    #[error("conflict ({code}): {message}")]
    Conflict { code: String, message: String },
    /// Too many attempts: wait this long.
    #[error("rate limited; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The server failed, or answered something this SDK cannot read.
    #[error("server ({status}): {message}")]
    Server { status: u16, message: String },
    /// A local file could not be read or written, or an argument was bad.
    #[error("local: {message}")]
    Local { message: String },
}

impl From<ClientError> for DeskbindError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Network(message) => Self::Network { message },
            ClientError::NotLoggedIn => Self::Unauthorized {
                code: "not_logged_in".into(),
            },
            ClientError::Decode(message) => Self::Server { status: 0, message },
            ClientError::BaseUrl(message) | ClientError::Io(message) => Self::Local { message },
            // The NDEF message read over NFC is the bad value.
            ClientError::NfcDial(refused) => Self::Validation {
                code: refused.code().to_owned(),
                field: Some("ndef".into()),
                message: refused.to_string(),
            },
            ClientError::Api { problem } => {
                let message = problem.detail.clone().unwrap_or(problem.title.clone());
                let code = problem.code.clone();
                match problem.status {
                    401 => Self::Unauthorized { code },
                    403 => Self::Forbidden { code, message },
                    404 => Self::NotFound,
                    409 => Self::Conflict { code, message },
                    429 => Self::RateLimited {
                        retry_after_secs: problem.retry_after.unwrap_or(1),
                    },
                    400..=499 => Self::Validation {
                        code,
                        field: problem.field.clone(),
                        message,
                    },
                    status => Self::Server { status, message },
                }
            }
        }
    }
}

pub type Result<T> = std::result::Result<T, DeskbindError>;

/// A JSON argument the SDK could not read (`field` names it, when it is one).
pub(crate) fn malformed_json(field: Option<&str>, error: serde_json::Error) -> DeskbindError {
    DeskbindError::Validation {
        code: "malformed_json".into(),
        field: field.map(str::to_owned),
        message: error.to_string(),
    }
}

pub(crate) fn local(message: impl std::fmt::Display) -> DeskbindError {
    DeskbindError::Local {
        message: message.to_string(),
    }
}
