//! What follows a change once it is committed: the frame to the phone and
//! the wake to the user's event streams. A use case collects these inside
//! its transaction and runs them only after the commit, so nobody hears of
//! a change that rolled back.
//!
//! They are best effort on purpose: the change itself and the user's event
//! are already in the database, a phone that misses a dial frame gets it on
//! reconnect or from the redelivery sweep, a phone that misses a `binding`
//! frame gets its holder on the next connect, and a stream that misses a
//! wake re-reads on its keep-alive.

use crate::ids::{OrgId, PhoneId, UserId};
use crate::relay::{CloseReason, Relay};
use crate::wire::ServerFrame;

use super::Services;

/// One thing to do after the commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Wake the user's event streams (their new event is in the log).
    WakeUser(UserId),
    /// Send the phone a frame it must act on (a dial, a hangup).
    SendToPhone(PhoneId, ServerFrame),
    /// The phone's holder changed: send it a fresh `binding` frame, read
    /// after the commit so it shows the holder that is now current.
    HolderChanged(PhoneId),
    /// The phone lost its credential or was disabled: close its socket.
    ClosePhone(PhoneId),
    /// Something on the organisation's live board changed (a dial's state,
    /// a holder, a phone): wake the console's board streams on every node.
    WakeOrg(OrgId),
    /// The user's presence may have changed (they took or left a phone):
    /// announce it to the organisation's streams.
    PresenceChanged(OrgId, UserId),
}

/// The effects of one committed change, run in the order they were added.
#[derive(Debug, Default, Clone)]
#[must_use = "after-commit effects do nothing until `run` is called"]
pub struct AfterCommit {
    effects: Vec<Effect>,
}

impl AfterCommit {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an effect. A wake, a holder notice or a close already queued
    /// is not queued again (one change may reach the same user or phone
    /// twice, e.g. a takeover ends and starts a binding on one phone);
    /// frames are always sent as asked.
    pub fn push(&mut self, effect: Effect) -> &mut Self {
        let idempotent = !matches!(effect, Effect::SendToPhone(..));
        if !(idempotent && self.effects.contains(&effect)) {
            self.effects.push(effect);
        }
        self
    }

    pub fn wake_user(&mut self, user: UserId) -> &mut Self {
        self.push(Effect::WakeUser(user))
    }

    pub fn wake_org(&mut self, org: OrgId) -> &mut Self {
        self.push(Effect::WakeOrg(org))
    }

    pub fn presence_changed(&mut self, org: OrgId, user: UserId) -> &mut Self {
        self.push(Effect::PresenceChanged(org, user))
    }

    pub fn send_to_phone(&mut self, phone: PhoneId, frame: ServerFrame) -> &mut Self {
        self.push(Effect::SendToPhone(phone, frame))
    }

    pub fn holder_changed(&mut self, phone: PhoneId) -> &mut Self {
        self.push(Effect::HolderChanged(phone))
    }

    pub fn close_phone(&mut self, phone: PhoneId) -> &mut Self {
        self.push(Effect::ClosePhone(phone))
    }

    /// Adds another change's effects after these.
    pub fn extend(&mut self, other: AfterCommit) -> &mut Self {
        for effect in other.effects {
            self.push(effect);
        }
        self
    }

    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }

    pub fn is_empty(&self) -> bool {
        self.effects.is_empty()
    }

    /// Runs the effects. Never fails: a notice that cannot be sent is
    /// logged, and the phone or stream catches up as described above.
    pub async fn run(self, services: &Services) {
        for effect in self.effects {
            run_one(services, effect).await;
        }
    }
}

async fn run_one(services: &Services, effect: Effect) {
    let relay: &Relay = &services.relay;
    match effect {
        Effect::WakeUser(user) => relay.wake_user(user).await,
        Effect::WakeOrg(org) => relay.wake_org(org).await,
        Effect::SendToPhone(phone, frame) => relay.send_to_phone(phone, frame).await,
        Effect::ClosePhone(phone) => relay.close_phone(phone, CloseReason::Revoked).await,
        Effect::PresenceChanged(org, user) => {
            super::presence::announce(services, org, user, services.clock.now()).await;
        }
        Effect::HolderChanged(phone) => {
            let frame = services
                .db
                .run(move |conn| super::phone_frames::holder_frame(conn, phone))
                .await;
            match frame {
                Ok(frame) => relay.send_to_phone(phone, frame).await,
                Err(e) => tracing::warn!(%phone, error = %e, "cannot tell the phone its holder"),
            }
        }
    }
}
