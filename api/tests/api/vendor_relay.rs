//! The office relay end to end (docs/vendor-phones.md, "The relay"): a real
//! `deskbind-relay` speaks for emulated Yealink, Snom, Grandstream and
//! Fanvil phones on its own phone links. An app dial reaches the phone as
//! its vendor's HTTP command; the phone's Action URLs, configured from the
//! snippet deskbind issues for relay mode, walk the dial to its end and
//! leave a call record with the inferred outcome in the app's sync.

use chrono::TimeDelta;
use deskbind_core::ids::DialId;
use deskbind_core::vendor::Vendor;
use deskbind_core::wire::{
    AppEvent, CallDirection, CallRecord, CallResult, CreatePhone, DialState, Phone, Role,
    VendorMode,
};
use deskbind_mobile::{AppClient, AppEvents};
use deskbind_relay::{Relay, RelayClock, RelayConfig, RelayOptions};
use deskbind_vendor_emulator::{EmulatedPhone, Handled, PhoneEvent, firmware};

use crate::dialing::{dial_states_until_final, fast_reconnect, within};
use crate::helpers::{TestApp, spawn_app};

const PASSWORD: &str = "phone-admin-pw";

/// An app user holding a vendor phone that a relay drives.
struct Rig {
    app: TestApp,
    phone: Phone,
    handset: EmulatedPhone,
    sales: AppClient,
    state_dir: tempfile::TempDir,
    config_text: String,
    clock: RelayClock,
}

fn relay_config(server: &str, state_dir: &std::path::Path, phones: &[String]) -> String {
    let mut text = format!(
        "server_url = \"{server}\"\nlisten = \"127.0.0.1:0\"\nadvertise_url = \"http://127.0.0.1:9\"\nstate_dir = \"{}\"\nlogin_backoff_secs = 600\n",
        state_dir.display()
    );
    for phone in phones {
        text.push_str(phone);
    }
    text
}

fn phone_entry(name: &str, handset: &EmulatedPhone, password: &str, code: &str) -> String {
    format!(
        "\n[[phones]]\nname = \"{name}\"\ndriver = \"{}\"\naddress = \"{}\"\npassword = \"{password}\"\nmac = \"{}\"\nprovisioning_code = \"{code}\"\n",
        handset.vendor, handset.addr, handset.mac
    )
}

fn options(clock: &RelayClock) -> RelayOptions {
    RelayOptions {
        clock: clock.clone(),
        link: fast_reconnect(),
        ..RelayOptions::default()
    }
}

async fn rig(vendor: Vendor, relay_password: &str) -> (Rig, Relay) {
    let app = spawn_app().await;
    let phone = app
        .admin
        .create_phone(&CreatePhone {
            number: "+4930555000".into(),
            region: None,
            extension: None,
            label: "Reception".into(),
            vendor: None,
            model: None,
            driver: Some(vendor.as_str().into()),
        })
        .await
        .unwrap();
    let code = app
        .admin
        .create_provisioning_code(phone.id)
        .await
        .unwrap()
        .code;
    let handset = EmulatedPhone::start(vendor, "001565aa0001", "admin", PASSWORD)
        .await
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let config_text = relay_config(
        &app.base,
        state_dir.path(),
        &[phone_entry("reception", &handset, relay_password, &code)],
    );
    let clock = RelayClock::default();
    let relay = Relay::start(RelayConfig::parse(&config_text).unwrap(), options(&clock))
        .await
        .unwrap();
    // The phone is configured as an admin would: with what deskbind issues
    // for relay mode, pointing at the relay's address.
    let issued = app
        .admin
        .phone_vendor_config(
            phone.id,
            VendorMode::Relay,
            Some(&format!("http://{}", relay.addr())),
        )
        .await
        .unwrap();
    handset.configure(&issued.snippet);
    let (user, sales) = app.user("sam@acme.test", Role::Salesperson).await;
    app.grant(phone.id, &[user.id]).await;
    sales.bind_phone(phone.id, false).await.unwrap();
    let rig = Rig {
        app,
        phone,
        handset,
        sales,
        state_dir,
        config_text,
        clock,
    };
    (rig, relay)
}

