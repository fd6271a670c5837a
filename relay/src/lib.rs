//! `deskbind-relay`: runs on the office LAN and drives Yealink, Snom,
//! Grandstream and Fanvil desk phones for deskbind (docs/vendor-phones.md,
//! "The relay"). Each configured phone is a deskbind phone with its own
//! credential and its own outbound link (the SDK's `PhoneLink`), so the
//! server needs no path into the office and treats the phone like any
//! other. Dial and hangup commands become the vendor's HTTP request to the
//! phone's LAN address; the phones' Action URLs come to the relay, whose
//! call tracker turns them into dial progress, line state, screen pops and
//! call records, kept on disk until the server confirms them.

pub mod agent;
pub mod clock;
pub mod config;
pub mod lan;
pub mod phone_http;
pub mod relay;
pub mod status;
pub mod store;

pub use clock::RelayClock;
pub use config::{ConfigError, PhoneConfig, RelayConfig};
pub use relay::{Relay, RelayOptions, StartError, phone_snippet};
pub use status::PhoneStatus;
