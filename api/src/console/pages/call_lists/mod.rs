//! `/call-lists`: the call lists of docs/call-lists.md for managers (the
//! lists they own) and admins (every list of the organisation); a
//! salesperson gets the 403 page, another organisation's list (or another
//! manager's) the 404 page, as in the JSON API, whose use cases these
//! pages call.
//!
//! - [`index`]: the lists, paged, and the "New list" form (a draft).
//! - [`detail`]: one list: settings, state moves, report, tasks.
//! - [`actions`]: the list page's forms: state moves, CSV upload, reassign.
//! - [`stream`]: the report kept live on the list page (server-sent
//!   events, woken like the live board).

pub mod actions;
pub mod detail;
pub mod index;
mod pickers;
mod report;
mod stream;

pub use stream::events;

use deskbind_core::usecases::call_lists::Manager;

use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;

/// Who manages, as the use cases take it; salespeople: the 403 page.
pub(crate) fn manager(user: &ConsoleUser) -> ConsoleResult<Manager> {
    if !user.is_manager_or_admin() {
        return Err(ConsoleError::forbidden());
    }
    Ok(Manager {
        org: user.auth.org_id,
        user: user.auth.user_id,
        role: user.auth.role,
    })
}