/// The next call record the app is told of.
async fn next_record(events: &mut AppEvents<'_>) -> CallRecord {
    loop {
        let event = within(events.next()).await.expect("event");
        if let AppEvent::CallRecord { record, .. } = event.event {
            return *record;
        }
    }
}

async fn open_events(sales: &AppClient) -> AppEvents<'_> {
    let mut events = sales.events(None).await.unwrap();
    assert_eq!(within(events.next()).await.unwrap().event, AppEvent::Resync);
    events
}

/// Dials through the app and waits for the phone to take the command.
async fn dial(rig: &Rig, number: &str, requests_before: usize) -> DialId {
    let dial = rig.sales.dial(number, None, None).await.unwrap();
    let received = within(rig.handset.wait_for_requests(requests_before + 1)).await;
    let last = received.last().unwrap();
    assert_eq!(
        last.handled,
        Handled::Done(firmware::Command::Dial(number.into())),
        "{}: {}",
        rig.handset.vendor,
        last.path_and_query
    );
    dial.id
}

#[tokio::test]
async fn an_app_dial_reaches_a_yealink_and_its_call_comes_back_answered() {
    let (rig, relay) = rig(Vendor::Yealink, PASSWORD).await;
    let mut events = open_events(&rig.sales).await;
    let id = dial(&rig, "+4930123456", 0).await;
    let request = &rig.handset.received()[0];
    // Yealink's quirk: `key` is the first parameter; the login went as basic
    // auth (the emulator refuses anything else).
    assert_eq!(request.path_and_query, "/servlet?key=number=%2B4930123456");

    let call = rig.handset.new_call("+4930123456");
    rig.handset.report(PhoneEvent::Outgoing, &call).await;
    rig.handset.report(PhoneEvent::Established, &call).await;
    rig.clock.advance(TimeDelta::seconds(61));
    rig.handset.report(PhoneEvent::Terminated, &call).await;

    let states = dial_states_until_final(&mut events, id).await;
    assert_eq!(
        states,
        [
            DialState::Queued,
            DialState::Delivered,
            DialState::Dialing,
            DialState::Answered,
            DialState::Ended
        ]
    );
    let record = next_record(&mut events).await;
    assert_eq!(
        (
            record.direction,
            record.result,
            record.duration_secs,
            record.dial_id,
            record.remote_number.as_str()
        ),
        (
            CallDirection::Outbound,
            Some(CallResult::Answered),
            Some(61),
            Some(id),
            "+4930123456"
        )
    );
    let synced = rig.sales.sync_calls(None, None).await.unwrap();
    assert_eq!(synced.items.len(), 1, "{synced:?}");
    assert_eq!(synced.items[0].id, record.id);
    relay.stop().await;
}

