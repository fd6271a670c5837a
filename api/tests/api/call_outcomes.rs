//! What came of a call: the disposition catalogue (defaults, roles,
//! validation, its bound), `PATCH /v1/calls/{id}` (roles, validation,
//! optimistic concurrency), its edit history, annotations surviving a
//! re-ingest, and the callback reminder pushed at its time and not before.

use chrono::{Duration, Utc};
use deskbind_core::time::seconds;
use deskbind_core::usecases::push_jobs;
use deskbind_core::wire::{MAX_DISPOSITIONS, PushPlatform, Role};
use deskbind_mobile::{AppClient, PhoneClient};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::push::{data, deliveries, fcm};
use crate::records::{backdate_bindings, call};

/// One JSON request with a user's token: (status, body).
pub(crate) async fn send(
    app: &TestApp,
    who: &AppClient,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let token = who.tokens().await.unwrap().0;
    send_as(app, &token, method, path, body).await
}

/// One JSON request with any bearer token (an API key, a forged one):
/// (status, body).
pub(crate) async fn send_as(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The problem's code, with the status.
pub(crate) fn refusal((status, body): (u16, Value)) -> (u16, String) {
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

/// Lets users mark their calls private (`allow_private`, an admin's call
/// setting).
pub(crate) async fn allow_private_calls(app: &TestApp) {
    let (status, body) = send(
        app,
        &app.admin,
        "PUT",
        "/v1/call-settings",
        Some(json!({ "allow_private": true })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// The id of the organisation's disposition with `code`.
pub(crate) async fn disposition(app: &TestApp, code: &str) -> String {
    let (_, list) = send(app, &app.admin, "GET", "/v1/dispositions", None).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no disposition {code}: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_new_organisation_has_the_default_catalogue_and_admins_manage_it() {
    let app = spawn_app().await;
    let (_, sal) = app.user("sal@acme.test", Role::Salesperson).await;
    let (status, list) = send(&app, &sal, "GET", "/v1/dispositions", None).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "sale",
            "interested",
            "callback",
            "not_interested",
            "do_not_call",
            "no_answer",
            "wrong_number"
        ]
    );
    let callback = &list["items"][2];
    assert_eq!(
        (
            callback["callback"].as_bool(),
            callback["reached"].as_bool()
        ),
        (Some(true), Some(true))
    );

    let new = json!({ "code": "demo_booked", "label": "Demo booked", "reached": true });
    assert_eq!(
        refusal(send(&app, &sal, "POST", "/v1/dispositions", Some(new.clone())).await),
        (403, "forbidden".into())
    );
    let (status, created) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/dispositions",
        Some(new.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["sort_order"], 80, "after the defaults");
    assert_eq!(
        refusal(send(&app, &app.admin, "POST", "/v1/dispositions", Some(new)).await),
        (409, "disposition_code_taken".into())
    );
    for (body, expected) in [
        (
            json!({ "code": "Demo", "label": "x" }),
            "invalid_characters",
        ),
        (json!({ "code": "", "label": "x" }), "blank"),
        (json!({ "code": "ok", "label": "  " }), "blank"),
        (
            json!({ "code": "ok", "label": "x", "color": "red" }),
            "unknown_field",
        ),
    ] {
        assert_eq!(
            refusal(send(&app, &app.admin, "POST", "/v1/dispositions", Some(body)).await),
            (422, expected.into())
        );
    }

    let path = format!("/v1/dispositions/{}", created["id"].as_str().unwrap());
    let change = json!({ "archived": true, "label": "Demo set", "sale": true });
    assert_eq!(
        refusal(send(&app, &sal, "PATCH", &path, Some(change.clone())).await),
        (403, "forbidden".into())
    );
    let (status, changed) = send(&app, &app.admin, "PATCH", &path, Some(change)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            changed["archived"].as_bool(),
            changed["label"].as_str(),
            changed["sale"].as_bool()
        ),
        (Some(true), Some("Demo set"), Some(true))
    );

    // The catalogue is bounded (archived entries count).
    for i in 8..MAX_DISPOSITIONS {
        let body = json!({ "code": format!("extra_{i}"), "label": "Extra" });
        let (status, _) = send(&app, &app.admin, "POST", "/v1/dispositions", Some(body)).await;
        assert_eq!(status, 201);
    }
    let one_more = json!({ "code": "one_more", "label": "Extra" });
    assert_eq!(
        refusal(send(&app, &app.admin, "POST", "/v1/dispositions", Some(one_more)).await),
        (409, "disposition_limit".into())
    );
}

/// Ann (salesperson) and Mia (her manager) in Berlin, Otto managing
/// another team; Ann has one call, `c1`.
pub(crate) struct Office {
    pub ann: AppClient,
    pub mia: AppClient,
    pub otto: AppClient,
    pub phone: PhoneClient,
    pub call: String,
    /// `c1` as uploaded.
    pub upload: deskbind_core::wire::CallRecordUpload,
}

pub(crate) async fn office(app: &TestApp) -> Office {
    let (ann_user, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(app).await;
    let (mia_user, mia) = app.user("mia@acme.test", Role::Manager).await;
    let (otto_user, otto) = app.user("otto@acme.test", Role::Manager).await;
    let berlin = app.admin.create_team("Berlin").await.unwrap();
    app.admin
        .add_team_member(berlin.id, ann_user.id)
        .await
        .unwrap();
    app.admin
        .add_team_member(berlin.id, mia_user.id)
        .await
        .unwrap();
    let munich = app.admin.create_team("Munich").await.unwrap();
    app.admin
        .add_team_member(munich.id, otto_user.id)
        .await
        .unwrap();
    let upload = call("c1", 10);
    let results = phone
        .upload_call_records(std::slice::from_ref(&upload))
        .await
        .unwrap();
    let call = results.results[0].id.unwrap().to_string();
    Office {
        ann,
        mia,
        otto,
        phone,
        call,
        upload,
    }
}

#[tokio::test]
async fn the_user_and_their_managers_annotate_a_call_and_every_change_is_kept() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let path = format!("/v1/calls/{}", o.call);
    let interested = disposition(&app, "interested").await;

    let (status, after) = send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "notes": " Wants a demo ", "tags": ["demo", "q3", "demo"], "disposition_id": interested })),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["notes"], "Wants a demo");
    assert_eq!(after["tags"], json!(["demo", "q3"]));
    assert_eq!(after["disposition"]["code"], "interested");
    assert_eq!(after["annotation_version"], 1);
    assert_eq!(after["private"], false);

    // Her manager and the admin may change it; another team's manager
    // cannot see the call at all.
    let (status, _) = send(
        &app,
        &o.mia,
        "PATCH",
        &path,
        Some(json!({ "notes": "Call in May" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        refusal(send(&app, &o.otto, "PATCH", &path, Some(json!({ "notes": "x" }))).await),
        (404, "not_found".into())
    );
    assert_eq!(
        refusal(send(&app, &o.otto, "GET", &format!("{path}/history"), None).await),
        (404, "not_found".into())
    );
    let (status, _) = send(
        &app,
        &app.admin,
        "PATCH",
        &path,
        Some(json!({ "tags": [] })),
    )
    .await;
    assert_eq!(status, 200);
    // A change that changes nothing is no edit.
    let (_, same) = send(
        &app,
        &app.admin,
        "PATCH",
        &path,
        Some(json!({ "tags": [] })),
    )
    .await;
    assert_eq!(same["annotation_version"], 3);

    // A stale version is refused; the current one is accepted.
    assert_eq!(
        refusal(
            send(
                &app,
                &o.ann,
                "PATCH",
                &path,
                Some(json!({ "notes": "x", "version": 1 }))
            )
            .await
        ),
        (409, "annotation_changed".into())
    );
    let (status, _) = send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "notes": null, "version": 3 })),
    )
    .await;
    assert_eq!(status, 200);

    let (status, history) = send(&app, &o.mia, "GET", &format!("{path}/history"), None).await;
    assert_eq!(status, 200, "{history}");
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[0]["changes"]["notes"],
        json!({ "before": null, "after": "Wants a demo" })
    );
    assert_eq!(items[0]["changes"]["disposition_id"]["after"], interested);
    assert!(
        items[0]["changes"].get("private").is_none(),
        "only changed fields"
    );
    assert_eq!(
        items[1]["changes"]["notes"],
        json!({ "before": "Wants a demo", "after": "Call in May" })
    );
    assert_eq!(
        items[2]["changes"]["tags"],
        json!({ "before": ["demo", "q3"], "after": [] })
    );
    assert_eq!(items[3]["changes"]["notes"]["after"], Value::Null);
    let editors: Vec<&str> = items
        .iter()
        .map(|i| i["editor_id"].as_str().unwrap())
        .collect();
    let ids = [
        o.ann.me().await.unwrap().id.to_string(),
        o.mia.me().await.unwrap().id.to_string(),
        app.admin.me().await.unwrap().id.to_string(),
        o.ann.me().await.unwrap().id.to_string(),
    ];
    assert_eq!(editors, ids.iter().map(String::as_str).collect::<Vec<_>>());

    // The sync feed carries the change.
    let (_, sync) = send(&app, &o.ann, "GET", "/v1/sync/calls", None).await;
    assert_eq!(sync["items"][0]["disposition"]["code"], "interested");
    assert_eq!(sync["items"][0]["annotation_version"], 4);

    // Re-uploading the record (new facts) keeps the annotation.
    let mut later = o.upload.clone();
    later.local_number = Some("+4930111".into());
    let results = o.phone.upload_call_records(&[later]).await.unwrap();
    assert_eq!(results.results[0].outcome.as_str(), "updated");
    let (_, kept) = send(&app, &o.ann, "GET", &path, None).await;
    assert_eq!(kept["local_number"], "+4930111");
    assert_eq!(kept["disposition"]["code"], "interested");
    assert_eq!(kept["annotation_version"], 4);
    // The disposition filter finds it.
    let (_, found) = send(
        &app,
        &o.mia,
        "GET",
        &format!("/v1/calls?disposition_id={interested}"),
        None,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let sale = disposition(&app, "sale").await;
    let (_, none) = send(
        &app,
        &o.mia,
        "GET",
        &format!("/v1/calls?disposition_id={sale}"),
        None,
    )
    .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn annotation_values_are_checked() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let path = format!("/v1/calls/{}", o.call);
    let callback = disposition(&app, "callback").await;
    let do_not_call = disposition(&app, "do_not_call").await;
    let soon = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let past = (Utc::now() - Duration::minutes(1)).to_rfc3339();
    // An archived disposition cannot be chosen.
    let (_, archived) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/dispositions",
        Some(json!({ "code": "old", "label": "Old" })),
    )
    .await;
    let archived = archived["id"].as_str().unwrap().to_owned();
    send(
        &app,
        &app.admin,
        "PATCH",
        &format!("/v1/dispositions/{archived}"),
        Some(json!({ "archived": true })),
    )
    .await;

    for (body, expected) in [
        (json!({ "notes": "x".repeat(4001) }), (422, "too_long")),
        (json!({ "notes": "bell\u{7}" }), (422, "invalid_characters")),
        (json!({ "tags": vec!["t"; 21] }), (422, "too_many")),
        (json!({ "tags": ["x".repeat(41)] }), (422, "too_long")),
        (
            json!({ "disposition_id": deskbind_core::ids::DispositionId::new().to_string() }),
            (422, "unknown_disposition"),
        ),
        (
            json!({ "disposition_id": archived }),
            (422, "disposition_archived"),
        ),
        (
            json!({ "disposition_id": callback }),
            (422, "callback_required"),
        ),
        (
            json!({ "disposition_id": callback, "callback_at": past }),
            (422, "callback_in_past"),
        ),
        (
            json!({ "disposition_id": do_not_call, "callback_at": soon }),
            (422, "invalid_field"),
        ),
        (json!({ "private": true }), (403, "private_calls_disabled")),
        (json!({ "mood": "happy" }), (422, "unknown_field")),
    ] {
        assert_eq!(
            refusal(send(&app, &o.ann, "PATCH", &path, Some(body.clone())).await),
            (expected.0, expected.1.to_owned()),
            "{body}"
        );
    }
    // Nothing was written by a refusal.
    assert_eq!(app.count("call_annotations").await, 0);
    assert_eq!(app.count("call_annotation_edits").await, 0);
}

