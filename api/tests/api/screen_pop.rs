//! The screen pop of an incoming call (docs/screen-pop.md): the holder's
//! stream gets the contact, its score and their last calls with the
//! number; without an open stream on any node the pop also goes out as a
//! high-priority push; a blocked number pops nothing. And `call_record`
//! events: ingest and annotation changes announced once, replays not.

use std::time::Duration;

use deskbind_core::ids::UserId;
use deskbind_core::wire::{
    AppEvent, CallDirection, CallRecordChange, CallResult, PushPlatform, Role,
};
use deskbind_mobile::{AppClient, AppEvents, PhoneLink};
use serde_json::json;

use crate::contact_http::{Http, created, own_visibility};
use crate::dialing::{fast_reconnect, within};
use crate::helpers::{PASSWORD, TestApp, redis_url, spawn_app, spawn_app_with};
use crate::records::{backdate_bindings, call};

/// Pushes of screen pops queued for `user`.
async fn pop_pushes(app: &TestApp, user: UserId) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM jobs WHERE topic = 'incoming_call' AND user_id = '{user}'"
    ))
    .await
}

/// The next `incoming_call` event on the stream (others skipped).
async fn next_pop(events: &mut AppEvents<'_>) -> AppEvent {
    loop {
        let event = within(events.next()).await.unwrap().event;
        if matches!(event, AppEvent::IncomingCall { .. }) {
            return event;
        }
    }
}

/// The next `call_record` event on the stream (others skipped).
async fn next_record_event(
    events: &mut AppEvents<'_>,
) -> (CallRecordChange, String, Option<String>) {
    loop {
        if let AppEvent::CallRecord { change, record } = within(events.next()).await.unwrap().event
        {
            return (change, record.call_id, record.notes);
        }
    }
}

/// A connected phone link (its greeting arrived).
async fn connected(link: &mut PhoneLink) {
    within(link.next()).await.unwrap();
}

