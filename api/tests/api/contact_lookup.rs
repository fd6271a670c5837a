//! Reverse lookup: the contact a number belongs to, its score, and the
//! caller's latest calls with the number, with the call log's visibility.

use deskbind_core::wire::Role;
use serde_json::{Value, json};

use crate::contact_http::{Http, code, created};
use crate::helpers::spawn_app;
use crate::records::{backdate_bindings, call};

fn call_ids(lookup: &Value) -> Vec<String> {
    lookup["recent_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_lookup_answers_the_contact_its_score_and_the_callers_latest_calls() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (_, sam_client, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (_, kim_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let (sam, kim) = (
        Http::of(&app, &sam_client).await,
        Http::of(&app, &kim_client).await,
    );
    backdate_bindings(&app).await;
    // Twelve calls with the number (+4930555000) and one with another.
    let mut calls: Vec<_> = (0..12).map(|i| call(&format!("c{i}"), 60 - i)).collect();
    let mut other = call("other", 1);
    other.remote_number = "+4930555001".into();
    calls.push(other);
    device.upload_call_records(&calls).await.unwrap();
    let contact = created(
        &admin,
        json!({"name": "Caller", "numbers": ["+49 30 555000"]}),
    )
    .await;
    app.execute(format!(
        "UPDATE contacts SET score = 125 WHERE id = '{}'",
        contact["id"].as_str().unwrap()
    ))
    .await;

    let (status, found) = sam
        .get("/v1/contacts/lookup?number=030%20555000&region=DE")
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["number"], "+4930555000");
    assert_eq!(found["contact"]["id"], contact["id"]);
    assert_eq!(found["score"], 125);
    let expected: Vec<String> = (2..12).rev().map(|i| format!("c{i}")).collect();
    assert_eq!(call_ids(&found), expected, "the ten newest, newest first");

    // Kim sees the contact but none of Sam's calls; the admin sees them all.
    let (_, for_kim) = kim.get("/v1/contacts/lookup?number=%2B4930555000").await;
    assert_eq!(for_kim["contact"]["id"], contact["id"]);
    assert_eq!(for_kim["recent_calls"], json!([]));
    let (_, for_admin) = admin.get("/v1/contacts/lookup?number=%2B4930555000").await;
    assert_eq!(call_ids(&for_admin).len(), 10);

    // A number of no contact: calls only. Restricted to their own
    // contacts, Kim no longer sees the contact (nor its score).
    let (_, unknown) = sam.get("/v1/contacts/lookup?number=%2B4930555001").await;
    assert_eq!(
        (unknown["contact"].clone(), unknown["score"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(call_ids(&unknown), ["other"]);
    admin
        .send(
            "PUT",
            "/v1/contact-settings",
            Some(json!({"visibility": "own"})),
        )
        .await;
    let (_, hidden) = kim.get("/v1/contacts/lookup?number=%2B4930555000").await;
    assert_eq!(
        (hidden["contact"].clone(), hidden["score"].clone()),
        (Value::Null, Value::Null)
    );
}

#[tokio::test]
async fn a_lookup_of_something_that_is_no_number_is_refused() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    for query in [
        "",
        "number=hello",
        "number=030555000",
        "number=030555000&region=ZZ",
    ] {
        let (status, problem) = admin.get(&format!("/v1/contacts/lookup?{query}")).await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert!(
            ["invalid_phone_number", "invalid_region"].contains(&code(&problem)),
            "{query}: {problem}"
        );
    }
}
