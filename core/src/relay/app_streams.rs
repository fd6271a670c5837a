//! Which users have the app connected: an open `GET /v1/events` stream on
//! any node. The screen pop asks it whether a push is needed (the app that
//! streams shows the pop itself); presence will ask it whether the app is
//! connected.
//!
//! Each node counts its own open streams per user. With Redis, a user with
//! a stream here is also in the sorted set `deskbind:app-streams:{user}`:
//! member this node, score the time (Redis's clock, so nodes' clocks do not
//! matter) until which the entry holds, `ttl` ahead. An open stream renews
//! it at every keep-alive; the last stream here to close removes it. A node
//! that dies leaves an entry that simply stops counting once its time has
//! passed, so a user is never "live" past the TTL because of a dead node.

use super::read_health::ReadHealth;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::aio::ConnectionManager;

use crate::ids::UserId;

fn key(user: UserId) -> String {
    format!("deskbind:app-streams:{user}")
}

/// Adds or renews this node's entry, dropping expired ones; the set itself
/// expires with its last entry.
const MARK: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1";

/// How many nodes hold an entry that has not expired.
const COUNT: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')";

/// The Redis half: this node's name and how long an entry holds.
#[derive(Clone)]
struct Shared {
    conn: ConnectionManager,
    node: String,
    ttl_ms: u64,
    mark: Arc<redis::Script>,
    count: Arc<redis::Script>,
    health: ReadHealth,
}

/// The registry of one node.
#[derive(Clone, Default)]
pub struct AppStreams {
    local: Arc<Mutex<HashMap<UserId, usize>>>,
    shared: Option<Shared>,
}

impl std::fmt::Debug for AppStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStreams")
            .field("users_here", &self.users_here())
            .field("redis", &self.shared.is_some())
            .finish()
    }
}

impl AppStreams {
    /// A registry that also announces this node's streams in Redis.
    pub fn shared(conn: ConnectionManager, node: String, ttl_ms: u64, health: ReadHealth) -> Self {
        Self {
            local: Arc::default(),
            shared: Some(Shared {
                conn,
                node,
                ttl_ms,
                mark: Arc::new(redis::Script::new(MARK)),
                count: Arc::new(redis::Script::new(COUNT)),
                health,
            }),
        }
    }

    /// A shared registry on its own Redis connection (tools and tests; a
    /// node's relay shares its connection through [`Self::shared`]).
    pub async fn connect(url: &str, node: String, ttl_ms: u64) -> Result<Self, redis::RedisError> {
        let conn = ConnectionManager::new(redis::Client::open(url)?).await?;
        Ok(Self::shared(conn, node, ttl_ms, ReadHealth::default()))
    }

    /// Users with at least one stream open on this node.
    pub fn users_here(&self) -> usize {
        self.lock().len()
    }

    /// Registers a stream of `user` opened here; it counts until the
    /// returned lease is dropped. Renew it with [`StreamLease::renew`] at
    /// least once per TTL.
    pub async fn open(&self, user: UserId) -> StreamLease {
        *self.lock().entry(user).or_default() += 1;
        let lease = StreamLease {
            streams: self.clone(),
            user,
            released: false,
        };
        lease.renew().await;
        lease
    }

