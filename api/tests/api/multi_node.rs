//! Two API nodes over one database and a real Redis: a dial posted to one
//! node reaches a phone connected to the other, events reach the app's
//! stream on any node, a phone that connects to a second node is dropped
//! by the first, and when a node dies its phones get their pending dials
//! from another.

use deskbind_core::wire::{AppEvent, DialState};
use deskbind_mobile::{AppClient, PhoneClient};

use crate::dialing::{fast_reconnect, next_dial, within};
use crate::helpers::{PASSWORD, redis_url, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dial_on_one_node_reaches_a_phone_on_another() {
    let redis = redis_url();
    let app = spawn_app_with(|s| s.redis_url = Some(redis.clone().into())).await;
    let node_b = app
        .spawn_node(|s| s.redis_url = Some(redis.clone().into()))
        .await;
    let (user, _, phone, phone_a) = app.bound_salesperson("sam@acme.test", "+4930901870").await;

    // The phone on node A; the user's app talks to node B.
    let mut link = phone_a.connect(fast_reconnect()).unwrap();
    let client_b = AppClient::new(&node_b.base).unwrap();
    client_b.login("sam@acme.test", PASSWORD).await.unwrap();
    let mut events = client_b.events(Some(0)).await.unwrap();

    let dial = client_b.dial("+16502530030", None, None).await.unwrap();
    let (command, _) = next_dial(&mut link).await;
    assert_eq!(command, dial.id);
    link.ack(command);
    // The ack lands on node A; the stream on node B hears of it.
    loop {
        if let AppEvent::Dial { dial: d } = within(events.next()).await.unwrap().event
            && d.state == DialState::Delivered
        {
            assert_eq!((d.id, d.user_id), (dial.id, user.id));
            break;
        }
    }

    // The phone moves to node B: node A's connection is closed, and the
    // next dial (posted to node A) finds it on B.
    let phone_b = PhoneClient::new(&node_b.base, phone_a.credential()).unwrap();
    let mut link_b = phone_b.connect(fast_reconnect()).unwrap();
    let client_a = AppClient::new(&app.base).unwrap();
    client_a.login("sam@acme.test", PASSWORD).await.unwrap();
    // Wait until B holds the phone: its greeting arrived.
    within(link_b.next()).await.unwrap();
    link.close().await;
    let second = client_a
        .dial("+16502530031", Some(phone.id), None)
        .await
        .unwrap();
    let (command, _) = next_dial(&mut link_b).await;
    assert_eq!(command, second.id);
    link_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_node_dies_its_phones_get_pending_dials_elsewhere() {
    let redis = redis_url();
    let app = spawn_app_with(|s| s.redis_url = Some(redis.clone().into())).await;
    let doomed = app
        .spawn_node(|s| s.redis_url = Some(redis.clone().into()))
        .await;
    let (_, client, _, phone) = app.bound_salesperson("sam@acme.test", "+4930901871").await;
    let on_doomed = PhoneClient::new(&doomed.base, phone.credential()).unwrap();
    let mut link = on_doomed.connect(fast_reconnect()).unwrap();
    within(link.next()).await.unwrap();
    doomed.kill().await;
    // Dialed while the phone has no connection anywhere.
    let dial = client.dial("+16502530032", None, None).await.unwrap();
    let survivor = PhoneClient::new(&app.base, phone.credential()).unwrap();
    let mut link = survivor.connect(fast_reconnect()).unwrap();
    let (command, _) = next_dial(&mut link).await;
    assert_eq!(command, dial.id);
    link.close().await;
}

/// Nodes with recordings on their own disks: a recording saved through one
/// node is answered by the other with a 503 naming the fix; a node sharing
/// the directory serves it.
#[tokio::test]
async fn a_recording_on_another_nodes_disk_is_a_clear_503() {
    let app = spawn_app().await;
    let own_disk = tempfile::tempdir().unwrap();
    let keys = app.settings.token_keys_dir();
    let other = app
        .spawn_node(|s| {
            s.data_dir = own_disk.path().to_path_buf();
            s.token_keys_dir = Some(keys.clone());
        })
        .await;
    let shared = app.spawn_node(|_| {}).await;
    let (_, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930901872").await;
    crate::records::backdate_bindings(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = crate::recordings::wav(4_000);
    phone
        .upload_recording("c1", &crate::recordings::write(dir.path(), "r.wav", &audio))
        .await
        .unwrap();
    let record = phone
        .upload_call_records(&[crate::records::call("c1", 5)])
        .await
        .unwrap();
    let path = format!("/v1/calls/{}/recording", record.results[0].id.unwrap());
    let token = sam_app.tokens().await.unwrap().0;

    let elsewhere = reqwest::Client::new()
        .get(format!("{}{path}", other.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 503);
    let body: serde_json::Value = elsewhere.json().await.unwrap();
    assert_eq!(body["code"], "recording_on_other_node");
    assert!(body["detail"].as_str().unwrap().contains("S3"), "{body}");

    let same_disk = reqwest::Client::new()
        .get(format!("{}{path}", shared.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(same_disk.status(), 200);
    assert_eq!(&same_disk.bytes().await.unwrap()[..], &audio[..]);
}
