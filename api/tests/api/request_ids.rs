//! A request's id follows what it queues for the worker: the push job a
//! dial writes keeps the dial request's `x-request-id`, and the worker's
//! send span logs that id (docs/operations.md, "Logs").

use std::io::Write;
use std::sync::{Arc, Mutex};

use deskbind_core::config::Settings;
use deskbind_core::push::PushSender;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::push_jobs;
use deskbind_core::wire::PushPlatform;
use deskbind_worker::push::send_one;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_dial_s_push_job_and_its_send_span_carry_the_dial_request_s_id() {
    let app = spawn_app().await;
    let (_, ann_app, _, _phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    ann_app
        .register_push_device(PushPlatform::Android, "ann-phone")
        .await
        .unwrap();
    let (access, _) = ann_app.tokens().await.unwrap();

    let response = reqwest::Client::new()
        .post(app.url("/v1/dials"))
        .bearer_auth(access)
        .json(&serde_json::json!({ "number": "+4930555123" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.count("jobs").await, 1, "the queued dial is pushed");
    assert_eq!(
        app.scalar(format!(
            "SELECT COUNT(*) AS n FROM jobs WHERE request_id = '{request_id}'"
        ))
        .await,
        1
    );

    let now = now_micros();
    let claimed = push_jobs::claim(&app.db, "test-worker".into(), now, now + seconds(60), 10)
        .await
        .unwrap();
    let sender = PushSender::from_settings(&Settings::default()).unwrap();
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded: the send runs on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    send_one(&app.db, &sender, &claimed[0]).await.unwrap();
    let logs = logs.text();
    assert!(
        logs.contains("push_send{") && logs.contains(&format!("request_id={request_id}")),
        "the send's log line names the request: {logs}"
    );
}

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