/// Rings until a pop of the user is pushed: the server notices a closed
/// stream when the connection's end reaches it, which nothing here can
/// await, so this polls (bounded by `within`).
async fn rings_until_pushed(app: &TestApp, link: &PhoneLink, user: UserId) {
    within(async {
        for i in 0.. {
            link.incoming(&format!("later-{i}"), "+4930555000");
            tokio::time::sleep(Duration::from_millis(50)).await;
            if pop_pushes(app, user).await > 0 {
                return;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_call_pops_the_contact_its_score_and_the_holders_calls() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    sam_app
        .register_push_device(PushPlatform::Android, "fcm-token-sam-0001")
        .await
        .unwrap();
    backdate_bindings(&app).await;
    device
        .upload_call_records(&[call("c1", 50), call("c2", 40)])
        .await
        .unwrap();
    let contact = created(
        &admin,
        json!({"name": "Caller", "company": "Acme Ltd", "numbers": ["+49 30 555000"]}),
    )
    .await;
    app.execute(format!(
        "UPDATE contacts SET score = 125 WHERE id = '{}'",
        contact["id"].as_str().unwrap()
    ))
    .await;
    let mut link = device.connect(fast_reconnect()).unwrap();
    connected(&mut link).await;

    // The app streams: the pop arrives there, and nothing is pushed.
    let mut events = sam_app.events(None).await.unwrap();
    link.incoming("ring-1", "030 555000");
    let AppEvent::IncomingCall {
        call_id,
        from,
        from_e164,
        contact: popped,
        score,
        recent_calls,
        ..
    } = next_pop(&mut events).await
    else {
        unreachable!()
    };
    assert_eq!((call_id.as_str(), from.as_str()), ("ring-1", "030 555000"));
    assert_eq!(
        from_e164.as_deref(),
        Some("+4930555000"),
        "read in the phone's region"
    );
    let popped = popped.expect("the contact");
    assert_eq!(popped.id.to_string(), contact["id"].as_str().unwrap());
    assert_eq!(
        (popped.name.as_str(), popped.company.as_deref()),
        ("Caller", Some("Acme Ltd"))
    );
    assert_eq!(score, Some(125));
    let ids: Vec<_> = recent_calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1"], "newest first");
    assert_eq!(
        pop_pushes(&app, sam.id).await,
        0,
        "the app is live: no push"
    );

    // An unknown caller pops as a new provisional contact of the holder,
    // and the same caller again pops that one.
    link.incoming("ring-2", "+16502530000");
    let AppEvent::IncomingCall {
        contact,
        score,
        recent_calls,
        ..
    } = next_pop(&mut events).await
    else {
        unreachable!()
    };
    let provisional = contact.expect("a provisional contact");
    assert_eq!((provisional.name.as_str(), score), ("", Some(0)));
    assert!(recent_calls.is_empty());
    let (status, stored) = admin.get(&format!("/v1/contacts/{}", provisional.id)).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["source"], "auto", "{stored}");
    assert_eq!(stored["owner_id"], sam.id.to_string(), "{stored}");
    assert_eq!(stored["numbers"][0]["e164"], "+16502530000", "{stored}");
    link.incoming("ring-3", "+16502530000");
    let AppEvent::IncomingCall { contact, .. } = next_pop(&mut events).await else {
        unreachable!()
    };
    assert_eq!(contact.map(|c| c.id), Some(provisional.id));
    let made = app
        .scalar("SELECT COUNT(*) AS n FROM contact_numbers WHERE e164 = '+16502530000'".into())
        .await;
    assert_eq!(made, 1);

    // The stream closes: the next pop is pushed, urgent, as a data message.
    drop(events);
    rings_until_pushed(&app, &link, sam.id).await;
    let payload: String = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Payload {
            #[diesel(sql_type = diesel::sql_types::Text)]
            payload: String,
        }
        app.db
            .run(|conn| {
                diesel::sql_query("SELECT payload FROM jobs WHERE topic = 'incoming_call' LIMIT 1")
                    .get_result::<Payload>(conn)
                    .map(|p| p.payload)
                    .map_err(deskbind_core::db::DbError::from)
            })
            .await
            .unwrap()
    };
    let message: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(message["urgent"], true, "{message}");
    assert_eq!(message["data"]["type"], "incoming_call", "{message}");
    assert_eq!(message["data"]["contact_name"], "Caller", "{message}");
    assert_eq!(message["data"]["score"], "125", "{message}");
    assert!(message.get("notification").is_none(), "{message}");
    link.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_number_pops_nothing_and_pushes_nothing() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    sam_app
        .register_push_device(PushPlatform::Android, "fcm-token-sam-0001")
        .await
        .unwrap();
    let (status, body) = admin
        .post(
            "/v1/blocklist",
            json!({"kind": "block", "scope": "organisation", "pattern": "number",
                "value": "+4930555999", "label": "spam", "reason": "test"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut link = device.connect(fast_reconnect()).unwrap();
    connected(&mut link).await;

    // The stream is open: the blocked call is not on it. The phone's
    // frames are handled in order, so once the allowed call's pop arrived
    // the blocked one was decided.
    let mut events = sam_app.events(None).await.unwrap();
    link.incoming("blocked-1", "+4930555999");
    link.incoming("allowed-1", "+4930555000");
    let AppEvent::IncomingCall { call_id, .. } = next_pop(&mut events).await else {
        unreachable!()
    };
    assert_eq!(
        call_id, "allowed-1",
        "the blocked call is not on the stream"
    );

    // No stream: allowed calls are pushed, the blocked one is not.
    drop(events);
    rings_until_pushed(&app, &link, sam.id).await;
    let pushed = pop_pushes(&app, sam.id).await;
    link.incoming("blocked-2", "+4930555999");
    link.incoming("allowed-2", "+4930555000");
    within(async {
        while pop_pushes(&app, sam.id).await == pushed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(pop_pushes(&app, sam.id).await, pushed + 1);
    let blocked = app
        .scalar("SELECT COUNT(*) AS n FROM jobs WHERE payload LIKE '%blocked-%'".into())
        .await;
    let popped = app
        .scalar("SELECT COUNT(*) AS n FROM app_events WHERE payload LIKE '%blocked-%'".into())
        .await;
    assert_eq!((blocked, popped), (0, 0), "neither pushed nor popped");
    let provisioned = app
        .scalar("SELECT COUNT(*) AS n FROM contact_numbers WHERE e164 = '+4930555999'".into())
        .await;
    assert_eq!(provisioned, 0, "a blocked caller is not made a contact");
    link.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_contact_is_hidden_from_the_holder_pops_no_contact_and_gets_no_second() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (_, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    own_visibility(&admin).await;
    // Nobody's contact: salespeople under `own` do not see it.
    let hidden = created(
        &admin,
        json!({"name": "Key account", "numbers": ["+4930777000"]}),
    )
    .await;
    let mut link = device.connect(fast_reconnect()).unwrap();
    connected(&mut link).await;
    let mut events = sam_app.events(None).await.unwrap();
    link.incoming("hidden-1", "+4930777000");
    let AppEvent::IncomingCall { contact, score, .. } = next_pop(&mut events).await else {
        unreachable!()
    };
    assert!(
        contact.is_none() && score.is_none(),
        "nothing of the hidden contact"
    );
    let numbers = app
        .scalar("SELECT COUNT(*) AS n FROM contact_numbers WHERE e164 = '+4930777000'".into())
        .await;
    assert_eq!(numbers, 1, "no provisional twin of {hidden}");
    link.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_records_are_announced_once_on_ingest_and_annotation() {
    let app = spawn_app().await;
    let (_, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let sam = Http::of(&app, &sam_app).await;
    backdate_bindings(&app).await;
    let mut events = sam_app.events(None).await.unwrap();

    let mut missed = call("m1", 10);
    missed.direction = CallDirection::Missed;
    missed.answered_at = None;
    missed.result = Some(CallResult::NoAnswer);
    let batch = [call("c1", 20), missed];
    let stored = device.upload_call_records(&batch).await.unwrap();
    let ids: Vec<_> = stored.results.iter().map(|r| r.id.unwrap()).collect();
    assert_eq!(
        next_record_event(&mut events).await,
        (CallRecordChange::Created, "c1".into(), None)
    );
    assert_eq!(
        next_record_event(&mut events).await,
        (CallRecordChange::Created, "m1".into(), None)
    );

    // A replay changes nothing and announces nothing; an annotation
    // announces the record as it is now; an edit that changes nothing is
    // silent too. The next event proves the silent ones wrote none.
    device.upload_call_records(&batch).await.unwrap();
    let path = format!("/v1/calls/{}", ids[0]);
    let (status, body) = sam.patch(&path, json!({"notes": "call back"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        next_record_event(&mut events).await,
        (
            CallRecordChange::Updated,
            "c1".into(),
            Some("call back".into())
        )
    );
    let (status, _) = sam.patch(&path, json!({"notes": "call back"})).await;
    assert_eq!(status, 200);
    let (status, _) = sam.patch(&path, json!({"notes": "done"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        next_record_event(&mut events).await,
        (CallRecordChange::Updated, "c1".into(), Some("done".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_another_node_suppresses_the_push() {
    let redis = redis_url();
    let app = spawn_app_with(|s| s.redis_url = Some(redis.clone().into())).await;
    let node_b = app
        .spawn_node(|s| s.redis_url = Some(redis.clone().into()))
        .await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    sam_app
        .register_push_device(PushPlatform::Android, "fcm-token-sam-0001")
        .await
        .unwrap();
    // The phone on node A, the app's stream on node B.
    let mut link = device.connect(fast_reconnect()).unwrap();
    connected(&mut link).await;
    let client_b = AppClient::new(&node_b.base).unwrap();
    client_b.login("sam@acme.test", PASSWORD).await.unwrap();
    let mut events = client_b.events(None).await.unwrap();

    link.incoming("ring-1", "+4930555000");
    let AppEvent::IncomingCall { call_id, .. } = next_pop(&mut events).await else {
        unreachable!()
    };
    assert_eq!(call_id, "ring-1");
    assert_eq!(
        pop_pushes(&app, sam.id).await,
        0,
        "live on node B: no push from A"
    );

    drop(events);
    rings_until_pushed(&app, &link, sam.id).await;
    link.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_that_arrives_after_its_record_announces_the_record_again() {
    let app = spawn_app().await;
    let (_, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let mut events = sam_app.events(None).await.unwrap();
    device.upload_call_records(&[call("r1", 5)]).await.unwrap();
    let AppEvent::CallRecord { change, record } = next_call_record(&mut events).await else {
        unreachable!()
    };
    assert_eq!(
        (change, record.call_id.as_str(), record.recording.is_some()),
        (CallRecordChange::Created, "r1", false)
    );

    let dir = tempfile::tempdir().unwrap();
    let file = crate::recordings::write(dir.path(), "r1.wav", &crate::recordings::wav(8_000));
    let recording = device.upload_recording("r1", &file).await.unwrap();
    let AppEvent::CallRecord { change, record } = next_call_record(&mut events).await else {
        unreachable!()
    };
    assert_eq!(change, CallRecordChange::Updated);
    assert_eq!(record.call_id, "r1");
    assert_eq!(record.recording.map(|r| r.id), Some(recording.id));

    // The same recording again stores nothing and announces nothing: the
    // next event is the annotation's.
    device.upload_recording("r1", &file).await.unwrap();
    let sam = Http::of(&app, &sam_app).await;
    let (status, body) = sam
        .patch(
            &format!("/v1/calls/{}", record.id),
            json!({"notes": "heard"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let AppEvent::CallRecord { record, .. } = next_call_record(&mut events).await else {
        unreachable!()
    };
    assert_eq!(record.notes.as_deref(), Some("heard"));
}

/// The next `call_record` event on the stream, whole (others skipped).
async fn next_call_record(events: &mut AppEvents<'_>) -> AppEvent {
    loop {
        let event = within(events.next()).await.unwrap().event;
        if matches!(event, AppEvent::CallRecord { .. }) {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_two_holders_calls_tells_each_holder_of_theirs_with_the_contacts_they_may_see() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (ana, ana_app) = app.user("ana@acme.test", Role::Salesperson).await;
    // Sam held the phone from two hours ago until one hour ago, Ana since.
    let now = chrono::Utc::now().timestamp_micros();
    let hour = 3_600_000_000_i64;
    app.execute(format!(
        "UPDATE bindings SET started_at = {}, ended_at = {}, end_reason = 'unbound'",
        now - 2 * hour,
        now - hour
    ))
    .await;
    app.execute(format!(
        "INSERT INTO bindings (id, org_id, phone_id, user_id, via, started_at) \
         SELECT '{}', org_id, phone_id, '{}', via, {} FROM bindings",
        uuid::Uuid::now_v7(),
        ana.id,
        now - hour
    ))
    .await;
    created(
        &admin,
        json!({"name": "Sam's customer", "numbers": ["+4930555001"], "owner_id": sam.id}),
    )
    .await;
    own_visibility(&admin).await;
    let mut sam_events = sam_app.events(None).await.unwrap();
    let mut ana_events = ana_app.events(None).await.unwrap();

    // One batch: Sam's call and Ana's, both with Sam's customer.
    let mut sams = call("s1", 90);
    sams.remote_number = "+4930555001".into();
    let mut anas = call("a1", 30);
    anas.remote_number = "+4930555001".into();
    device.upload_call_records(&[sams, anas]).await.unwrap();

    let AppEvent::CallRecord { record, .. } = next_call_record(&mut sam_events).await else {
        unreachable!()
    };
    assert_eq!(
        (record.call_id.as_str(), record.user_id),
        ("s1", Some(sam.id))
    );
    let seen = record.contact.and_then(|c| c.name);
    assert_eq!(seen.as_deref(), Some("Sam's customer"));
    let AppEvent::CallRecord { record, .. } = next_call_record(&mut ana_events).await else {
        unreachable!()
    };
    assert_eq!(
        (record.call_id.as_str(), record.user_id),
        ("a1", Some(ana.id))
    );
    assert!(
        record.contact.is_none(),
        "Ana may not see Sam's contact: {:?}",
        record.contact
    );
    for user in [sam.id, ana.id] {
        let announced = app
            .scalar(format!(
                "SELECT COUNT(*) AS n FROM app_events \
                 WHERE kind = 'call_record' AND user_id = '{user}'"
            ))
            .await;
        assert_eq!(announced, 1, "one record each, to its holder");
    }
}
