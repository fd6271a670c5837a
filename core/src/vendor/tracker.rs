//! Turns one phone's vendor events into deskbind's own phone protocol: dial
//! progress (`call_event`), screen pops (`incoming`), the line state, and a
//! call record when a call ends. Vendor phones report no outcome and no
//! duration, so both are inferred here from the order of events and the
//! observer's clock (docs/vendor-phones.md, "Outcomes"):
//!
//! - established → terminated: answered, talk time between the two;
//! - remote busy: busy;
//! - given up before an answer (cancelled or terminated): cancelled, or
//!   no answer once it rang for the ring timeout;
//! - an incoming call ended unanswered: missed (rejected when the phone's
//!   user rejected it).
//!
//! A dial command is matched to the phone's outgoing call by the number
//! dialled within the match window after it was sent, then followed by the
//! phone's call id. The tracker is plain data (serde) so a server can keep
//! it in a row and a relay on disk.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::Vendor;
use super::events::{EventKind, VendorEvent};
use super::numbers::same_number;
use crate::ids::DialId;
use crate::wire::{
    CallDirection, CallRecordUpload, CallResult, CallState, DialFailure, LineState, PhoneFrame,
};

/// Calls one phone holds at once, at most; a phone has a handful of lines.
pub const MAX_OPEN_CALLS: usize = 8;
/// Dials waiting to be seen as outgoing calls, at most.
pub const MAX_EXPECTED_DIALS: usize = 16;
/// Shown as the other party when the phone did not say who it was.
pub const UNKNOWN_PARTY: &str = "anonymous";
/// Events that start or answer a call remembered to spot a repeat, at most.
const MAX_REMEMBERED: usize = 64;
/// How long a call-starting event with the phone's call id counts as a
/// repeat (firmwares restart their call ids at boot, so not forever).
const REPEAT_WINDOW_WITH_ID: TimeDelta = TimeDelta::hours(1);
/// The same without a call id: only a resend right after the first.
const REPEAT_WINDOW_WITHOUT_ID: TimeDelta = TimeDelta::seconds(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerConfig {
    /// An outgoing call given up after ringing this long counts as no
    /// answer, before it as cancelled.
    pub ring_timeout: TimeDelta,
    /// How long after a dial was sent the phone's outgoing call may start
    /// and still be matched to it.
    pub match_window: TimeDelta,
    /// An unanswered call with no event for this long is closed (its end
    /// event was lost).
    pub unanswered_abandon: TimeDelta,
    /// An answered call with no event for this long is closed without a
    /// known end or talk time.
    pub answered_abandon: TimeDelta,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            ring_timeout: TimeDelta::seconds(45),
            match_window: TimeDelta::seconds(15),
            unanswered_abandon: TimeDelta::minutes(10),
            answered_abandon: TimeDelta::hours(4),
        }
    }
}

