//! UniFFI bindings of the deskbind client SDK: [`AppClient`] for the mobile
//! app, [`PhoneClient`] for Android desk phones, the NFC codec, and one
//! error type, [`DeskbindError`]. A thin layer over `deskbind-mobile`, which
//! holds the logic and is what the Rust integration tests drive; this crate
//! only converts types and runs the futures on tokio. `scripts/sdk`
//! generates Kotlin (`com.deskbind.sdk`), Swift (`DeskbindSDK`) and Python
//! (`deskbind`) from the built library (docs/sdk.md).

mod app;
mod audit;
mod blocklist;
mod call_lists;
mod call_outcomes;
mod contacts;
mod dial_check;
mod error;
mod exports;
mod lists;
mod nfc;
mod phone;
mod policies;
mod presence;
mod queue;
mod scoring;
mod types;

pub use app::{AppClient, AppEventListener, EventSubscription, TokenStore};
pub use error::DeskbindError;
pub use lists::*;
pub use phone::{DialCommand, PhoneClient, PhoneCommandListener, PhoneConnection};
pub use policies::*;
pub use presence::*;
pub use types::*;

uniffi::setup_scaffolding!();
