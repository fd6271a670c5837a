//! Dialing end to end through the SDK: the app dials, the phone's live
//! link receives the command, acks and reports the call, and the app's
//! event stream sees every state.

use std::time::Duration;

use deskbind_core::ids::DialId;
use deskbind_core::wire::{
    AppEvent, CallState, DialFailure, DialState, HangupReason, PutDialPolicy, Role,
};
use deskbind_mobile::{AppEvents, LinkOptions, LinkState, PhoneCommand, PhoneLink};

use crate::helpers::{code, spawn_app};

/// Awaits `future`, failing the test instead of hanging when it never ends.
pub async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("timed out")
}

pub fn fast_reconnect() -> LinkOptions {
    LinkOptions {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..LinkOptions::default()
    }
}

/// The next dial the phone receives (binding notices are skipped).
pub async fn next_dial(link: &mut PhoneLink) -> (DialId, String) {
    loop {
        match within(link.next()).await.expect("link stopped") {
            PhoneCommand::Dial {
                command_id, number, ..
            } => return (command_id, number),
            PhoneCommand::Binding { .. } => {}
            other => panic!("expected a dial, got {other:?}"),
        }
    }
}

/// The next command that is not a binding notice.
pub async fn next_command(link: &mut PhoneLink) -> PhoneCommand {
    loop {
        match within(link.next()).await.expect("link stopped") {
            PhoneCommand::Binding { .. } => {}
            other => return other,
        }
    }
}

/// Dial states from the stream until (and including) a final one.
pub async fn dial_states_until_final(events: &mut AppEvents<'_>, id: DialId) -> Vec<DialState> {
    dial_states_until(events, id, DialState::is_final).await
}

/// Dial states from the stream until (and including) one `last` accepts.
pub async fn dial_states_until(
    events: &mut AppEvents<'_>,
    id: DialId,
    last: impl Fn(DialState) -> bool,
) -> Vec<DialState> {
    let mut states = Vec::new();
    loop {
        let event = within(events.next()).await.expect("event");
        if let AppEvent::Dial { dial } = event.event
            && dial.id == id
        {
            states.push(dial.state);
            if last(dial.state) {
                return states;
            }
        }
    }
}

