//! Signed webhooks (docs/integrations.md, "Webhooks"), through the real
//! worker sender and a real HTTP receiver on loopback: every delivery is
//! verified by the Standard Webhooks reference library (Python
//! `standardwebhooks`, DESKBIND_STANDARDWEBHOOKS_PYTHON) and a tampered copy
//! refused; a receiver that fails then recovers gets each event once, in
//! order per call, retried by the schedule with the same `webhook-id`; a
//! rotation signs with both secrets; 410 disables the endpoint; inward
//! targets are refused unless the operator allows them; admins only.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use deskbind_core::domain::webhook_targets::TargetPolicy;
use deskbind_core::time::{Micros, now_micros, seconds};
use deskbind_core::wire::Role;
use deskbind_worker::webhooks::{self, WebhookOptions};
use serde_json::{Value, json};

use crate::call_outcomes::{office, refusal, send};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: serde_json::Map<String, Value>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers[name].as_str().unwrap()
    }

    fn event_type(&self) -> String {
        let body: Value = serde_json::from_str(&self.body).unwrap();
        body["type"].as_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    /// Statuses to answer with, in order; 204 once they run out.
    plan: VecDeque<u16>,
}

/// A webhook receiver on 127.0.0.1 that records every request and answers
/// by its plan.
struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
    _server: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start(plan: &[u16]) -> Self {
        let inbox = Arc::new(Mutex::new(Inbox {
            received: Vec::new(),
            plan: plan.iter().copied().collect(),
        }));
        let shared = web::Data::from(inbox.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            inbox,
            _server: handle,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }
}

async fn receive(req: HttpRequest, body: String, inbox: web::Data<Mutex<Inbox>>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
        .collect();
    let mut inbox = inbox.lock().unwrap();
    inbox.received.push(Received { headers, body });
    let status = inbox.plan.pop_front().unwrap_or(204);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body(format!("answered {status}"))
}

/// The worker's sender as the tests drive it, one pass at a given time.
struct Sender {
    client: reqwest::Client,
    options: WebhookOptions,
}

impl Sender {
    fn allowing(networks: &str) -> Self {
        let options = WebhookOptions {
            owner: "test-sender".into(),
            policy: TargetPolicy::parse(networks).unwrap(),
            timeout: Duration::from_secs(5),
            ..WebhookOptions::default()
        };
        Self {
            client: webhooks::client(&options).unwrap(),
            options,
        }
    }

    /// One pass at `now`; how many deliveries it attempted.
    async fn pass(&self, app: &TestApp, now: Micros) -> usize {
        webhooks::run_once(&app.services.db, &self.client, &self.options, now)
            .await
            .unwrap()
            .0
    }
}

