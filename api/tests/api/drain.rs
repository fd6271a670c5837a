//! Draining a node (docs/operations.md, "Draining a node"): a real
//! `deskbind-api` process gets SIGTERM while its phones reach it through a
//! load balancer; every phone moves to the other node at the time it was
//! told, dials posted meanwhile each reach their phone once, a phone that
//! ignores the `reconnect` frame is closed with 1012, and the node exits
//! cleanly. In process: `/readyz` and new phone connections (socket and
//! long poll) answer 503 `node_draining`, and a waiting long poll is
//! answered with `reconnect`.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskbind_core::ids::DialId;
use deskbind_core::wire::{AppEvent, DialState};
use deskbind_mobile::{AppClient, PhoneClient, PhoneCommand, PhoneLink};
use futures_util::future::join_all;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::dialing::{fast_reconnect, within};
use crate::helpers::{PASSWORD, TestApp, redis_url, spawn_app_with};
use crate::raw_ws::RawSocket;

const PHONES: usize = 5;
const DRAIN_MS: u64 = 1500;

/// A node as its own process, sharing the test app's database, keys and
/// Redis; its log lines arrive on the returned channel.
async fn spawn_process_node(
    app: &TestApp,
    redis: &str,
) -> (Child, u16, mpsc::UnboundedReceiver<String>) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let database = app.settings.database_url.as_ref().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskbind-api"))
        .env_clear()
        .env(
            "DATABASE_URL",
            secrecy::ExposeSecret::expose_secret(database),
        )
        .env("REDIS_URL", redis)
        .env("DESKBIND_LISTEN", format!("127.0.0.1:{port}"))
        .env("DESKBIND_DATA_DIR", &app.settings.data_dir)
        .env("DESKBIND_EMBEDDED_WORKER", "false")
        .env("DESKBIND_PHONE_DRAIN_MS", DRAIN_MS.to_string())
        .env("DESKBIND_DIAL_RATE_PER_MINUTE", "100000")
        .env("DESKBIND_PHONE_EVENT_RATE_PER_MINUTE", "100000")
        .env("DESKBIND_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start deskbind-api");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            // Shown when the test fails.
            eprintln!("node A: {line}");
            let _ = tx.send(line);
        }
    });
    wait_for_line(&mut rx, "deskbind-api listening").await;
    (child, port, rx)
}

async fn wait_for_line(log: &mut mpsc::UnboundedReceiver<String>, needle: &str) {
    within(async {
        loop {
            let line = log.recv().await.expect("the node's log ended");
            if line.contains(needle) {
                return;
            }
        }
    })
    .await;
}

/// Which node each connection through the balancer went to.
type Routes = Arc<Mutex<Vec<&'static str>>>;

/// A TCP load balancer in front of node A (while its `/readyz` says ready)
/// and node B (otherwise), checking readiness per connection.
async fn balancer(a: u16, b: u16) -> (u16, Routes) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let routes = Routes::default();
    let log = routes.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let ready = http
                .get(format!("http://127.0.0.1:{a}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            let (name, port) = if ready { ("a", a) } else { ("b", b) };
            log.lock().unwrap().push(name);
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, routes)
}

/// Reads the link's commands until every id in `expected` has arrived,
/// acking each; a dial arriving twice fails the test.
async fn receive_all(link: &mut PhoneLink, expected: &[DialId]) {
    let mut seen = HashSet::new();
    while seen.len() < expected.len() {
        match within(link.next()).await.expect("link stopped") {
            PhoneCommand::Dial { command_id, .. } => {
                assert!(
                    expected.contains(&command_id),
                    "unexpected dial {command_id}"
                );
                assert!(
                    seen.insert(command_id),
                    "dial {command_id} handed over twice"
                );
                link.ack(command_id);
            }
            PhoneCommand::Binding { .. } => {}
            other => panic!("expected a dial, got {other:?}"),
        }
    }
}