    /// Whether `user` has a stream open on any node. Without Redis, or
    /// when it fails, what this node knows.
    pub async fn is_live(&self, user: UserId) -> bool {
        if self.lock().contains_key(&user) {
            return true;
        }
        let Some(shared) = &self.shared else {
            return false;
        };
        let mut conn = shared.conn.clone();
        match shared
            .count
            .key(key(user))
            .invoke_async::<i64>(&mut conn)
            .await
        {
            Ok(n) => n > 0,
            Err(e) => {
                shared.health.failed();
                tracing::warn!(%user, error = %e, "cannot read app streams from Redis");
                false
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, usize>> {
        // A panic elsewhere cannot leave a count half-changed.
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets one stream of `user`; `true` when it was the last here.
    fn close_one(&self, user: UserId) -> bool {
        let mut local = self.lock();
        match local.get_mut(&user) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                local.remove(&user);
                true
            }
            None => false,
        }
    }
}

/// One open stream's registration.
#[derive(Debug)]
pub struct StreamLease {
    streams: AppStreams,
    user: UserId,
    /// Released by [`Self::release`]: nothing left for `drop`.
    released: bool,
}

impl StreamLease {
    /// Keeps this node's Redis entry for the user alive for another TTL.
    /// A failure is logged: the user may look offline to other nodes (a
    /// push too many) until the next renewal.
    pub async fn renew(&self) {
        let Some(shared) = &self.streams.shared else {
            return;
        };
        let mut conn = shared.conn.clone();
        let marked = shared
            .mark
            .key(key(self.user))
            .arg(&shared.node)
            .arg(shared.ttl_ms)
            .invoke_async::<i64>(&mut conn)
            .await;
        if let Err(e) = marked {
            tracing::warn!(user = %self.user, error = %e, "cannot renew the app stream in Redis");
        }
    }
}

impl StreamLease {
    /// Ends the registration and, when it was the user's last stream here,
    /// waits until Redis has forgotten this node's entry: what reads
    /// `is_live` afterwards (a presence announcement) sees the app gone.
    pub async fn release(mut self) {
        self.released = true;
        if !self.streams.close_one(self.user) {
            return;
        }
        let Some(shared) = self.streams.shared.clone() else {
            return;
        };
        if self.streams.lock().contains_key(&self.user) {
            return;
        }
        let mut conn = shared.conn.clone();
        let removed: redis::RedisResult<i64> = redis::cmd("ZREM")
            .arg(key(self.user))
            .arg(&shared.node)
            .query_async(&mut conn)
            .await;
        if let Err(e) = removed {
            tracing::warn!(user = %self.user, error = %e, "cannot remove the app stream from Redis; it expires");
        }
    }
}

impl Drop for StreamLease {
    fn drop(&mut self) {
        if self.released || !self.streams.close_one(self.user) {
            return;
        }
        let Some(shared) = self.streams.shared.clone() else {
            return;
        };
        let user = self.user;
        // Drop cannot wait; if this removal is lost the entry expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let streams = self.streams.clone();
            runtime.spawn(async move {
                // A stream of the user opened here meanwhile keeps the entry.
                if streams.lock().contains_key(&user) {
                    return;
                }
                let mut conn = shared.conn.clone();
                let removed: redis::RedisResult<i64> = redis::cmd("ZREM")
                    .arg(key(user))
                    .arg(&shared.node)
                    .query_async(&mut conn)
                    .await;
                if let Err(e) = removed {
                    tracing::warn!(%user, error = %e, "cannot remove the app stream from Redis; it expires");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn redis_url() -> String {
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    #[tokio::test]
    async fn a_stream_counts_on_every_node_until_closed() {
        let a = AppStreams::connect(&redis_url(), "node-a".into(), 30_000)
            .await
            .unwrap();
        let b = AppStreams::connect(&redis_url(), "node-b".into(), 30_000)
            .await
            .unwrap();
        let user = UserId::new();
        assert!(!a.is_live(user).await && !b.is_live(user).await);
        let first = a.open(user).await;
        let second = a.open(user).await;
        assert!(a.is_live(user).await && b.is_live(user).await);
        drop(first);
        assert!(b.is_live(user).await, "one stream is still open on a");
        drop(second);
        // Both learn through Redis once a's removal (spawned on close) ran.
        tokio::time::timeout(Duration::from_secs(5), async {
            while a.is_live(user).await || b.is_live(user).await {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the removal reaches Redis");
    }

    #[tokio::test]
    async fn a_dead_node_stops_counting_after_the_ttl() {
        let dead = AppStreams::connect(&redis_url(), "node-dead".into(), 300)
            .await
            .unwrap();
        let alive = AppStreams::connect(&redis_url(), "node-alive".into(), 300)
            .await
            .unwrap();
        let user = UserId::new();
        // The node dies with the stream open: nothing removes its entry.
        std::mem::forget(dead.open(user).await);
        assert!(alive.is_live(user).await);
        // Redis's clock decides; the entry holds 300 ms from its renewal.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!alive.is_live(user).await, "expired with its TTL");
    }
}
