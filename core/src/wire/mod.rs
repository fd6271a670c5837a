//! The JSON shapes of the HTTP API, shared by the server and the client SDK.
//! These types have no database or crypto dependencies, so the SDK can use
//! them with `default-features = false`.

mod api_keys;
mod app_events;
mod audit;
mod auth;
mod bindings;
mod blocklist;
mod call_list_attempts;
mod call_list_completions;
mod call_lists;
mod call_outcomes;
mod calls;
mod contacts;
mod dial_rules;
mod dials;
mod error_code;
mod page;
mod phone_protocol;
mod phones;
mod presence;
mod problem;
mod push;
mod redact;
mod retention;
mod scoring;
mod str_enum;
mod teams;
mod users;
mod webhooks;

pub use api_keys::*;
pub use app_events::*;
pub use audit::*;
pub use auth::*;
pub use bindings::*;
pub use blocklist::*;
pub use call_list_attempts::*;
pub use call_list_completions::*;
pub use call_lists::*;
pub use call_outcomes::*;
pub use calls::*;
pub use contacts::*;
pub use dial_rules::*;
pub use dials::*;
pub use error_code::ErrorCode;
pub use page::*;
pub use phone_protocol::*;
pub use phones::*;
pub use presence::*;
pub use problem::*;
pub use push::*;
pub use retention::*;
pub use scoring::*;
pub use teams::*;
pub use users::*;
pub use webhooks::*;