#[tokio::test]
async fn a_dial_reaches_the_phone_and_the_app_sees_every_state() {
    let app = spawn_app().await;
    let (user, client, phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930901820").await;
    let mut events = client.events(None).await.unwrap();
    let first = within(events.next()).await.unwrap();
    assert_eq!(first.event, AppEvent::Resync);

    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    match within(link.next()).await.unwrap() {
        PhoneCommand::Binding { user: Some(holder) } => assert_eq!(holder.id, user.id),
        other => panic!("expected the holder first, got {other:?}"),
    }

    let dial = client.dial("+1 650-253-0000", None, None).await.unwrap();
    assert_eq!(
        (dial.state, dial.phone_id, dial.number.as_str()),
        (DialState::Queued, phone.id, "+16502530000")
    );
    let (command, number) = next_dial(&mut link).await;
    assert_eq!((command, number.as_str()), (dial.id, "+16502530000"));
    link.ack(command);
    for state in [
        CallState::Dialing,
        CallState::Ringing,
        CallState::Answered,
        CallState::Ended,
    ] {
        link.report("call-1", Some(command), state, None);
    }

    let states = dial_states_until_final(&mut events, dial.id).await;
    assert_eq!(
        states,
        [
            DialState::Queued,
            DialState::Delivered,
            DialState::Dialing,
            DialState::Ringing,
            DialState::Answered,
            DialState::Ended
        ]
    );
    let stored = client.get_dial(dial.id).await.unwrap();
    assert_eq!(stored.state, DialState::Ended);
    assert!(stored.delivered_at.is_some());
    link.close().await;
}

#[tokio::test]
async fn a_failed_call_carries_its_reason_and_repeats_change_nothing() {
    let app = spawn_app().await;
    let (_, client, _, phone_client) = app.bound_salesperson("sam@acme.test", "+4930901821").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let dial = client.dial("+16502530001", None, None).await.unwrap();
    let (command, _) = next_dial(&mut link).await;
    link.ack(command);
    link.ack(command);
    link.report("c", Some(command), CallState::Ringing, None);
    // Backwards is refused and said so; the state stays.
    link.report("c", Some(command), CallState::Dialing, None);
    match next_command(&mut link).await {
        PhoneCommand::Refused {
            code, command_id, ..
        } => assert_eq!(
            (code.as_str(), command_id),
            ("invalid_transition", Some(command))
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    link.report(
        "c",
        Some(command),
        CallState::Failed,
        Some(DialFailure::Busy),
    );
    // A final state never changes again.
    link.report("c", Some(command), CallState::Answered, None);
    match next_command(&mut link).await {
        PhoneCommand::Refused { code, .. } => assert_eq!(code, "invalid_transition"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let stored = client.get_dial(dial.id).await.unwrap();
    assert_eq!(
        (stored.state, stored.failure),
        (DialState::Failed, Some(DialFailure::Busy))
    );
    // queued, delivered, ringing, failed: the repeated ack wrote nothing.
    let written = app
        .scalar(format!(
            "SELECT COUNT(*) AS n FROM app_events WHERE kind = 'dial' AND payload LIKE '%{}%'",
            dial.id
        ))
        .await;
    assert_eq!(written, 4);
    link.close().await;
}

#[tokio::test]
async fn a_national_number_is_read_in_the_country_of_the_phone_that_dials_it() {
    let app = spawn_app().await;
    let (_, client, _, phone_client) = app.bound_salesperson("sam@acme.test", "+4940123456").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let dial = client.dial("030 901820", None, None).await.unwrap();
    assert_eq!(dial.number, "+4930901820");
    let (command, number) = next_dial(&mut link).await;
    assert_eq!((command, number.as_str()), (dial.id, "+4930901820"));

    // Without a phone there is no country to read it in: bind one first.
    let (_, loner) = app.user("lou@acme.test", Role::Salesperson).await;
    let err = loner.dial("030 901820", None, None).await.unwrap_err();
    assert_eq!(code(&err), (409, "no_binding".into()));
    assert!(err.to_string().contains("bind one first"), "{err}");

    // A phone whose own number belongs to no country (international
    // freephone): the advice is the one thing the request can carry.
    let (_, freephone, _, _) = app.bound_salesperson("fay@acme.test", "+80012345678").await;
    let err = freephone.dial("030 901820", None, None).await.unwrap_err();
    assert_eq!(code(&err), (422, "invalid_phone_number".into()));
    assert_eq!(err.field(), Some("number"));
    let advice = err.to_string();
    assert!(advice.contains("+ and the country code"), "{advice}");
    assert!(!advice.contains("region"), "{advice}");

    // A number that is not valid in the phone's country says which country.
    let err = client.dial("12345", None, None).await.unwrap_err();
    assert_eq!(code(&err), (422, "invalid_phone_number".into()));
    assert!(err.to_string().contains("+4940123456"), "{err}");
    assert_eq!(app.count("dial_commands").await, 1);
}

#[tokio::test]
async fn refused_dials_say_why_and_store_nothing() {
    let app = spawn_app().await;
    let (_, loner) = app.user("lou@acme.test", Role::Salesperson).await;
    let err = loner.dial("+16502530000", None, None).await.unwrap_err();
    assert_eq!(code(&err), (409, "no_binding".into()));

    let (_, client, phone, _) = app.bound_salesperson("sam@acme.test", "+4930901822").await;
    let err = client.dial("12345", None, None).await.unwrap_err();
    assert_eq!(code(&err), (422, "invalid_phone_number".into()));
    assert_eq!(err.field(), Some("number"));

    app.admin
        .set_dial_policy(&PutDialPolicy {
            blocked_prefixes: vec!["+1900".into()],
            do_not_call: vec!["+16502530099".into()],
        })
        .await
        .unwrap();
    let err = client.dial("+19005550100", None, None).await.unwrap_err();
    assert_eq!(code(&err), (403, "number_blocked".into()));
    let err = client
        .dial("+1 650 253 0099", None, None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "number_do_not_call".into()));
    // Only admins set the policy.
    let err = client
        .set_dial_policy(&PutDialPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "forbidden".into()));

    let other = app.phone("+4930901823").await;
    let err = client
        .dial("+16502530000", Some(other.id), None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "phone_not_held".into()));
    app.grant(other.id, &[]).await;
    app.set_policy(crate::helpers::policy(
        deskbind_core::wire::TakeoverRule::Nobody,
        None,
        2,
    ))
    .await;
    app.admin.bind_phone(other.id, false).await.unwrap();
    let (sally, sally_client) = app.user("sally@acme.test", Role::Salesperson).await;
    let second = app.phone("+4930901824").await;
    app.grant(phone.id, &[]).await;
    app.grant(second.id, &[sally.id]).await;
    app.grant(other.id, &[sally.id]).await;
    sally_client.bind_phone(second.id, false).await.unwrap();
    let third = app.phone("+4930901825").await;
    app.grant(third.id, &[sally.id]).await;
    sally_client.bind_phone(third.id, false).await.unwrap();
    let err = sally_client
        .dial("+16502530000", None, None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "phone_required".into()));
    assert_eq!(err.field(), Some("phone_id"));

    assert_eq!(app.count("dial_commands").await, 0);
    let dial = sally_client
        .dial("+16502530000", Some(third.id), None)
        .await
        .unwrap();
    assert_eq!(dial.phone_id, third.id);
}

#[tokio::test]
async fn an_offline_phone_gets_pending_dials_on_connect_but_never_expired_ones() {
    let app = spawn_app().await;
    let (_, client, _, phone_client) = app.bound_salesperson("sam@acme.test", "+4930901826").await;
    let stale = client.dial("+16502530002", None, None).await.unwrap();
    let fresh = client.dial("+16502530003", None, None).await.unwrap();
    app.execute(format!(
        "UPDATE dial_commands SET expires_at = 1 WHERE id = '{}'",
        stale.id
    ))
    .await;

    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let (command, _) = next_dial(&mut link).await;
    assert_eq!(command, fresh.id, "only the unexpired command is sent");
    // The sweep makes the stale one's state say so (the stream hears it).
    let relay = deskbind_core::relay::Relay::local();
    let expired = deskbind_worker::run_dial_expiry_once(&app.db, &relay)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(
        client.get_dial(stale.id).await.unwrap().state,
        DialState::Expired
    );
    // An ack that comes after the expiry is answered with a hangup.
    app.execute(format!(
        "UPDATE dial_commands SET expires_at = 1 WHERE id = '{}'",
        fresh.id
    ))
    .await;
    link.ack(command);
    match next_command(&mut link).await {
        PhoneCommand::Hangup { command_id, reason } => {
            assert_eq!((command_id, reason), (fresh.id, HangupReason::Expired))
        }
        other => panic!("expected a hangup, got {other:?}"),
    }
    assert_eq!(
        client.get_dial(fresh.id).await.unwrap().state,
        DialState::Expired
    );
    link.close().await;
}

#[tokio::test]
async fn cancelling_hangs_up_and_finished_dials_cannot_be_cancelled() {
    let app = spawn_app().await;
    let (_, client, _, phone_client) = app.bound_salesperson("sam@acme.test", "+4930901827").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let dial = client.dial("+16502530004", None, None).await.unwrap();
    let (command, _) = next_dial(&mut link).await;
    link.ack(command);
    link.report("c", Some(command), CallState::Ringing, None);
    // Wait for the phone's reports to land, then cancel.
    let mut events = client.events(Some(0)).await.unwrap();
    loop {
        if let AppEvent::Dial { dial: d } = within(events.next()).await.unwrap().event
            && d.state == DialState::Ringing
        {
            break;
        }
    }
    let cancelled = client.cancel_dial(dial.id).await.unwrap();
    assert_eq!(cancelled.state, DialState::Cancelled);
    match next_command(&mut link).await {
        PhoneCommand::Hangup { command_id, reason } => {
            assert_eq!((command_id, reason), (dial.id, HangupReason::Cancelled))
        }
        other => panic!("expected a hangup, got {other:?}"),
    }
    // Cancelling twice is harmless; a late report from the phone is told
    // to hang up again.
    assert_eq!(
        client.cancel_dial(dial.id).await.unwrap().state,
        DialState::Cancelled
    );
    link.report("c", Some(command), CallState::Answered, None);
    assert!(matches!(
        next_command(&mut link).await,
        PhoneCommand::Hangup { .. }
    ));

    let done = client.dial("+16502530005", None, None).await.unwrap();
    let (command, _) = next_dial(&mut link).await;
    link.report(
        "d",
        Some(command),
        CallState::Failed,
        Some(DialFailure::NoAnswer),
    );
    loop {
        if let AppEvent::Dial { dial: d } = within(events.next()).await.unwrap().event
            && d.id == done.id
            && d.state == DialState::Failed
        {
            break;
        }
    }
    let err = client.cancel_dial(done.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "dial_finished".into()));
    link.close().await;
}

