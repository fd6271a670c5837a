//! At most [`MAX_STREAMS_PER_USER`] live-board streams per person on one
//! API node: each holds a connection and re-reads the board on every wake.
//!
//! A browser that closes a tab or reloads does not tell the server; its
//! stream is only noticed gone at a later write (a keep-alive or two). So
//! refusing the newest stream would lock out someone who reloaded a few
//! times. Instead the newest is admitted and the oldest is told to end
//! (its `end` event says why, and live.js does not reconnect it): the
//! count stays bounded and a live tab that lost its place says so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use deskbind_core::ids::UserId;
use tokio_util::sync::CancellationToken;

/// A few tabs; more is a leak or a script.
pub const MAX_STREAMS_PER_USER: usize = 4;

#[derive(Debug)]
struct Slot {
    serial: u64,
    evict: CancellationToken,
}

static OPEN: LazyLock<Mutex<HashMap<UserId, Vec<Slot>>>> = LazyLock::new(Default::default);
static SERIAL: AtomicU64 = AtomicU64::new(0);

fn open() -> std::sync::MutexGuard<'static, HashMap<UserId, Vec<Slot>>> {
    // Every operation is one push or removal: a panic cannot leave the
    // map half-changed, so poisoning is ignored.
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// One open stream of a user; dropping it gives the place back.
#[derive(Debug)]
pub struct Permit {
    user: UserId,
    serial: u64,
    /// Cancelled when a newer stream of the user took this one's place.
    pub evicted: CancellationToken,
}

/// A place for a new stream; the user's oldest is told to end if all
/// places were taken.
pub fn acquire(user: UserId) -> Permit {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let evicted = CancellationToken::new();
    let mut open = open();
    let slots = open.entry(user).or_default();
    while slots.len() >= MAX_STREAMS_PER_USER {
        let oldest = slots.remove(0);
        oldest.evict.cancel();
    }
    slots.push(Slot {
        serial,
        evict: evicted.clone(),
    });
    Permit {
        user,
        serial,
        evicted,
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = open();
        if let Some(slots) = open.get_mut(&self.user) {
            slots.retain(|s| s.serial != self.serial);
            if slots.is_empty() {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_stream_gives_way_and_places_return_on_drop() {
        let (me, other) = (UserId::new(), UserId::new());
        let mine: Vec<Permit> = (0..MAX_STREAMS_PER_USER).map(|_| acquire(me)).collect();
        assert!(mine.iter().all(|p| !p.evicted.is_cancelled()));
        let newest = acquire(me);
        assert!(mine[0].evicted.is_cancelled());
        assert!(mine[1..].iter().all(|p| !p.evicted.is_cancelled()));
        let theirs = acquire(other);
        assert!(!theirs.evicted.is_cancelled());
        drop(mine);
        drop(newest);
        assert!(!open().contains_key(&me));
    }
}
