use deskbind_core::wire::Problem;

use crate::phone_nfc_dial::NfcDialError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached or the connection broke.
    #[error("network: {0}")]
    Network(String),
    /// The server answered with a problem document.
    #[error("{} {}: {}", .problem.status, .problem.code, .problem.detail.as_deref().unwrap_or(&.problem.title))]
    Api { problem: Box<Problem> },
    /// The server answered something this SDK cannot read.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// A call that needs a login was made before one.
    #[error("not logged in")]
    NotLoggedIn,
    #[error("invalid base URL: {0}")]
    BaseUrl(String),
    /// A local file could not be read or written.
    #[error("file: {0}")]
    Io(String),
    /// The phone refused an NFC dial payload (see [`NfcDialError::code`]).
    #[error("NFC dial refused: {0}")]
    NfcDial(#[from] NfcDialError),
}

impl ClientError {
    /// The server's stable error code, for API errors; the SDK's own for
    /// refused NFC dial payloads.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { problem } => Some(&problem.code),
            Self::NfcDial(e) => Some(e.code()),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { problem } => Some(problem.status),
            _ => None,
        }
    }

    /// The field at fault, for validation errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Api { problem } => problem.field.as_deref(),
            _ => None,
        }
    }
}