/// Busy (Yealink reports it; the others only end the call), no answer
/// after the ring timeout, a hangup from the app, and a missed incoming
/// call with its screen pop: on every vendor.
#[tokio::test]
async fn every_vendor_through_the_relay_busy_no_answer_cancel_and_incoming() {
    for vendor in Vendor::ALL.iter().copied() {
        let (rig, relay) = rig(vendor, PASSWORD).await;
        let mut events = open_events(&rig.sales).await;
        let handset = &rig.handset;

        // The other party is busy.
        let id = dial(&rig, "+4930111111", 0).await;
        let call = handset.new_call("+4930111111");
        handset.report(PhoneEvent::Outgoing, &call).await;
        handset.report(PhoneEvent::RemoteBusy, &call).await;
        dial_states_until_final(&mut events, id).await;
        let busy = next_record(&mut events).await;
        let expected = if vendor == Vendor::Yealink {
            CallResult::Busy
        } else {
            CallResult::Cancelled
        };
        assert_eq!(busy.result, Some(expected), "{vendor}");

        // Nobody answers within the ring timeout.
        let id = dial(&rig, "+4930222222", 1).await;
        let call = handset.new_call("+4930222222");
        handset.report(PhoneEvent::Outgoing, &call).await;
        rig.clock.advance(TimeDelta::seconds(46));
        handset.report(PhoneEvent::Cancelled, &call).await;
        dial_states_until_final(&mut events, id).await;
        let unanswered = next_record(&mut events).await;
        assert_eq!(unanswered.result, Some(CallResult::NoAnswer), "{vendor}");

        // The app hangs up: the phone is told to, and reports the end.
        let id = dial(&rig, "+4930333333", 2).await;
        let call = handset.new_call("+4930333333");
        handset.report(PhoneEvent::Outgoing, &call).await;
        rig.sales.cancel_dial(id).await.unwrap();
        let received = within(handset.wait_for_requests(4)).await;
        assert_eq!(
            received[3].handled,
            Handled::Done(firmware::Command::Hangup),
            "{vendor}: {}",
            received[3].path_and_query
        );
        handset.report(PhoneEvent::Cancelled, &call).await;
        let cancelled = next_record(&mut events).await;
        assert_eq!(
            (cancelled.result, cancelled.dial_id),
            (Some(CallResult::Cancelled), Some(id)),
            "{vendor}"
        );

        // A call rings in: the holder gets the screen pop, then the miss.
        let call = handset.new_call("+4940999888");
        handset.report(PhoneEvent::Incoming, &call).await;
        loop {
            let event = within(events.next()).await.unwrap();
            if let AppEvent::IncomingCall { from, phone_id, .. } = event.event {
                assert_eq!((from.as_str(), phone_id), ("+4940999888", rig.phone.id));
                break;
            }
        }
        handset.report(PhoneEvent::RemoteCancelled, &call).await;
        let missed = next_record(&mut events).await;
        assert_eq!(
            (missed.direction, missed.result),
            (CallDirection::Missed, Some(CallResult::NoAnswer)),
            "{vendor}"
        );
        assert_eq!(
            rig.sales.sync_calls(None, None).await.unwrap().items.len(),
            4,
            "{vendor}"
        );
        relay.stop().await;
    }
}

/// A wrong admin password is tried once: the dial fails, and the next
/// dials are refused by the relay itself without touching the phone, so
/// the phone never locks its login out.
#[tokio::test]
async fn a_wrong_phone_password_makes_the_relay_back_off_not_retry() {
    for vendor in [Vendor::Snom, Vendor::Grandstream] {
        let (rig, relay) = rig(vendor, "wrong-password").await;
        let mut events = open_events(&rig.sales).await;
        let mut failed = Vec::new();
        for n in 0..4 {
            let dial = rig
                .sales
                .dial(&format!("+49301000{n:02}"), None, None)
                .await
                .unwrap();
            let states = dial_states_until_final(&mut events, dial.id).await;
            failed.push(*states.last().unwrap());
        }
        assert!(failed.iter().all(|s| *s == DialState::Failed), "{failed:?}");
        let received = rig.handset.received();
        assert_eq!(received.len(), 1, "{vendor}: {received:?}");
        assert_eq!(received[0].handled, Handled::LoginRefused);
        let status = &relay.status()[0];
        assert!(status.login_paused_until.is_some(), "{status:?}");
        assert!(
            status
                .last_error
                .as_deref()
                .unwrap_or_default()
                .contains("refused the login"),
            "{status:?}"
        );
        relay.stop().await;
    }
}

/// Events that arrive while the server is away are kept on disk; after
/// the relay restarts they are sent once: one record, however often the
/// relay restarts.
#[tokio::test]
async fn events_kept_while_the_server_is_away_survive_a_relay_restart_and_count_once() {
    let (rig, relay) = rig(Vendor::Fanvil, PASSWORD).await;
    // A second server node the relay talks to, which goes away.
    let node = rig.app.spawn_node(|_| {}).await;
    relay.stop().await;
    let on_node = rig.config_text.replace(&rig.app.base, &node.base);
    let relay = Relay::start(RelayConfig::parse(&on_node).unwrap(), options(&rig.clock))
        .await
        .unwrap();
    // The relay listens on a new port: the phone is pointed at it again.
    let issued = rig
        .app
        .admin
        .phone_vendor_config(
            rig.phone.id,
            VendorMode::Relay,
            Some(&format!("http://{}", relay.addr())),
        )
        .await
        .unwrap();
    rig.handset.configure(&issued.snippet);
    node.kill().await;

    let call = rig.handset.new_call("+4930444444");
    for event in [
        PhoneEvent::Outgoing,
        PhoneEvent::Established,
        PhoneEvent::Terminated,
    ] {
        let called = rig.handset.report(event, &call).await;
        assert!(!called.is_empty());
    }
    let status = &relay.status()[0];
    assert!(status.unsent_records == 1, "{status:?}");
    relay.stop().await;
    assert_eq!(rig.app.count("call_records").await, 0);

    // Restarted against a server that answers: sent once.
    let mut events = open_events(&rig.sales).await;
    for _ in 0..2 {
        let relay = Relay::start(
            RelayConfig::parse(&rig.config_text).unwrap(),
            options(&rig.clock),
        )
        .await
        .unwrap();
        if rig.app.count("call_records").await == 0 {
            let record = next_record(&mut events).await;
            assert_eq!(record.result, Some(CallResult::Answered));
        }
        relay.stop().await;
    }
    assert_eq!(rig.app.count("call_records").await, 1);
    let _ = &rig.state_dir;
}

