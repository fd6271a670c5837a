//! What follows a change, once it is committed: the frame to the phone and
//! the wake to the user's event streams. Both are best effort on purpose:
//! the change itself and the user's event are already in the database, a
//! phone that misses a dial frame gets it on reconnect or from the
//! redelivery sweep, and a stream that misses a wake re-reads on its
//! keep-alive.

use deskbind_core::relay::Relay;
use deskbind_core::repo::RepoError;
use deskbind_core::repo::dials::DialRow;
use deskbind_core::wire::{DialState, HangupReason, ServerFrame};

pub use deskbind_core::usecases::phone_frames::dial_frame;

/// After a command changed: the phone hears what it must act on, the user's
/// streams wake.
pub async fn dial_changed(relay: &Relay, row: &DialRow) -> Result<(), RepoError> {
    let phone = row.phone()?;
    match row.state()? {
        DialState::Queued => relay.send_to_phone(phone, dial_frame(row)?).await,
        DialState::Cancelled => {
            let frame = ServerFrame::Hangup {
                command_id: row.dial_id()?,
                reason: HangupReason::Cancelled,
            };
            relay.send_to_phone(phone, frame).await;
        }
        _ => {}
    }
    relay.wake_user(row.user()?).await;
    Ok(())
}
