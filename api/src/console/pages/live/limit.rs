//! At most [`MAX_STREAMS_PER_USER`] live-board streams per person on one
//! API node: each holds a connection and re-reads the board on every
//! wake, so a page reloaded in a loop, or a script, cannot pile them up.
//! A permit is held by the stream and released when it is dropped (the
//! browser went away or the session ended).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use deskbind_core::ids::UserId;
use deskbind_core::wire::ErrorCode;

use crate::error::ApiError;

/// A few tabs; more is a leak or a script.
pub const MAX_STREAMS_PER_USER: usize = 4;

static OPEN: LazyLock<Mutex<HashMap<UserId, usize>>> = LazyLock::new(Default::default);

fn open() -> std::sync::MutexGuard<'static, HashMap<UserId, usize>> {
    // Every operation is one increment or decrement: a panic cannot leave
    // the map half-changed, so poisoning is ignored.
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// One open stream of a user.
#[derive(Debug)]
pub struct Permit {
    user: UserId,
}

/// A permit, or `limit_reached` when the user has too many streams open.
pub fn acquire(user: UserId) -> Result<Permit, ApiError> {
    let mut open = open();
    let count = open.entry(user).or_insert(0);
    if *count >= MAX_STREAMS_PER_USER {
        return Err(ApiError::Denied {
            code: ErrorCode::LimitReached,
            detail: format!(
                "at most {MAX_STREAMS_PER_USER} live boards may be open at once; close another tab"
            ),
        });
    }
    *count += 1;
    Ok(Permit { user })
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = open();
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_bounded_per_user_and_returned_on_drop() {
        let (me, other) = (UserId::new(), UserId::new());
        let mine: Vec<Permit> = (0..MAX_STREAMS_PER_USER)
            .map(|_| acquire(me).unwrap())
            .collect();
        assert!(acquire(me).is_err());
        assert!(acquire(other).is_ok());
        drop(mine);
        assert!(acquire(me).is_ok());
        assert!(!open().contains_key(&me));
    }
}
