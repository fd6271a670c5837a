//! The relay: gets frames to phones and wakes users' event streams, on one
//! node or many (docs/dialing.md, "Across nodes").
//!
//! Without `REDIS_URL` everything is in this process ([`LocalHub`]). With
//! it, each phone connection is announced in a presence key
//! (`deskbind:presence:{phone}` = `{node}/{conn}`, with a TTL refreshed by
//! the heartbeat), a frame for a phone connected elsewhere is published on
//! that node's channel, and user wakes go to every node. The relay carries
//! no state of its own: the database is the source of truth, so a message
//! lost while Redis reconnects only delays delivery until the redelivery
//! sweep or the stream's own re-read.

mod announced;
mod app_streams;
mod hub;
mod line_states;
mod presence_feed;
mod read_health;
mod redis_bus;

use std::sync::Arc;

pub use announced::Announced;
pub use app_streams::{AppStreams, StreamLease};
pub use hub::{Attachment, CloseReason, Delivery, LocalHub, PHONE_QUEUE};
pub use line_states::{Line, LineStates};
pub use presence_feed::{PresenceFeeds, PresenceNote, PresenceSubscription, Received};
pub use read_health::ReadHealth;
use redis_bus::RedisBus;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use std::collections::HashSet;

use crate::ids::{OrgId, PhoneId, UserId};
use crate::wire::{LineState, ServerFrame};

#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    node: String,
    hub: Arc<LocalHub>,
    redis: Option<RedisBus>,
    app_streams: AppStreams,
    line_states: LineStates,
    presence: Arc<PresenceFeeds>,
    announced: Announced,
    health: ReadHealth,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("node", &self.inner.node)
            .field("redis", &self.inner.redis.is_some())
            .field("hub", &self.inner.hub)
            .finish()
    }
}

impl Relay {
    /// The in-process relay of a single node.
    pub fn local() -> Self {
        Self {
            inner: Arc::new(Inner {
                node: uuid::Uuid::now_v7().to_string(),
                hub: Arc::default(),
                redis: None,
                app_streams: AppStreams::default(),
                line_states: LineStates::default(),
                presence: Arc::default(),
                announced: Announced::default(),
                health: ReadHealth::default(),
            }),
        }
    }

    /// The relay the settings ask for: Redis when `REDIS_URL` is set. The
    /// subscriber runs until `cancel`.
    pub async fn from_settings(
        settings: &Settings,
        cancel: CancellationToken,
    ) -> Result<Self, redis::RedisError> {
        use secrecy::ExposeSecret as _;
        let Some(url) = &settings.redis_url else {
            return Ok(Self::local());
        };
        let node = uuid::Uuid::now_v7().to_string();
        let hub = Arc::<LocalHub>::default();
        let presence = Arc::<PresenceFeeds>::default();
        let redis = RedisBus::connect(
            url.expose_secret(),
            node.clone(),
            hub.clone(),
            presence.clone(),
            settings.presence_ttl_secs,
            cancel,
        )
        .await?;
        let health = ReadHealth::default();
        let app_streams = AppStreams::shared(
            redis.connection(),
            node.clone(),
            // Streams renew at their 15 s keep-alive: at least two of them
            // fit in the TTL, so one slow renewal does not look like a gone app.
            settings.presence_ttl_secs.max(30).saturating_mul(1000),
            health.clone(),
        );
        let line_states = LineStates::shared(
            redis.connection(),
            settings.presence_ttl_secs,
            health.clone(),
        );
        let announced = Announced::shared(redis.connection());
        Ok(Self {
            inner: Arc::new(Inner {
                node,
                hub,
                redis: Some(redis),
                app_streams,
                line_states,
                presence,
                announced,
                health,
            }),
        })
    }

    pub fn node(&self) -> &str {
        &self.inner.node
    }

    pub fn is_distributed(&self) -> bool {
        self.inner.redis.is_some()
    }

    /// Phones connected to this node.
    pub fn local_phones(&self) -> usize {
        self.inner.hub.phone_count()
    }

