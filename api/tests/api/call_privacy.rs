//! A private call: only its user marks it so, only when the organisation
//! allows it; her manager and the admin still see that it happened (time,
//! duration, result, user) but not the number, dial, recording or
//! annotation, in every read: list (and its number search), detail, sync,
//! export, recording, history, the console's call pages; statistics still
//! count it.

use serde_json::{Value, json};

use crate::call_outcomes::{disposition, office, refusal, send};
use crate::console_live::Console;
use crate::helpers::spawn_app;
use crate::recordings::{wav, write};

const NUMBER: &str = "4930555000";

#[tokio::test]
async fn a_private_call_hides_its_number_and_annotation_from_managers_everywhere() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let path = format!("/v1/calls/{}", o.call);
    let dir = tempfile::tempdir().unwrap();
    o.phone
        .upload_recording("c1", &write(dir.path(), "r.wav", &wav(8_000)))
        .await
        .unwrap();
    let sale = disposition(&app, "sale").await;
    // The number belongs to a contact: its link names the other party too.
    let (status, contact) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/contacts",
        Some(json!({ "name": "Secret Client", "numbers": ["+4930555000"] })),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    let contact_id = contact["id"].as_str().unwrap().to_owned();
    send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "notes": "Secret deal", "tags": ["vip"], "disposition_id": sale })),
    )
    .await;

    // The organisation must allow private calls; only an admin does.
    let private = json!({ "private": true });
    assert_eq!(
        refusal(send(&app, &o.ann, "PATCH", &path, Some(private.clone())).await),
        (403, "private_calls_disabled".into())
    );
    let allow = json!({ "allow_private": true });
    assert_eq!(
        refusal(
            send(
                &app,
                &o.mia,
                "PUT",
                "/v1/call-settings",
                Some(allow.clone())
            )
            .await
        ),
        (403, "forbidden".into())
    );
    let (status, _) = send(&app, &app.admin, "PUT", "/v1/call-settings", Some(allow)).await;
    assert_eq!(status, 200);
    let (_, settings) = send(&app, &o.ann, "GET", "/v1/call-settings", None).await;
    assert_eq!(settings["allow_private"], true);
    // Only the call's user marks it private.
    assert_eq!(
        refusal(send(&app, &o.mia, "PATCH", &path, Some(private.clone())).await),
        (403, "not_your_call".into())
    );
    let (status, mine) = send(&app, &o.ann, "PATCH", &path, Some(private)).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["private"], true);
    // And now only she changes it.
    assert_eq!(
        refusal(send(&app, &o.mia, "PATCH", &path, Some(json!({ "notes": "x" }))).await),
        (403, "not_your_call".into())
    );

    // Ann sees everything.
    let (_, own) = send(&app, &o.ann, "GET", &path, None).await;
    assert_eq!(own["remote_number"], "+4930555000");
    assert_eq!(own["notes"], "Secret deal");
    assert!(own["recording"].is_object());
    assert!(own.get("redacted").is_none());
    assert_eq!(own["contact"]["name"], "Secret Client");
    let (_, found) = send(
        &app,
        &o.ann,
        "GET",
        &format!("/v1/calls?number={NUMBER}"),
        None,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    for (who, reader) in [("manager", &o.mia), ("admin", &app.admin)] {
        let (status, detail) = send(&app, reader, "GET", &path, None).await;
        assert_eq!(status, 200, "{who}");
        assert_hidden(&detail, who);
        let (_, list) = send(&app, reader, "GET", "/v1/calls", None).await;
        assert_hidden(&list["items"][0], who);
        let (_, by_number) = send(
            &app,
            reader,
            "GET",
            &format!("/v1/calls?number={NUMBER}"),
            None,
        )
        .await;
        assert_eq!(
            by_number["items"],
            json!([]),
            "{who}: the number search must not find it"
        );
        let (_, by_disposition) = send(
            &app,
            reader,
            "GET",
            &format!("/v1/calls?disposition_id={sale}"),
            None,
        )
        .await;
        assert_eq!(by_disposition["items"], json!([]), "{who}");
        let (_, by_contact) = send(
            &app,
            reader,
            "GET",
            &format!("/v1/calls?contact_id={contact_id}"),
            None,
        )
        .await;
        assert_eq!(by_contact["items"], json!([]), "{who}: the contact filter");
        let (_, sync) = send(&app, reader, "GET", "/v1/sync/calls", None).await;
        assert_hidden(&sync["items"][0], who);
        let (status, csv) = send(&app, reader, "GET", "/v1/calls/export.csv", None).await;
        assert_eq!(status, 200);
        let csv = csv.as_str().unwrap().to_owned();
        assert_eq!(csv.lines().count(), 2, "{who}: the call is listed: {csv}");
        assert!(!csv.contains(NUMBER), "{who}: {csv}");
        assert!(
            !csv.contains("Secret Client") && !csv.contains(&contact_id),
            "{who}: {csv}"
        );
        assert!(
            csv.lines().nth(1).unwrap().contains(",false,"),
            "{who}: no recording: {csv}"
        );
        assert_eq!(
            refusal(send(&app, reader, "GET", &format!("{path}/recording"), None).await),
            (404, "not_found".into()),
            "{who}"
        );
        assert_eq!(
            refusal(send(&app, reader, "GET", &format!("{path}/history"), None).await),
            (404, "not_found".into()),
            "{who}"
        );
        // Statistics still count it.
        let (_, stats) = send(&app, reader, "GET", "/v1/stats/calls", None).await;
        let calls: i64 = stats["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["calls"].as_i64().unwrap())
            .sum();
        assert_eq!(calls, 1, "{who}");
    }

    // The console's call pages, as the manager.
    let console = Console::sign_in(&app.base, "mia@acme.test").await;
    let (status, log) = console.get("/calls").await;
    assert_eq!(status, 200);
    assert!(log.contains("Private call"), "{log}");
    assert!(!log.contains(NUMBER), "{log}");
    let (status, detail) = console.get(&format!("/calls/{}", o.call)).await;
    assert_eq!(status, 200);
    assert!(
        !detail.contains(NUMBER) && !detail.contains("Secret deal"),
        "{detail}"
    );
    assert!(!detail.contains("<audio"), "{detail}");
    let (status, _) = console.get(&format!("/calls/{}/recording", o.call)).await;
    assert_eq!(status, 404);

    // A push digest counts it without its number.
    o.mia
        .register_push_device(deskbind_core::wire::PushPlatform::Android, "mia-device")
        .await
        .unwrap();
    // The first request starts Mia's digests from now; Ann's change after
    // it is in the next one.
    o.mia.request_push().await.unwrap();
    let tags = json!({ "tags": ["vip", "later"] });
    let (status, _) = send(&app, &o.ann, "PATCH", &path, Some(tags)).await;
    assert_eq!(status, 200);
    let requested = o.mia.request_push().await.unwrap();
    assert_eq!(requested.records, 1);
    let digests = "SELECT COUNT(*) AS n FROM jobs WHERE topic LIKE '%digest%'";
    assert_eq!(app.scalar(digests.into()).await, 2);
    let leaked = format!("SELECT COUNT(*) AS n FROM jobs WHERE payload LIKE '%{NUMBER}%'");
    assert_eq!(app.scalar(leaked).await, 0);
    let named = "SELECT COUNT(*) AS n FROM jobs WHERE payload LIKE '%private%'";
    assert_eq!(app.scalar(named.into()).await, 1);

    // Un-marking it shows it again.
    send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "private": false })),
    )
    .await;
    let (_, detail) = send(&app, &o.mia, "GET", &path, None).await;
    assert_eq!(detail["notes"], "Secret deal");
}

