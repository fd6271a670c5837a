//! The two sweeps over dial commands: the worker's expiry sweep, which
//! marks queued commands past their expiry `expired`, and each API node's
//! redelivery, which sends unacknowledged commands again to the phones
//! connected to it (a dial frame lost between nodes, Redis pub/sub being
//! at-most-once, or sent to a connection that died before the phone
//! acked). The phone dedupes by command id.

use super::{AfterCommit, Services, audit, dials, phone_frames};
use crate::ids::PhoneId;
use crate::repo::RepoError;
use crate::repo::dials as dial_rows;
use crate::repo::dials::DialRow;
use crate::time::Micros;
use crate::wire::DialState;

/// Phones per redelivery query (bound parameters stay well under SQLite's
/// limit).
const PHONES_PER_QUERY: usize = 500;

/// Marks at most `limit` queued commands past their expiry `expired`, each
/// in its own transaction (an ack racing the sweep wins or loses whole),
/// and wakes their users' streams; returns those it changed. (Delivery
/// already refuses expired commands; this makes their state say so.)
pub async fn expire_due(
    services: &Services,
    now: Micros,
    limit: i64,
) -> Result<Vec<DialRow>, RepoError> {
    let due = services
        .db
        .run(move |conn| dial_rows::due_to_expire(conn, now, limit))
        .await?;
    let mut expired = Vec::new();
    for row in due {
        let to = DialState::Expired;
        let moved = services
            .db
            .write(move |conn| {
                let change = dials::Change {
                    to,
                    failure: None,
                    by: &audit::by_system(),
                    now,
                };
                dials::apply_state(conn, &row, &change)
            })
            .await?;
        expired.extend(moved);
    }
    let mut after = AfterCommit::new();
    for row in &expired {
        after.extend(dials::changed(row)?);
    }
    after.run(services).await;
    Ok(expired)
}

/// Sends again the sendable commands of `phones` created before
/// `created_before`; returns how many frames it sent.
pub async fn redeliver(
    services: &Services,
    phones: &[PhoneId],
    created_before: Micros,
    now: Micros,
) -> Result<usize, RepoError> {
    let mut resent = 0;
    for chunk in phones.chunks(PHONES_PER_QUERY) {
        let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        let rows = services
            .db
            .run(move |conn| dial_rows::unacknowledged(conn, &ids, created_before, now))
            .await?;
        let mut after = AfterCommit::new();
        for row in &rows {
            after.send_to_phone(row.phone()?, phone_frames::dial_frame(row)?);
        }
        resent += rows.len();
        after.run(services).await;
    }
    Ok(resent)
}
