//! The node-local half of the relay: which phones hold a live connection
//! to this process, and which users have a live event stream here. Every
//! operation is a short critical section under a std mutex and never awaits,
//! so a slow phone cannot stall anyone else (its queue is bounded; when it
//! is full the phone is disconnected and catches up from the database when
//! it reconnects).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, watch};

use crate::ids::{OrgId, PhoneId, UserId};
use crate::wire::ServerFrame;

/// Frames queued for one phone before it counts as too slow.
pub const PHONE_QUEUE: usize = 256;

/// Why the relay closed a phone's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The phone connected again (here or on another node).
    Replaced,
    /// Its credential was revoked or the phone disabled.
    Revoked,
    /// It did not read its frames fast enough.
    TooSlow,
}

struct PhoneSlot {
    conn: u64,
    // Boxed: the channel's first block is allocated up front for every
    // connection, and a pointer per slot keeps that small.
    frames: mpsc::Sender<Box<ServerFrame>>,
    close: watch::Sender<Option<CloseReason>>,
}

/// What a connection holds while it is the phone's live one.
#[derive(Debug)]
pub struct Attachment {
    pub conn: u64,
    pub frames: mpsc::Receiver<Box<ServerFrame>>,
    pub close: watch::Receiver<Option<CloseReason>>,
}

/// Whether a frame reached a connection on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// No connection of that phone here.
    Absent,
    /// Its queue was full; the connection is being closed.
    Dropped,
}

#[derive(Default)]
pub struct LocalHub {
    phones: Mutex<HashMap<PhoneId, PhoneSlot>>,
    users: Mutex<HashMap<UserId, watch::Sender<u64>>>,
    /// Organisation-wide watchers (the console's live board).
    orgs: Mutex<HashMap<OrgId, watch::Sender<u64>>>,
    next_conn: AtomicU64,
}

impl std::fmt::Debug for LocalHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalHub")
            .field("phones", &self.phone_count())
            .finish()
    }
}

impl LocalHub {
    /// Makes a new connection the phone's live one; an older one here is told
    /// to close.
    pub fn attach(&self, phone: PhoneId) -> Attachment {
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
        let (frames_tx, frames) = mpsc::channel(PHONE_QUEUE);
        let (close_tx, close) = watch::channel(None);
        let slot = PhoneSlot {
            conn,
            frames: frames_tx,
            close: close_tx,
        };
        if let Some(old) = self.lock_phones().insert(phone, slot) {
            old.close.send_replace(Some(CloseReason::Replaced));
        }
        Attachment {
            conn,
            frames,
            close,
        }
    }

    /// Forgets the connection if it is still the phone's live one.
    pub fn detach(&self, phone: PhoneId, conn: u64) {
        let mut phones = self.lock_phones();
        if phones.get(&phone).is_some_and(|slot| slot.conn == conn) {
            phones.remove(&phone);
        }
    }

