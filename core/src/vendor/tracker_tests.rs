//! The tracker's outcome rules, one scripted call each.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::catalog::Vendor;
use super::events::{EventKind, VendorEvent};
use super::tracker::{CallTracker, Effect, TrackerConfig, UNKNOWN_PARTY};
use crate::ids::DialId;
use crate::wire::{
    CallDirection, CallRecordUpload, CallResult, CallState, DialFailure, LineState, PhoneFrame,
};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .unwrap_or_default()
}

fn ev(kind: EventKind, call_id: Option<&str>, remote: Option<&str>) -> VendorEvent {
    VendorEvent {
        kind,
        call_id: call_id.map(str::to_owned),
        remote: remote.map(str::to_owned),
        mac: None,
    }
}

struct Script {
    tracker: CallTracker,
    config: TrackerConfig,
    effects: Vec<Effect>,
}

impl Script {
    fn new() -> Self {
        Self {
            tracker: CallTracker::new(Vendor::Yealink),
            config: TrackerConfig::default(),
            effects: Vec::new(),
        }
    }

    fn at(&mut self, secs: i64, kind: EventKind, call_id: &str, remote: &str) -> &mut Self {
        let effects = self.tracker.observe(
            &self.config,
            &ev(kind, Some(call_id), Some(remote)),
            t(secs),
        );
        self.effects.extend(effects);
        self
    }

    fn records(&self) -> Vec<&CallRecordUpload> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn dial_states(&self) -> Vec<(CallState, Option<DialFailure>, Option<DialId>)> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Frame(PhoneFrame::CallEvent {
                    state,
                    result,
                    command_id,
                    ..
                }) => Some((*state, *result, *command_id)),
                _ => None,
            })
            .collect()
    }

    fn lines(&self) -> Vec<LineState> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Frame(PhoneFrame::LineState { state }) => Some(*state),
                _ => None,
            })
            .collect()
    }

    fn only_record(&self) -> CallRecordUpload {
        let records = self.records();
        assert_eq!(records.len(), 1, "{:?}", self.effects);
        records[0].clone()
    }
}

#[test]
fn a_dialled_call_answered_then_hung_up_is_answered_with_its_talk_time() {
    let dial = DialId::new();
    let mut s = Script::new();
    s.tracker.expect_dial(dial, "+4930123456", t(0));
    s.at(1, EventKind::Outgoing, "7", "030123456")
        .at(9, EventKind::Established, "7", "030123456")
        .at(70, EventKind::Terminated, "7", "030123456");
    let record = s.only_record();
    assert_eq!(record.direction, CallDirection::Outbound);
    assert_eq!(record.result, Some(CallResult::Answered));
    assert_eq!(record.duration_secs, Some(61));
    assert_eq!(
        (record.started_at, record.answered_at, record.ended_at),
        (t(1), Some(t(9)), Some(t(70)))
    );
    assert_eq!(record.dial_id, Some(dial));
    assert_eq!(
        s.dial_states(),
        vec![
            (CallState::Dialing, None, Some(dial)),
            (CallState::Answered, None, Some(dial)),
            (CallState::Ended, None, Some(dial)),
        ]
    );
    assert_eq!(
        s.lines(),
        vec![LineState::Dialing, LineState::Talking, LineState::Idle]
    );
    assert_eq!(s.tracker.open_calls(), 0);
}

#[test]
fn a_busy_callee_is_busy() {
    let mut s = Script::new();
    s.at(0, EventKind::Outgoing, "1", "+4930123456").at(
        3,
        EventKind::RemoteBusy,
        "1",
        "+4930123456",
    );
    let record = s.only_record();
    assert_eq!(record.result, Some(CallResult::Busy));
    assert_eq!(record.duration_secs, None);
    assert_eq!(
        s.dial_states().last().map(|d| d.1),
        Some(Some(DialFailure::Busy))
    );
}