/// The relay takes a phone's events only from the phone's own address and
/// with its MAC; anything else is refused and changes nothing.
#[tokio::test]
async fn the_relay_hears_a_phone_only_from_its_address_and_with_its_mac() {
    let (rig, relay) = rig(Vendor::Snom, PASSWORD).await;
    let events_url = format!("http://{}/phones/{}/events", relay.addr(), rig.phone.id);
    let mac = &rig.handset.mac;
    let here = reqwest::Client::new();
    let elsewhere = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let status = |client: &reqwest::Client, url: String| {
        let request = client.get(url);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let incoming =
        |mac: &str| format!("{events_url}?event=incoming&call_id=7&remote=%2B4930777&mac={mac}");
    let refused = [
        (status(&elsewhere, incoming(mac)).await, 403),
        (status(&here, incoming("001565aa0002")).await, 403),
        (
            status(&here, format!("{events_url}?event=incoming&remote=1")).await,
            403,
        ),
        (
            status(&here, format!("{events_url}?event=reboot&mac={mac}")).await,
            400,
        ),
        (
            status(
                &here,
                format!(
                    "http://{}/phones/{}/events?event=incoming&mac={mac}",
                    relay.addr(),
                    deskbind_core::ids::PhoneId::new()
                ),
            )
            .await,
            404,
        ),
        (
            status(&here, format!("http://{}/phones/x/events", relay.addr())).await,
            404,
        ),
    ];
    for (i, (got, wanted)) in refused.iter().enumerate() {
        assert_eq!(got, wanted, "case {i}");
    }
    let phone_status = &relay.status()[0];
    assert_eq!(
        (phone_status.last_event_at, phone_status.unsent_frames),
        (None, 0),
        "{phone_status:?}"
    );

    let answer = here
        .get(format!("http://{}/status", relay.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let shown: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(shown["phones"][0]["name"], "reception");
    assert_eq!(shown["phones"][0]["phone_id"], rig.phone.id.to_string());
    assert!(!shown.to_string().contains(PASSWORD));

    // The phone itself is heard.
    let mut events = open_events(&rig.sales).await;
    assert_eq!(status(&here, incoming(mac)).await, 200);
    loop {
        if let AppEvent::IncomingCall { from, .. } = within(events.next()).await.unwrap().event {
            assert_eq!(from, "+4930777");
            break;
        }
    }
    relay.stop().await;
}

/// A phone that takes the dial but never starts the call (its user
/// dismissed a prompt, the line was down): the dial fails once the match
/// window has passed, with no call record.
#[tokio::test]
async fn a_dial_the_phone_never_starts_fails_after_the_match_window() {
    let (rig, relay) = rig(Vendor::Yealink, PASSWORD).await;
    let mut events = open_events(&rig.sales).await;
    let id = dial(&rig, "+4930555555", 0).await;
    rig.clock.advance(TimeDelta::seconds(16));
    let states = dial_states_until_final(&mut events, id).await;
    assert_eq!(states.last(), Some(&DialState::Failed), "{states:?}");
    let dial = rig.sales.get_dial(id).await.unwrap();
    assert_eq!(
        dial.failure,
        Some(deskbind_core::wire::DialFailure::Error),
        "{dial:?}"
    );
    assert_eq!(rig.app.count("call_records").await, 0);
    relay.stop().await;
}
