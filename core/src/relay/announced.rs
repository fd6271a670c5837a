//! The presence state last announced for each user (docs/presence.md,
//! "Events"). Most changes are announced where they happen (a `PUT`, a
//! connection, a line frame, a binding); some happen by the clock alone (a
//! timed DND ends, auto-away starts, a dead node's phone keys expire). The
//! presence sweep compares each user's state with the one announced last
//! and announces what differs, so those reach the streams too, once.
//!
//! Kept in this process and, with Redis, in the hash
//! `deskbind:presence:announced` (user → state) that every node shares, so
//! a sweep on one node knows what another node announced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::aio::ConnectionManager;

use crate::ids::UserId;
use crate::wire::PresenceState;

const KEY: &str = "deskbind:presence:announced";

/// The last announced states (of this node, and with Redis of all).
#[derive(Clone, Default)]
pub struct Announced {
    local: Arc<Mutex<HashMap<UserId, PresenceState>>>,
    shared: Option<ConnectionManager>,
}

impl std::fmt::Debug for Announced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announced")
            .field("users_here", &self.lock().len())
            .field("redis", &self.shared.is_some())
            .finish()
    }
}

impl Announced {
    pub fn shared(conn: ConnectionManager) -> Self {
        Self {
            local: Arc::default(),
            shared: Some(conn),
        }
    }

    /// Notes that `state` was announced for `user`.
    pub async fn record(&self, user: UserId, state: PresenceState) {
        self.lock().insert(user, state);
        if let Some(conn) = &self.shared {
            let mut conn = conn.clone();
            let set: redis::RedisResult<()> = redis::cmd("HSET")
                .arg(KEY)
                .arg(user.to_string())
                .arg(state.as_str())
                .query_async(&mut conn)
                .await;
            if let Err(e) = set {
                tracing::warn!(%user, error = %e, "cannot store the announced presence in Redis");
            }
        }
    }

    /// The state last announced for each of `users`, in order (`None`:
    /// never, as far as this node or Redis knows). A Redis failure answers
    /// with what this node knows.
    pub async fn of(&self, users: &[UserId]) -> Vec<Option<PresenceState>> {
        if let Some(conn) = &self.shared
            && !users.is_empty()
        {
            let mut conn = conn.clone();
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(KEY);
            for user in users {
                cmd.arg(user.to_string());
            }
            match cmd.query_async::<Vec<Option<String>>>(&mut conn).await {
                Ok(states) => {
                    return states
                        .into_iter()
                        .map(|s| s.as_deref().and_then(PresenceState::parse))
                        .collect();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read announced presences from Redis");
                }
            }
        }
        let local = self.lock();
        users.iter().map(|u| local.get(u).copied()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, PresenceState>> {
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn remembers_the_last_state_per_user() {
        let announced = Announced::default();
        let (a, b) = (UserId::new(), UserId::new());
        assert_eq!(announced.of(&[a, b]).await, vec![None, None]);
        announced.record(a, PresenceState::Dnd).await;
        announced.record(a, PresenceState::Available).await;
        assert_eq!(
            announced.of(&[a, b]).await,
            vec![Some(PresenceState::Available), None]
        );
    }
}
