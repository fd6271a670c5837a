//! What follows a change, once it is committed: the frame to the phone and
//! the wake to the user's event streams. Both are best effort on purpose:
//! the change itself and the user's event are already in the database, a
//! phone that misses a dial frame gets it on reconnect or from the
//! redelivery sweep, and a stream that misses a wake re-reads on its
//! keep-alive.

use deskbind_core::ids::{PhoneId, UserId};
use deskbind_core::relay::{CloseReason, Relay};
use deskbind_core::repo::bindings::BindingRow;

use crate::error::ApiError;
use crate::state::AppState;

pub use deskbind_core::usecases::phone_frames::{dial_frame, holder_frame};

/// After a binding started or ended through the API: the phone learns its
/// holder now, the holder's streams wake. (Ids come from the database; an
/// unreadable one only costs the notice, which the next connect repeats.)
pub async fn binding_changed(state: &AppState, row: &BindingRow) {
    if let Ok(user) = row.user_id.parse::<UserId>() {
        state.relay.wake_user(user).await;
    }
    let Ok(phone) = row.phone_id.parse::<PhoneId>() else {
        return;
    };
    let frame = state
        .db
        .run(move |conn| holder_frame(conn, phone).map_err(ApiError::from))
        .await;
    match frame {
        Ok(frame) => state.relay.send_to_phone(phone, frame).await,
        Err(e) => tracing::warn!(%phone, error = %e, "cannot tell the phone its holder"),
    }
}

/// A phone that lost its credential or was disabled is disconnected at once.
pub async fn phone_revoked(relay: &Relay, phone: PhoneId) {
    relay.close_phone(phone, CloseReason::Revoked).await;
}