#[test]
fn given_up_before_the_ring_timeout_is_cancelled_after_it_no_answer() {
    let mut quick = Script::new();
    quick.at(0, EventKind::Outgoing, "1", "+4930123456").at(
        10,
        EventKind::Cancelled,
        "1",
        "+4930123456",
    );
    assert_eq!(quick.only_record().result, Some(CallResult::Cancelled));

    let mut long = Script::new();
    long.at(0, EventKind::Outgoing, "1", "+4930123456").at(
        45,
        EventKind::Terminated,
        "1",
        "+4930123456",
    );
    assert_eq!(long.only_record().result, Some(CallResult::NoAnswer));
    assert_eq!(
        long.dial_states().last().map(|d| d.1),
        Some(Some(DialFailure::NoAnswer))
    );
}

#[test]
fn an_incoming_call_pops_then_records_as_answered_missed_or_rejected() {
    let mut answered = Script::new();
    answered
        .at(0, EventKind::Incoming, "3", "sip-less")
        .at(4, EventKind::Established, "3", "sip-less")
        .at(34, EventKind::Terminated, "3", "sip-less");
    assert!(matches!(
        answered.effects.first(),
        Some(Effect::Frame(PhoneFrame::Incoming { from, .. })) if from == "sip-less"
    ));
    let record = answered.only_record();
    assert_eq!(
        (record.direction, record.result, record.duration_secs),
        (CallDirection::Inbound, Some(CallResult::Answered), Some(30))
    );
    assert!(
        answered.dial_states().is_empty(),
        "incoming calls move no dial"
    );
    assert_eq!(
        answered.lines(),
        vec![LineState::Ringing, LineState::Talking, LineState::Idle]
    );

    let mut missed = Script::new();
    missed.at(0, EventKind::Incoming, "4", "+1555").at(
        20,
        EventKind::RemoteCancelled,
        "4",
        "+1555",
    );
    let record = missed.only_record();
    assert_eq!(
        (record.direction, record.result),
        (CallDirection::Missed, Some(CallResult::NoAnswer))
    );

    let mut rejected = Script::new();
    rejected
        .at(0, EventKind::Incoming, "5", "+1555")
        .at(2, EventKind::Rejected, "5", "+1555");
    assert_eq!(rejected.only_record().result, Some(CallResult::Rejected));
}

#[test]
fn repeated_and_stray_events_change_nothing() {
    let mut s = Script::new();
    s.at(0, EventKind::Outgoing, "1", "+4930123456")
        .at(0, EventKind::Outgoing, "1", "+4930123456")
        .at(5, EventKind::Established, "1", "+4930123456")
        .at(6, EventKind::Established, "1", "+4930123456")
        .at(20, EventKind::Terminated, "1", "+4930123456")
        .at(21, EventKind::Terminated, "1", "+4930123456")
        .at(22, EventKind::Cancelled, "9", "+4930123456");
    assert_eq!(s.records().len(), 1);
    assert_eq!(s.dial_states().len(), 3);
}

#[test]
fn a_dial_matches_only_its_number_within_the_window() {
    let (first, second) = (DialId::new(), DialId::new());
    let mut s = Script::new();
    s.tracker.expect_dial(first, "+4930111111", t(0));
    s.tracker.expect_dial(second, "+4930222222", t(0));
    s.at(2, EventKind::Outgoing, "1", "030222222");
    assert_eq!(
        s.dial_states(),
        vec![(CallState::Dialing, None, Some(second))]
    );
    assert!(s.tracker.knows_dial(first));
    // The first is never dialled: the window closes on it.
    let late = s.tracker.tick(&s.config, t(16));
    assert_eq!(late, vec![Effect::DialUnseen(first)]);
    assert!(!s.tracker.knows_dial(first));
    // A later call to the same number is dialled by hand: no dial.
    s.effects.clear();
    s.at(30, EventKind::Outgoing, "2", "+4930111111");
    assert_eq!(s.dial_states(), vec![(CallState::Dialing, None, None)]);
}

#[test]
fn the_dials_call_is_known_by_the_phones_call_id_for_a_hangup() {
    let dial = DialId::new();
    let mut s = Script::new();
    s.tracker.expect_dial(dial, "+4930123456", t(0));
    s.at(1, EventKind::Outgoing, "41", "+4930123456");
    assert_eq!(s.tracker.vendor_call_of(dial), Some("41"));
}