/// Waits on the user's event stream until each dial is `delivered`.
async fn until_delivered(client: &AppClient, dials: &[DialId]) {
    let mut events = client.events(Some(0)).await.unwrap();
    let mut delivered = HashSet::new();
    while delivered.len() < dials.len() {
        if let AppEvent::Dial { dial } = within(events.next()).await.unwrap().event
            && dial.state == DialState::Delivered
        {
            assert!(dials.contains(&dial.id));
            delivered.insert(dial.id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_moves_every_phone_to_the_other_node_and_loses_no_dial() {
    let redis = redis_url();
    // Node B: in process; node A: a real process, the one stopped.
    let app = spawn_app_with(|s| s.redis_url = Some(redis.clone().into())).await;
    let (mut node_a, port_a, mut log_a) = spawn_process_node(&app, &redis).await;
    let (lb, routes) = balancer(port_a, app.port).await;
    let lb_base = format!("http://127.0.0.1:{lb}");

    let mut phones = Vec::new();
    for i in 0..PHONES {
        let (_, client, _, phone) = app
            .bound_salesperson(&format!("sam{i}@acme.test"), &format!("+49309018{i:03}"))
            .await;
        let through_lb = PhoneClient::new(&lb_base, phone.credential()).unwrap();
        let mut link = through_lb.connect(fast_reconnect()).unwrap();
        // The greeting: the phone is attached (on A).
        within(link.next()).await.unwrap();
        phones.push((client, phone, link));
    }
    assert_eq!(*routes.lock().unwrap(), vec!["a"; PHONES]);
    // A phone that does not know `reconnect`, straight on A.
    let (_, _, _, stubborn) = app.bound_salesperson("old@acme.test", "+4930901999").await;
    let mut old_phone = RawSocket::connect(port_a, stubborn.credential()).await;
    assert_eq!(old_phone.next_json().await["type"], "binding");

    // The same users signed in on A, to post dials there during the drain
    // (the stubborn phone keeps A up for at least 2 s of it).
    let mut on_a = Vec::new();
    for i in 0..PHONES {
        let client = AppClient::new(&format!("http://127.0.0.1:{port_a}")).unwrap();
        client
            .login(&format!("sam{i}@acme.test"), PASSWORD)
            .await
            .unwrap();
        on_a.push(client);
    }

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &node_a.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for_line(&mut log_a, "SIGTERM: draining").await;

    // Draining: A tells the balancer so, and dials are posted to both
    // nodes while the phones move, all at once (A stays up for at least
    // the stubborn phone's 2 s margin; in sequence, on a loaded machine,
    // the posts could outlast it).
    let ready = async {
        let ready = reqwest::get(format!("http://127.0.0.1:{port_a}/readyz"))
            .await
            .unwrap();
        assert_eq!(ready.status(), 503);
        let body = ready.json::<serde_json::Value>().await.unwrap();
        assert_eq!(body["code"], "node_draining");
    };
    let to_a = join_all(on_a.iter().map(|a| a.dial("+16502530040", None, None)));
    let numbers: Vec<String> = (0..PHONES).map(|i| format!("+1650253005{i}")).collect();
    let to_b = join_all(
        phones
            .iter()
            .zip(&numbers)
            .map(|((b, _, _), number)| b.dial(number, None, None)),
    );
    let ((), to_a, to_b) = tokio::join!(ready, to_a, to_b);
    let posted: Vec<Vec<DialId>> = to_a
        .into_iter()
        .zip(to_b)
        .map(|(a, b)| vec![a.unwrap().id, b.unwrap().id])
        .collect();

    // The stubborn phone was told too, and closed after its delay.
    let reconnect = old_phone.next_json().await;
    assert_eq!(reconnect["type"], "reconnect", "{reconnect}");
    assert!(reconnect["after_ms"].as_u64().unwrap() <= DRAIN_MS);
    assert_eq!(
        old_phone.close_code(Duration::from_secs(10)).await,
        (1012, true)
    );

    let status = within(node_a.wait()).await.unwrap();
    assert!(status.success(), "node A exited with {status}");
    for ((client, _, link), dials) in phones.iter_mut().zip(&posted) {
        receive_all(link, dials).await;
        until_delivered(client, dials).await;
    }
    // Every phone came back through the balancer, to B.
    let after: Vec<_> = routes.lock().unwrap()[PHONES..].to_vec();
    assert!(
        after.len() >= PHONES && after.iter().all(|n| *n == "b"),
        "{after:?}"
    );
    // A is gone: a dial now reaches each phone only through B.
    for (client, _, link) in &mut phones {
        let dial = client.dial("+16502530060", None, None).await.unwrap();
        receive_all(link, &[dial.id]).await;
    }
    for (_, _, link) in phones {
        link.close().await;
    }
}

#[tokio::test]
async fn sigint_closes_the_phone_sockets_with_1012_before_the_node_stops() {
    // Phone sockets are not actix connections: without closing them first,
    // stopping the server would cut them off with no close frame.
    let redis = redis_url();
    let app = spawn_app_with(|s| s.redis_url = Some(redis.clone().into())).await;
    let (mut node, port, mut log) = spawn_process_node(&app, &redis).await;
    let (_, phone) = app.provisioned_phone("+4930901998").await;
    let mut socket = RawSocket::connect(port, phone.credential()).await;
    assert_eq!(socket.next_json().await["type"], "binding");
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &node.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    wait_for_line(&mut log, "SIGINT: stopping").await;
    assert_eq!(
        socket.close_code(Duration::from_secs(10)).await,
        (1012, true)
    );
    let status = within(node.wait()).await.unwrap();
    assert!(status.success(), "the node exited with {status}");
}

#[tokio::test]
async fn a_draining_node_answers_readiness_and_phones_with_node_draining() {
    let app = spawn_app_with(|s| s.phone_drain_ms = 0).await;
    let (_, _, _, polling) = app.bound_salesperson("sam@acme.test", "+4930901880").await;
    let (_, _, _, socket) = app.bound_salesperson("kim@acme.test", "+4930901881").await;
    // A socket keeps the node draining (not yet stopped) until 2 s after
    // its reconnect time, which is now (a window of 0).
    let mut on_socket = RawSocket::connect(app.port, socket.credential()).await;
    assert_eq!(on_socket.next_json().await["type"], "binding");
    let http = reqwest::Client::new();
    // A poll waiting when the drain starts is answered with `reconnect`.
    let waiting = tokio::spawn(
        http.get(app.url("/v1/phone/commands?wait=30"))
            .bearer_auth(polling.credential())
            .send(),
    );
    // Nothing tells the test when the poll is attached but the node's
    // count of its phones.
    within(async {
        while app.node.phones() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    app.node.start_drain();
    let answer: serde_json::Value = within(waiting)
        .await
        .unwrap()
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{answer}");
    assert_eq!(items[0]["type"], "reconnect");
    assert_eq!(items[0]["after_ms"], 0);
    let told = on_socket.next_json().await;
    assert_eq!(
        (&told["type"], &told["after_ms"]),
        (&"reconnect".into(), &0.into())
    );

    let ready = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["retry-after"], "1");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["code"], "node_draining");
    let upgrade = http
        .get(app.url("/v1/phone/ws"))
        .bearer_auth(polling.credential())
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(upgrade.status(), 503);
    let body: serde_json::Value = upgrade.json().await.unwrap();
    assert_eq!(body["code"], "node_draining");
    let poll = http
        .get(app.url("/v1/phone/commands?wait=0"))
        .bearer_auth(polling.credential())
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), 503);
    assert_eq!(poll.headers()["retry-after"], "1");
    // Other requests are still served while the node drains.
    assert!(app.admin.me().await.is_ok());
    // The socket's time is up: closed with 1012, and the node stops.
    assert_eq!(
        on_socket.close_code(Duration::from_secs(10)).await,
        (1012, true)
    );
}