#[tokio::test]
async fn the_event_stream_resumes_after_its_last_event() {
    let app = spawn_app().await;
    let (_, client, _, _) = app.bound_salesperson("sam@acme.test", "+4930901828").await;
    let first = client.dial("+16502530006", None, None).await.unwrap();
    let mut events = client.events(Some(0)).await.unwrap();
    // The binding comes first, then the dial.
    let mut seen = Vec::new();
    while !seen.contains(&first.id) {
        if let AppEvent::Dial { dial } = within(events.next()).await.unwrap().event {
            seen.push(dial.id);
        }
    }
    let resume_at = events.last_event_id().unwrap();
    drop(events);

    let missed = client.dial("+16502530007", None, None).await.unwrap();
    client.cancel_dial(missed.id).await.unwrap();
    let mut events = client.events(Some(resume_at)).await.unwrap();
    let mut states = Vec::new();
    while states.len() < 2 {
        let event = within(events.next()).await.unwrap();
        assert!(event.seq > resume_at);
        match event.event {
            AppEvent::Dial { dial } => states.push((dial.id, dial.state)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        states,
        [
            (missed.id, DialState::Queued),
            (missed.id, DialState::Cancelled)
        ]
    );
    // Another user's stream starts with their own events only.
    let (ola, other) = app.user("ola@acme.test", Role::Salesperson).await;
    let mut others = other.events(Some(0)).await.unwrap();
    let desk = app.phone("+4930901829").await;
    app.grant(desk.id, &[ola.id]).await;
    other.bind_phone(desk.id, false).await.unwrap();
    match within(others.next()).await.unwrap().event {
        AppEvent::Binding { phone_id, .. } => assert_eq!(phone_id, desk.id),
        other => panic!("expected ola's binding, got {other:?}"),
    }
}

#[tokio::test]
async fn the_phone_reconnects_by_itself_and_a_revoked_one_stops() {
    let app = spawn_app().await;
    let (_, client, phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930901830").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    assert_eq!(
        within(link.wait_for(LinkState::Connected)).await,
        LinkState::Connected
    );
    link.drop_connection();
    let dial = client.dial("+16502530009", None, None).await.unwrap();
    let (command, _) = next_dial(&mut link).await;
    assert_eq!(command, dial.id);

    app.admin.revoke_phone_credential(phone.id).await.unwrap();
    // The server closes the socket at once; the reconnect is refused.
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        link.wait_for(LinkState::Unauthorized),
    )
    .await
    .expect("a revoked phone's link stops within 5 s");
    assert_eq!(state, LinkState::Unauthorized);
}