#[tokio::test]
async fn a_callback_reminder_is_pushed_at_its_time_and_moves_with_the_callback() {
    let app = spawn_app().await;
    let o = office(&app).await;
    o.ann
        .register_push_device(PushPlatform::Android, "ann-device")
        .await
        .unwrap();
    let path = format!("/v1/calls/{}", o.call);
    let topic = format!("callback:{}", o.call);
    let callback = disposition(&app, "callback").await;
    let first = Utc::now() + Duration::hours(3);
    let (status, _) = send(
        &app,
        &o.mia,
        "PATCH",
        &path,
        Some(json!({ "disposition_id": callback, "callback_at": first.to_rfc3339() })),
    )
    .await;
    assert_eq!(status, 200);
    let pending =
        format!("SELECT COUNT(*) AS n FROM jobs WHERE topic = '{topic}' AND outcome IS NULL");
    assert_eq!(app.scalar(pending.clone()).await, 1);

    // Moved: the first reminder is dropped, one for the new time waits.
    let second = Utc::now() + Duration::hours(5);
    send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "callback_at": second.to_rfc3339() })),
    )
    .await;
    assert_eq!(app.scalar(pending.clone()).await, 1);
    let run_at = app
        .scalar(format!(
            "SELECT run_at AS n FROM jobs WHERE topic = '{topic}' AND outcome IS NULL"
        ))
        .await;
    assert_eq!(run_at, second.timestamp_micros());

    // Not before its time; at its time, to Ann (the call's user).
    let claim = |now: i64| push_jobs::claim(&app.db, "test".into(), now, now + seconds(60), 10);
    assert!(
        claim(second.timestamp_micros() - 1)
            .await
            .unwrap()
            .is_empty()
    );
    let due = claim(second.timestamp_micros()).await.unwrap();
    assert_eq!(due.len(), 1);
    let fcm = fcm().await;
    deskbind_worker::push::send_one(&app.db, &fcm.sender, &due[0])
        .await
        .unwrap();
    let sent = deliveries(&fcm, 1).await;
    assert_eq!(sent[0].device_token, "ann-device");
    let pushed = data(&sent[0]);
    assert_eq!(pushed["type"], "callback");
    assert_eq!(pushed["call_record_id"], o.call);

    // A new callback time queues anew; clearing the disposition cancels it.
    let third = Utc::now() + Duration::hours(6);
    send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "callback_at": third.to_rfc3339() })),
    )
    .await;
    assert_eq!(app.scalar(pending.clone()).await, 1);
    let (status, cleared) = send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "disposition_id": null })),
    )
    .await;
    assert_eq!(status, 200, "{cleared}");
    assert!(cleared.get("callback_at").is_none());
    assert_eq!(app.scalar(pending).await, 0);
}

