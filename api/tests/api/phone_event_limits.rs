//! What one phone may send: `phone_event_rate_per_minute` frames and events
//! (socket and long poll share the bucket), and long-poll bodies no larger
//! than `max_json_bytes`, refused before they are read.

use std::time::Duration;

use deskbind_core::wire::{LineState, PresenceState};
use deskbind_mobile::LinkOptions;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;
use crate::raw_http::exchange;
use crate::raw_ws::{RawSocket, TEXT};

const RATE: u32 = 100;
const EXTRA: u64 = 10;

fn pongs(n: usize) -> Value {
    json!({ "events": (0..n).map(|_| json!({"v": 1, "type": "pong"})).collect::<Vec<_>>() })
}

#[tokio::test]
async fn a_burst_of_long_poll_events_beyond_the_rate_is_429() {
    let app = spawn_app_with(|s| s.phone_event_rate_per_minute = RATE).await;
    let (_, phone) = app.provisioned_phone("+4930901880").await;
    let http = reqwest::Client::new();
    let post = |n: usize| {
        http.post(app.url("/v1/phone/events"))
            .bearer_auth(phone.credential())
            .json(&pongs(n))
            .send()
    };
    // 20 concurrent batches of 5: exactly the rate, all accepted.
    let within = join_all((0..20).map(|_| post(5))).await;
    assert!(within.iter().all(|r| r.as_ref().unwrap().status() == 200));
    // The bucket refills one event per 0.6 s: ten more cannot fit yet.
    let beyond = post(10).await.unwrap();
    assert_eq!(beyond.status(), 429);
    let retry_after: u64 = beyond.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem: Value = beyond.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    // Another phone has its own bucket.
    let (_, other) = app.provisioned_phone("+4930901881").await;
    let response = http
        .post(app.url("/v1/phone/events"))
        .bearer_auth(other.credential())
        .json(&pongs(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_burst_of_socket_frames_beyond_the_rate_is_refused_without_a_receipt() {
    let app = spawn_app_with(|s| s.phone_event_rate_per_minute = RATE).await;
    let (_, phone) = app.provisioned_phone("+4930901882").await;
    let mut socket = RawSocket::connect(app.port, phone.credential()).await;
    assert_eq!(socket.next_json().await["type"], "binding");
    let sent = u64::from(RATE) + EXTRA;
    for id in 1..=sent {
        let frame = json!({"v": 1, "type": "pong", "id": id}).to_string();
        socket.send_frame(true, TEXT, frame.as_bytes()).await;
    }
    let mut receipts = Vec::new();
    let mut refused = 0;
    for _ in 0..sent {
        let answer = socket.next_json().await;
        match (answer["type"].as_str(), answer["code"].as_str()) {
            (Some("receipt"), _) => receipts.push(answer["received"].as_u64().unwrap()),
            (Some("error"), Some("rate_limited")) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // The whole burst allowance is served; beyond it frames are refused (the
    // bucket refills one per 0.6 s, so a few may pass if the test is slow).
    assert_eq!(
        &receipts[..RATE as usize],
        (1..=u64::from(RATE)).collect::<Vec<_>>()
    );
    assert!(refused >= EXTRA / 2, "only {refused} refused");
    // The socket stays open: the phone sends it again later.
    socket.send_frame(true, 0x9, b"alive?").await;
    assert_eq!(
        socket.receive().await,
        crate::raw_ws::Received::Frame {
            opcode: 0xA,
            payload: b"alive?".to_vec()
        }
    );
}

#[tokio::test]
async fn an_oversize_long_poll_body_is_refused_before_it_is_read() {
    let app = spawn_app_with(|_| {}).await;
    let (_, phone) = app.provisioned_phone("+4930901883").await;
    // Announced: 100 MB, of which a few bytes are sent.
    let announced = exchange(
        app.port,
        &format!(
            "POST /v1/phone/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{{\"events\":[",
            phone.credential()
        ),
    )
    .await;
    assert_eq!(announced.status, 413);
    let problem: Value = serde_json::from_slice(&announced.body).unwrap();
    assert_eq!(problem["code"], "payload_too_large");
    // Streamed without a length: refused once past max_json_bytes.
    let chunk = " ".repeat(16 * 1024);
    let mut streamed = format!(
        "POST /v1/phone/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        phone.credential()
    );
    for _ in 0..(app.settings.max_json_bytes / chunk.len() + 1) {
        streamed.push_str(&format!("{:X}\r\n{chunk}\r\n", chunk.len()));
    }
    let streamed = exchange(app.port, &streamed).await;
    assert_eq!(streamed.status, 413);
}

/// The SDK's link obeys a `rate_limited` refusal: the refused frame and
/// those written after it go again after the delay it names, in order, so
/// nothing a burst sent is lost. Before, a refused frame went again only
/// after a reconnect, and the receipt of a later frame counted it as
/// processed: a simulated phone placing a call a second lost call events
/// (the dial stayed ringing), and `processed()` never answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_link_sends_rate_limited_frames_again_after_the_delay() {
    let app = spawn_app_with(|s| s.phone_event_rate_per_minute = RATE).await;
    let (_, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930901883").await;
    let link = device.connect(LinkOptions::default()).unwrap();
    let reporter = link.reporter();
    // More than the burst allows, the last one saying the line is busy.
    for _ in 0..u64::from(RATE) + EXTRA {
        reporter.line_state(LineState::Idle);
    }
    reporter.line_state(LineState::Talking);
    let processed = tokio::time::timeout(Duration::from_secs(60), reporter.processed()).await;
    assert_eq!(processed, Ok(true), "every frame confirmed in the end");
    let mine = sam_app.my_presence().await.unwrap();
    assert_eq!(
        (mine.line_state, mine.state),
        (Some(LineState::Talking), PresenceState::Busy)
    );
    link.close().await;
}