#[test]
fn lost_ends_are_closed_by_the_clock() {
    let mut s = Script::new();
    s.at(0, EventKind::Outgoing, "1", "+4930123456");
    assert!(s.tracker.tick(&s.config, t(599)).is_empty());
    let closed = s.tracker.tick(&s.config, t(600));
    assert!(
        closed
            .iter()
            .any(|e| matches!(e, Effect::Record(r) if r.result == Some(CallResult::NoAnswer)))
    );

    let mut talking = Script::new();
    talking
        .at(0, EventKind::Incoming, "2", "+1555")
        .at(1, EventKind::Established, "2", "+1555");
    let closed = talking
        .tracker
        .tick(&talking.config, t(1) + TimeDelta::hours(4));
    let record = closed.iter().find_map(|e| match e {
        Effect::Record(r) => Some(r.clone()),
        _ => None,
    });
    let record = record.unwrap_or_else(|| panic!("no record in {closed:?}"));
    assert_eq!(
        (record.result, record.ended_at, record.duration_secs),
        (Some(CallResult::Answered), None, None)
    );
    assert_eq!(talking.tracker.line(), LineState::Idle);
}

#[test]
fn a_phone_without_call_ids_follows_its_newest_call() {
    let mut s = Script::new();
    let events = [
        ev(EventKind::Outgoing, None, Some("+4930123456")),
        ev(EventKind::Established, None, None),
        ev(EventKind::Terminated, None, None),
    ];
    for (i, e) in events.iter().enumerate() {
        let effects = s.tracker.observe(&s.config, e, t(i as i64 * 10));
        s.effects.extend(effects);
    }
    let record = s.only_record();
    assert_eq!(
        (record.result, record.duration_secs),
        (Some(CallResult::Answered), Some(10))
    );
    assert_eq!(record.remote_number, "+4930123456");
}

#[test]
fn idle_ends_every_call_and_hold_shows_on_the_line() {
    let mut s = Script::new();
    s.at(0, EventKind::Incoming, "1", "+1555")
        .at(1, EventKind::Established, "1", "+1555")
        .at(2, EventKind::Hold, "1", "+1555")
        .at(3, EventKind::Unhold, "1", "+1555")
        .at(9, EventKind::Idle, "", "");
    assert_eq!(
        s.lines(),
        vec![
            LineState::Ringing,
            LineState::Talking,
            LineState::Held,
            LineState::Talking,
            LineState::Idle
        ]
    );
    assert_eq!(s.records().len(), 1);
}

#[test]
fn an_unknown_caller_is_anonymous_and_open_calls_are_bounded() {
    let mut s = Script::new();
    for i in 0..10 {
        let effects = s.tracker.observe(
            &s.config,
            &ev(EventKind::Incoming, Some(&i.to_string()), None),
            t(i),
        );
        s.effects.extend(effects);
    }
    assert_eq!(s.tracker.open_calls(), 8);
    assert_eq!(s.records().len(), 2);
    assert!(s.records().iter().all(|r| r.remote_number == UNKNOWN_PARTY));
}

#[test]
fn the_tracker_survives_a_round_trip_through_json() {
    let mut s = Script::new();
    s.tracker.expect_dial(DialId::new(), "+4930123456", t(0));
    s.at(1, EventKind::Outgoing, "1", "+4930123456");
    let json = serde_json::to_string(&s.tracker).unwrap_or_default();
    let back: Result<CallTracker, _> = serde_json::from_str(&json);
    assert_eq!(back.ok(), Some(s.tracker.clone()));
}