#[tokio::test]
async fn concurrent_additions_never_pass_the_catalogue_bound() {
    let app = spawn_app().await;
    // Seven defaults; fill to two below the bound, then race ten.
    for i in 7..MAX_DISPOSITIONS - 2 {
        let body = json!({ "code": format!("extra_{i}"), "label": "Extra" });
        send(&app, &app.admin, "POST", "/v1/dispositions", Some(body)).await;
    }
    let racers = (0..10).map(|i| {
        let body = json!({ "code": format!("race_{i}"), "label": "Race" });
        send(&app, &app.admin, "POST", "/v1/dispositions", Some(body))
    });
    let answers = futures_util::future::join_all(racers).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "disposition_limit")
        .count();
    assert_eq!((created, refused), (2, 8), "{answers:?}");
    assert_eq!(app.count("dispositions").await, MAX_DISPOSITIONS as i64);
}

#[tokio::test]
async fn of_concurrent_edits_against_one_version_exactly_one_wins() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let path = format!("/v1/calls/{}", o.call);
    let racers = (0..8).map(|i| {
        let who = if i % 2 == 0 { &o.ann } else { &o.mia };
        let body = json!({ "notes": format!("edit {i}"), "version": 0 });
        send(&app, who, "PATCH", &path, Some(body))
    });
    let answers = futures_util::future::join_all(racers).await;
    let won = answers.iter().filter(|(s, _)| *s == 200).count();
    let lost = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "annotation_changed")
        .count();
    assert_eq!((won, lost), (1, 7), "{answers:?}");
    assert_eq!(app.count("call_annotation_edits").await, 1);
}

