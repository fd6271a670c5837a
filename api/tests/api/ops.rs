use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = spawn_app().await;
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
    let body: Value = ready.json().await.unwrap();
    let expected = deskbind_core::testing::backend().name();
    assert_eq!(body["database"].as_str(), Some(expected));

    app.admin.me().await.unwrap();
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/v1/me",status="200"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("http_request_duration_seconds"),
        "{metrics}"
    );
}
