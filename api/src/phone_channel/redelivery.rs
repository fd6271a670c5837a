//! The per-node redelivery sweep: every 2 s, queued commands older than
//! 5 s and still unexpired are sent again to their phone
//! if it is connected to this node. It covers a dial frame lost between
//! nodes (Redis pub/sub is at-most-once) or sent to a connection that died
//! before the phone acked. The phone dedupes by command id.

use std::time::Duration;

use actix_web::web;
use deskbind_core::repo::RepoError;
use deskbind_core::time::{Micros, now_micros};
use deskbind_core::usecases::dial_sweeps;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub const INTERVAL: Duration = Duration::from_secs(2);
/// Only commands this old are resent: younger ones are most likely acked
/// and merely not committed yet (resending them under load would only add
/// duplicate frames).
const UNACKED_FOR: Duration = Duration::from_secs(5);

pub async fn run(state: web::Data<AppState>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => {
                if let Err(e) = sweep(&state).await {
                    tracing::warn!(error = %e, "dial redelivery sweep failed");
                }
            }
        }
    }
}

/// One pass over this node's phones; returns how many frames it resent.
pub async fn sweep(state: &AppState) -> Result<usize, RepoError> {
    let local = state.relay.local_phone_ids();
    let now = now_micros();
    let older_than = now - Micros::try_from(UNACKED_FOR.as_micros()).unwrap_or(5_000_000);
    let resent = dial_sweeps::redeliver(&state.services(), &local, older_than, now).await?;
    if resent > 0 {
        tracing::debug!(resent, "unacknowledged dials resent");
    }
    Ok(resent)
}
