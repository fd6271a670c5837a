//! `/admin/phones`: admins register desk phones (with a vendor driver and
//! model, or none), issue provisioning codes (text and QR code), set who
//! may bind them, bind them to a user, end bindings, revoke credentials,
//! disable phones, and configure vendor desk phones (the snippet to paste,
//! direct mode's token). Every write is the same use case the JSON API's
//! `/v1/phones` routes call; another organisation's phone id is the 404
//! page.

mod actions;
mod detail;
mod driver_choice;
mod driver_edit;
mod link_health;
mod list;
mod qr;
mod vendor_config;
mod vendor_token;

pub use actions::{bind, issue_code, revoke, set_enabled, set_grants, unbind};
pub use detail::show;
pub use driver_edit::set_driver;
pub use list::{index, register};
pub use vendor_token::{issue_vendor_token, revoke_vendor_token};

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