    pub fn local_phone_ids(&self) -> Vec<PhoneId> {
        self.inner.hub.phone_ids()
    }

    /// Makes this connection the phone's live one, here and (with Redis)
    /// everywhere: a connection on another node is told to close.
    pub async fn attach_phone(&self, phone: PhoneId) -> Attachment {
        let attachment = self.inner.hub.attach(phone);
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.announce(phone, attachment.conn).await
        {
            // Frames from other nodes miss this phone until the next
            // heartbeat re-announces it; the redelivery sweep covers dials.
            tracing::warn!(%phone, error = %e, "cannot announce phone presence in Redis");
        }
        attachment
    }

    /// Keeps the phone's presence alive; `false` when another connection has
    /// taken the phone over (this one should close).
    pub async fn heartbeat(&self, phone: PhoneId, conn: u64) -> bool {
        self.inner.line_states.renew(phone).await;
        match &self.inner.redis {
            None => true,
            Some(redis) => match redis.refresh(phone, conn).await {
                Ok(still_ours) => still_ours,
                Err(e) => {
                    tracing::warn!(%phone, error = %e, "cannot refresh phone presence in Redis");
                    true
                }
            },
        }
    }

    pub async fn detach_phone(&self, phone: PhoneId, conn: u64) {
        self.inner.hub.detach(phone, conn);
        if !self.inner.hub.has_phone(phone) {
            self.inner.line_states.forget_here(phone);
        }
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.withdraw(phone, conn).await
        {
            tracing::warn!(%phone, error = %e, "cannot withdraw phone presence; it expires on its own");
        }
    }

    /// Sends a frame to the phone's live connection wherever it is. Best
    /// effort: what must not be lost (dial commands) is in the database.
    pub async fn send_to_phone(&self, phone: PhoneId, frame: ServerFrame) {
        match self.inner.hub.send(phone, frame.clone()) {
            Delivery::Queued | Delivery::Dropped => return,
            Delivery::Absent => {}
        }
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.forward_frame(phone, frame).await
        {
            tracing::warn!(%phone, error = %e, "cannot relay a frame through Redis");
        }
    }

    /// Closes the phone's connection wherever it is (credential revoked,
    /// phone disabled).
    pub async fn close_phone(&self, phone: PhoneId, reason: CloseReason) {
        self.inner.hub.close(phone, None, reason);
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.forward_close(phone, reason).await
        {
            tracing::warn!(%phone, error = %e, "cannot relay a close through Redis");
        }
    }

    /// Tells the user's event streams, on every node, to read new events.
    pub async fn wake_user(&self, user: UserId) {
        self.inner.hub.wake_user(user);
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.wake_user(user).await
        {
            tracing::warn!(%user, error = %e, "cannot relay a user wake through Redis");
        }
    }

    /// Tells the organisation's live-board streams, on every node, to read
    /// the board again (a dial moved, a holder changed, a phone came or
    /// went). Like user wakes, it carries no data: the database and the
    /// presence keys are the truth.
    pub async fn wake_org(&self, org: OrgId) {
        self.inner.hub.wake_org(org);
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.wake_org(org).await
        {
            tracing::warn!(%org, error = %e, "cannot relay an organisation wake through Redis");
        }
    }

    /// Watches for wakes of the organisation's live board on this node.
    pub fn watch_org(&self, org: OrgId) -> OrgWatch {
        OrgWatch {
            rx: self.inner.hub.watch_org(org),
            org,
            hub: self.inner.hub.clone(),
        }
    }