/// What a manager or admin sees of Ann's private call.
fn assert_hidden(call: &Value, who: &str) {
    assert_eq!(call["private"], true, "{who}: {call}");
    assert_eq!(call["redacted"], true, "{who}: {call}");
    assert_eq!(call["remote_number"], "", "{who}: {call}");
    assert_eq!(call["contact"], Value::Null, "{who}: {call}");
    for hidden in [
        "remote_number_e164",
        "recording",
        "dial_id",
        "notes",
        "tags",
        "disposition",
    ] {
        assert!(call.get(hidden).is_none(), "{who} sees {hidden}: {call}");
    }
    // That it happened, and its facts, stay.
    assert_eq!(call["result"], "answered", "{who}");
    assert!(call["duration_secs"].is_number(), "{who}: {call}");
    assert!(call["user_id"].is_string(), "{who}");
    assert!(call["started_at"].is_string(), "{who}");
}

/// The dial that placed a private call names its number too: managers and
/// admins listing dials see it redacted, its user sees it whole.
#[tokio::test]
async fn the_dial_of_a_private_call_hides_its_number_from_managers() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let dial = o.ann.dial("+4930555111", None, None).await.unwrap();
    let mut upload = crate::records::call("c2", 0);
    upload.remote_number = "+4930555111".into();
    upload.dial_id = Some(dial.id);
    let stored = o.phone.upload_call_records(&[upload]).await.unwrap();
    let call = stored.results[0].id.unwrap();
    let (_, record) = send(&app, &o.ann, "GET", &format!("/v1/calls/{call}"), None).await;
    assert_eq!(record["dial_id"], dial.id.to_string(), "{record}");
    let allow = json!({ "allow_private": true });
    send(&app, &app.admin, "PUT", "/v1/call-settings", Some(allow)).await;

    // Before it is private, her manager sees the dial's number.
    let dial_path = format!("/v1/dials/{}", dial.id);
    let (_, seen) = send(&app, &o.mia, "GET", &dial_path, None).await;
    assert_eq!(seen["number"], "+4930555111", "{seen}");
    assert_eq!(seen["redacted"], false);

    let private = json!({ "private": true });
    let (status, _) = send(
        &app,
        &o.ann,
        "PATCH",
        &format!("/v1/calls/{call}"),
        Some(private),
    )
    .await;
    assert_eq!(status, 200);
    for (who, reader) in [("manager", &o.mia), ("admin", &app.admin)] {
        let (status, one) = send(&app, reader, "GET", &dial_path, None).await;
        assert_eq!(status, 200, "{who}");
        assert_eq!(one["number"], "", "{who}: {one}");
        assert_eq!(one["redacted"], true, "{who}");
        assert!(one["contact"].is_null(), "{who}");
        let (_, list) = send(&app, reader, "GET", "/v1/dials", None).await;
        let listed = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == dial.id.to_string())
            .unwrap();
        assert_eq!(listed["number"], "", "{who}: {list}");
    }
    let (_, own) = send(&app, &o.ann, "GET", &dial_path, None).await;
    assert_eq!(own["number"], "+4930555111");
    assert_eq!(own["redacted"], false);
}
