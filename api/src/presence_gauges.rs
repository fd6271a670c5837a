//! The `deskbind_presence_users{state}` gauges: how many enabled users are
//! in each presence state (docs/presence.md), recounted every
//! [`PERIOD`]. Every node counts the whole deployment (presence is shared
//! through Redis), so aggregate them with `max`, not `sum`.

use std::time::Duration;

use actix_web::web;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::presence;
use deskbind_core::wire::PresenceState;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub const PERIOD: Duration = Duration::from_secs(30);

/// Recounts until `cancel`.
pub async fn run(state: web::Data<AppState>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => refresh(&state).await,
        }
    }
}

/// Recounts once and sets the gauges.
pub async fn refresh(state: &AppState) {
    match presence::counts(&state.services(), now_micros()).await {
        Ok(counts) => {
            for s in PresenceState::ALL {
                let n = counts.get(s).copied().unwrap_or(0);
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!("deskbind_presence_users", "state" => s.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count presences"),
    }
}
