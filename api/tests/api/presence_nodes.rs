//! Presence across nodes (Redis): a phone, its line and an app stream on
//! one node count on the other, and when that node dies no one stays
//! "online" (or "busy") past the TTL.

use std::time::Duration;

use deskbind_core::wire::{LineState, Presence, PresenceState};
use deskbind_mobile::{AppClient, PhoneClient, PresenceQuery};

use crate::dialing::{fast_reconnect, within};
use crate::helpers::{PASSWORD, redis_url, spawn_app_with};

/// The presence of `user` as the admin reads it, polled until `done`
/// (bounded well past the TTLs).
async fn until_seen(
    admin: &AppClient,
    user: deskbind_core::ids::UserId,
    done: impl Fn(&Presence) -> bool,
) -> Presence {
    tokio::time::timeout(Duration::from_secs(45), async {
        loop {
            let page = admin
                .list_presences(&PresenceQuery::default())
                .await
                .unwrap();
            if let Some(p) = page.items.into_iter().find(|p| p.user_id == user)
                && done(&p)
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("presence never got there")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_leaves_no_one_online_past_the_ttl() {
    let redis = redis_url();
    let app = spawn_app_with(|s| {
        s.redis_url = Some(redis.clone().into());
        s.presence_ttl_secs = 2;
    })
    .await;
    let doomed = app
        .spawn_node(|s| {
            s.redis_url = Some(redis.clone().into());
            s.presence_ttl_secs = 2;
        })
        .await;
    let (sam, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930901920").await;

    // Sam's phone and app both live on the doomed node, mid-call.
    let on_doomed = PhoneClient::new(&doomed.base, phone.credential()).unwrap();
    let mut link = on_doomed.connect(fast_reconnect()).unwrap();
    within(link.next()).await.unwrap();
    let sam_doomed = AppClient::new(&doomed.base).unwrap();
    sam_doomed.login("sam@acme.test", PASSWORD).await.unwrap();
    let _stream = sam_doomed.events(None).await.unwrap();
    link.reporter().line_state(LineState::Talking);
    let seen = until_seen(&app.admin, sam.id, |p| p.state == PresenceState::Busy).await;
    assert!(seen.app_connected && seen.phone_online, "{seen:?}");

    // The node dies; its phone keeps trying it and reaches no one.
    doomed.kill().await;
    let gone = until_seen(&app.admin, sam.id, |p| p.state == PresenceState::Offline).await;
    assert_eq!(
        (gone.app_connected, gone.phone_online, gone.line_state),
        (false, false, None)
    );
    link.close().await;
}
