//! Every JSON request body in openapi.yaml is an object: an array in its
//! place is 422 `invalid_body` and writes nothing. serde's derived structs
//! would otherwise read an array by position (`["x@y.example","Name",
//! "admin","long-password"]` was an admin), and `[]` was a 200 no-op on
//! the PATCH/PUT routes. The routes are walked from openapi.yaml, so a new
//! JSON route is covered without editing this test.

use deskbind_core::wire::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// (method, path) of every operation whose body is `application/json`.
fn json_body_routes() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let spec: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut routes = Vec::new();
    for (path, operations) in spec["paths"].as_mapping().unwrap() {
        for (method, operation) in operations.as_mapping().unwrap() {
            if !operation["requestBody"]["content"]["application/json"].is_null() {
                routes.push((
                    method.as_str().unwrap().to_uppercase(),
                    path.as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    routes
}

/// Rows that any of these routes could write.
async fn row_counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "users",
        "teams",
        "team_members",
        "phones",
        "phone_grants",
        "phone_credentials",
        "binding_policies",
        "bindings",
        "blocklist_entries",
        "dial_policies",
        "app_events",
        "binding_events",
        "jobs",
        "dial_commands",
        "call_records",
        "recording_uploads",
        "push_devices",
        "push_schedules",
        "push_default_schedules",
        "sessions",
    ] {
        counts.push(app.count(table).await);
    }
    counts
}

#[tokio::test]
async fn an_array_in_place_of_an_object_body_is_invalid_body_on_every_route() {
    let app = spawn_app().await;
    let me = app.admin.me().await.unwrap();
    let (_, phone) = app.provisioned_phone("+4930903201").await;
    let phone_token = phone.credential().to_owned();
    let admin_token = app.access_token().await;
    let before = row_counts(&app).await;

    let positional_admin = json!(["x@y.example", "Name", "admin", "long-password"]);
    let http = reqwest::Client::new();
    let mut checked = Vec::new();
    for (method, path) in json_body_routes() {
        let url = app.url(
            &path
                .replace("{id}", &me.id.to_string())
                .replace("{call_id}", "call-1"),
        );
        let token = if path == "/v1/phone/provision" || path.starts_with("/v1/auth/") {
            None
        } else if path.starts_with("/v1/phone/") {
            Some(&phone_token)
        } else {
            Some(&admin_token)
        };
        for body in [json!([]), positional_admin.clone(), json!([[]]), json!("x")] {
            let mut request = http.request(method.parse().unwrap(), &url).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap();
            assert_eq!(
                (status, problem["code"].as_str(), problem["field"].as_str()),
                (422, Some("invalid_body"), Some("body")),
                "{method} {path} with {body}"
            );
        }
        checked.push(format!("{method} {path}"));
    }
    // Login, users, dials, the PATCH/PUT routes and the phone's routes.
    for expected in [
        "POST /v1/auth/login",
        "POST /v1/users",
        "PATCH /v1/users/{id}",
        "POST /v1/dials",
        "PUT /v1/binding-policy",
        "PUT /v1/push/schedule",
        "POST /v1/phone/events",
        "POST /v1/phone/call-records",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not walked: {checked:?}"
        );
    }
    assert!(
        checked.len() >= 20,
        "only {} routes: {checked:?}",
        checked.len()
    );

    assert_eq!(
        row_counts(&app).await,
        before,
        "a refused body wrote something"
    );
    assert!(
        app.client()
            .login("x@y.example", "long-password")
            .await
            .is_err()
    );
    let me_now = app.admin.me().await.unwrap();
    assert_eq!(
        (me_now.role, me_now.display_name),
        (Role::Admin, me.display_name)
    );
}

#[tokio::test]
async fn a_record_given_as_an_array_inside_a_batch_is_refused_at_its_path() {
    let app = spawn_app().await;
    let (phone_row, phone) = app.provisioned_phone("+4930903202").await;
    // Every field in declaration order: serde's derive read this as a record.
    let positional = json!([
        "t1",
        "outbound",
        null,
        "+4930901820",
        "2026-11-30T10:00:00Z"
    ]);
    let admin_token = app.access_token().await;
    let http = reqwest::Client::new();
    let sends = [
        (
            "/v1/phone/call-records",
            phone.credential().to_owned(),
            json!({ "records": [positional.clone()] }),
        ),
        (
            "/v1/call-records",
            admin_token,
            json!({ "phone_id": phone_row.id, "records": [positional] }),
        ),
    ];
    for (path, token, body) in sends {
        let response = http
            .post(app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            (status, problem["code"].as_str(), problem["field"].as_str()),
            (422, Some("invalid_field"), Some("records[0]")),
            "{path}"
        );
    }
    assert_eq!(app.count("call_records").await, 0);
}
