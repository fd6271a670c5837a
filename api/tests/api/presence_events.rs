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
    let _sam_stream = sam_app.events(None).await.unwrap();
    until_mine(&sam_app, |p| p.app_connected).await;
    let mut watch = app.admin.events_with_presence(None).await.unwrap();

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