/// Every delivery verified by the reference library with each secret, and
/// a tampered copy of each refused.
fn verify_independently(secrets: &[&str], deliveries: &[Received]) {
    let python = std::env::var("DESKBIND_STANDARDWEBHOOKS_PYTHON").expect(
        "DESKBIND_STANDARDWEBHOOKS_PYTHON must name a Python with the `standardwebhooks` \
         package (scripts/test makes .venv-webhooks; or: python3 -m venv v && \
         v/bin/pip install standardwebhooks==1.3.0)",
    );
    let input = json!({
        "secrets": secrets,
        "deliveries": deliveries
            .iter()
            .map(|d| json!({ "headers": d.headers, "body": d.body }))
            .collect::<Vec<_>>(),
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/verify_webhooks.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the standardwebhooks verifier");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "verifier refused:\n{report}");
    assert_eq!(
        report.matches("verified ").count(),
        secrets.len() * deliveries.len(),
        "{report}"
    );
}

async fn create_endpoint(app: &TestApp, url: &str, types: &[&str]) -> Value {
    let (status, created) = send(
        app,
        &app.admin,
        "POST",
        "/v1/webhook-endpoints",
        Some(json!({ "url": url, "event_types": types, "description": "CRM" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created
}

fn allowing_loopback(s: &mut deskbind_core::config::Settings) {
    s.webhook_allowed_networks = "127.0.0.0/8".into();
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_each_call_event_once_in_order_signed() {
    let app = spawn_app_with(allowing_loopback).await;
    // Two failures, then the receiver works.
    let receiver = Receiver::start(&[500, 503]).await;
    let endpoint = create_endpoint(&app, &receiver.url, &["call.created", "call.updated"]).await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    // A call is stored, then its outcome changes: two events of one call.
    let o = office(&app).await;
    let (status, _) = send(
        &app,
        &o.ann,
        "PATCH",
        &format!("/v1/calls/{}", o.call),
        Some(json!({ "notes": "Wants a demo" })),
    )
    .await;
    assert_eq!(status, 200);

    let sender = Sender::allowing("127.0.0.0/8");
    let t0 = now_micros();
    // The first attempt fails; the update waits behind the creation.
    assert_eq!(sender.pass(&app, t0).await, 1);
    assert_eq!(sender.pass(&app, t0).await, 0);
    // Not before the schedule's next step (5 s, within a fifth).
    assert_eq!(sender.pass(&app, t0 + seconds(3)).await, 0);
    assert_eq!(sender.pass(&app, t0 + seconds(7)).await, 1);
    // Then 5 minutes, within a fifth; then both go, in order.
    assert_eq!(sender.pass(&app, t0 + seconds(200)).await, 0);
    assert_eq!(sender.pass(&app, t0 + seconds(400)).await, 1);
    assert_eq!(sender.pass(&app, t0 + seconds(400)).await, 1);
    assert_eq!(sender.pass(&app, t0 + seconds(5_000)).await, 0);

    let got = receiver.received();
    let types: Vec<String> = got.iter().map(Received::event_type).collect();
    assert_eq!(
        types,
        [
            "call.created",
            "call.created",
            "call.created",
            "call.updated"
        ]
    );
    // Retries keep their webhook-id, so the receiver de-duplicates them.
    assert_eq!(got[0].header("webhook-id"), got[2].header("webhook-id"));
    assert_ne!(got[2].header("webhook-id"), got[3].header("webhook-id"));
    let body: Value = serde_json::from_str(&got[3].body).unwrap();
    assert_eq!(body["data"]["id"], o.call.as_str());
    assert_eq!(body["data"]["notes"], "Wants a demo");
    verify_independently(&[&secret], &got[2..]);

    // The delivery log shows it all.
    let path = format!(
        "/v1/webhook-endpoints/{}/deliveries",
        endpoint["id"].as_str().unwrap()
    );
    let (_, log) = send(&app, &app.admin, "GET", &path, None).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            &items[1]["event_type"],
            &items[1]["attempts"],
            &items[1]["state"],
            &items[1]["last_status"]
        ),
        (
            &json!("call.created"),
            &json!(3),
            &json!("delivered"),
            &json!(204)
        )
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_with_both_and_a_replay_keeps_its_id() {
    let app = spawn_app_with(allowing_loopback).await;
    let receiver = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&app, &receiver.url, &["call.created"]).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let old = endpoint["secret"].as_str().unwrap().to_owned();
    let (status, rotated) = send(
        &app,
        &app.admin,
        "POST",
        &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
        Some(json!({ "overlap_hours": 2 })),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_until"].is_string());

    // The test event goes to this endpoint whatever it subscribes to.
    let (status, queued) = send(
        &app,
        &app.admin,
        "POST",
        &format!("/v1/webhook-endpoints/{id}/test"),
        None,
    )
    .await;
    assert_eq!((status, &queued["state"]), (202, &json!("pending")));
    let sender = Sender::allowing("127.0.0.0/8");
    assert_eq!(sender.pass(&app, now_micros()).await, 1);
    let got = receiver.received();
    assert_eq!(got[0].event_type(), "webhook.test");
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    verify_independently(&[&old, &new], &got);

    // A replay sends the same message again, same id.
    let delivery = queued["id"].as_str().unwrap();
    let (status, _) = send(
        &app,
        &app.admin,
        "POST",
        &format!("/v1/webhook-endpoints/{id}/deliveries/{delivery}/replay"),
        None,
    )
    .await;
    assert_eq!(status, 202);
    // After the overlap only the new secret signs.
    assert_eq!(
        sender.pass(&app, now_micros() + seconds(3 * 3_600)).await,
        1
    );
    let got = receiver.received();
    assert_eq!(got[1].header("webhook-id"), got[0].header("webhook-id"));
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 1);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_tells_the_admins() {
    let app = spawn_app_with(allowing_loopback).await;
    let receiver = Receiver::start(&[410]).await;
    let endpoint = create_endpoint(&app, &receiver.url, &["call.created"]).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    send(
        &app,
        &app.admin,
        "POST",
        &format!("/v1/webhook-endpoints/{id}/test"),
        None,
    )
    .await;
    let sender = Sender::allowing("127.0.0.0/8");
    assert_eq!(sender.pass(&app, now_micros()).await, 1);
    let (_, now) = send(
        &app,
        &app.admin,
        "GET",
        &format!("/v1/webhook-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (&now["disabled"], &now["disabled_reason"]),
        (&json!(true), &json!("gone"))
    );
    let (_, log) = send(&app, &app.admin, "GET", "/v1/audit-events", None).await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "webhook_endpoint.gone" && e["actor"]["kind"] == "system"),
        "{log}"
    );
    // A disabled endpoint gets nothing: a new call queues no delivery.
    office(&app).await;
    assert_eq!(sender.pass(&app, now_micros()).await, 0);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(app.count("webhook_messages").await, 1);
}

#[tokio::test]
async fn inward_targets_are_refused_when_saved_and_when_sent() {
    let app = spawn_app().await;
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://localhost:9/hooks",
        "http://[::1]:9/",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/",
    ] {
        let body = json!({ "url": url, "event_types": ["call.created"] });
        assert_eq!(
            refusal(
                send(
                    &app,
                    &app.admin,
                    "POST",
                    "/v1/webhook-endpoints",
                    Some(body)
                )
                .await
            ),
            (422, "webhook_target_refused".into()),
            "{url}"
        );
    }
    assert_eq!(app.count("webhook_endpoints").await, 0);

    // Saved while the operator allowed loopback, sent by a worker that does
    // not: the name resolves inward and the delivery fails, not retried.
    let open = spawn_app_with(allowing_loopback).await;
    let receiver = Receiver::start(&[]).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let endpoint = create_endpoint(&open, &by_name, &["call.created"]).await;
    let id = endpoint["id"].as_str().unwrap();
    send(
        &open,
        &open.admin,
        "POST",
        &format!("/v1/webhook-endpoints/{id}/test"),
        None,
    )
    .await;
    let strict = Sender::allowing("");
    assert_eq!(strict.pass(&open, now_micros()).await, 1);
    assert!(receiver.received().is_empty());
    let (_, log) = send(
        &open,
        &open.admin,
        "GET",
        &format!("/v1/webhook-endpoints/{id}/deliveries"),
        None,
    )
    .await;
    let delivery = &log["items"][0];
    assert_eq!(delivery["state"], "failed", "{log}");
    assert!(
        delivery["last_error"]
            .as_str()
            .unwrap()
            .contains("no public address"),
        "{log}"
    );
}

#[tokio::test]
async fn endpoints_are_for_admins_and_every_field_is_checked() {
    let app = spawn_app_with(allowing_loopback).await;
    let (_, manager) = app.user("mia@acme.test", Role::Manager).await;
    let good = json!({ "url": "https://crm.example.com/hooks", "event_types": ["call.created"] });
    assert_eq!(
        refusal(
            send(
                &app,
                &manager,
                "POST",
                "/v1/webhook-endpoints",
                Some(good.clone())
            )
            .await
        ),
        (403, "forbidden".into())
    );
    assert_eq!(
        refusal(send(&app, &manager, "GET", "/v1/webhook-endpoints", None).await),
        (403, "forbidden".into())
    );
    for (body, code) in [
        (
            json!({ "url": "ftp://crm.example.com/", "event_types": ["call.created"] }),
            "invalid_webhook_url",
        ),
        (
            json!({ "url": "https://u:p@crm.example.com/", "event_types": ["call.created"] }),
            "invalid_webhook_url",
        ),
        (
            json!({ "url": "crm.example.com", "event_types": ["call.created"] }),
            "invalid_webhook_url",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["call.deleted"] }),
            "unknown_event_type",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["webhook.test"] }),
            "unknown_event_type",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": [] }),
            "invalid_field",
        ),
        (
            json!({ "url": "https://crm.example.com/", "event_types": ["call.created"], "secret": "mine" }),
            "unknown_field",
        ),
    ] {
        let (status, problem) = send(
            &app,
            &app.admin,
            "POST",
            "/v1/webhook-endpoints",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(code)),
            "{body}: {problem}"
        );
    }
    assert_eq!(app.count("webhook_endpoints").await, 0);

    // The list never shows a secret; at most 20 endpoints.
    for _ in 0..20 {
        let (status, _) = send(
            &app,
            &app.admin,
            "POST",
            "/v1/webhook-endpoints",
            Some(good.clone()),
        )
        .await;
        assert_eq!(status, 201);
    }
    assert_eq!(
        refusal(
            send(
                &app,
                &app.admin,
                "POST",
                "/v1/webhook-endpoints",
                Some(good)
            )
            .await
        ),
        (409, "webhook_endpoint_limit".into())
    );
    let (_, list) = send(
        &app,
        &app.admin,
        "GET",
        "/v1/webhook-endpoints?limit=100",
        None,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 20);
    assert!(!list.to_string().contains("whsec_"));
    // An admin disables one and changes its types.
    let id = list["items"][0]["id"].as_str().unwrap();
    let (status, changed) = send(
        &app,
        &app.admin,
        "PATCH",
        &format!("/v1/webhook-endpoints/{id}"),
        Some(json!({ "disabled": true, "event_types": ["call.updated", "call.created"] })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["disabled_reason"], "admin");
    assert_eq!(
        changed["event_types"],
        json!(["call.created", "call.updated"])
    );
    let (status, _) = send(
        &app,
        &app.admin,
        "DELETE",
        &format!("/v1/webhook-endpoints/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(app.count("webhook_endpoints").await, 19);
}

#[tokio::test]
async fn a_dial_s_states_reach_the_endpoint_in_order() {
    let app = spawn_app_with(allowing_loopback).await;
    let receiver = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&app, &receiver.url, &["dial.state_changed"]).await;
    let o = office(&app).await;
    let dial = o.ann.dial("+4930555123", None, None).await.unwrap();
    o.ann.cancel_dial(dial.id).await.unwrap();
    let sender = Sender::allowing("127.0.0.0/8");
    let now = now_micros();
    while sender.pass(&app, now).await > 0 {}
    let got = receiver.received();
    let states: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("dial.state_changed".to_owned(), "queued".to_owned()),
            ("dial.state_changed".to_owned(), "cancelled".to_owned())
        ]
    );
    verify_independently(&[endpoint["secret"].as_str().unwrap()], &got);
}

