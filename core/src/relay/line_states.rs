//! The line state each connected phone last reported (idle, ringing,
//! dialing, talking, held), for presence (docs/presence.md).
//!
//! This node keeps what its phones said. With Redis, it is also in
//! `deskbind:line:{phone}` with the phone presence TTL, renewed by the
//! phone's heartbeat: a node that dies takes its phones' presence keys and
//! their line keys with it once the TTL has passed, so no one stays "busy"
//! (or "online") because of a dead node. Presence reads a line only for a
//! phone that is online, so a line outliving its connection by a TTL does
//! not count.
//!
//! Each line also keeps when its call began (`since`: when it left idle),
//! so a board can say "on a call since" for calls dialled by hand or
//! ringing in, not only for dials the app placed. In Redis the value is
//! `{state} {since}` (Unix microseconds); a bare `{state}` is read too.

use super::read_health::ReadHealth;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::aio::ConnectionManager;

use crate::ids::PhoneId;
use crate::time::Micros;
use crate::wire::LineState;

fn key(phone: PhoneId) -> String {
    format!("deskbind:line:{phone}")
}

/// A phone's line and, while a call is in progress, when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub state: LineState,
    /// When the line left idle; `None` while idle (or from an older node).
    pub since: Option<Micros>,
}

impl Line {
    /// The line after `state` is reported at `now`, given the one before:
    /// a call keeps its start through ringing, talking and held.
    fn next(before: Option<Line>, state: LineState, now: Micros) -> Line {
        let since = if !state.in_call() {
            None
        } else {
            match before {
                Some(b) if b.state.in_call() => b.since.or(Some(now)),
                _ => Some(now),
            }
        };
        Line { state, since }
    }

    fn encode(self) -> String {
        match self.since {
            Some(since) => format!("{} {since}", self.state.as_str()),
            None => self.state.as_str().to_owned(),
        }
    }

    fn decode(raw: &str) -> Option<Line> {
        let (state, since) = match raw.split_once(' ') {
            Some((state, since)) => (state, since.parse().ok()),
            None => (raw, None),
        };
        Some(Line {
            state: LineState::parse(state)?,
            since,
        })
    }
}

#[derive(Clone)]
struct Shared {
    conn: ConnectionManager,
    ttl_secs: u64,
    health: ReadHealth,
}

/// The line states of one node (and, with Redis, of all).
#[derive(Clone, Default)]
pub struct LineStates {
    local: Arc<Mutex<HashMap<PhoneId, Line>>>,
    shared: Option<Shared>,
}

impl std::fmt::Debug for LineStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineStates")
            .field("phones_here", &self.lock().len())
            .field("redis", &self.shared.is_some())
            .finish()
    }
}

impl LineStates {
    pub fn shared(conn: ConnectionManager, ttl_secs: u64, health: ReadHealth) -> Self {
        Self {
            local: Arc::default(),
            shared: Some(Shared {
                conn,
                ttl_secs,
                health,
            }),
        }
    }

    /// Records the phone's line reported at `now`; `true` when its state
    /// differs from what this node knew (so presence may have changed).
    pub async fn set(&self, phone: PhoneId, state: LineState, now: Micros) -> bool {
        let (line, changed) = {
            let mut local = self.lock();
            let before = local.get(&phone).copied();
            let line = Line::next(before, state, now);
            local.insert(phone, line);
            (line, before.map(|b| b.state) != Some(state))
        };
        if let Some(shared) = &self.shared {
            let mut conn = shared.conn.clone();
            let set: redis::RedisResult<()> = redis::cmd("SET")
                .arg(key(phone))
                .arg(line.encode())
                .arg("EX")
                .arg(shared.ttl_secs)
                .query_async(&mut conn)
                .await;
            if let Err(e) = set {
                tracing::warn!(%phone, error = %e, "cannot store the line state in Redis");
            }
        }
        changed
    }

