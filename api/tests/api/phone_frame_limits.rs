//! `phone_max_frame_bytes` holds at the frame header: a phone announcing a
//! huge frame, or fragments adding up past the limit, is closed with 1009
//! before it has sent the payload, so nothing is buffered.

use std::time::Duration;

use serde_json::json;

use crate::helpers::spawn_app;
use crate::raw_ws::{CONTINUATION, RawSocket, TEXT};

/// How long the close may take: the refusal needs no payload, so this is
/// far less than the time to send what was announced.
const PROMPTLY: Duration = Duration::from_secs(5);
const FRAME_TOO_LARGE: u16 = 1009;

async fn connected_phone(number: &str) -> (crate::helpers::TestApp, RawSocket) {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone(number).await;
    let mut socket = RawSocket::connect(app.port, phone.credential()).await;
    assert_eq!(socket.next_json().await["type"], "binding");
    (app, socket)
}

#[tokio::test]
async fn a_header_announcing_more_than_the_limit_is_closed_at_once() {
    for announced in [100_000_000u64, 1 << 62] {
        let (_app, mut socket) = connected_phone("+4930901870").await;
        socket.send_header(true, TEXT, announced).await;
        // A little of the payload; the rest never comes.
        let _ = socket.send_payload(&[b' '; 4096]).await;
        let (code, ended) = socket.close_code(PROMPTLY).await;
        assert_eq!(
            (code, ended),
            (FRAME_TOO_LARGE, true),
            "announced {announced}"
        );
    }
}

#[tokio::test]
async fn fragments_adding_up_past_the_limit_are_closed() {
    let (app, mut socket) = connected_phone("+4930901871").await;
    let half = app.settings.phone_max_frame_bytes / 2 + 1;
    socket.send_frame(false, TEXT, &vec![b' '; half]).await;
    socket.send_header(false, CONTINUATION, half as u64).await;
    let _ = socket.send_payload(&vec![b' '; half]).await;
    let (code, ended) = socket.close_code(PROMPTLY).await;
    assert_eq!((code, ended), (FRAME_TOO_LARGE, true));
}

#[tokio::test]
async fn a_frame_of_exactly_the_limit_is_served() {
    let (app, mut socket) = connected_phone("+4930901872").await;
    let mut text = json!({"v": 1, "type": "pong", "id": 7})
        .to_string()
        .into_bytes();
    text.resize(app.settings.phone_max_frame_bytes, b' ');
    socket.send_frame(true, TEXT, &text).await;
    let receipt = socket.next_json().await;
    assert_eq!(
        (receipt["type"].as_str(), receipt["received"].as_u64()),
        (Some("receipt"), Some(7))
    );
}
