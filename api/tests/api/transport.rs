//! The HTTP layer itself: response framing for upgrade requests that are
//! not upgraded, bounded metric labels, and where `/metrics` is served.

use reqwest::Method;

use crate::helpers::spawn_app_with;
use crate::raw_http::exchange;

fn browser_style(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nAccept-Encoding: gzip\r\n\r\n"
    )
}

#[tokio::test]
async fn an_upgrade_request_that_is_not_upgraded_gets_a_well_framed_answer() {
    let app = crate::helpers::spawn_app().await;
    let health = exchange(app.port, &browser_style("/healthz")).await;
    assert_eq!(health.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(body["status"], "ok");

    // A browser-style WebSocket client without a credential reads its 401.
    let refused = exchange(
        app.port,
        "GET /v1/phone/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate\r\n\r\n",
    )
    .await;
    assert_eq!(refused.status, 401);
    let problem: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(problem["code"], "missing_credentials");

    // Ordinary requests keep compression and keep-alive framing.
    let plain = exchange(
        app.port,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
    )
    .await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), Some("gzip"));
}

fn healthz_series(exposition: &str) -> Vec<&str> {
    exposition
        .lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains("route=\"/healthz\""))
        .collect()
}

#[tokio::test]
async fn made_up_methods_share_one_metric_series() {
    let app = crate::helpers::spawn_app().await;
    let client = reqwest::Client::new();
    let metrics = || async {
        client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = healthz_series(&metrics().await).len();
    for i in 0..50 {
        let method = Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
        let status = client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 405);
    }
    let after = metrics().await;
    let series = healthz_series(&after);
    assert_eq!(series.len(), before + 1, "{series:#?}");
    assert!(series[0].contains("method=\"OTHER\""), "{series:#?}");
    assert!(!after.contains("method=\"M1\""));
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_main_listener() {
    let app = spawn_app_with(|s| s.metrics_listen = Some("127.0.0.1:0".into())).await;
    let client = reqwest::Client::new();
    let public = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let port = app.metrics_port.expect("a metrics listener");
    let private = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("http_requests_total{method=\"GET\",route=\"/metrics\",status=\"404\"}")
    );
    // Nothing else is served there.
    let other = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