/// What an observed event means in deskbind's terms, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A frame of the phone protocol, as an SDK phone would send it.
    Frame(PhoneFrame),
    /// A finished call, for the idempotent call-record upload.
    Record(CallRecordUpload),
    /// The handset's do-not-disturb went on (`true`) or off.
    Dnd(bool),
    /// A dial the phone was sent but never started within the match
    /// window: its command reached the phone, its call was not seen.
    DialUnseen(DialId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Way {
    Out,
    In,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Call {
    /// The phone's call id, when it has one.
    vendor_id: Option<String>,
    /// The id the call's frames and record carry.
    call_id: String,
    way: Way,
    remote: String,
    dial: Option<DialId>,
    started_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    last_event_at: DateTime<Utc>,
    held: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ExpectedDial {
    dial: DialId,
    number: String,
    sent_at: DateTime<Utc>,
}

/// How a call came to an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Hung up, or the phone went idle.
    HungUp,
    RemoteBusy,
    /// The phone's user gave up (outgoing) or rejected (incoming) it.
    ByUser,
    /// Nobody answered an incoming call.
    Unanswered,
    /// Its end was never reported.
    Abandoned,
}

/// One phone's calls in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallTracker {
    vendor: Vendor,
    calls: Vec<Call>,
    expected: Vec<ExpectedDial>,
    line: LineState,
    /// Numbers calls without a vendor call id.
    seq: u64,
    /// Recent call-starting events, to drop a phone's (or anyone's) resend.
    #[serde(default)]
    recent: Vec<Seen>,
    /// The latest time an event was applied at.
    #[serde(default)]
    latest: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    fingerprint: String,
    at: DateTime<Utc>,
}

/// What identifies a call-starting event; `None` for events whose repeat
/// changes nothing anyway.
fn fingerprint(event: &VendorEvent) -> Option<String> {
    matches!(
        event.kind,
        EventKind::Outgoing | EventKind::Incoming | EventKind::Established | EventKind::RemoteBusy
    )
    .then(|| {
        format!(
            "{}|{}|{}",
            event.kind,
            event.call_id.as_deref().unwrap_or(""),
            event.remote.as_deref().unwrap_or("")
        )
    })
}

impl CallTracker {
    pub fn new(vendor: Vendor) -> Self {
        Self {
            vendor,
            calls: Vec::new(),
            expected: Vec::new(),
            line: LineState::Idle,
            seq: 0,
            recent: Vec::new(),
            latest: None,
        }
    }

    /// Whether `event` at `at` repeats one already applied: a phone's
    /// resend, or a replay. A repeat changes nothing.
    pub fn is_repeat(&self, event: &VendorEvent, at: DateTime<Utc>) -> bool {
        let Some(print) = fingerprint(event) else {
            return false;
        };
        let window = if event.call_id.is_some() {
            REPEAT_WINDOW_WITH_ID
        } else {
            REPEAT_WINDOW_WITHOUT_ID
        };
        self.recent
            .iter()
            .any(|s| s.fingerprint == print && at - s.at <= window && s.at <= at + window)
    }

    fn remember(&mut self, event: &VendorEvent, at: DateTime<Utc>) {
        let Some(fingerprint) = fingerprint(event) else {
            return;
        };
        self.recent.retain(|s| at - s.at <= REPEAT_WINDOW_WITH_ID);
        if self.recent.len() == MAX_REMEMBERED {
            self.recent.remove(0);
        }
        self.recent.push(Seen { fingerprint, at });
    }

    pub fn line(&self) -> LineState {
        self.line
    }

    pub fn open_calls(&self) -> usize {
        self.calls.len()
    }

    /// The phone's call id of the call a dial started, for a hangup
    /// command that names the call.
    pub fn vendor_call_of(&self, dial: DialId) -> Option<&str> {
        self.calls
            .iter()
            .find(|c| c.dial == Some(dial))
            .and_then(|c| c.vendor_id.as_deref())
    }

    /// Whether the dial's call is still waiting to be seen or in progress.
    pub fn knows_dial(&self, dial: DialId) -> bool {
        self.expected.iter().any(|e| e.dial == dial)
            || self.calls.iter().any(|c| c.dial == Some(dial))
    }

    /// The phone was told to dial `number` for `dial` at `at`.
    pub fn expect_dial(&mut self, dial: DialId, number: &str, at: DateTime<Utc>) {
        if self.knows_dial(dial) {
            return;
        }
        if self.expected.len() == MAX_EXPECTED_DIALS {
            self.expected.remove(0);
        }
        self.expected.push(ExpectedDial {
            dial,
            number: number.to_owned(),
            sent_at: at,
        });
    }

    /// Stops waiting for `dial`'s call: its command never reached the
    /// phone, and its failure is already reported.
    pub fn forget_dial(&mut self, dial: DialId) {
        self.expected.retain(|e| e.dial != dial);
    }

    /// Applies one event the phone reported at `at` (the observer's clock);
    /// a repeat ([`Self::is_repeat`]) is dropped.
    pub fn observe(
        &mut self,
        config: &TrackerConfig,
        event: &VendorEvent,
        at: DateTime<Utc>,
    ) -> Vec<Effect> {
        if self.is_repeat(event, at) {
            return Vec::new();
        }
        // One phone's time never runs backwards (nodes' clocks differ a
        // little, requests overtake each other): a talk time is never
        // negative and an end never precedes its start.
        let at = self.latest.map_or(at, |latest| at.max(latest));
        self.latest = Some(at);
        self.remember(event, at);
        let mut effects = self.forget_unseen_dials(config, at);
        let remote = event.remote.clone();
        match event.kind {
            EventKind::Outgoing => self.start_anew(config, Way::Out, event, at, &mut effects),
            EventKind::Incoming => self.start_anew(config, Way::In, event, at, &mut effects),
            EventKind::Established => {
                // Only a start starts a call: an answer for a call not open
                // came late (its call ended) or its start was lost.
                let Some(index) = self.find(event) else {
                    self.update_line(&mut effects);
                    return effects;
                };
                let call = &mut self.calls[index];
                call.last_event_at = at;
                if call.remote == UNKNOWN_PARTY
                    && let Some(remote) = remote
                {
                    call.remote = remote;
                }
                if call.answered_at.is_none() {
                    call.answered_at = Some(at);
                    if call.way == Way::Out {
                        effects.push(call_event(call, CallState::Answered, None, at));
                    }
                }
            }
            EventKind::RemoteBusy => {
                self.end_one(config, event, Ending::RemoteBusy, at, &mut effects)
            }
            EventKind::Cancelled | EventKind::Rejected => {
                self.end_one(config, event, Ending::ByUser, at, &mut effects)
            }
            EventKind::RemoteCancelled | EventKind::Missed => {
                self.end_one(config, event, Ending::Unanswered, at, &mut effects)
            }
            EventKind::Terminated => self.end_one(config, event, Ending::HungUp, at, &mut effects),
            EventKind::Hold | EventKind::Unhold => {
                if let Some(i) = self.find(event) {
                    self.calls[i].held = event.kind == EventKind::Hold;
                    self.calls[i].last_event_at = at;
                }
            }
            EventKind::DndOn => effects.push(Effect::Dnd(true)),
            EventKind::DndOff => effects.push(Effect::Dnd(false)),
            EventKind::Idle => {
                while !self.calls.is_empty() {
                    self.end_at(config, 0, Ending::HungUp, at, &mut effects);
                }
            }
        }
        self.update_line(&mut effects);
        effects
    }

    /// Closes what the clock says is over: dials never seen, calls whose
    /// end was lost.
    pub fn tick(&mut self, config: &TrackerConfig, now: DateTime<Utc>) -> Vec<Effect> {
        let now = self.latest.map_or(now, |latest| now.max(latest));
        let mut effects = self.forget_unseen_dials(config, now);
        let mut i = 0;
        while i < self.calls.len() {
            let call = &self.calls[i];
            let silent = now - call.last_event_at;
            let limit = if call.answered_at.is_some() {
                config.answered_abandon
            } else {
                config.unanswered_abandon
            };
            if silent >= limit {
                self.end_at(config, i, Ending::Abandoned, now, &mut effects);
            } else {
                i += 1;
            }
        }
        self.update_line(&mut effects);
        effects
    }

    /// Closes every open call as of `now` (the phone stops reporting: its
    /// token revoked, the phone disabled or driven otherwise).
    pub fn close_all(&mut self, config: &TrackerConfig, now: DateTime<Utc>) -> Vec<Effect> {
        let now = self.latest.map_or(now, |latest| now.max(latest));
        let mut effects = Vec::new();
        while !self.calls.is_empty() {
            self.end_at(config, 0, Ending::Abandoned, now, &mut effects);
        }
        self.update_line(&mut effects);
        effects
    }

    fn forget_unseen_dials(&mut self, config: &TrackerConfig, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.expected.retain(|e| {
            let waiting = now - e.sent_at <= config.match_window;
            if !waiting {
                effects.push(Effect::DialUnseen(e.dial));
            }
            waiting
        });
        effects
    }

    /// The open call an event is about: by the phone's call id; when the
    /// phone has none, the newest call with the same other party, or the
    /// newest call when the event names none.
    fn find(&self, event: &VendorEvent) -> Option<usize> {
        match (&event.call_id, &event.remote) {
            (Some(id), _) => self
                .calls
                .iter()
                .position(|c| c.vendor_id.as_deref() == Some(id)),
            (None, Some(remote)) => self.calls.iter().rposition(|c| &c.remote == remote),
            (None, None) => self.calls.len().checked_sub(1),
        }
    }

    /// Starts a call; an open call with the same call id is one whose end
    /// was lost (the phone rebooted and counts its ids again): closed first.
    fn start_anew(
        &mut self,
        config: &TrackerConfig,
        way: Way,
        event: &VendorEvent,
        at: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        if event.call_id.is_some()
            && let Some(stale) = self.find(event)
        {
            self.end_at(config, stale, Ending::Abandoned, at, effects);
        }
        self.start(config, way, event, at, effects);
    }

    fn start(
        &mut self,
        config: &TrackerConfig,
        way: Way,
        event: &VendorEvent,
        at: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> usize {
        if self.calls.len() == MAX_OPEN_CALLS {
            self.end_at(config, 0, Ending::Abandoned, at, effects);
        }
        let remote = event
            .remote
            .clone()
            .unwrap_or_else(|| UNKNOWN_PARTY.to_owned());
        let dial = match way {
            Way::Out => self.take_expected(&remote),
            Way::In => None,
        };
        self.seq += 1;
        let call_id = format!(
            "{}-{}-{}",
            self.vendor,
            at.timestamp_millis(),
            event
                .call_id
                .clone()
                .unwrap_or_else(|| self.seq.to_string())
        );
        let call = Call {
            vendor_id: event.call_id.clone(),
            call_id,
            way,
            remote,
            dial,
            started_at: at,
            answered_at: None,
            last_event_at: at,
            held: false,
        };
        effects.push(match way {
            Way::Out => call_event(&call, CallState::Dialing, None, at),
            Way::In => Effect::Frame(PhoneFrame::Incoming {
                call_id: call.call_id.clone(),
                from: call.remote.clone(),
            }),
        });
        self.calls.push(call);
        self.calls.len() - 1
    }

    /// The oldest dial sent for this number, taken off the waiting list.
    fn take_expected(&mut self, reported: &str) -> Option<DialId> {
        let index = self
            .expected
            .iter()
            .position(|e| same_number(&e.number, reported))?;
        Some(self.expected.remove(index).dial)
    }

    fn end_one(
        &mut self,
        config: &TrackerConfig,
        event: &VendorEvent,
        ending: Ending,
        at: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        // The end of a call never seen (or already ended): a repeat.
        let Some(index) = self.find(event) else {
            return;
        };
        self.end_at(config, index, ending, at, effects);
    }

    fn end_at(
        &mut self,
        config: &TrackerConfig,
        index: usize,
        ending: Ending,
        at: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        let call = self.calls.remove(index);
        let rang = at - call.started_at;
        let (direction, result, dial_state) = match (call.way, call.answered_at, ending) {
            (Way::Out, Some(_), _) => (
                CallDirection::Outbound,
                CallResult::Answered,
                (CallState::Ended, None),
            ),
            (Way::Out, None, Ending::RemoteBusy) => (
                CallDirection::Outbound,
                CallResult::Busy,
                (CallState::Failed, Some(DialFailure::Busy)),
            ),
            (Way::Out, None, _) if rang >= config.ring_timeout || ending == Ending::Abandoned => (
                CallDirection::Outbound,
                CallResult::NoAnswer,
                (CallState::Failed, Some(DialFailure::NoAnswer)),
            ),
            // Given up by the phone's user before the ring timeout.
            (Way::Out, None, _) => (
                CallDirection::Outbound,
                CallResult::Cancelled,
                (CallState::Failed, Some(DialFailure::Rejected)),
            ),
            (Way::In, Some(_), _) => (
                CallDirection::Inbound,
                CallResult::Answered,
                (CallState::Ended, None),
            ),
            (Way::In, None, Ending::ByUser) => (
                CallDirection::Inbound,
                CallResult::Rejected,
                (CallState::Ended, None),
            ),
            (Way::In, None, _) => (
                CallDirection::Missed,
                CallResult::NoAnswer,
                (CallState::Ended, None),
            ),
        };
        // An abandoned answered call's end is unknown: no end, no talk time.
        let ended_at = (!(ending == Ending::Abandoned && call.answered_at.is_some())).then_some(at);
        let duration_secs = match (call.answered_at, ended_at) {
            (Some(answered), Some(ended)) => Some((ended - answered).num_seconds().max(0)),
            _ => None,
        };
        if call.way == Way::Out {
            effects.push(call_event(&call, dial_state.0, dial_state.1, at));
        }
        effects.push(Effect::Record(CallRecordUpload {
            call_id: call.call_id,
            direction,
            local_number: None,
            remote_number: call.remote,
            started_at: call.started_at,
            answered_at: call.answered_at,
            ended_at,
            duration_secs,
            result: Some(result),
            dial_id: call.dial,
        }));
    }

    fn update_line(&mut self, effects: &mut Vec<Effect>) {
        let line = match self.calls.last() {
            None => LineState::Idle,
            Some(c) if c.held => LineState::Held,
            Some(c) if c.answered_at.is_some() => LineState::Talking,
            Some(c) if c.way == Way::In => LineState::Ringing,
            Some(_) => LineState::Dialing,
        };
        if line != self.line {
            self.line = line;
            effects.push(Effect::Frame(PhoneFrame::LineState { state: line }));
        }
    }
}

fn call_event(
    call: &Call,
    state: CallState,
    result: Option<DialFailure>,
    at: DateTime<Utc>,
) -> Effect {
    Effect::Frame(PhoneFrame::CallEvent {
        call_id: call.call_id.clone(),
        command_id: call.dial,
        state,
        result,
        at,
    })
}
