//! The phone's socket leaves actix's HTTP dispatcher after its handshake
//! (api/src/phone_channel/takeover.rs): what the phone sent behind the
//! handshake is not lost, fragmented text is read whole, an upgrade that
//! is refused or meant for another route gets that answer and a closed
//! connection, and only a real hand-over is ever answered 101.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::spawn_app;
use crate::raw_ws::{CLOSE, CONTINUATION, RawSocket, TEXT, client_frame};

fn pong(id: u64) -> Vec<u8> {
    json!({"v": 1, "type": "pong", "id": id})
        .to_string()
        .into_bytes()
}

/// Everything the server sends on a connection until it closes it.
async fn until_closed(request: &[u8], port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection after its answer")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn upgrade_request(path: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn frames_sent_behind_the_handshake_are_read() {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930901890").await;
    let mut behind = client_frame(true, TEXT, &pong(3));
    behind.extend(client_frame(true, TEXT, &pong(4)));
    let mut socket = RawSocket::connect_sending(app.port, phone.credential(), &behind).await;
    assert_eq!(socket.next_json().await["type"], "binding");
    for id in [3, 4] {
        let receipt = socket.next_json().await;
        assert_eq!(
            (receipt["type"].as_str(), receipt["received"].as_u64()),
            (Some("receipt"), Some(id))
        );
    }
}

#[tokio::test]
async fn a_fragmented_text_message_within_the_limit_is_read_whole() {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930901891").await;
    let mut socket = RawSocket::connect(app.port, phone.credential()).await;
    assert_eq!(socket.next_json().await["type"], "binding");
    let text = pong(9);
    let (first, rest) = text.split_at(text.len() / 2);
    socket.send_frame(false, TEXT, first).await;
    socket.send_frame(true, CONTINUATION, rest).await;
    let receipt = socket.next_json().await;
    assert_eq!(
        (receipt["type"].as_str(), receipt["received"].as_u64()),
        (Some("receipt"), Some(9))
    );
}

#[tokio::test]
async fn a_phones_close_is_answered_before_the_connection_ends() {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930901894").await;
    let mut socket = RawSocket::connect(app.port, phone.credential()).await;
    assert_eq!(socket.next_json().await["type"], "binding");
    socket.send_frame(true, CLOSE, &1000u16.to_be_bytes()).await;
    assert_eq!(
        socket.close_code(Duration::from_secs(10)).await,
        (1000, true)
    );
}

#[tokio::test]
async fn a_refused_upgrade_is_answered_and_the_connection_closed() {
    let app = spawn_app().await;
    let answer = until_closed(
        &upgrade_request("/v1/phone/ws", "Authorization: Bearer not-a-credential\r\n"),
        app.port,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let problem: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["code"], "invalid_token");
}

#[tokio::test]
async fn an_upgrade_to_another_route_gets_that_routes_answer_and_never_101() {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930901892").await;
    // A user's route: its own answer (401 for a phone credential).
    let answer = until_closed(
        &upgrade_request(
            "/v1/me",
            &format!("Authorization: Bearer {}\r\n", phone.credential()),
        ),
        app.port,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    // An open route: its answer, whole.
    let answer = until_closed(&upgrade_request("/healthz", ""), app.port).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("\"ok\""), "{answer}");
}

#[tokio::test]
async fn an_upgrade_with_a_chunked_body_is_not_handed_over() {
    // actix reads such a request as an ordinary one with a body; answering
    // it 101 would leave the connection to a dispatcher that still speaks
    // HTTP, so the phone route refuses it.
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930901893").await;
    let mut request = upgrade_request(
        "/v1/phone/ws",
        &format!(
            "Authorization: Bearer {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
            phone.credential()
        ),
    );
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = until_closed(&request, app.port).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("websocket_upgrade_required"), "{answer}");
}
