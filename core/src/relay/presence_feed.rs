//! Live presence changes (docs/decisions/0028-presence.md): one broadcast
//! channel per organisation on each node, which every event stream that
//! asked for presence subscribes to and filters by who its reader may see.
//! A change is sent once per node, not written per recipient: fanning it
//! out to a thousand managers' streams is a thousand channel reads.
//! Nothing is kept; a stream that reconnects (or lags) reads
//! `GET /v1/presences` again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::ids::{OrgId, TeamId, UserId};
use crate::wire::Presence;

/// Changes buffered per organisation and node before a slow stream lags.
const BUFFER: usize = 1024;

/// One user's presence changed: what every stream of the organisation
/// needs to decide whether its reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceNote {
    pub org: OrgId,
    /// The teams the user is a member of.
    pub teams: Vec<TeamId>,
    /// The organisation hides status texts from salespeople.
    pub hide_status_text: bool,
    pub presence: Presence,
}

impl PresenceNote {
    pub fn user(&self) -> UserId {
        self.presence.user_id
    }
}

/// The per-organisation channels of one node.
#[derive(Debug, Default)]
pub struct PresenceFeeds {
    orgs: Mutex<HashMap<OrgId, broadcast::Sender<Arc<PresenceNote>>>>,
}

impl PresenceFeeds {
    /// Hands the change to this node's streams of its organisation.
    pub fn send(&self, note: PresenceNote) {
        let orgs = self.lock();
        if let Some(tx) = orgs.get(&note.org) {
            // No receiver: no stream here wants it.
            let _ = tx.send(Arc::new(note));
        }
    }

    pub fn subscribe(self: &Arc<Self>, org: OrgId) -> PresenceSubscription {
        let rx = self
            .lock()
            .entry(org)
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .subscribe();
        PresenceSubscription {
            rx,
            org,
            feeds: self.clone(),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<OrgId, broadcast::Sender<Arc<PresenceNote>>>> {
        self.orgs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn unsubscribe(&self, org: OrgId) {
        let mut orgs = self.lock();
        if orgs.get(&org).is_some_and(|tx| tx.receiver_count() == 0) {
            orgs.remove(&org);
        }
    }
}

/// What a stream reads next.
#[derive(Debug)]
pub enum Received {
    Note(Arc<PresenceNote>),
    /// Changes were missed (the stream read too slowly): read the
    /// presences again.
    Lagged,
}

/// A stream's subscription; dropping it unsubscribes.
#[derive(Debug)]
pub struct PresenceSubscription {
    rx: broadcast::Receiver<Arc<PresenceNote>>,
    org: OrgId,
    feeds: Arc<PresenceFeeds>,
}

impl PresenceSubscription {
    pub async fn recv(&mut self) -> Received {
        match self.rx.recv().await {
            Ok(note) => Received::Note(note),
            Err(broadcast::error::RecvError::Lagged(_)) => Received::Lagged,
            // The sender lives in the map while this receiver exists.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

impl Drop for PresenceSubscription {
    fn drop(&mut self) {
        let (_, placeholder) = broadcast::channel(1);
        drop(std::mem::replace(&mut self.rx, placeholder));
        self.feeds.unsubscribe(self.org);
    }
}
