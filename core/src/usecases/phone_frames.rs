//! The frames a phone is sent about stored state: a queued dial command,
//! and who holds the phone now. Used after commits and when a phone
//! connects (which repeats both, so a missed notice is caught up).

use crate::db::DbConn;
use crate::ids::PhoneId;
use crate::repo::RepoError;
use crate::repo::bindings;
use crate::repo::dials::DialRow;
use crate::time::to_datetime;
use crate::wire::{BoundUser, ServerFrame};

/// The `dial` frame of a stored command.
pub fn dial_frame(row: &DialRow) -> Result<ServerFrame, RepoError> {
    Ok(ServerFrame::Dial {
        command_id: row.dial_id()?,
        number: row.number.clone(),
        created_at: to_datetime(row.created_at),
        expires_at: to_datetime(row.expires_at),
    })
}

/// The phone's current holder as a `binding` frame.
pub fn holder_frame(conn: &mut DbConn, phone: PhoneId) -> Result<ServerFrame, RepoError> {
    let key = phone.to_string();
    let user = bindings::holders(conn, std::slice::from_ref(&key))?
        .into_values()
        .next()
        .map(|h| BoundUser {
            id: h.user_id,
            display_name: h.display_name,
        });
    Ok(ServerFrame::Binding { user })
}
