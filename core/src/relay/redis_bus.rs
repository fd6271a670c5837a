//! The Redis half of the relay. One multiplexed connection (reconnecting on
//! its own) for commands, one subscriber connection per node, re-established
//! with backoff when it drops.
//!
//! Keys and channels:
//! - `deskbind:presence:{phone}` = `{node}/{conn}`, TTL `presence_ttl_secs`;
//! - `deskbind:node:{node}`: frames and closes for phones connected there;
//! - `deskbind:users`: `{node}/{user}` wakes, heard by every node;
//! - `deskbind:orgs`: `{node}/{org}` wakes of organisation-wide watchers
//!   (the console's live board), heard by every node;
//! - `deskbind:presence-changes`: `{node}/{json}` presence changes, heard by
//!   every node (docs/presence.md);
//! - `deskbind:line:{phone}`: the phone's line state, TTL as its presence
//!   (`line_states`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::hub::{CloseReason, LocalHub};
use super::presence_feed::{PresenceFeeds, PresenceNote};
use crate::ids::{OrgId, PhoneId, UserId};
use crate::wire::ServerFrame;

const USERS_CHANNEL: &str = "deskbind:users";
const ORGS_CHANNEL: &str = "deskbind:orgs";
const PRESENCE_CHANNEL: &str = "deskbind:presence-changes";

fn presence_key(phone: PhoneId) -> String {
    format!("deskbind:presence:{phone}")
}

fn node_channel(node: &str) -> String {
    format!("deskbind:node:{node}")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum NodeMessage {
    Frame {
        phone: PhoneId,
        frame: ServerFrame,
    },
    Close {
        phone: PhoneId,
        /// Only this connection (a takeover); absent: whichever is live.
        conn: Option<u64>,
        reason: CloseReason,
    },
}

/// Extends the key's life if it still names this connection; sets it again
/// if it expired meanwhile (Redis restarted, a long pause); 0 when another
/// connection owns it.
const REFRESH: &str = r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0";

const WITHDRAW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

#[derive(Clone)]
pub(super) struct RedisBus {
    conn: ConnectionManager,
    node: String,
    ttl_secs: u64,
    refresh: Arc<redis::Script>,
    withdraw: Arc<redis::Script>,
}

impl RedisBus {
    pub async fn connect(
        url: &str,
        node: String,
        hub: Arc<LocalHub>,
        feeds: Arc<PresenceFeeds>,
        ttl_secs: u64,
        cancel: CancellationToken,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client.clone()).await?;
        // Subscribe before serving, so no frame sent to this node is missed.
        let pubsub = subscribe(&client, &node).await?;
        tokio::spawn(listen(client, pubsub, node.clone(), hub, feeds, cancel));
        Ok(Self {
            conn,
            node,
            ttl_secs,
            refresh: Arc::new(redis::Script::new(REFRESH)),
            withdraw: Arc::new(redis::Script::new(WITHDRAW)),
        })
    }

    /// The command connection, for the registries that keep their own keys
    /// (`app_streams`).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn owner(&self, conn: u64) -> String {
        format!("{}/{conn}", self.node)
    }

    /// Claims the phone for this connection; a previous owner on another
    /// node is told to close.
    pub async fn announce(&self, phone: PhoneId, conn: u64) -> redis::RedisResult<()> {
        let mut redis = self.conn.clone();
        let previous: Option<String> = redis::cmd("SET")
            .arg(presence_key(phone))
            .arg(self.owner(conn))
            .arg("EX")
            .arg(self.ttl_secs)
            .arg("GET")
            .query_async(&mut redis)
            .await?;
        if let Some((node, old_conn)) = previous.as_deref().and_then(parse_owner)
            && node != self.node
        {
            let message = NodeMessage::Close {
                phone,
                conn: Some(old_conn),
                reason: CloseReason::Replaced,
            };
            publish(&mut redis, &node_channel(node), &message).await?;
        }
        Ok(())
    }

    pub async fn refresh(&self, phone: PhoneId, conn: u64) -> redis::RedisResult<bool> {
        let mut redis = self.conn.clone();
        let kept: i64 = self
            .refresh
            .key(presence_key(phone))
            .arg(self.owner(conn))
            .arg(self.ttl_secs)
            .invoke_async(&mut redis)
            .await?;
        Ok(kept == 1)
    }

    pub async fn withdraw(&self, phone: PhoneId, conn: u64) -> redis::RedisResult<()> {
        let mut redis = self.conn.clone();
        let _: i64 = self
            .withdraw
            .key(presence_key(phone))
            .arg(self.owner(conn))
            .invoke_async(&mut redis)
            .await?;
        Ok(())
    }

    /// Publishes the frame to the node holding the phone, if any node does.
    pub async fn forward_frame(
        &self,
        phone: PhoneId,
        frame: ServerFrame,
    ) -> redis::RedisResult<()> {
        self.forward(phone, NodeMessage::Frame { phone, frame })
            .await
    }

    pub async fn forward_close(
        &self,
        phone: PhoneId,
        reason: CloseReason,
    ) -> redis::RedisResult<()> {
        let message = NodeMessage::Close {
            phone,
            conn: None,
            reason,
        };
        self.forward(phone, message).await
    }

    /// Publishes to the node the phone's presence names, unless that is us
    /// (our own presence without a local connection: it just closed).
    async fn forward(&self, phone: PhoneId, message: NodeMessage) -> redis::RedisResult<()> {
        let mut redis = self.conn.clone();
        let owner: Option<String> = redis.get(presence_key(phone)).await?;
        match owner.as_deref().and_then(parse_owner) {
            Some((node, _)) if node != self.node => {
                publish(&mut redis, &node_channel(node), &message).await
            }
            _ => Ok(()),
        }
    }

    pub async fn wake_org(&self, org: OrgId) -> redis::RedisResult<()> {
        let mut redis = self.conn.clone();
        redis
            .publish(ORGS_CHANNEL, format!("{}/{org}", self.node))
            .await
    }

    /// Which of `phones` have a live connection on some node (their
    /// presence key exists), in one round trip.
    pub async fn present(&self, phones: &[PhoneId]) -> redis::RedisResult<Vec<bool>> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        let mut redis = self.conn.clone();
        let keys: Vec<String> = phones.iter().map(|p| presence_key(*p)).collect();
        let owners: Vec<Option<String>> =
            redis::cmd("MGET").arg(keys).query_async(&mut redis).await?;
        Ok(owners.into_iter().map(|o| o.is_some()).collect())
    }

    /// Hands a presence change to every other node's streams.
    pub async fn publish_presence(&self, note: &PresenceNote) -> redis::RedisResult<()> {
        let json = serde_json::to_string(note).map_err(|e| {
            redis::RedisError::from((
                redis::ErrorKind::Client,
                "unserialisable presence",
                e.to_string(),
            ))
        })?;
        let mut redis = self.conn.clone();
        redis
            .publish(PRESENCE_CHANNEL, format!("{}/{json}", self.node))
            .await
    }

    pub async fn wake_user(&self, user: UserId) -> redis::RedisResult<()> {
        let mut redis = self.conn.clone();
        redis
            .publish(USERS_CHANNEL, format!("{}/{user}", self.node))
            .await
    }
}

