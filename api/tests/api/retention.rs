//! Retention and legal holds (docs/retention.md): admins choose days within
//! bounds over the operator's defaults; holds are checked, one per subject,
//! and released; the purge, driven with a moved clock, deletes records and
//! recordings past their days (objects first) but nothing a hold keeps,
//! audits what it purged, and finishes a recording a crashed run marked.

use deskbind_core::repo::retention_purge;
use deskbind_core::storage::Storage;
use deskbind_core::time::{Micros, now_micros, seconds};
use deskbind_core::usecases::retention_purge::{RetentionReport, run};
use deskbind_core::wire::{CallRecordUpload, CreateContact, RetentionDays, Role};
use deskbind_mobile::{AppClient, CallQuery, PageQuery};
use serde_json::{Value, json};

use crate::call_outcomes::{refusal, send};
use crate::helpers::{TestApp, code, spawn_app, spawn_app_with};
use crate::recordings::{stored_files, wav, write};
use crate::records::{backdate_bindings, call};

const DAY: i64 = 24 * 3600;

pub(crate) async fn audit_entries(app: &TestApp, prefix: &str) -> Vec<Value> {
    let (status, log) = send(app, &app.admin, "GET", "/v1/audit-events?limit=200", None).await;
    assert_eq!(status, 200, "{log}");
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with(prefix))
        .cloned()
        .collect()
}

const NO_DEFAULTS: RetentionDays = RetentionDays::UNCHOSEN;

/// One purge, as the worker runs it, `later_secs` seconds from now.
pub(crate) async fn purge_at(app: &TestApp, later_secs: i64) -> RetentionReport {
    let storage = Storage::from_settings(&app.settings).await.unwrap();
    run(
        &app.db,
        &storage,
        app.settings.purge_options(),
        now_micros() + seconds(later_secs),
    )
    .await
    .unwrap()
}

/// One purge `days_later` days from now.
async fn purge_after(app: &TestApp, days_later: i64) -> RetentionReport {
    purge_at(app, days_later * DAY).await
}

/// The call ids `client` lists, sorted.
pub(crate) async fn call_ids(client: &AppClient) -> Vec<String> {
    let mut ids: Vec<String> = client
        .list_calls(&CallQuery::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.call_id.clone())
        .collect();
    ids.sort();
    ids
}

fn dialled(call_id: &str, number: &str) -> CallRecordUpload {
    let mut upload = call(call_id, 10);
    upload.remote_number = number.into();
    upload
}

