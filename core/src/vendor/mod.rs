//! Desk phones from other vendors (docs/vendor-phones.md): which ones
//! deskbind drives and what they can do (`catalog`), the HTTP requests that
//! tell them to act (`commands`), the Action URLs they call back
//! (`action_urls`, `events`), and the state machine that turns those calls
//! into deskbind's own phone protocol and call records (`tracker`).
//!
//! Pure code without I/O, built in every shape of the crate: the server's
//! direct mode and the office relay (`deskbind-relay`) share it.

pub mod action_urls;
pub mod catalog;
pub mod commands;
pub mod events;
pub mod numbers;
pub mod tracker;

#[cfg(test)]
mod tracker_tests;

pub use catalog::{Capability, Driving, SDK_CAPABILITIES, Vendor};
pub use commands::{Command, CommandOutcome, PhoneLogin, PhoneRequest, Refused, RequestAuth};
pub use events::{EventError, EventKind, VendorEvent};
pub use tracker::{CallTracker, Effect, TrackerConfig};
