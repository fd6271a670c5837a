//! Bad input at the HTTP level: each gets a 4xx problem+json with a stable
//! code (and the field where there is one), and nothing is written.

use serde_json::Value;

use crate::helpers::spawn_app;

async fn send(
    app: &crate::helpers::TestApp,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value, String) {
    let token = app.access_token().await;
    let mut request = reqwest::Client::new()
        .post(app.url("/v1/teams"))
        .bearer_auth(token)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, response.json().await.unwrap_or(Value::Null), ct)
}

#[tokio::test]
async fn malformed_unknown_oversize_and_mistyped_bodies_are_4xx_and_write_nothing() {
    let app = spawn_app().await;
    let before = app.count("teams").await;
    let json = Some("application/json");
    // (content type, body, status, code, field)
    type Case<'a> = (Option<&'a str>, Vec<u8>, u16, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (json, b"{\"name\": ".to_vec(), 400, "malformed_json", None),
        (
            json,
            b"{\"name\": \"A\"} trailing".to_vec(),
            400,
            "malformed_json",
            None,
        ),
        (
            json,
            br#"{"name": "A", "colour": "red"}"#.to_vec(),
            422,
            "unknown_field",
            Some("colour"),
        ),
        (json, br#"{}"#.to_vec(), 422, "missing_field", Some("name")),
        (
            json,
            br#"{"name": 42}"#.to_vec(),
            422,
            "invalid_field",
            Some("name"),
        ),
        (
            json,
            br#"{"name": "   "}"#.to_vec(),
            422,
            "blank",
            Some("name"),
        ),
        (
            json,
            format!(r#"{{"name": "{}"}}"#, "x".repeat(101)).into_bytes(),
            422,
            "too_long",
            Some("name"),
        ),
        (
            json,
            format!(r#"{{"name": "{}"}}"#, "x".repeat(70_000)).into_bytes(),
            413,
            "payload_too_large",
            None,
        ),
        (
            Some("text/plain"),
            br#"{"name": "A"}"#.to_vec(),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            None,
            br#"{"name": "A"}"#.to_vec(),
            415,
            "unsupported_media_type",
            None,
        ),
    ];
    for (content_type, body, status, expected, field) in cases {
        let (got, problem, ct) = send(&app, content_type, body).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(expected)),
            "{problem}"
        );
        assert_eq!(problem["field"].as_str(), field, "{problem}");
        assert_eq!(problem["status"].as_u64(), Some(u64::from(status)));
        assert_eq!(ct, "application/problem+json");
    }
    assert_eq!(
        app.count("teams").await,
        before,
        "a rejected request wrote something"
    );
}

#[tokio::test]
async fn unknown_routes_methods_ids_and_query_parameters() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let token = app.access_token().await;
    let get = |path: &str| http.get(app.url(path)).bearer_auth(&token).send();

    let missing = get("/v1/nothing-here").await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "not_found");
    let not_uuid = get("/v1/phones/not-a-uuid").await.unwrap();
    assert_eq!(not_uuid.status().as_u16(), 404);
    let wrong_method = http
        .put(app.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("cursor=zzz", "cursor"),
    ] {
        let response = get(&format!("/v1/users?{query}")).await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{query}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            (problem["code"].as_str(), problem["field"].as_str()),
            (Some("invalid_query"), Some(field))
        );
    }
}
