//! The phone channel (docs/phone-protocol.md): a WebSocket per phone
//! (`socket`), taken off actix's HTTP dispatcher after its handshake
//! (`takeover`) and ended as RFC 6455 asks (`closing`), a long-poll fallback (`long_poll`), the handling of what
//! phones send, shared by both (`frames`), and the per-node sweep that
//! resends unacknowledged dials (`redelivery`).

pub mod closing;
pub mod frames;
pub mod long_poll;
pub mod redelivery;
pub mod socket;
pub mod takeover;

use deskbind_core::db::DbConn;
use deskbind_core::ids::PhoneId;
use deskbind_core::repo::RepoError;
use deskbind_core::repo::dials;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::phone_frames;
use deskbind_core::wire::ServerFrame;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The dial frames of the phone's sendable commands.
pub async fn pending_frames(state: &AppState, phone: PhoneId) -> ApiResult<Vec<ServerFrame>> {
    state
        .db
        .run(move |conn| pending_in(conn, phone).map_err(ApiError::from))
        .await
}

/// What a connecting phone is sent first: its holder, then its pending
/// commands, read in one trip to the database.
pub async fn greeting(state: &AppState, phone: PhoneId) -> ApiResult<Vec<ServerFrame>> {
    state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let mut frames = vec![phone_frames::holder_frame(conn, phone)?];
            frames.extend(pending_in(conn, phone)?);
            Ok(frames)
        })
        .await
}

fn pending_in(conn: &mut DbConn, phone: PhoneId) -> Result<Vec<ServerFrame>, RepoError> {
    dials::pending_for_phone(conn, phone, now_micros())?
        .iter()
        .map(deskbind_core::usecases::phone_frames::dial_frame)
        .collect()
}
