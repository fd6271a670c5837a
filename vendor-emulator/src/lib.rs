//! Emulated vendor desk phones for tests (docs/vendor-phones.md): a
//! Yealink, Snom, Grandstream or Fanvil phone's HTTP commands with its
//! login, lock-out, allow-list and remote-control prompt, and its Action
//! URLs called back from the configuration deskbind issues, with each
//! firmware's own variables. No hardware runs here; these follow the
//! vendors' documented wire formats.

pub mod config;
pub mod firmware;
pub mod phone;

pub use firmware::{CallInfo, Command, PhoneEvent};
pub use phone::{EmulatedPhone, Handled, LOCKOUT_AFTER, Received};