#[test]
fn a_resent_call_start_is_a_repeat_long_after_its_call_ended() {
    let mut s = Script::new();
    s.at(0, EventKind::Incoming, "3", "+1555")
        .at(5, EventKind::Terminated, "3", "+1555");
    let before = s.tracker.clone();
    let incoming = ev(EventKind::Incoming, Some("3"), Some("+1555"));
    assert!(s.tracker.is_repeat(&incoming, t(600)));
    assert!(s.tracker.observe(&s.config, &incoming, t(600)).is_empty());
    assert_eq!(s.tracker, before, "a repeat changes nothing");
    // An hour on, the phone may have rebooted and reused its call id.
    assert!(!s.tracker.is_repeat(&incoming, t(3_601)));
    // Without a call id only an immediate resend is a repeat.
    let anonymous = ev(EventKind::Outgoing, None, Some("+4930123456"));
    s.tracker.observe(&s.config, &anonymous, t(4_000));
    assert!(s.tracker.is_repeat(&anonymous, t(4_004)));
    assert!(!s.tracker.is_repeat(&anonymous, t(4_006)));
}

#[test]
fn an_answer_or_busy_for_no_open_call_starts_nothing() {
    let mut s = Script::new();
    s.at(0, EventKind::Incoming, "1", "+1555")
        .at(5, EventKind::Terminated, "1", "+1555");
    // A late answer of the call that ended, and a busy never started.
    s.at(6, EventKind::Established, "1", "+1555")
        .at(7, EventKind::RemoteBusy, "2", "+1666");
    assert_eq!(s.records().len(), 1);
    assert_eq!(s.tracker.open_calls(), 0);
}

#[test]
fn time_never_runs_backwards_for_one_phone() {
    let mut s = Script::new();
    s.at(10, EventKind::Outgoing, "1", "+4930123456")
        .at(20, EventKind::Established, "1", "+4930123456")
        // Stamped earlier by another node.
        .at(15, EventKind::Terminated, "1", "+4930123456");
    let record = s.only_record();
    assert_eq!(
        (record.answered_at, record.ended_at, record.duration_secs),
        (Some(t(20)), Some(t(20)), Some(0))
    );
}

#[test]
fn a_reused_call_id_closes_the_call_whose_end_was_lost() {
    let mut s = Script::new();
    s.at(0, EventKind::Outgoing, "1", "+4930111111").at(
        2,
        EventKind::Established,
        "1",
        "+4930111111",
    );
    // The phone rebooted: call id 1 again, another number.
    s.at(100, EventKind::Outgoing, "1", "+4930222222").at(
        110,
        EventKind::Terminated,
        "1",
        "+4930222222",
    );
    let records = s.records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].remote_number.as_str(), records[0].ended_at),
        ("+4930111111", None)
    );
    assert_eq!(
        (records[1].remote_number.as_str(), records[1].result),
        ("+4930222222", Some(CallResult::Cancelled))
    );
}

#[test]
fn without_call_ids_the_other_party_picks_the_call() {
    let mut s = Script::new();
    let events = [
        (0, ev(EventKind::Incoming, None, Some("+1555"))),
        (1, ev(EventKind::Established, None, Some("+1555"))),
        (2, ev(EventKind::Incoming, None, Some("+1666"))),
        (9, ev(EventKind::Missed, None, Some("+1666"))),
        // A repeated end of the missed call changes nothing.
        (10, ev(EventKind::Terminated, None, Some("+1666"))),
        (30, ev(EventKind::Terminated, None, Some("+1555"))),
    ];
    for (secs, e) in events {
        let effects = s.tracker.observe(&s.config, &e, t(secs));
        s.effects.extend(effects);
    }
    let records = s.records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].remote_number.as_str(), records[0].direction),
        ("+1666", CallDirection::Missed)
    );
    assert_eq!(
        (records[1].remote_number.as_str(), records[1].duration_secs),
        ("+1555", Some(29))
    );
}

#[test]
fn closing_all_ends_every_open_call() {
    let mut s = Script::new();
    s.at(0, EventKind::Incoming, "1", "+1555")
        .at(1, EventKind::Outgoing, "2", "+4930123456");
    let closed = s.tracker.close_all(&s.config, t(50));
    assert_eq!(
        closed
            .iter()
            .filter(|e| matches!(e, Effect::Record(_)))
            .count(),
        2
    );
    assert_eq!(
        (s.tracker.open_calls(), s.tracker.line()),
        (0, LineState::Idle)
    );
}