    /// Keeps the phone's line alive for another TTL (its heartbeat).
    pub async fn renew(&self, phone: PhoneId) {
        let Some(shared) = &self.shared else {
            return;
        };
        if !self.lock().contains_key(&phone) {
            return;
        }
        let mut conn = shared.conn.clone();
        let renewed: redis::RedisResult<i64> = redis::cmd("EXPIRE")
            .arg(key(phone))
            .arg(shared.ttl_secs)
            .query_async(&mut conn)
            .await;
        if let Err(e) = renewed {
            tracing::warn!(%phone, error = %e, "cannot renew the line state in Redis");
        }
    }

    /// Forgets the line of a phone whose connection here ended.
    pub fn forget_here(&self, phone: PhoneId) {
        self.lock().remove(&phone);
    }

    /// The lines of `phones` known anywhere; without Redis, or when it
    /// fails, what this node knows.
    pub async fn of(&self, phones: &[PhoneId]) -> HashMap<PhoneId, Line> {
        let mut lines: HashMap<PhoneId, Line> = {
            let local = self.lock();
            phones
                .iter()
                .filter_map(|p| local.get(p).map(|l| (*p, *l)))
                .collect()
        };
        let Some(shared) = &self.shared else {
            return lines;
        };
        if phones.is_empty() {
            return lines;
        }
        let mut conn = shared.conn.clone();
        let keys: Vec<String> = phones.iter().map(|p| key(*p)).collect();
        let stored: redis::RedisResult<Vec<Option<String>>> =
            redis::cmd("MGET").arg(keys).query_async(&mut conn).await;
        match stored {
            Ok(stored) => {
                for (phone, line) in phones.iter().zip(stored) {
                    if let Some(line) = line.as_deref().and_then(Line::decode) {
                        lines.insert(*phone, line);
                    }
                }
            }
            Err(e) => {
                shared.health.failed();
                tracing::warn!(error = %e, "cannot read line states from Redis");
            }
        }
        lines
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PhoneId, Line>> {
        self.local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn shared(ttl_secs: u64) -> LineStates {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(url).unwrap();
        LineStates::shared(
            ConnectionManager::new(client).await.unwrap(),
            ttl_secs,
            ReadHealth::default(),
        )
    }

    #[tokio::test]
    async fn a_line_is_seen_on_every_node_and_changes_only_once() {
        let (a, b) = (shared(30).await, shared(30).await);
        let phone = PhoneId::new();
        assert!(b.of(&[phone]).await.is_empty());
        assert!(a.set(phone, LineState::Talking, 10).await, "changed");
        assert!(
            !a.set(phone, LineState::Talking, 20).await,
            "the same again"
        );
        assert_eq!(
            b.of(&[phone]).await.get(&phone),
            Some(&Line {
                state: LineState::Talking,
                since: Some(10)
            })
        );
    }

    #[test]
    fn a_call_keeps_its_start_until_the_line_is_idle() {
        let ringing = Line::next(None, LineState::Ringing, 10);
        assert_eq!(ringing.since, Some(10));
        let talking = Line::next(Some(ringing), LineState::Talking, 20);
        let held = Line::next(Some(talking), LineState::Held, 30);
        assert_eq!((talking.since, held.since), (Some(10), Some(10)));
        let idle = Line::next(Some(held), LineState::Idle, 40);
        assert_eq!(idle.since, None);
        assert_eq!(
            Line::next(Some(idle), LineState::Dialing, 50).since,
            Some(50)
        );
        for line in [ringing, idle] {
            assert_eq!(Line::decode(&line.encode()), Some(line));
        }
        assert_eq!(
            Line::decode("talking"),
            Some(Line {
                state: LineState::Talking,
                since: None
            })
        );
        assert_eq!(Line::decode("humming 5"), None);
    }

    #[tokio::test]
    async fn a_dead_nodes_line_expires_with_the_ttl() {
        let (dead, alive) = (shared(1).await, shared(1).await);
        let phone = PhoneId::new();
        dead.set(phone, LineState::Talking, 10).await;
        assert_eq!(alive.of(&[phone]).await.len(), 1);
        // Nothing renews it (no heartbeat): Redis drops it after a second.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(alive.of(&[phone]).await.is_empty(), "expired with its TTL");
    }
}