    /// Which of `phones` hold a live connection on any node: this node's
    /// own, then (with Redis) the presence keys of the others. A Redis
    /// failure answers with what this node knows.
    pub async fn online_among(&self, phones: &[PhoneId]) -> HashSet<PhoneId> {
        let mut online: HashSet<PhoneId> = phones
            .iter()
            .copied()
            .filter(|p| self.inner.hub.has_phone(*p))
            .collect();
        if let Some(redis) = &self.inner.redis {
            match redis.present(phones).await {
                Ok(present) => {
                    for (phone, here) in phones.iter().zip(present) {
                        if here {
                            online.insert(*phone);
                        }
                    }
                }
                Err(e) => {
                    self.inner.health.failed();
                    tracing::warn!(error = %e, "cannot read phone presence from Redis");
                }
            }
        }
        online
    }

    /// Whether a live read (phones, app streams, lines in Redis) failed
    /// within `window`: what was read meanwhile may be this node's view
    /// alone.
    pub fn live_reads_failed_within(&self, window: std::time::Duration) -> bool {
        self.inner.health.failed_within(window)
    }

    /// Notes a failed live read (the relay's own reads do; tests too).
    pub fn note_live_read_failure(&self) {
        self.inner.health.failed();
    }

    /// Records the line state a phone reported; `true` when it changed as
    /// far as this node knows.
    pub async fn set_line(
        &self,
        phone: PhoneId,
        line: LineState,
        now: crate::time::Micros,
    ) -> bool {
        self.inner.line_states.set(phone, line, now).await
    }

    /// The line states of `phones`, wherever they are connected.
    pub async fn lines_of(&self, phones: &[PhoneId]) -> std::collections::HashMap<PhoneId, Line> {
        self.inner.line_states.of(phones).await
    }

    /// Hands a presence change to the streams of its organisation on every
    /// node (live only: nothing is stored).
    pub async fn publish_presence(&self, note: PresenceNote) {
        self.inner
            .announced
            .record(note.presence.user_id, note.presence.state)
            .await;
        if let Some(redis) = &self.inner.redis
            && let Err(e) = redis.publish_presence(&note).await
        {
            tracing::warn!(error = %e, "cannot relay a presence change through Redis");
        }
        self.inner.presence.send(note);
    }

    /// Follows the presence changes of the organisation seen on this node.
    pub fn subscribe_presence(&self, org: OrgId) -> PresenceSubscription {
        self.inner.presence.subscribe(org)
    }

    /// The presence state last announced for each user (the sweep's
    /// baseline).
    pub fn announced(&self) -> &Announced {
        &self.inner.announced
    }

    /// Which users have the app's event stream open, on any node.
    pub fn app_streams(&self) -> &AppStreams {
        &self.inner.app_streams
    }

    /// Watches for wakes of the user's streams on this node.
    pub fn watch_user(&self, user: UserId) -> UserWatch {
        UserWatch {
            rx: self.inner.hub.watch_user(user),
            user,
            hub: self.inner.hub.clone(),
        }
    }
}

/// A stream's subscription to its user's wakes; dropping it unsubscribes.
#[derive(Debug)]
pub struct UserWatch {
    rx: tokio::sync::watch::Receiver<u64>,
    user: UserId,
    hub: Arc<LocalHub>,
}

impl UserWatch {
    /// Waits for the next wake (returns at once if one came since the last).
    pub async fn changed(&mut self) {
        // The sender lives in the hub's map while this receiver exists.
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for UserWatch {
    fn drop(&mut self) {
        // Swap out our receiver first so the count no longer includes it.
        let (_, placeholder) = tokio::sync::watch::channel(0);
        drop(std::mem::replace(&mut self.rx, placeholder));
        self.hub.unwatch_user(self.user);
    }
}

/// A live board's subscription to its organisation's wakes; dropping it
/// unsubscribes.
#[derive(Debug)]
pub struct OrgWatch {
    rx: tokio::sync::watch::Receiver<u64>,
    org: OrgId,
    hub: Arc<LocalHub>,
}

impl OrgWatch {
    /// Waits for the next wake (returns at once if one came since the last).
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for OrgWatch {
    fn drop(&mut self) {
        let (_, placeholder) = tokio::sync::watch::channel(0);
        drop(std::mem::replace(&mut self.rx, placeholder));
        self.hub.unwatch_org(self.org);
    }
}
