//! The NFC payload codec: the NDEF message a phone emulates for its binding
//! token, and reading it back on the app's side.

use crate::error::{Result, local};

/// The NDEF message (bytes) carrying `token`.
#[uniffi::export]
pub fn encode_binding_token_ndef(token: String) -> Result<Vec<u8>> {
    deskbind_mobile::nfc::encode_binding_token(&token).map_err(local)
}

/// The binding token in an NDEF message read from a phone.
#[uniffi::export]
pub fn decode_binding_token_ndef(ndef: Vec<u8>) -> Result<String> {
    deskbind_mobile::nfc::decode_binding_token(&ndef).map_err(local)
}