#[tokio::test]
async fn the_sdk_annotates_a_call_and_reads_the_catalogue_and_history() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let catalogue = o.ann.list_dispositions().await.unwrap();
    let sale = catalogue.items.iter().find(|d| d.code == "sale").unwrap();
    let id: deskbind_core::ids::CallRecordId = o.call.parse().unwrap();
    let change = deskbind_core::wire::UpdateCall {
        notes: Some(Some("Signed".into())),
        disposition_id: Some(Some(sale.id)),
        version: Some(0),
        ..Default::default()
    };
    let after = o.ann.update_call(id, &change).await.unwrap();
    assert_eq!(after.notes.as_deref(), Some("Signed"));
    assert_eq!(after.disposition.unwrap().code, "sale");
    let history = o.mia.call_history(id).await.unwrap();
    assert_eq!(history.items.len(), 1);
    assert!(!o.ann.call_settings().await.unwrap().allow_private);
    let stale = o.ann.update_call(id, &change).await.unwrap_err();
    assert_eq!(
        crate::helpers::code(&stale),
        (409, "annotation_changed".into())
    );
}

#[tokio::test]
async fn a_do_not_call_disposition_blocks_the_number_for_every_dial() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let number = o.upload.remote_number.clone();
    let do_not_call = disposition(&app, "do_not_call").await;
    let path = format!("/v1/calls/{}", o.call);
    let (status, body) = send(
        &app,
        &o.ann,
        "PATCH",
        &path,
        Some(json!({ "disposition_id": do_not_call })),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The organisation's blocklist has the number, added on Ann's behalf,
    // and the audit log says so.
    let (_, list) = send(&app, &app.admin, "GET", "/v1/blocklist", None).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["value"], number.as_str());
    assert_eq!(items[0]["scope"], "organisation");
    assert_eq!(items[0]["kind"], "block");
    let (_, audit) = send(
        &app,
        &app.admin,
        "GET",
        "/v1/audit-events?action=blocklist.entry_added",
        None,
    )
    .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");

    // A dial to it is refused before anything is stored.
    let dials_before = app.count("dial_commands").await;
    let (status, refused) = send(
        &app,
        &o.ann,
        "POST",
        "/v1/dials",
        Some(json!({ "number": number })),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("number_do_not_call")),
        "{refused}"
    );
    assert_eq!(app.count("dial_commands").await, dials_before);

    // Setting it again (after another disposition) adds nothing twice.
    let interested = disposition(&app, "interested").await;
    for id in [interested, do_not_call] {
        let (status, _) = send(
            &app,
            &o.ann,
            "PATCH",
            &path,
            Some(json!({ "disposition_id": id })),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (_, list) = send(&app, &app.admin, "GET", "/v1/blocklist", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