    pub fn send(&self, phone: PhoneId, frame: ServerFrame) -> Delivery {
        let mut phones = self.lock_phones();
        let Some(slot) = phones.get(&phone) else {
            return Delivery::Absent;
        };
        match slot.frames.try_send(Box::new(frame)) {
            Ok(()) => Delivery::Queued,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                phones.remove(&phone);
                Delivery::Absent
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                slot.close.send_replace(Some(CloseReason::TooSlow));
                phones.remove(&phone);
                Delivery::Dropped
            }
        }
    }

    /// Closes the phone's connection here; `conn` limits it to that one.
    pub fn close(&self, phone: PhoneId, conn: Option<u64>, reason: CloseReason) -> bool {
        let mut phones = self.lock_phones();
        match phones.get(&phone) {
            Some(slot) if conn.is_none_or(|c| c == slot.conn) => {
                slot.close.send_replace(Some(reason));
                phones.remove(&phone);
                true
            }
            _ => false,
        }
    }

    pub fn has_phone(&self, phone: PhoneId) -> bool {
        self.lock_phones().contains_key(&phone)
    }

    pub fn phone_ids(&self) -> Vec<PhoneId> {
        self.lock_phones().keys().copied().collect()
    }

    pub fn phone_count(&self) -> usize {
        self.lock_phones().len()
    }

    /// A receiver that changes whenever the user has new events.
    pub fn watch_user(&self, user: UserId) -> watch::Receiver<u64> {
        self.lock_users()
            .entry(user)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Drops the user's entry once no stream watches it.
    pub fn unwatch_user(&self, user: UserId) {
        let mut users = self.lock_users();
        if users.get(&user).is_some_and(|tx| tx.receiver_count() == 0) {
            users.remove(&user);
        }
    }

    pub fn wake_user(&self, user: UserId) {
        if let Some(tx) = self.lock_users().get(&user) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Wakes every stream: after the bus was down, any of them may have
    /// missed a wake.
    pub fn wake_all_users(&self) {
        for tx in self.lock_users().values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
        for tx in self.lock_orgs().values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A receiver that changes whenever something on the organisation's
    /// live board changed (a dial, a holder, a phone coming or going).
    pub fn watch_org(&self, org: OrgId) -> watch::Receiver<u64> {
        self.lock_orgs()
            .entry(org)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Drops the organisation's entry once nothing watches it.
    pub fn unwatch_org(&self, org: OrgId) {
        let mut orgs = self.lock_orgs();
        if orgs.get(&org).is_some_and(|tx| tx.receiver_count() == 0) {
            orgs.remove(&org);
        }
    }

    pub fn wake_org(&self, org: OrgId) {
        if let Some(tx) = self.lock_orgs().get(&org) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    // A panic while holding these locks cannot leave the maps inconsistent
    // (every operation is a single insert or remove), so poisoning is ignored.
    fn lock_phones(&self) -> std::sync::MutexGuard<'_, HashMap<PhoneId, PhoneSlot>> {
        self.phones.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_users(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, watch::Sender<u64>>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_orgs(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, watch::Sender<u64>>> {
        self.orgs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn ping() -> ServerFrame {
        ServerFrame::Ping { at: Utc::now() }
    }

    #[test]
    fn a_second_connection_replaces_the_first() {
        let hub = LocalHub::default();
        let phone = PhoneId::new();
        let first = hub.attach(phone);
        let mut second = hub.attach(phone);
        assert_eq!(*first.close.borrow(), Some(CloseReason::Replaced));
        assert_eq!(hub.send(phone, ping()), Delivery::Queued);
        assert!(second.frames.try_recv().is_ok());
        // The replaced connection leaving does not remove the new one.
        hub.detach(phone, first.conn);
        assert!(hub.has_phone(phone));
    }

    #[test]
    fn a_phone_that_does_not_read_is_dropped_not_waited_for() {
        let hub = LocalHub::default();
        let phone = PhoneId::new();
        let slow = hub.attach(phone);
        for _ in 0..PHONE_QUEUE {
            assert_eq!(hub.send(phone, ping()), Delivery::Queued);
        }
        assert_eq!(hub.send(phone, ping()), Delivery::Dropped);
        assert_eq!(*slow.close.borrow(), Some(CloseReason::TooSlow));
        assert_eq!(hub.send(phone, ping()), Delivery::Absent);
    }

    #[test]
    fn user_watches_wake_and_clean_up() {
        let hub = LocalHub::default();
        let user = UserId::new();
        let mut watch = hub.watch_user(user);
        hub.wake_user(user);
        assert!(watch.has_changed().unwrap());
        watch.mark_unchanged();
        drop(watch);
        hub.unwatch_user(user);
        assert!(hub.lock_users().is_empty());
    }

    #[test]
    fn org_watches_wake_and_clean_up() {
        let hub = LocalHub::default();
        let (org, other) = (OrgId::new(), OrgId::new());
        let mut watch = hub.watch_org(org);
        hub.wake_org(other);
        assert!(!watch.has_changed().unwrap());
        hub.wake_org(org);
        assert!(watch.has_changed().unwrap());
        watch.mark_unchanged();
        hub.wake_all_users();
        assert!(watch.has_changed().unwrap());
        drop(watch);
        hub.unwatch_org(org);
        assert!(hub.lock_orgs().is_empty());
    }
}
