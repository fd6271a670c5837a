//! deskbind-mobile: the client SDK for the mobile app (`AppClient`) and for
//! Android desk phones (`PhoneClient`). Pure Rust over reqwest; the UniFFI
//! export wraps these types in a later step. The integration tests of the
//! API drive the server through this crate, so it is exercised on every run.

mod app;
mod error;
mod http;
mod phone;

pub use app::{AppClient, BindingEventQuery, BindingQuery, PageQuery};
pub use deskbind_core::ids;
/// The NDEF codec of NFC binding tokens, shared by the app and the phone.
pub use deskbind_core::nfc;
pub use deskbind_core::wire;
pub use error::ClientError;
pub use phone::PhoneClient;

pub type Result<T> = std::result::Result<T, ClientError>;