fn parse_owner(value: &str) -> Option<(&str, u64)> {
    let (node, conn) = value.rsplit_once('/')?;
    Some((node, conn.parse().ok()?))
}

async fn publish(
    redis: &mut ConnectionManager,
    channel: &str,
    message: &NodeMessage,
) -> redis::RedisResult<()> {
    let payload = serde_json::to_string(message).map_err(|e| {
        redis::RedisError::from((
            redis::ErrorKind::Client,
            "unserialisable message",
            e.to_string(),
        ))
    })?;
    redis.publish(channel, payload).await
}

async fn subscribe(client: &redis::Client, node: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(node_channel(node)).await?;
    pubsub.subscribe(USERS_CHANNEL).await?;
    pubsub.subscribe(ORGS_CHANNEL).await?;
    pubsub.subscribe(PRESENCE_CHANNEL).await?;
    Ok(pubsub)
}

/// Hands what this node's channels carry to the local hub; when the
/// subscription drops, re-subscribes with backoff and wakes every stream
/// (wakes may have been missed meanwhile).
async fn listen(
    client: redis::Client,
    mut pubsub: redis::aio::PubSub,
    node: String,
    hub: Arc<LocalHub>,
    feeds: Arc<PresenceFeeds>,
    cancel: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        {
            let mut messages = pubsub.on_message();
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    message = messages.next() => match message {
                        Some(message) => dispatch(&hub, &feeds, &node, &message),
                        None => break,
                    },
                }
            }
        }
        tracing::warn!("Redis subscription lost; reconnecting");
        pubsub = loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            match subscribe(&client, &node).await {
                Ok(pubsub) => break pubsub,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-subscribe to Redis");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        };
        backoff = Duration::from_millis(100);
        tracing::info!("Redis subscription restored");
        hub.wake_all_users();
    }
}

fn dispatch(hub: &LocalHub, feeds: &PresenceFeeds, node: &str, message: &redis::Msg) {
    let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
        tracing::warn!("non-UTF-8 message on the relay bus");
        return;
    };
    if message.get_channel_name() == USERS_CHANNEL {
        // Our own wakes were delivered locally already.
        if let Some((from, user)) = payload.rsplit_once('/')
            && from != node
            && let Ok(user) = user.parse()
        {
            hub.wake_user(user);
        }
        return;
    }
    if message.get_channel_name() == PRESENCE_CHANNEL {
        // Node ids are UUIDs: the first `/` ends it.
        if let Some((from, json)) = payload.split_once('/')
            && from != node
        {
            match serde_json::from_str::<PresenceNote>(json) {
                Ok(note) => feeds.send(note),
                Err(e) => tracing::warn!(error = %e, "unreadable presence change on the relay bus"),
            }
        }
        return;
    }
    if message.get_channel_name() == ORGS_CHANNEL {
        if let Some((from, org)) = payload.rsplit_once('/')
            && from != node
            && let Ok(org) = org.parse()
        {
            hub.wake_org(org);
        }
        return;
    }
    match serde_json::from_str::<NodeMessage>(payload) {
        Ok(NodeMessage::Frame { phone, frame }) => {
            hub.send(phone, frame);
        }
        Ok(NodeMessage::Close {
            phone,
            conn,
            reason,
        }) => {
            hub.close(phone, conn, reason);
        }
        Err(e) => tracing::warn!(error = %e, "unreadable message on the relay bus"),
    }
}