#[tokio::test]
async fn admins_choose_days_within_bounds_over_the_defaults_and_changes_are_audited() {
    let app = spawn_app_with(|s| s.retention_recording_days = 90).await;
    let shown = app.admin.retention().await.unwrap();
    assert_eq!(shown.chosen, NO_DEFAULTS);
    assert_eq!(shown.defaults.recording_days, Some(90));
    assert_eq!(shown.defaults.call_record_days, None);
    assert_eq!(shown.effective.recording_days, Some(90));
    assert!(shown.updated_at.is_none());

    let set = app.admin.set_retention(Some(365), None).await.unwrap();
    assert_eq!(set.chosen.call_record_days, Some(365));
    assert_eq!(set.effective.call_record_days, Some(365));
    assert_eq!(set.effective.recording_days, Some(90));
    assert!(set.updated_by.is_some());
    // The same again changes nothing and is not audited twice.
    app.admin.set_retention(Some(365), None).await.unwrap();
    let set = app.admin.set_retention(Some(365), Some(30)).await.unwrap();
    assert_eq!(set.effective.recording_days, Some(30));
    let changes = audit_entries(&app, "retention.changed").await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[1]["details"]["recording_days"], 30);
    assert!(changes[0]["details"].get("recording_days").is_none());

    for bad in [0, -1, 36_501] {
        let err = app.admin.set_retention(Some(bad), None).await.unwrap_err();
        assert_eq!(code(&err), (422, "invalid_field".into()), "{bad}");
    }
    // Export days: 1 to 90; a body without them keeps them, null follows
    // the operator's default (7).
    let put = |body: Value| send(&app, &app.admin, "PUT", "/v1/retention", Some(body));
    for bad in [json!(0), json!(91), json!("3")] {
        let body = json!({ "call_record_days": 5, "recording_days": 1, "export_days": bad });
        assert_eq!(refusal(put(body).await).0, 422, "{bad}");
    }
    let (status, set) =
        put(json!({ "call_record_days": 5, "recording_days": 1, "export_days": 3 })).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        (
            &set["chosen"]["export_days"],
            &set["defaults"]["export_days"],
            &set["effective"]["export_days"]
        ),
        (&json!(3), &json!(7), &json!(3))
    );
    let set = app.admin.set_retention(Some(6), None).await.unwrap();
    assert_eq!(set.effective.export_days, Some(3), "kept when absent");
    let (_, set) =
        put(json!({ "call_record_days": 6, "recording_days": null, "export_days": null })).await;
    assert_eq!(
        (
            &set["chosen"]["export_days"],
            &set["effective"]["export_days"]
        ),
        (&Value::Null, &json!(7))
    );
    assert_eq!(
        refusal(put(json!({ "call_record_days": 5, "recording_days": 1, "export_dayz": 3 })).await),
        (422, "unknown_field".into())
    );
    app.admin.set_retention(Some(365), Some(30)).await.unwrap();
    assert_eq!(
        refusal(
            send(
                &app,
                &app.admin,
                "PUT",
                "/v1/retention",
                Some(json!({ "call_record_days": "ten" })),
            )
            .await
        )
        .0,
        422
    );
    // A forgotten field is refused rather than reset to the default.
    assert_eq!(
        refusal(
            send(
                &app,
                &app.admin,
                "PUT",
                "/v1/retention",
                Some(json!({ "call_record_days": 5 })),
            )
            .await
        ),
        (422, "missing_field".into())
    );
    // Nothing refused was written.
    assert_eq!(
        app.admin.retention().await.unwrap().chosen.call_record_days,
        Some(365)
    );
    let (_, manager) = app.user("mia@acme.test", Role::Manager).await;
    assert_eq!(code(&manager.retention().await.unwrap_err()).0, 403);
    assert_eq!(
        code(&manager.set_retention(Some(1), None).await.unwrap_err()).0,
        403
    );
}

