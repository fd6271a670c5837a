//! The phone channel at the protocol level, with a raw WebSocket client:
//! who may upgrade, frame limits, one live connection per phone, and the
//! long-poll fallback.

use deskbind_core::wire::{DialState, PhoneEventResults};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::dialing::within;
use crate::helpers::{TestApp, spawn_app};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn upgrade(app: &TestApp, bearer: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://127.0.0.1:{}/v1/phone/ws", app.port)
        .into_client_request()
        .unwrap();
    if let Some(bearer) = bearer {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {bearer}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("unexpected {e}"),
    }
}

/// The next JSON text frame (control frames skipped).
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match within(socket.next()).await.expect("socket open").unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The close frame the server ends with.
async fn close_code(socket: &mut Socket) -> CloseCode {
    loop {
        match within(socket.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code,
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("closed without a code")
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn only_a_live_phone_credential_upgrades() {
    let app = spawn_app().await;
    assert_eq!(upgrade(&app, None).await.err(), Some(401));
    let user_token = app.access_token().await;
    assert_eq!(upgrade(&app, Some(&user_token)).await.err(), Some(401));
    assert_eq!(
        upgrade(&app, Some("dbp_forged-credential")).await.err(),
        Some(401)
    );
    // A credential in the URL is not a credential.
    let (_, phone) = app.provisioned_phone("+4930901860").await;
    let url = format!(
        "ws://127.0.0.1:{}/v1/phone/ws?access_token={}",
        app.port,
        phone.credential()
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let mut socket = upgrade(&app, Some(phone.credential())).await.unwrap();
    let greeting = next_json(&mut socket).await;
    assert_eq!(
        (greeting["v"].as_u64(), greeting["type"].as_str()),
        (Some(1), Some("binding"))
    );
    // A plain GET (no upgrade) with a credential is told what to do.
    let response = reqwest::Client::new()
        .get(app.url("/v1/phone/ws"))
        .bearer_auth(phone.credential())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "websocket_upgrade_required");
}

#[tokio::test]
async fn bad_frames_are_refused_and_an_oversize_frame_closes_the_socket() {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930901861").await;
    let mut socket = upgrade(&app, Some(phone.credential())).await.unwrap();
    next_json(&mut socket).await; // binding
    socket.send(Message::text("not json")).await.unwrap();
    assert_eq!(next_json(&mut socket).await["code"], "invalid_frame");
    socket
        .send(Message::text(json!({"v": 2, "type": "pong"}).to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["code"], "unsupported_version");
    let unknown =
        json!({"v": 1, "type": "ack", "command_id": "0190d1f4-64f6-7b8e-8d4e-2b1c9b1d2f00"});
    socket
        .send(Message::text(unknown.to_string()))
        .await
        .unwrap();
    let refusal = next_json(&mut socket).await;
    assert_eq!(
        (refusal["type"].as_str(), refusal["code"].as_str()),
        (Some("error"), Some("unknown_command"))
    );

    let oversize = "x".repeat(app.settings.phone_max_frame_bytes + 1);
    socket.send(Message::text(oversize)).await.unwrap();
    assert_eq!(close_code(&mut socket).await, CloseCode::Size);
}

#[tokio::test]
async fn a_phone_keeps_only_its_newest_connection() {
    let app = spawn_app().await;
    let (_, client, _, phone) = app.bound_salesperson("sam@acme.test", "+4930901862").await;
    let mut old = upgrade(&app, Some(phone.credential())).await.unwrap();
    next_json(&mut old).await;
    let mut new = upgrade(&app, Some(phone.credential())).await.unwrap();
    next_json(&mut new).await;
    assert_eq!(close_code(&mut old).await, CloseCode::Policy);
    let dial = client.dial("+16502530020", None, None).await.unwrap();
    let frame = next_json(&mut new).await;
    assert_eq!(
        (frame["type"].as_str(), frame["command_id"].as_str()),
        (Some("dial"), Some(dial.id.to_string().as_str()))
    );
}

#[tokio::test]
async fn the_long_poll_delivers_dials_and_takes_events() {
    let app = spawn_app().await;
    let (_, client, _, phone) = app.bound_salesperson("sam@acme.test", "+4930901863").await;
    let http = reqwest::Client::new();
    let poll = |wait: &str| {
        http.get(app.url(&format!("/v1/phone/commands?wait={wait}")))
            .bearer_auth(phone.credential())
            .send()
    };
    let empty: Value = poll("0").await.unwrap().json().await.unwrap();
    assert_eq!(empty["items"], json!([]));
    let bad = poll("31").await.unwrap();
    assert_eq!(bad.status(), 400);

    // A waiting poll is answered by the dial (or finds it stored, if the
    // dial wins the race to the server).
    let waiting = tokio::spawn(poll("20"));
    let dial = client.dial("+16502530021", None, None).await.unwrap();
    let answer: Value = within(waiting)
        .await
        .unwrap()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["items"][0]["type"], "dial");
    assert_eq!(answer["items"][0]["command_id"], dial.id.to_string());

    let post = |events: Value| {
        http.post(app.url("/v1/phone/events"))
            .bearer_auth(phone.credential())
            .json(&json!({ "events": events }))
            .send()
    };
    let response = post(json!([
        {"v": 1, "type": "ack", "command_id": dial.id},
        {"v": 1, "type": "call_event", "call_id": "c1", "command_id": dial.id, "state": "answered", "at": "2026-11-21T10:00:00Z"},
        {"v": 1, "type": "call_event", "call_id": "c1", "command_id": dial.id, "state": "ringing", "at": "2026-11-21T10:00:01Z"},
    ]))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let results: PhoneEventResults = response.json().await.unwrap();
    let codes: Vec<Option<String>> = results
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.clone()))
        .collect();
    assert_eq!(codes, [None, None, Some("invalid_transition".into())]);
    assert_eq!(
        client.get_dial(dial.id).await.unwrap().state,
        DialState::Answered
    );
    // Acked: the next poll does not get it again.
    let empty: Value = poll("0").await.unwrap().json().await.unwrap();
    assert_eq!(empty["items"], json!([]));

    let too_many: Vec<Value> = (0..101).map(|_| json!({"v": 1, "type": "pong"})).collect();
    let response = post(Value::Array(too_many)).await.unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_queued_dial_never_reaches_the_phones_next_holder() {
    let app = spawn_app().await;
    let (_, client, _, phone) = app.bound_salesperson("sam@acme.test", "+4930901864").await;
    let dial = client.dial("+16502530022", None, None).await.unwrap();
    let binding = client
        .list_bindings(&Default::default())
        .await
        .unwrap()
        .items[0]
        .id;
    client.unbind(binding).await.unwrap();
    let http = reqwest::Client::new();
    let pending: Value = http
        .get(app.url("/v1/phone/commands?wait=0"))
        .bearer_auth(phone.credential())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        pending["items"],
        json!([]),
        "the command of an ended binding is not sent"
    );
    assert_eq!(
        client.get_dial(dial.id).await.unwrap().state,
        DialState::Queued
    );
}
