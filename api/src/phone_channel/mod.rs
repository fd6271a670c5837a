//! The phone channel (docs/phone-protocol.md): a WebSocket per phone
//! (`socket`), a long-poll fallback (`long_poll`), the handling of what
//! phones send, shared by both (`frames`), and the per-node sweep that
//! resends unacknowledged dials (`redelivery`).

pub mod frames;
pub mod long_poll;
pub mod redelivery;
pub mod socket;

use deskbind_core::ids::PhoneId;
use deskbind_core::repo::dials;
use deskbind_core::time::now_micros;
use deskbind_core::wire::ServerFrame;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The dial frames of the phone's queued, unexpired commands.
pub async fn pending_frames(state: &AppState, phone: PhoneId) -> ApiResult<Vec<ServerFrame>> {
    state
        .db
        .run(move |conn| {
            dials::pending_for_phone(conn, phone, now_micros())?
                .iter()
                .map(crate::dispatch::dial_frame)
                .collect::<Result<Vec<_>, _>>()
                .map_err(ApiError::from)
        })
        .await
}