#[tokio::test]
async fn legal_holds_name_a_subject_of_the_organisation_once_and_are_released() {
    let app = spawn_app().await;
    let (ann_user, _ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let uploaded = phone.upload_call_records(&[call("c1", 5)]).await.unwrap();
    let call_id = uploaded.results[0].id.unwrap().to_string();
    let contact = app
        .admin
        .create_contact(&CreateContact {
            name: Some("Acme buyer".into()),
            numbers: vec!["+4930555999".into()],
            ..CreateContact::default()
        })
        .await
        .unwrap();

    let user_hold = app
        .admin
        .place_legal_hold("user", &ann_user.id.to_string(), " Litigation 2026-14 ")
        .await
        .unwrap();
    assert_eq!(user_hold.reason, "Litigation 2026-14");
    app.admin
        .place_legal_hold("contact", &contact.id.to_string(), "dispute")
        .await
        .unwrap();
    let call_hold = app
        .admin
        .place_legal_hold("call", &call_id, "complaint")
        .await
        .unwrap();

    let refused = [
        (
            "user",
            ann_user.id.to_string(),
            "again",
            409,
            "legal_hold_exists",
        ),
        (
            "call",
            uuid::Uuid::now_v7().to_string(),
            "x",
            422,
            "unknown_hold_subject",
        ),
        ("call", "not-an-id".into(), "x", 422, "unknown_hold_subject"),
        // A user's id is not a contact's.
        (
            "contact",
            ann_user.id.to_string(),
            "x",
            422,
            "unknown_hold_subject",
        ),
        ("team", ann_user.id.to_string(), "x", 422, "invalid_field"),
        ("call", call_id.clone(), "   ", 422, "blank"),
    ];
    for (kind, id, reason, status, expected) in refused {
        let err = app
            .admin
            .place_legal_hold(kind, &id, reason)
            .await
            .unwrap_err();
        assert_eq!(code(&err), (status, expected.into()), "{kind} {id}");
    }

    // Another organisation sees none of it.
    let foreign = app.other_org_admin().await;
    let err = foreign
        .place_legal_hold("user", &ann_user.id.to_string(), "x")
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "unknown_hold_subject".into()));
    assert_eq!(
        code(&foreign.release_legal_hold(call_hold.id).await.unwrap_err()).0,
        404
    );
    assert!(
        foreign
            .list_legal_holds(true, &PageQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let (_, manager) = app.user("mia@acme.test", Role::Manager).await;
    assert_eq!(
        code(
            &manager
                .list_legal_holds(false, &PageQuery::default())
                .await
                .unwrap_err()
        )
        .0,
        403
    );

    // A held contact is neither deleted nor merged away.
    let other = app
        .admin
        .create_contact(&CreateContact {
            name: Some("Other".into()),
            ..CreateContact::default()
        })
        .await
        .unwrap();
    let held_path = format!("/v1/contacts/{}", contact.id);
    assert_eq!(
        refusal(send(&app, &app.admin, "DELETE", &held_path, None).await),
        (409, "contact_held".into())
    );
    assert_eq!(
        refusal(
            send(
                &app,
                &app.admin,
                "POST",
                &format!("/v1/contacts/{}/merge", other.id),
                Some(json!({ "from": contact.id })),
            )
            .await
        ),
        (409, "contact_held".into())
    );
    // Nor does it lose a number (its calls would leave the hold); it may
    // gain one.
    assert_eq!(
        refusal(
            send(
                &app,
                &app.admin,
                "PATCH",
                &held_path,
                Some(json!({ "numbers": ["+4930555888"] })),
            )
            .await
        ),
        (409, "contact_held".into())
    );
    let (status, grown) = send(
        &app,
        &app.admin,
        "PATCH",
        &held_path,
        Some(json!({ "numbers": ["+4930555999", "+4930555888"] })),
    )
    .await;
    assert_eq!(status, 200, "{grown}");
    assert_eq!(
        app.admin
            .get_contact(contact.id)
            .await
            .unwrap()
            .numbers
            .len(),
        2
    );

    let released = app.admin.release_legal_hold(call_hold.id).await.unwrap();
    assert!(released.released_at.is_some());
    // Releasing twice is not an error and changes nothing.
    let again = app.admin.release_legal_hold(call_hold.id).await.unwrap();
    assert_eq!(again.released_at, released.released_at);
    let active = app
        .admin
        .list_legal_holds(false, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(active.items.len(), 2);
    let first = app
        .admin
        .list_legal_holds(
            true,
            &PageQuery {
                cursor: None,
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = app
        .admin
        .list_legal_holds(
            true,
            &PageQuery {
                cursor: first.next_cursor.clone(),
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    // The call can be held again once released.
    app.admin
        .place_legal_hold("call", &call_id, "complaint reopened")
        .await
        .unwrap();
    let actions: Vec<String> = audit_entries(&app, "legal_hold.")
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "legal_hold.placed",
            "legal_hold.placed",
            "legal_hold.placed",
            "legal_hold.released",
            "legal_hold.placed"
        ]
    );
}

#[tokio::test]
async fn the_purge_deletes_what_passed_its_days_and_keeps_what_a_hold_keeps() {
    let app = spawn_app().await;
    let (ann_user, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let contact = app
        .admin
        .create_contact(&CreateContact {
            name: Some("Held buyer".into()),
            numbers: vec!["+4930555333".into()],
            ..CreateContact::default()
        })
        .await
        .unwrap();
    let uploaded = phone
        .upload_call_records(&[
            dialled("c1", "+4930555111"),
            dialled("c2", "+4930555222"),
            dialled("c3", "+4930555333"),
            dialled("c4", "+4930555444"),
        ])
        .await
        .unwrap();
    let id_of = |i: usize| uploaded.results[i].id.unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "r.wav", &wav(8_000));
    for c in ["c1", "c2"] {
        phone.upload_recording(c, &file).await.unwrap();
    }
    let (status, _) = send(
        &app,
        &ann,
        "PATCH",
        &format!("/v1/calls/{}", id_of(0)),
        Some(json!({ "notes": "call back in May" })),
    )
    .await;
    assert_eq!(status, 200);
    app.admin
        .place_legal_hold("call", &id_of(1), "complaint")
        .await
        .unwrap();
    let contact_hold = app
        .admin
        .place_legal_hold("contact", &contact.id.to_string(), "dispute")
        .await
        .unwrap();
    app.admin.set_retention(Some(30), Some(10)).await.unwrap();
    assert_eq!(stored_files(&app), 2);

    // Nothing is due yet.
    assert!(purge_after(&app, 9).await.is_empty());
    // Past ten days: c1's recording goes; c2's call is held, so its stays.
    let report = purge_after(&app, 11).await;
    assert_eq!((report.call_records, report.recordings), (0, 1));
    assert_eq!(stored_files(&app), 1);
    assert_eq!(app.count("recordings").await, 1);
    let c1 = ann.get_call(id_of(0).parse().unwrap()).await.unwrap();
    assert!(c1.recording.is_none());
    let c2 = ann.get_call(id_of(1).parse().unwrap()).await.unwrap();
    assert!(c2.recording.is_some());
    // Past thirty days: c1 and c4 go with c1's note; c2 and c3 are held.
    let report = purge_after(&app, 31).await;
    assert_eq!((report.call_records, report.recordings), (2, 0));
    assert_eq!(call_ids(&ann).await, ["c2", "c3"]);
    assert_eq!(app.count("call_annotations").await, 0);
    assert_eq!(stored_files(&app), 1);
    let purged = audit_entries(&app, "retention.purged").await;
    assert_eq!(purged.len(), 2, "{purged:?}");
    assert_eq!(purged[0]["details"]["recordings"], 1);
    assert_eq!(purged[1]["details"]["call_records"], 2);
    assert_eq!(purged[1]["actor"]["kind"], "system");

    // A hold on the user keeps both once the others are released.
    app.admin
        .place_legal_hold("user", &ann_user.id.to_string(), "audit")
        .await
        .unwrap();
    app.admin.release_legal_hold(contact_hold.id).await.unwrap();
    assert!(purge_after(&app, 31).await.is_empty());
    let holds = app
        .admin
        .list_legal_holds(false, &PageQuery::default())
        .await
        .unwrap();
    for hold in holds.items {
        app.admin.release_legal_hold(hold.id).await.unwrap();
    }
    let report = purge_after(&app, 31).await;
    assert_eq!((report.call_records, report.recordings), (2, 1));
    assert!(call_ids(&ann).await.is_empty());
    assert_eq!(stored_files(&app), 0);
    assert_eq!(app.count("recordings").await, 0);
    assert!(report.longest_batch.as_secs() < 5);
}

#[tokio::test]
async fn the_operator_default_applies_where_an_organisation_chose_none() {
    let app = spawn_app_with(|s| s.retention_call_record_days = 7).await;
    let (_, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    phone.upload_call_records(&[call("c1", 5)]).await.unwrap();
    assert!(purge_after(&app, 6).await.is_empty());
    // The organisation's own days win over the default.
    app.admin.set_retention(Some(60), None).await.unwrap();
    assert!(purge_after(&app, 8).await.is_empty());
    app.admin.set_retention(None, None).await.unwrap();
    assert_eq!(purge_after(&app, 8).await.call_records, 1);
    assert!(call_ids(&ann).await.is_empty());
}

/// The moment after the mark: the object may or may not be gone. Either
/// way no reader is offered the recording, and the next run finishes it.
#[tokio::test]
async fn recordings_a_crashed_run_marked_are_finished_by_the_next() {
    let app = spawn_app().await;
    let (_, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let uploaded = phone
        .upload_call_records(&[call("c1", 5), call("c2", 5)])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "r.wav", &wav(8_000));
    let mut recordings = Vec::new();
    for c in ["c1", "c2"] {
        recordings.push(phone.upload_recording(c, &file).await.unwrap());
    }
    let ids: Vec<String> = recordings.iter().map(|r| r.id.to_string()).collect();
    let marked_at: Micros = now_micros();
    app.db
        .write(move |conn| retention_purge::mark_purging(conn, &ids, marked_at))
        .await
        .unwrap();
    // c2's object was deleted before the crash; c1's was not.
    let storage = Storage::from_settings(&app.settings).await.unwrap();
    let key: String = {
        let id = recordings[1].id.to_string();
        app.db
            .run(move |conn| {
                use deskbind_core::db::schema::recordings;
                use diesel::prelude::*;
                recordings::table
                    .find(id)
                    .select(recordings::storage_key)
                    .first::<String>(conn)
                    .map_err(deskbind_core::db::DbError::from)
            })
            .await
            .unwrap()
    };
    storage.delete(&key).await.unwrap();
    assert_eq!(stored_files(&app), 1);
    // Marked recordings are gone for readers already.
    let c1_id = uploaded.results[0].id.unwrap();
    assert!(ann.get_call(c1_id).await.unwrap().recording.is_none());
    let saved = dir.path().join("out.wav");
    assert_eq!(
        code(&ann.download_recording(c1_id, &saved).await.unwrap_err()).0,
        404
    );

    // No retention is set: the run only finishes what was marked.
    let report = purge_after(&app, 0).await;
    assert_eq!((report.call_records, report.recordings), (0, 2));
    assert_eq!(stored_files(&app), 0);
    assert_eq!(app.count("recordings").await, 0);
    assert_eq!(app.count("call_records").await, 2);
}

/// One active hold per subject, however many requests ask at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_holds_on_one_subject_leave_exactly_one() {
    let app = spawn_app().await;
    let (ann, _) = app.user("ann@acme.test", Role::Salesperson).await;
    let token = app.access_token().await;
    let attempts = (0..12).map(|i| {
        let (url, token) = (app.url("/v1/legal-holds"), token.clone());
        let body = json!({ "subject_type": "user", "subject_id": ann.id, "reason": format!("request {i}") });
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let problem: Value = response.json().await.unwrap();
            (status, problem["code"].as_str().map(str::to_owned))
        }
    });
    let mut outcomes = futures_util::future::join_all(attempts).await;
    outcomes.sort();
    let mut expected = vec![(201, None)];
    expected.extend(vec![(409, Some("legal_hold_exists".to_owned())); 11]);
    assert_eq!(outcomes, expected);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM legal_holds WHERE released_at IS NULL".into())
            .await,
        1
    );
}

/// A recording its call never linked (same phone and call id) still goes
/// with the call: no recording outlives its call record.
#[tokio::test]
async fn an_unlinked_recording_goes_with_its_call() {
    let app = spawn_app().await;
    let (_, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    phone.upload_call_records(&[call("c1", 5)]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "r.wav", &wav(8_000));
    phone.upload_recording("c1", &file).await.unwrap();
    app.execute("UPDATE call_records SET recording_id = NULL".into())
        .await;
    app.admin.set_retention(Some(30), None).await.unwrap();
    let report = purge_after(&app, 31).await;
    assert_eq!((report.call_records, report.recordings), (1, 1));
    assert!(call_ids(&ann).await.is_empty());
    assert_eq!(app.count("recordings").await, 0);
    assert_eq!(stored_files(&app), 0);
}