#[tokio::test]
async fn contact_and_binding_changes_reach_the_endpoints_that_want_them() {
    let app = spawn_app_with(allowing_loopback).await;
    let receiver = Receiver::start(&[]).await;
    let endpoint = create_endpoint(
        &app,
        &receiver.url,
        &[
            "binding.changed",
            "contact.created",
            "contact.updated",
            "contact.deleted",
        ],
    )
    .await;
    let calls_only = Receiver::start(&[]).await;
    create_endpoint(&app, &calls_only.url, &["call.created"]).await;
    // Ann takes her phone (and uploads a call: not for the first endpoint).
    office(&app).await;
    let (status, contact) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/contacts",
        Some(json!({ "name": "Lead", "numbers": ["+4930555777"] })),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    let path = format!("/v1/contacts/{}", contact["id"].as_str().unwrap());
    send(
        &app,
        &app.admin,
        "PATCH",
        &path,
        Some(json!({ "company": "Acme" })),
    )
    .await;
    assert_eq!(send(&app, &app.admin, "DELETE", &path, None).await.0, 204);

    let sender = Sender::allowing("127.0.0.0/8");
    let now = now_micros();
    while sender.pass(&app, now).await > 0 {}
    let got = receiver.received();
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let binding = bodies
        .iter()
        .find(|b| b["type"] == "binding.changed")
        .unwrap();
    assert_eq!(binding["data"]["change"], "bound");
    let contact_events: Vec<(&str, &Value)> = bodies
        .iter()
        .filter(|b| b["type"].as_str().unwrap().starts_with("contact."))
        .map(|b| (b["type"].as_str().unwrap(), &b["data"]["id"]))
        .collect();
    assert_eq!(
        contact_events,
        [
            ("contact.created", &contact["id"]),
            ("contact.updated", &contact["id"]),
            ("contact.deleted", &contact["id"]),
        ]
    );
    assert_eq!(
        bodies[1..]
            .iter()
            .filter(|b| b["type"] == "contact.updated")
            .count(),
        1
    );
    // The other endpoint got only its call.
    let theirs: Vec<String> = calls_only
        .received()
        .iter()
        .map(Received::event_type)
        .collect();
    assert_eq!(theirs, ["call.created"]);
    verify_independently(&[endpoint["secret"].as_str().unwrap()], &got);
}

