//! API keys for integrations (docs/integrations.md): admins create them
//! (secret shown once, stored hashed, at most 50 live ones even under a
//! race), a key reaches only the routes its scopes open, as the whole
//! organisation and as no person, never a phone route or any other route;
//! a revoked key stops at once; uses are noted to the minute; per-key rate
//! limit.

use deskbind_core::time::seconds;
use deskbind_core::wire::{MAX_ACTIVE_API_KEYS, Role};
use serde_json::{Value, json};

use crate::call_outcomes::{allow_private_calls, office, refusal, send, send_as as with_key};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let (status, log) = send(app, &app.admin, "GET", "/v1/audit-events", None).await;
    assert_eq!(status, 200, "{log}");
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .filter(|a| a.starts_with("api_key."))
        .collect()
}

#[tokio::test]
async fn a_calls_read_key_lists_calls_and_nothing_else_until_it_is_revoked() {
    let app = spawn_app().await;
    let o = office(&app).await;

    // Created by an admin; the secret comes once, with no-store.
    let response = reqwest::Client::new()
        .post(app.url("/v1/api-keys"))
        .bearer_auth(app.access_token().await)
        .json(&json!({ "name": " HubSpot ", "scopes": ["calls:read", "calls:read"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dbk_") && secret.len() == 47, "{secret}");
    assert_eq!(created["name"], "HubSpot");
    assert_eq!(created["scopes"], json!(["calls:read"]));
    assert_eq!(created["prefix"], secret[..12]);
    assert_eq!(created["last_used_at"], Value::Null);
    let key_id = created["id"].as_str().unwrap().to_owned();
    // Only the hash is stored, and the list never shows the secret.
    assert_eq!(
        app.scalar(format!(
            "SELECT COUNT(*) AS n FROM api_keys WHERE secret_hash = '{secret}' OR prefix = '{secret}'"
        ))
        .await,
        0
    );
    let (_, list) = send(&app, &app.admin, "GET", "/v1/api-keys", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));

    // The key reads the organisation's calls.
    let (status, calls) = with_key(&app, &secret, "GET", "/v1/calls", None).await;
    assert_eq!(status, 200, "{calls}");
    assert_eq!(calls["items"][0]["id"], o.call.as_str());
    let (status, _) = with_key(&app, &secret, "GET", &format!("/v1/calls/{}", o.call), None).await;
    assert_eq!(status, 200);
    let (status, synced) = with_key(&app, &secret, "GET", "/v1/sync/calls", None).await;
    assert_eq!(
        (status, synced["items"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    // Routes of other scopes: refused, nothing written.
    let contact = json!({ "name": "Lead", "numbers": ["+4930555123"] });
    assert_eq!(
        refusal(with_key(&app, &secret, "POST", "/v1/contacts", Some(contact)).await),
        (403, "insufficient_scope".into())
    );
    assert_eq!(app.count("contacts").await, 0);
    assert_eq!(
        refusal(with_key(&app, &secret, "GET", "/v1/contacts", None).await),
        (403, "insufficient_scope".into())
    );
    assert_eq!(
        refusal(
            with_key(
                &app,
                &secret,
                "GET",
                &format!("/v1/calls/{}/recording", o.call),
                None
            )
            .await
        ),
        (403, "insufficient_scope".into())
    );
    // Routes that take no key at all, including the key routes and writes
    // on the calls it may read.
    for (method, path, body) in [
        ("GET", "/v1/me", None),
        ("GET", "/v1/users", None),
        (
            "POST",
            "/v1/dials",
            Some(json!({ "number": "+4930555123" })),
        ),
        (
            "PATCH",
            &*format!("/v1/calls/{}", o.call),
            Some(json!({ "notes": "x" })),
        ),
        ("GET", "/v1/api-keys", None),
        (
            "POST",
            "/v1/api-keys",
            Some(json!({ "name": "more", "scopes": ["calls:read"] })),
        ),
        ("DELETE", &*format!("/v1/api-keys/{key_id}"), None),
        ("GET", "/v1/calls/export.csv", None),
    ] {
        assert_eq!(
            refusal(with_key(&app, &secret, method, path, body).await),
            (403, "api_key_not_allowed".into()),
            "{method} {path}"
        );
    }
    assert_eq!(app.count("dial_commands").await, 0);
    // A phone route does not take it as a phone credential either.
    let (status, _) = with_key(&app, &secret, "GET", "/v1/phone/me", None).await;
    assert_eq!(status, 401);

    // Its use is noted.
    let (_, list) = send(&app, &app.admin, "GET", "/v1/api-keys", None).await;
    assert!(list["items"][0]["last_used_at"].is_string(), "{list}");

    // Another organisation's key does not see Acme's call.
    let other = app.other_org_admin().await;
    let foreign = other
        .create_api_key("Other CRM", &["calls:read"])
        .await
        .unwrap();
    let (status, _) = with_key(
        &app,
        &foreign.secret,
        "GET",
        &format!("/v1/calls/{}", o.call),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, theirs) = with_key(&app, &foreign.secret, "GET", "/v1/calls", None).await;
    assert_eq!(theirs["items"], json!([]));

    // Revoked: refused at once, as an unknown key is.
    let path = format!("/v1/api-keys/{key_id}");
    let (status, revoked) = send(&app, &app.admin, "DELETE", &path, None).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(
        refusal(with_key(&app, &secret, "GET", "/v1/calls", None).await),
        (401, "invalid_token".into())
    );
    assert_eq!(
        refusal(with_key(&app, "dbk_forged", "GET", "/v1/calls", None).await),
        (401, "invalid_token".into())
    );
    // Revoking again changes nothing and is audited once.
    let (status, again) = send(&app, &app.admin, "DELETE", &path, None).await;
    assert_eq!(
        (status, &again["revoked_at"]),
        (200, &revoked["revoked_at"])
    );
    assert_eq!(
        audit_actions(&app).await,
        ["api_key.created", "api_key.revoked"]
    );
    // Other people: a manager manages no keys; the salesperson neither.
    assert_eq!(
        refusal(send(&app, &o.mia, "GET", "/v1/api-keys", None).await),
        (403, "forbidden".into())
    );
    assert_eq!(
        refusal(send(&app, &o.ann, "DELETE", &path, None).await),
        (403, "forbidden".into())
    );
}

#[tokio::test]
async fn a_contacts_key_writes_contacts_as_the_organisation_and_never_sees_a_private_call() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let key = app
        .admin
        .create_api_key("CRM", &["contacts:write", "contacts:read", "calls:read"])
        .await
        .unwrap()
        .secret;
    // Contacts visible to their owners only: the key still sees them all,
    // as an admin does.
    let (status, _) = send(
        &app,
        &app.admin,
        "PUT",
        "/v1/contact-settings",
        Some(json!({ "visibility": "own" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, anns) = send(
        &app,
        &o.ann,
        "POST",
        "/v1/contacts",
        Some(json!({ "name": "Ann's client", "numbers": ["+4930555000"] })),
    )
    .await;
    assert_eq!(status, 201, "{anns}");

    let (status, created) = with_key(
        &app,
        &key,
        "POST",
        "/v1/contacts",
        Some(json!({ "name": "From the CRM", "numbers": ["+4930555777"], "external_id": "hs-1" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["owner_id"], Value::Null);
    let path = format!("/v1/contacts/{}", created["id"].as_str().unwrap());
    let (status, changed) = with_key(
        &app,
        &key,
        "PATCH",
        &path,
        Some(json!({ "company": "Acme" })),
    )
    .await;
    assert_eq!((status, &changed["company"]), (200, &json!("Acme")));
    let (status, all) = with_key(&app, &key, "GET", "/v1/contacts", None).await;
    assert_eq!(
        (status, all["items"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    let (status, found) = with_key(
        &app,
        &key,
        "GET",
        "/v1/contacts/lookup?number=%2B4930555000",
        None,
    )
    .await;
    assert_eq!(
        (status, &found["contact"]["name"]),
        (200, &json!("Ann's client"))
    );
    // Bad input is refused as for a person.
    assert_eq!(
        refusal(
            with_key(
                &app,
                &key,
                "POST",
                "/v1/contacts",
                Some(json!({ "name": "" }))
            )
            .await
        )
        .0,
        422
    );

    // Ann marks her call private: the key, being nobody, sees it redacted.
    allow_private_calls(&app).await;
    let call_path = format!("/v1/calls/{}", o.call);
    let (status, _) = send(
        &app,
        &o.ann,
        "PATCH",
        &call_path,
        Some(json!({ "private": true })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, seen) = with_key(&app, &key, "GET", &call_path, None).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["redacted"], true);
    assert!(!seen.to_string().contains("4930555000"), "{seen}");
    // A number search never finds it.
    let (_, searched) = with_key(&app, &key, "GET", "/v1/calls?number=555000", None).await;
    assert_eq!(searched["items"], json!([]));

    let (status, _) = with_key(&app, &key, "DELETE", &path, None).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn creating_a_key_checks_the_caller_and_every_field_and_writes_nothing_when_refused() {
    let app = spawn_app().await;
    let (_, manager) = app.user("mia@acme.test", Role::Manager).await;
    let good = json!({ "name": "CRM", "scopes": ["calls:read"] });
    assert_eq!(
        refusal(send(&app, &manager, "POST", "/v1/api-keys", Some(good)).await),
        (403, "forbidden".into())
    );
    for (body, expected) in [
        (
            json!({ "name": "CRM", "scopes": ["calls:write"] }),
            "unknown_scope",
        ),
        (json!({ "name": "CRM", "scopes": [] }), "invalid_field"),
        (json!({ "name": "  ", "scopes": ["calls:read"] }), "blank"),
        (
            json!({ "name": "x".repeat(101), "scopes": ["calls:read"] }),
            "too_long",
        ),
        (json!({ "name": "CRM" }), "missing_field"),
        (
            json!({ "name": "CRM", "scopes": ["calls:read"], "owner": "me" }),
            "unknown_field",
        ),
        (
            json!({ "name": "CRM", "scopes": "calls:read" }),
            "invalid_field",
        ),
    ] {
        let (status, problem) =
            send(&app, &app.admin, "POST", "/v1/api-keys", Some(body.clone())).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some(expected)),
            "{body}: {problem}"
        );
    }
    let (status, _) = send(&app, &app.admin, "DELETE", "/v1/api-keys/not-a-uuid", None).await;
    assert_eq!(status, 404);
    let unknown = format!("/v1/api-keys/{}", deskbind_core::ids::ApiKeyId::new());
    assert_eq!(
        send(&app, &app.admin, "DELETE", &unknown, None).await.0,
        404
    );
    assert_eq!(app.count("api_keys").await, 0);
    assert_eq!(audit_actions(&app).await, Vec::<String>::new());
}

#[tokio::test]
async fn concurrent_creations_never_pass_the_limit_of_live_keys() {
    let app = spawn_app().await;
    let spare = 3;
    for i in 0..MAX_ACTIVE_API_KEYS - spare {
        app.admin
            .create_api_key(&format!("key {i}"), &["calls:read"])
            .await
            .unwrap();
    }
    let token = app.access_token().await;
    let attempts = (0..spare * 3).map(|i| {
        let (url, token) = (app.url("/v1/api-keys"), token.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "name": format!("race {i}"), "scopes": ["calls:read"] }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(attempts).await;
    statuses.sort_unstable();
    let mut expected = vec![201; spare];
    expected.extend(vec![409; spare * 2]);
    assert_eq!(statuses, expected);
    assert_eq!(app.count("api_keys").await, MAX_ACTIVE_API_KEYS as i64);
    // A revoked key frees its place.
    let first = app
        .admin
        .list_api_keys(&Default::default())
        .await
        .unwrap()
        .items[0]
        .id;
    app.admin.revoke_api_key(first).await.unwrap();
    app.admin
        .create_api_key("after", &["calls:read"])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_key_is_rate_limited_and_its_use_is_written_at_most_once_a_minute() {
    let app = spawn_app_with(|s| s.api_key_rate_per_minute = 3).await;
    let key = app
        .admin
        .create_api_key("CRM", &["calls:read"])
        .await
        .unwrap()
        .secret;
    let start = deskbind_core::time::now_micros();
    app.clock.set(start);
    for _ in 0..3 {
        assert_eq!(with_key(&app, &key, "GET", "/v1/calls", None).await.0, 200);
    }
    assert_eq!(
        app.scalar("SELECT COALESCE(MAX(last_used_at), 0) AS n FROM api_keys".into())
            .await,
        start
    );
    let response = reqwest::Client::new()
        .get(app.url("/v1/calls"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    // The limit is per key: another key of the organisation still works,
    // and its use is written when a minute has passed since the last.
    let other = app
        .admin
        .create_api_key("Other", &["calls:read"])
        .await
        .unwrap()
        .secret;
    for (at, noted) in [(100, 100), (159, 100), (161, 161)] {
        app.clock.set(start + seconds(at));
        assert_eq!(
            with_key(&app, &other, "GET", "/v1/calls", None).await.0,
            200
        );
        let used = app
            .scalar("SELECT last_used_at AS n FROM api_keys WHERE name = 'Other'".into())
            .await;
        assert_eq!(used, start + seconds(noted), "at {at} s");
    }
}
