//! The JSON shapes of the HTTP API, shared by the server and the client SDK.
//! These types have no database or crypto dependencies, so the SDK can use
//! them with `default-features = false`.

mod auth;
mod bindings;
mod page;
mod phones;
mod problem;
mod redact;
mod str_enum;
mod teams;
mod users;

pub use auth::*;
pub use bindings::*;
pub use page::*;
pub use phones::*;
pub use problem::*;
pub use teams::*;
pub use users::*;
