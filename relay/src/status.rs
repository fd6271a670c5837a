//! What the relay shows about each phone (`GET /status`,
//! [`crate::Relay::status`]): the agent records what happens, and the
//! link's state is read when asked, so it is never stale.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use deskbind_mobile::LinkState;
use serde::Serialize;
use tokio::sync::watch;

#[derive(Debug, Clone, Serialize)]
pub struct PhoneStatus {
    pub name: String,
    pub driver: String,
    pub phone_id: String,
    /// Read from the link when a snapshot is taken; the recorded value is
    /// never shown.
    pub link: &'static str,
    pub last_event_at: Option<DateTime<Utc>>,
    pub commands_sent: u64,
    pub last_error: Option<String>,
    pub login_paused_until: Option<DateTime<Utc>>,
    pub unsent_frames: usize,
    pub unsent_records: usize,
}

/// One phone's status, shared by its agent and the status page.
#[derive(Debug, Clone)]
pub struct SharedStatus {
    recorded: Arc<Mutex<PhoneStatus>>,
    link: watch::Receiver<LinkState>,
}

impl SharedStatus {
    pub fn new(status: PhoneStatus, link: watch::Receiver<LinkState>) -> Self {
        Self {
            recorded: Arc::new(Mutex::new(status)),
            link,
        }
    }

    /// Records a change.
    pub fn update(&self, change: impl FnOnce(&mut PhoneStatus)) {
        let mut status = self
            .recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut status);
    }

    /// The status now, with the link's current state.
    pub fn snapshot(&self) -> PhoneStatus {
        let mut status = self
            .recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        status.link = match *self.link.borrow() {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
            LinkState::Unauthorized => "unauthorized",
            LinkState::Stopped => "stopped",
        };
        status
    }
}
