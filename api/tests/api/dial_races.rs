//! Concurrency claims of dialing, raced for real: one key makes one
//! command however many requests carry it, and a thousand dials to phones
//! that drop their connections at random are each delivered, none twice
//! and none after its expiry.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use deskbind_core::ids::{DialId, PhoneId};
use deskbind_core::wire::{AppEvent, CallState, DialState};
use deskbind_mobile::{PhoneCommand, PhoneLink};
use futures_util::future::join_all;
use futures_util::{StreamExt as _, stream};

use crate::dialing::fast_reconnect;
use crate::helpers::{code, spawn_app};

#[tokio::test]
async fn one_idempotency_key_makes_one_command() {
    let app = spawn_app().await;
    let (_, client, _, _) = app.bound_salesperson("sam@acme.test", "+4930901840").await;
    let first = client
        .dial("+16502530010", None, Some("key-1"))
        .await
        .unwrap();
    // The same request again (spelled differently): the same command.
    let again = client
        .dial("+1 (650) 253-0010", None, Some("key-1"))
        .await
        .unwrap();
    assert_eq!(again, first);
    // The same key with another number is refused.
    let err = client
        .dial("+16502530011", None, Some("key-1"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "idempotency_key_reused".into()));
    assert_eq!(app.count("dial_commands").await, 1);

    // Twenty at once with a fresh key: one command, everyone gets it.
    let client = &client;
    let results = join_all(
        (0..20).map(|_| async move { client.dial("+16502530012", None, Some("key-2")).await }),
    )
    .await;
    let ids: HashSet<DialId> = results.into_iter().map(|r| r.unwrap().id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("dial_commands").await, 2);

    // A key is the user's own: another user's identical key is unrelated.
    let (_, other, _, _) = app.bound_salesperson("ola@acme.test", "+4930901841").await;
    let theirs = other
        .dial("+16502530010", None, Some("key-1"))
        .await
        .unwrap();
    assert_ne!(theirs.id, first.id);
}

#[tokio::test]
async fn a_replay_is_marked_and_a_bad_key_refused() {
    let app = spawn_app().await;
    let (_, client, _, _) = app.bound_salesperson("sam@acme.test", "+4930901842").await;
    let (token, _) = client.tokens().await.unwrap();
    let http = reqwest::Client::new();
    let post = |key: &'static str| {
        http.post(app.url("/v1/dials"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({ "number": "+16502530013" }))
            .send()
    };
    let first = post("k").await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("Idempotent-Replayed").is_none());
    let replay = post("k").await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["Idempotent-Replayed"], "true");
    let bad = post("").await.unwrap();
    assert_eq!(bad.status(), 422);
    let problem: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_idempotency_key");
}

/// What the phones saw.
#[derive(Default)]
struct Seen {
    dials: HashMap<DialId, usize>,
    late: usize,
}

/// A phone that acks, answers and ends every call, and drops its
/// connection at random (before or after the ack).
async fn flaky_phone(mut link: PhoneLink, seen: Arc<Mutex<Seen>>) {
    while let Some(command) = link.next().await {
        let PhoneCommand::Dial {
            command_id,
            expires_at,
            received_at,
            ..
        } = command
        else {
            continue;
        };
        {
            let mut seen = seen.lock().unwrap();
            *seen.dials.entry(command_id).or_default() += 1;
            if received_at > expires_at {
                seen.late += 1;
            }
        }
        let roll = fastrand::u8(0..100);
        if roll < 5 {
            // Gone before acking: the server sends it again after the
            // reconnect, and the link must not hand it over twice.
            link.drop_connection();
        }
        link.ack(command_id);
        if roll < 10 {
            link.drop_connection();
        }
        link.report("c", Some(command_id), CallState::Answered, None);
        link.report("c", Some(command_id), CallState::Ended, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_dials_to_flaky_phones_none_lost_none_twice_none_late() {
    const PHONES: usize = 5;
    const DIALS: usize = 1_000;
    let app = spawn_app().await;
    // The admin holds every phone (admins need no grant).
    app.set_policy(crate::helpers::policy(
        deskbind_core::wire::TakeoverRule::Nobody,
        None,
        PHONES as u32,
    ))
    .await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut phones: Vec<PhoneId> = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..PHONES {
        let (phone, client) = app
            .provisioned_phone(&format!("+49309018{:02}", 50 + i))
            .await;
        app.admin.bind_phone(phone.id, false).await.unwrap();
        let link = client.connect(fast_reconnect()).unwrap();
        tasks.push(tokio::spawn(flaky_phone(link, seen.clone())));
        phones.push(phone.id);
    }
    // Start the stream before dialing: it must see every command end.
    let mut events = app.admin.events(Some(0)).await.unwrap();

    let admin = &app.admin;
    let phones = &phones;
    let created: Vec<DialId> = stream::iter(0..DIALS)
        .map(|i| async move {
            let number = format!("+1650253{:04}", i);
            admin
                .dial(
                    &number,
                    Some(phones[i % PHONES]),
                    Some(&format!("chaos-{i}")),
                )
                .await
                .unwrap()
                .id
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(created.len(), DIALS);

    let mut ended = HashSet::new();
    while ended.len() < DIALS {
        let Ok(event) =
            tokio::time::timeout(std::time::Duration::from_secs(20), events.next()).await
        else {
            let mut states = Vec::new();
            for state in DialState::ALL {
                let n = app
                    .scalar(format!(
                        "SELECT COUNT(*) AS n FROM dial_commands WHERE state = '{state}'"
                    ))
                    .await;
                states.push((state.as_str(), n));
            }
            panic!("stalled with {} ended; states {states:?}", ended.len());
        };
        let event = event.unwrap();
        if let AppEvent::Dial { dial } = event.event {
            assert!(
                !matches!(dial.state, DialState::Expired | DialState::Failed),
                "{dial:?}"
            );
            if dial.state == DialState::Ended {
                ended.insert(dial.id);
            }
        }
    }
    let seen = seen.lock().unwrap();
    let created: HashSet<DialId> = created.into_iter().collect();
    assert_eq!(ended, created, "every command ended: none lost");
    assert_eq!(seen.dials.len(), DIALS);
    let twice = seen.dials.values().filter(|n| **n > 1).count();
    assert_eq!(twice, 0, "no command reached a phone's dialer twice");
    assert_eq!(seen.late, 0, "no command arrived after its expiry");
    for task in tasks {
        task.abort();
    }
}