/// The outbox is trimmed: a purged call's messages go with it, a pending
/// delivery included (a purged call is neither sent nor replayed), and
/// housekeeping deletes finished messages once they are older than the
/// delivery log keeps them, but never one still being delivered.
#[tokio::test]
async fn finished_messages_go_with_their_purged_call_and_after_the_log_days() {
    use deskbind_core::usecases::housekeeping::{self, WEBHOOK_LOG_DAYS};
    let app = spawn_app_with(allowing_loopback).await;
    // The first call's event is taken; the second's fails once.
    let receiver = Receiver::start(&[204, 500]).await;
    create_endpoint(&app, &receiver.url, &["call.created"]).await;
    let o = office(&app).await;
    let sender = Sender::allowing("127.0.0.0/8");
    let t0 = now_micros();
    assert_eq!(sender.pass(&app, t0).await, 1);
    o.phone
        .upload_call_records(&[crate::records::call("c2", 5)])
        .await
        .unwrap();
    let t1 = now_micros();
    assert_eq!(sender.pass(&app, t1).await, 1);
    assert_eq!(app.count("webhook_messages").await, 2);

    app.admin.set_retention(Some(1), None).await.unwrap();
    let day = 24 * 3600;
    let report = crate::retention::purge_at(&app, 2 * day).await;
    assert_eq!(report.call_records, 2);
    // Both calls' messages went with them, c2's pending retry included.
    assert_eq!(app.count("webhook_messages").await, 0);
    assert_eq!(app.count("webhook_deliveries").await, 0);
    assert_eq!(sender.pass(&app, t1 + seconds(7)).await, 0);
    assert_eq!(receiver.received().len(), 2);

    // A contact's event (not a call's) is left to housekeeping; while its
    // delivery is pending it stays however old it is.
    let failing = Receiver::start(&[500]).await;
    create_endpoint(&app, &failing.url, &["contact.created"]).await;
    let (status, _) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/contacts",
        Some(json!({ "name": "Kept", "numbers": ["+4930555777"] })),
    )
    .await;
    assert_eq!(status, 201);
    let t2 = now_micros();
    assert_eq!(sender.pass(&app, t2).await, 1);

    let purge = |later: i64| {
        let db = app.db.clone();
        async move {
            db.run(move |conn| housekeeping::purge(conn, t0 + seconds(later)))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        purge((WEBHOOK_LOG_DAYS + 1) * day).await.webhook_messages,
        0
    );
    assert_eq!(app.count("webhook_messages").await, 1);
    // Delivered on its retry, it goes once it is old enough.
    assert_eq!(sender.pass(&app, t2 + seconds(7)).await, 1);
    assert_eq!(
        purge((WEBHOOK_LOG_DAYS - 1) * day).await.webhook_messages,
        0
    );
    assert_eq!(
        purge((WEBHOOK_LOG_DAYS + 1) * day).await.webhook_messages,
        1
    );
    assert_eq!(app.count("webhook_messages").await, 0);
    assert_eq!(app.count("webhook_deliveries").await, 0);
}

