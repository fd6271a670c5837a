//! The recording and duration filters (`has_recording`,
//! `min_duration_secs`, `max_duration_secs`) on the list, the export and
//! the statistics, and their refusals; the number search (its digits, and
//! its refusal below three digits).

use deskbind_core::wire::CallResult;
use deskbind_mobile::CallQuery;

use crate::helpers::spawn_app;
use crate::recordings::{wav, write};
use crate::records::{backdate_bindings, call};

async fn get(app: &crate::helpers::TestApp, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn call_ids(app: &crate::helpers::TestApp, token: &str, query: &str) -> Vec<String> {
    let res = get(app, token, &format!("/v1/calls?{query}")).await;
    assert_eq!(res.status(), 200, "{query}");
    let page: serde_json::Value = res.json().await.unwrap();
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn recording_and_duration_filters_select_the_same_calls_everywhere() {
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let with_duration = |id: &str, minutes_ago: i64, secs: Option<i64>| {
        let mut c = call(id, minutes_ago);
        c.duration_secs = secs;
        if secs.is_none() {
            c.answered_at = None;
            c.ended_at = None;
            c.result = Some(CallResult::NoAnswer);
        }
        c
    };
    phone
        .upload_call_records(&[
            with_duration("short", 10, Some(5)),
            with_duration("medium", 11, Some(60)),
            with_duration("long", 12, Some(600)),
            with_duration("unanswered", 13, None),
        ])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    phone
        .upload_recording("medium", &write(dir.path(), "r.wav", &wav(8_000)))
        .await
        .unwrap();
    let token = app.access_token().await;

    assert_eq!(
        call_ids(&app, &token, "has_recording=true").await,
        ["medium"]
    );
    assert_eq!(
        call_ids(&app, &token, "has_recording=false").await,
        ["long", "short", "unanswered"]
    );
    assert_eq!(
        call_ids(&app, &token, "min_duration_secs=60").await,
        ["long", "medium"]
    );
    assert_eq!(
        call_ids(&app, &token, "max_duration_secs=60").await,
        ["medium", "short"]
    );
    assert_eq!(
        call_ids(
            &app,
            &token,
            "min_duration_secs=6&max_duration_secs=600&has_recording=false"
        )
        .await,
        ["long"]
    );
    // Empty values are no filter, as for the other parameters.
    assert_eq!(
        call_ids(&app, &token, "has_recording=&min_duration_secs=")
            .await
            .len(),
        4
    );

    let csv = get(&app, &token, "/v1/calls/export.csv?min_duration_secs=60").await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 3, "header and two calls: {text}");
    assert!(text.contains(",medium,") && text.contains(",long,"));

    let stats = get(&app, &token, "/v1/stats/calls?has_recording=true").await;
    assert_eq!(stats.status(), 200);
    let stats: serde_json::Value = stats.json().await.unwrap();
    let calls: i64 = stats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["calls"].as_i64().unwrap())
        .sum();
    assert_eq!(calls, 1);

    // The SDK sends the same filters.
    let through_sdk = |has_recording, min, max| CallQuery {
        has_recording,
        min_duration_secs: min,
        max_duration_secs: max,
        ..CallQuery::default()
    };
    for (query, expected) in [
        (through_sdk(Some(true), None, None), vec!["medium"]),
        (through_sdk(Some(false), Some(6), Some(600)), vec!["long"]),
        (through_sdk(None, None, Some(60)), vec!["medium", "short"]),
    ] {
        let mut ids: Vec<String> = app
            .admin
            .list_calls(&query)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.call_id)
            .collect();
        ids.sort();
        assert_eq!(ids, expected, "{query:?}");
    }

    for (query, field) in [
        ("has_recording=yes", "has_recording"),
        ("min_duration_secs=-1", "min_duration_secs"),
        ("max_duration_secs=1.5", "max_duration_secs"),
        ("max_duration_secs=604801", "max_duration_secs"),
        (
            "min_duration_secs=10&max_duration_secs=9",
            "max_duration_secs",
        ),
    ] {
        for path in ["/v1/calls", "/v1/calls/export.csv", "/v1/stats/calls"] {
            let res = get(&app, &token, &format!("{path}?{query}")).await;
            assert_eq!(res.status(), 400, "{path}?{query}");
            let problem: serde_json::Value = res.json().await.unwrap();
            assert_eq!(problem["code"], "invalid_query", "{path}?{query}");
            assert_eq!(problem["field"], field, "{path}?{query}");
        }
    }
}

#[tokio::test]
async fn number_search_takes_the_digits_and_refuses_fewer_than_three() {
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let with_number = |id: &str, minutes_ago: i64, number: &str| {
        let mut c = call(id, minutes_ago);
        c.remote_number = number.into();
        c
    };
    phone
        .upload_call_records(&[
            with_number("e164", 10, "+4930555000"),
            // National, with punctuation: stored with its E.164 form
            // +493077712 (read in the phone's country).
            with_number("national", 11, "(030) 777-12"),
            with_number("anonymous", 12, "anonymous"),
            with_number("extension", 13, "2012"),
        ])
        .await
        .unwrap();
    let token = app.access_token().await;

    for (number, expected) in [
        ("%2B49%2030%20555", vec!["e164"]),
        ("4930", vec!["e164", "national"]),
        ("03077712", vec!["national"]),
        ("%2B49%20%2830%29%20777", vec!["national"]),
        ("77712", vec!["national"]),
        ("201", vec!["extension"]),
        ("555%20000", vec!["e164"]),
        ("999", vec![]),
    ] {
        assert_eq!(
            call_ids(&app, &token, &format!("number={number}")).await,
            expected,
            "number={number}"
        );
    }
    let csv = get(&app, &token, "/v1/calls/export.csv?number=4930").await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.text().await.unwrap().lines().count(), 3);

    for number in ["12", "%2B4%209", "anonymous", "1-2"] {
        for path in ["/v1/calls", "/v1/calls/export.csv", "/v1/stats/calls"] {
            let res = get(&app, &token, &format!("{path}?number={number}")).await;
            assert_eq!(res.status(), 422, "{path}?number={number}");
            let problem: serde_json::Value = res.json().await.unwrap();
            assert_eq!(problem["code"], "number_search_too_short", "{path}");
            assert_eq!(problem["field"], "number", "{path}");
        }
    }
    // Blank is no filter, as before.
    assert_eq!(call_ids(&app, &token, "number=%20").await.len(), 4);
}
