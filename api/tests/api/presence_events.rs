//! `presence` events for changes nobody's request makes (docs/presence.md,
//! "Events"): taking or leaving a phone, a timed DND that ends and
//! auto-away, which the worker's presence sweep announces once each.

use deskbind_core::ids::UserId;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::presence_time;
use deskbind_core::wire::{Presence, PresenceSettings, PresenceState, Role};
use deskbind_mobile::AppEvents;

use crate::dialing::{fast_reconnect, within};
use crate::helpers::spawn_app;
use crate::presence::{choose, next_presence, until_mine};

/// The next presence event about `user` (others skipped).
async fn next_of(events: &mut AppEvents<'_>, user: UserId) -> Presence {
    loop {
        let p = next_presence(events).await;
        if p.user_id == user {
            return p;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_and_leaving_a_phone_is_announced() {
    let app = spawn_app().await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let (phone, device) = app.provisioned_phone("+4930901950").await;
    app.grant(phone.id, &[sam.id]).await;
    let mut link = device.connect(fast_reconnect()).unwrap();
    within(link.next()).await.unwrap();
    let mut watch = app.admin.events_with_presence(None).await.unwrap();
    assert_eq!(
        sam_app.my_presence().await.unwrap().state,
        PresenceState::Offline,
        "no app stream, no phone"
    );

    // Sam takes the online phone: no longer offline, and the admin hears it.
    let binding = sam_app.bind_phone(phone.id, false).await.unwrap();
    let seen = next_of(&mut watch, sam.id).await;
    assert_eq!(
        (seen.state, seen.phone_online),
        (PresenceState::Available, true)
    );
    // Leaving it: offline again.
    sam_app.unbind(binding.id).await.unwrap();
    let seen = next_of(&mut watch, sam.id).await;
    assert_eq!(
        (seen.state, seen.phone_online),
        (PresenceState::Offline, false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_announces_a_dnd_that_ended_and_auto_away_once() {
    let app = spawn_app().await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let mut watch = app.admin.events_with_presence(None).await.unwrap();
    let _sam_stream = sam_app.events(None).await.unwrap();
    // The app's opening is announced (after the stream is up) before
    // anything else happens, so no late announcement of it is in flight.
    while !next_of(&mut watch, sam.id).await.app_connected {}

    let set_at = now_micros();
    let until = set_at + seconds(30 * 60);
    let mut dnd = choose("dnd");
    dnd.until = Some(deskbind_core::time::to_datetime(until));
    sam_app.set_my_presence(&dnd).await.unwrap();
    assert_eq!(next_of(&mut watch, sam.id).await.state, PresenceState::Dnd);

    // A sweep while the DND holds announces nothing for Sam; one after its
    // end announces that Sam is available. Events arrive in order, so the
    // next one about Sam is the sweep's (a repeat of dnd would come first).
    presence_time::sample(&app.services, until - seconds(90))
        .await
        .unwrap()
        .expect("the minute is free");
    presence_time::sample(&app.services, until + seconds(1))
        .await
        .unwrap()
        .expect("the minute is free");
    let seen = next_of(&mut watch, sam.id).await;
    assert_eq!(
        (seen.state, seen.chosen.as_str(), seen.until),
        (PresenceState::Available, "available", None)
    );

    // Auto-away after an hour without activity (the DND was the last).
    app.admin
        .set_presence_settings(&PresenceSettings {
            hide_status_text: false,
            auto_away_after_secs: Some(3600),
        })
        .await
        .unwrap();
    presence_time::sample(&app.services, set_at + seconds(3540))
        .await
        .unwrap()
        .expect("the minute is free");
    presence_time::sample(&app.services, set_at + seconds(3660))
        .await
        .unwrap()
        .expect("the minute is free");
    assert_eq!(next_of(&mut watch, sam.id).await.state, PresenceState::Away);
    // Still away a minute later: no repeat. The next event about Sam is the
    // one Sam makes.
    presence_time::sample(&app.services, set_at + seconds(3720))
        .await
        .unwrap()
        .expect("the minute is free");
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    assert_eq!(next_of(&mut watch, sam.id).await.state, PresenceState::Dnd);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_organisation_does_not_keep_a_logged_out_or_demoted_reader_listening() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let app = spawn_app().await;
    let (bob, bob_app) = app.user("bob@acme.test", Role::Admin).await;
    let (_, ann_app) = app.user("ann@acme.test", Role::Admin).await;
    let (chatty, chatty_app) = app.user("chatty@acme.test", Role::Salesperson).await;

    // Chatty changes presence every 200 ms, far more often than the 15 s
    // keep-alive; the status text says whether Bob may still see it.
    let after = Arc::new(AtomicBool::new(false));
    let flood = {
        let after = after.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let mut change = choose(if i % 2 == 0 { "away" } else { "available" });
                change.status_text = Some(
                    if after.load(Ordering::SeqCst) {
                        "after"
                    } else {
                        "before"
                    }
                    .into(),
                );
                chatty_app.set_my_presence(&change).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };
    // Bob's stream opens first, so its keep-alive comes before Ann's.
    let mut bob_events = bob_app.events_with_presence(None).await.unwrap();
    next_of(&mut bob_events, chatty.id).await;
    let mut ann_events = ann_app.events_with_presence(None).await.unwrap();
    next_of(&mut ann_events, chatty.id).await;

    // Bob becomes a salesperson of no team; Ann logs out.
    app.admin
        .update_user(
            bob.id,
            &deskbind_core::wire::UpdateUser {
                display_name: None,
                role: Some(Role::Salesperson),
                password: None,
                time_zone: None,
                disabled: None,
            },
        )
        .await
        .unwrap();
    ann_app.logout().await.unwrap();
    // Ann's stream ends at its next keep-alive, although changes keep coming.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(40), async {
        while ann_events.next().await.is_ok() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the logged-out stream was still open after 40 s"
    );
    after.store(true, Ordering::SeqCst);
    // Bob's keep-alive came first: from now on Bob sees only himself.
    let mut dnd = choose("dnd");
    dnd.status_text = Some("marker".into());
    let chatty_next = chatty.id;
    // An admin's stream sees a change published after the marker, so one
    // was published before Bob's own change below.
    let mut watch = app.admin.events_with_presence(None).await.unwrap();
    while next_of(&mut watch, chatty.id).await.status_text.as_deref() != Some("after") {}
    bob_app.set_my_presence(&dnd).await.unwrap();
    loop {
        let p = next_presence(&mut bob_events).await;
        if p.user_id == chatty_next {
            assert_ne!(
                p.status_text.as_deref(),
                Some("after"),
                "a demoted salesperson of no team saw a change after their keep-alive"
            );
        }
        if p.user_id == bob.id && p.state == PresenceState::Dnd {
            break;
        }
    }
    flood.abort();
}

#[tokio::test]
async fn opening_the_app_is_activity_so_a_user_who_never_chose_goes_away() {
    let app = spawn_app().await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    app.admin
        .set_presence_settings(&PresenceSettings {
            hide_status_text: false,
            auto_away_after_secs: Some(600),
        })
        .await
        .unwrap();
    let opened = now_micros();
    let _stream = sam_app.events(None).await.unwrap();
    until_mine(&sam_app, |p| p.app_connected).await;
    let reader = deskbind_core::usecases::presence::Reader {
        org: sam.org_id,
        user: sam.id,
        role: Role::Salesperson,
    };
    // The activity is noted as the stream opens; poll until it is stored.
    let later = within(async {
        loop {
            let seen = deskbind_core::usecases::presence::get(
                &app.services,
                reader,
                sam.id,
                opened + seconds(3600),
            )
            .await
            .unwrap();
            if seen.state == PresenceState::Away {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(later.chosen.as_str(), "available");
    let now = deskbind_core::usecases::presence::get(&app.services, reader, sam.id, now_micros())
        .await
        .unwrap();
    assert_eq!(now.state, PresenceState::Available);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_first_choices_at_once_all_succeed() {
    let app = spawn_app().await;
    let (_, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let sam_app = std::sync::Arc::new(sam_app);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (client, start) = (sam_app.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                client
                    .set_my_presence(&choose(if i % 2 == 0 { "away" } else { "dnd" }))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every first PUT succeeds");
    }
    assert_eq!(app.count("user_presence").await, 1);
}

#[tokio::test]
async fn presence_settings_refuse_unknown_fields() {
    let app = spawn_app().await;
    let token = app.admin.tokens().await.unwrap().0;
    let response = reqwest::Client::new()
        .put(app.url("/v1/presence-settings"))
        .bearer_auth(token)
        .json(&serde_json::json!({"hide_status_text": false, "auto_away_secs": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "unknown_field", "{problem}");
    assert_eq!(
        app.admin
            .presence_settings()
            .await
            .unwrap()
            .auto_away_after_secs,
        None
    );
}
