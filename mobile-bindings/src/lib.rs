//! deskbind-mobile: the client SDK for the mobile app (`AppClient`) and for
//! Android desk phones (`PhoneClient`). Pure Rust over reqwest; the UniFFI
//! export wraps these types in a later step. The integration tests of the
//! API drive the server through this crate, so it is exercised on every run.

mod app;
mod app_api_keys;
mod app_audit;
mod app_blocklist;
mod app_call_lists;
mod app_call_outcomes;
mod app_calls;
mod app_contacts;
mod app_dials;
mod app_events;
mod app_exports;
mod app_presence;
mod app_push;
mod app_recordings;
mod app_retention;
mod app_scoring;
mod app_vendor_phones;
mod backoff;
mod error;
mod http;
mod phone;
mod phone_link;
mod phone_nfc_dial;
mod phone_records;
mod record_batches;
mod recording_upload;

pub use app::{AppClient, BindingEventQuery, BindingQuery, PageQuery, TokenListener};
pub use app_audit::AuditQuery;
pub use app_blocklist::{BlocklistQuery, BlocklistVerdict};
pub use app_calls::CallQuery;
pub use app_contacts::ContactQuery;
pub use app_dials::DialQuery;
pub use app_events::AppEvents;
pub use app_presence::PresenceQuery;
pub use app_recordings::RelayedCall;
pub use deskbind_core::ids;
/// The NDEF codec of NFC binding tokens and dial payloads, shared by the
/// app and the phone.
pub use deskbind_core::nfc;
pub use deskbind_core::wire;
pub use error::ClientError;
pub use phone::PhoneClient;
pub use phone_link::{LinkOptions, LinkState, PhoneCommand, PhoneLink, PhoneReporter};
pub use phone_nfc_dial::{DialKeyring, NfcDial, NfcDialError};
pub use recording_upload::{PRESIGNED_FROM_BYTES, file_digest};

pub type Result<T> = std::result::Result<T, ClientError>;