/// `presence.changed`: each change of a user's effective state reaches the
/// endpoint once and in order, whoever observes it: the user's own choice,
/// the worker's sweep (a timed DND that ran out, which nobody's request
/// announces), or twenty nodes announcing one change at once. Nothing is
/// written for an organisation no endpoint of which wants the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_changes_reach_the_endpoint_once_each_in_order() {
    use deskbind_core::usecases::{presence, presence_time};

    use crate::presence::choose;

    let app = spawn_app_with(allowing_loopback).await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    // No endpoint wants it yet: nothing is kept or queued.
    sam_app.set_my_presence(&choose("away")).await.unwrap();
    assert_eq!(app.count("presence_reported").await, 0);
    assert_eq!(app.count("webhook_messages").await, 0);

    let receiver = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&app, &receiver.url, &["presence.changed"]).await;
    // Sam (no app stream, no phone) chooses a DND of half an hour: the first
    // report has no previous state. Choosing it again changes nothing.
    let set_at = now_micros();
    let until = set_at + seconds(30 * 60);
    let mut dnd = choose("dnd");
    dnd.until = Some(deskbind_core::time::to_datetime(until));
    sam_app.set_my_presence(&dnd).await.unwrap();
    sam_app.set_my_presence(&dnd).await.unwrap();
    // Sweeps while it holds report nothing; the first after its end reports
    // that Sam is offline, the next nothing more.
    for at in [until - seconds(90), until + seconds(1), until + seconds(61)] {
        presence_time::sample(&app.services, at)
            .await
            .unwrap()
            .expect("the minute is free");
    }
    // Sam's choice changes behind every node's back (a DND without end);
    // twenty nodes announce the change at once: one report.
    app.execute(format!(
        "UPDATE user_presence SET chosen = 'dnd', until_at = NULL WHERE user_id = '{}'",
        sam.id
    ))
    .await;
    let seen_at = until + seconds(100);
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let announcers: Vec<_> = (0..20)
        .map(|_| {
            let (services, start) = (app.services.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                presence::announce(&services, sam.org_id, sam.id, seen_at).await;
            })
        })
        .collect();
    for task in announcers {
        task.await.unwrap();
    }
    // An observation older than the last report is stale: the DND over
    // (offline again), as seen before the DND was, reports nothing.
    app.execute(format!(
        "UPDATE user_presence SET chosen = 'available' WHERE user_id = '{}'",
        sam.id
    ))
    .await;
    presence::announce(&app.services, sam.org_id, sam.id, seen_at - seconds(5)).await;
    // While the relay's live reads fail, a change seen then is not
    // reported: a Redis outage must not look like everyone going offline.
    app.services.relay.note_live_read_failure();
    presence::announce(&app.services, sam.org_id, sam.id, seen_at + seconds(10)).await;

    let sender = Sender::allowing("127.0.0.0/8");
    while sender.pass(&app, until + seconds(200)).await > 0 {}
    let got = receiver.received();
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let changes: Vec<(&str, &Value, &str)> = bodies
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "presence.changed");
            assert_eq!(b["data"]["user_id"], sam.id.to_string());
            (
                b["data"]["state"].as_str().unwrap(),
                &b["data"]["previous_state"],
                b["data"]["chosen"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("dnd", &Value::Null, "dnd"),
            ("offline", &json!("dnd"), "available"),
            ("dnd", &json!("offline"), "dnd"),
        ]
    );
    assert_eq!(
        bodies[1]["data"]["changed_at"],
        deskbind_core::time::to_datetime(until + seconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
    verify_independently(&[endpoint["secret"].as_str().unwrap()], &got);
}

/// An organisation that stops wanting `presence.changed` and wants it again
/// later starts over: what was reported before is forgotten, so the sweep
/// notes today's states instead of sending every change since then.
#[tokio::test]
async fn wanting_presence_changes_again_starts_over() {
    use deskbind_core::usecases::presence_time;

    use crate::presence::choose;

    let app = spawn_app_with(allowing_loopback).await;
    let (_, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let receiver = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&app, &receiver.url, &["presence.changed"]).await;
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    assert_eq!(app.count("webhook_messages").await, 1);
    let path = format!("/v1/webhook-endpoints/{}", endpoint["id"].as_str().unwrap());
    let patch = |disabled: bool| {
        send(
            &app,
            &app.admin,
            "PATCH",
            &path,
            Some(json!({ "disabled": disabled })),
        )
    };
    assert_eq!(patch(true).await.0, 200);
    // Sam's DND ends while no endpoint listens (no app, no phone: offline).
    sam_app.set_my_presence(&choose("available")).await.unwrap();
    assert_eq!(app.count("presence_reported").await, 1);
    assert_eq!(patch(false).await.0, 200);
    assert_eq!(app.count("presence_reported").await, 0, "forgotten");
    presence_time::sample(&app.services, now_micros() + seconds(60))
        .await
        .unwrap()
        .expect("the minute is free");
    // Sam and the admin, the organisation's enabled users.
    assert_eq!(app.count("presence_reported").await, 2, "noted again");
    assert_eq!(
        app.count("webhook_messages").await,
        1,
        "nothing sent for the past"
    );
    // An edit that keeps it wanted forgets nothing.
    assert_eq!(patch(false).await.0, 200);
    assert_eq!(app.count("presence_reported").await, 2);
}

/// Through real Redis, cut under the node: while the relay cannot read who
/// is connected, a presence change is not reported (the node would see
/// only its own phones and streams), and the relay says its reads failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_reports_no_presence_change() {
    use std::time::Duration;

    use crate::helpers::redis_url;
    use crate::outage::Proxy;
    use crate::presence::choose;

    let redis = redis_url();
    let host_port = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(host_port.clone()).await;
    let proxied = redis.replacen(&host_port, &format!("127.0.0.1:{}", proxy.port), 1);
    let app = spawn_app_with(|s| {
        allowing_loopback(s);
        s.redis_url = Some(proxied.into());
    })
    .await;
    let (_, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let receiver = Receiver::start(&[]).await;
    create_endpoint(&app, &receiver.url, &["presence.changed"]).await;
    // With Redis there, Sam's change is reported.
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    assert_eq!(app.count("webhook_messages").await, 1);
    assert!(
        !app.services
            .relay
            .live_reads_failed_within(Duration::from_secs(90))
    );

    proxy.cut();
    sam_app.set_my_presence(&choose("available")).await.unwrap();
    assert!(
        app.services
            .relay
            .live_reads_failed_within(Duration::from_secs(90))
    );
    assert_eq!(app.count("webhook_messages").await, 1, "nothing reported");
}
