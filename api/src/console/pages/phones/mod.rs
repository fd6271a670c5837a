//! `/admin/phones`: admins register desk phones, issue provisioning codes
//! (text and QR code), set who may bind them, bind them to a user, end
//! bindings, revoke credentials and disable phones. Every write is the
//! same use case the JSON API's `/v1/phones` routes call; another
//! organisation's phone id is the 404 page.

mod actions;
mod detail;
mod list;
mod qr;

pub use actions::{bind, issue_code, revoke, set_enabled, set_grants, unbind};
pub use detail::show;
pub use list::{index, register};

use deskbind_core::ids::PhoneId;

use crate::console::error::{ConsoleError, ConsoleResult};

/// A phone id from the path; anything unreadable is simply not found.
fn phone_id(raw: &str) -> ConsoleResult<PhoneId> {
    raw.parse().map_err(|_| ConsoleError::not_found())
}

/// Where a phone's page is.
fn phone_path(id: PhoneId) -> String {
    format!("/admin/phones/{id}")
}
