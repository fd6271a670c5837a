//! Export jobs (docs/exports.md): asked for with POST /v1/exports, written
//! by the worker (driven here with a controllable clock), announced on
//! the requester's event log, downloaded until they expire. The CSV equals
//! the synchronous export of the same filter; the zip holds exactly the
//! recordings the requester may hear.

use std::io::Read;

use deskbind_core::ids::ExportId;
use deskbind_core::repo::jobs;
use deskbind_core::storage::Storage;
use deskbind_core::time::{Micros, now_micros, seconds};
use deskbind_core::usecases::exports::{self, ExportReport, LEASE_MICROS};
use deskbind_core::wire::{CallDirection, Export, ExportKind, ExportState, SetRetention};
use deskbind_mobile::CallQuery;
use serde_json::{Value, json};

use crate::call_outcomes::{allow_private_calls, send};
use crate::helpers::{TestApp, code, spawn_app};
use crate::recordings::{wav, write};
use crate::records::{backdate_bindings, call};
use crate::s3::{S3Server, count_files};

const DAY: i64 = 24 * 3600;

/// One pass of the export worker at `at`.
async fn run_exports(app: &TestApp, at: Micros) -> ExportReport {
    let storage = Storage::from_settings(&app.settings).await.unwrap();
    let expired = exports::expire(&app.services, &storage, at).await.unwrap();
    let mut report = exports::run_once(&app.services, &storage, "test-worker", 7, move || at)
        .await
        .unwrap();
    report.expired = expired;
    report
}

async fn export_events(app: &TestApp, user: &str) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM app_events WHERE kind = 'export' AND user_id = '{user}'"
    ))
    .await
}

#[tokio::test]
async fn a_csv_export_is_written_by_the_worker_and_equals_the_direct_export() {
    let app = spawn_app().await;
    let (ann_user, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let mut inbound = call("c3", 30);
    inbound.direction = CallDirection::Inbound;
    phone
        .upload_call_records(&[call("c1", 10), call("c2", 20), inbound])
        .await
        .unwrap();
    let query = CallQuery {
        direction: Some(CallDirection::Outbound),
        ..CallQuery::default()
    };
    let queued = ann
        .create_export(ExportKind::CallsCsv, &query)
        .await
        .unwrap();
    assert_eq!((queued.state, queued.items_done), (ExportState::Queued, 0));
    let err = ann
        .download_export(queued.id, &tempfile::tempdir().unwrap().path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "export_not_ready".into()));

    let report = run_exports(&app, now_micros()).await;
    assert_eq!(report.ready, 1);
    let ready = ann.get_export(queued.id).await.unwrap();
    assert_eq!(ready.state, ExportState::Ready);
    assert_eq!((ready.items_done, ready.items_total), (2, Some(2)));
    assert!(ready.expires_at.is_some());
    assert_eq!(export_events(&app, &ann_user.id.to_string()).await, 1);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.csv");
    let bytes = ann.download_export(queued.id, &path).await.unwrap();
    let file = std::fs::read_to_string(&path).unwrap();
    assert_eq!(bytes, file.len() as u64);
    assert_eq!(ready.size_bytes, Some(bytes));
    let (status, direct) = send(
        &app,
        &ann,
        "GET",
        "/v1/calls/export.csv?direction=outbound",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        file,
        direct.as_str().unwrap(),
        "the job writes what the direct export sends"
    );
    assert_eq!(file.lines().count(), 3);

    let listed = ann.list_exports(&Default::default()).await.unwrap();
    assert_eq!(
        listed.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        [queued.id]
    );
    // Nothing else is due.
    assert_eq!(
        run_exports(&app, now_micros()).await,
        ExportReport::default()
    );
}

#[tokio::test]
async fn a_zip_holds_the_recordings_the_requester_may_hear() {
    let app = spawn_app().await;
    let (_, ann, _, ann_phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    let (_, bob, _, bob_phone) = app.bound_salesperson("bob@acme.test", "+4930222").await;
    backdate_bindings(&app).await;
    ann_phone
        .upload_call_records(&[call("a1", 10), call("a2", 20)])
        .await
        .unwrap();
    let bob_calls = bob_phone
        .upload_call_records(&[call("b1", 15)])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(16_000);
    let file = write(dir.path(), "r.wav", &audio);
    ann_phone.upload_recording("a1", &file).await.unwrap();
    bob_phone.upload_recording("b1", &file).await.unwrap();
    allow_private_calls(&app).await;
    let bob_call = bob_calls.results[0].id.unwrap();
    let (status, _) = send(
        &app,
        &bob,
        "PATCH",
        &format!("/v1/calls/{bob_call}"),
        Some(json!({ "private": true })),
    )
    .await;
    assert_eq!(status, 200);

    // The admin sees ann's recording; bob's call is private to bob.
    let admin_zip = app
        .admin
        .create_export(ExportKind::RecordingsZip, &CallQuery::default())
        .await
        .unwrap();
    let bob_zip = bob
        .create_export(ExportKind::RecordingsZip, &CallQuery::default())
        .await
        .unwrap();
    assert_eq!(run_exports(&app, now_micros()).await.ready, 1);
    assert_eq!(run_exports(&app, now_micros()).await.ready, 1);
    for (client, id, expected_calls) in [
        (&app.admin, admin_zip.id, vec!["a1"]),
        (&bob, bob_zip.id, vec!["b1"]),
    ] {
        let export = client.get_export(id).await.unwrap();
        assert_eq!(
            (export.state, export.items_total),
            (ExportState::Ready, Some(1))
        );
        let path = dir.path().join(format!("{id}.zip"));
        client.download_export(id, &path).await.unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let audio_name = names.iter().find(|n| n.ends_with(".wav")).unwrap().clone();
        let mut stored = Vec::new();
        zip.by_name(&audio_name)
            .unwrap()
            .read_to_end(&mut stored)
            .unwrap();
        assert_eq!(stored, audio);
        let mut index = String::new();
        zip.by_name("index.csv")
            .unwrap()
            .read_to_string(&mut index)
            .unwrap();
        assert_eq!(index.lines().count(), 1 + expected_calls.len());
        assert!(index.contains(&audio_name), "{index}");
    }
    // Ann asked for nothing: she sees no export of the others.
    assert!(
        ann.list_exports(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let err = ann.get_export(admin_zip.id).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let err = app.admin.get_export(bob_zip.id).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_queued() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "kind": "pdf" }), 422, "invalid_field", "kind"),
        (json!({}), 422, "missing_field", "kind"),
        (
            json!({ "kind": "calls_csv", "colour": 1 }),
            422,
            "unknown_field",
            "colour",
        ),
        (
            json!({ "kind": "calls_csv", "filters": { "colour": "red" } }),
            422,
            "unknown_field",
            "filters.colour",
        ),
        (
            json!({ "kind": "calls_csv", "filters": { "direction": "sideways" } }),
            422,
            "invalid_field",
            "filters.direction",
        ),
        (
            json!({ "kind": "calls_csv", "filters": { "from": ["2026"] } }),
            422,
            "invalid_field",
            "filters.from",
        ),
        (
            json!({ "kind": "calls_csv", "filters": { "number": "12" } }),
            422,
            "number_search_too_short",
            "filters.number",
        ),
    ];
    for (body, status, error, field) in cases {
        let (got, problem) =
            send(&app, &app.admin, "POST", "/v1/exports", Some(body.clone())).await;
        assert_eq!(
            (got, problem["code"].as_str()),
            (status, Some(error)),
            "{body}: {problem}"
        );
        assert!(
            problem["field"].as_str() == Some(field),
            "{body}: {problem}"
        );
    }
    assert_eq!(app.count("exports").await, 0);
    // Numbers and booleans are taken as written.
    let (status, queued) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/exports",
        Some(json!({ "kind": "calls_csv", "filters": { "has_recording": true, "min_duration_secs": 5, "team_id": null } })),
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["state"], "queued");
    let (status, _) = send(&app, &app.admin, "GET", "/v1/exports/not-an-id", None).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        &app.admin,
        "GET",
        &format!("/v1/exports/{}", ExportId::new()),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn racing_requests_queue_at_most_three_exports_per_user() {
    let app = spawn_app().await;
    let requests = (0..10).map(|_| {
        let app = &app;
        async move {
            send(
                app,
                &app.admin,
                "POST",
                "/v1/exports",
                Some(json!({ "kind": "calls_csv" })),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let accepted = answers.iter().filter(|(s, _)| *s == 202).count();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b)
        .collect();
    assert_eq!((accepted, refused.len()), (3, 7), "{answers:?}");
    assert!(refused.iter().all(|b| b["code"] == "export_limit_reached"));
    assert_eq!(app.count("exports").await, 3);
    // A finished export makes room for another.
    assert_eq!(run_exports(&app, now_micros()).await.ready, 1);
    let (status, _) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/exports",
        Some(json!({ "kind": "calls_csv" })),
    )
    .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn an_export_expires_and_its_file_is_deleted() {
    let app = spawn_app().await;
    let queued = app
        .admin
        .create_export(ExportKind::CallsCsv, &CallQuery::default())
        .await
        .unwrap();
    let start = now_micros();
    assert_eq!(run_exports(&app, start).await.ready, 1);
    let ready = app.admin.get_export(queued.id).await.unwrap();
    let expires = ready.expires_at.unwrap().timestamp_micros();
    assert_eq!(expires, start + seconds(7 * DAY));
    let files = || {
        let root = app.settings.data_dir.join("recordings").join("exports");
        count_files(&root)
    };
    assert_eq!(files(), 1);
    // Not yet at its expiry, then past it.
    assert_eq!(run_exports(&app, expires - 1).await.expired, 0);
    assert_eq!(run_exports(&app, expires).await.expired, 1);
    assert_eq!(files(), 0);
    assert_eq!(
        app.admin.get_export(queued.id).await.unwrap().state,
        ExportState::Expired
    );
    let err = app
        .admin
        .download_export(queued.id, &tempfile::tempdir().unwrap().path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (410, "export_expired".into()));
    assert_eq!(run_exports(&app, expires + seconds(DAY)).await.expired, 0);
}

/// An organisation that chose its own export days keeps its files that
/// long; exports already ready keep the expiry they were given.
#[tokio::test]
async fn an_organisation_s_export_days_set_the_expiry() {
    let app = spawn_app().await;
    let everything = CallQuery::default();
    let csv = || app.admin.create_export(ExportKind::CallsCsv, &everything);
    let before = csv().await.unwrap();
    let start = now_micros();
    assert_eq!(run_exports(&app, start).await.ready, 1);
    app.admin
        .set_retention_days(&SetRetention {
            call_record_days: None,
            recording_days: None,
            export_days: Some(Some(2)),
        })
        .await
        .unwrap();
    let after = csv().await.unwrap();
    let later = now_micros();
    assert_eq!(run_exports(&app, later).await.ready, 1);
    let expiry = |e: Export| e.expires_at.unwrap().timestamp_micros();
    assert_eq!(
        expiry(app.admin.get_export(after.id).await.unwrap()),
        later + seconds(2 * DAY)
    );
    assert_eq!(
        expiry(app.admin.get_export(before.id).await.unwrap()),
        start + seconds(7 * DAY)
    );
    assert_eq!(run_exports(&app, later + seconds(2 * DAY)).await.expired, 1);
}

/// A worker that claimed an export and died is replaced once its lease
/// runs out; the export is written once and announced once.
#[tokio::test]
async fn an_export_a_dead_worker_held_is_written_after_its_lease() {
    let app = spawn_app().await;
    let admin_user = app.admin.me().await.unwrap();
    let queued = app
        .admin
        .create_export(ExportKind::CallsCsv, &CallQuery::default())
        .await
        .unwrap();
    let start = now_micros();
    let claimed = app
        .db
        .write(move |conn| {
            jobs::claim_due_of_kind(
                conn,
                jobs::EXPORT,
                "dead-worker",
                start,
                start + LEASE_MICROS,
                1,
            )
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // While the dead worker's lease lasts, nobody else takes it.
    assert_eq!(
        run_exports(&app, start + LEASE_MICROS - 1).await,
        ExportReport::default()
    );
    assert_eq!(run_exports(&app, start + LEASE_MICROS + 1).await.ready, 1);
    assert_eq!(
        app.admin.get_export(queued.id).await.unwrap().state,
        ExportState::Ready
    );
    assert_eq!(export_events(&app, &admin_user.id.to_string()).await, 1);
    assert_eq!(
        run_exports(&app, start + 2 * LEASE_MICROS).await,
        ExportReport::default()
    );
}

/// On S3 the zip is stored as an object, downloads whole, and its object
/// goes when it expires.
#[tokio::test]
async fn a_zip_export_on_s3_downloads_and_expires() {
    let s3 = S3Server::start().await;
    let app = crate::recordings::s3_app(&s3).await;
    let (_, _, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    phone.upload_call_records(&[call("s1", 10)]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(24_000);
    phone
        .upload_recording("s1", &write(dir.path(), "r.wav", &audio))
        .await
        .unwrap();
    let before = s3.object_count();
    let queued = app
        .admin
        .create_export(ExportKind::RecordingsZip, &CallQuery::default())
        .await
        .unwrap();
    let start = now_micros();
    assert_eq!(run_exports(&app, start).await.ready, 1);
    assert_eq!(s3.object_count(), before + 1);
    let path = dir.path().join("r.zip");
    app.admin.download_export(queued.id, &path).await.unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let name = zip
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .find(|n| n.ends_with(".wav"))
        .unwrap();
    let mut stored = Vec::new();
    zip.by_name(&name)
        .unwrap()
        .read_to_end(&mut stored)
        .unwrap();
    assert_eq!(stored, audio);
    assert_eq!(run_exports(&app, start + seconds(7 * DAY)).await.expired, 1);
    assert_eq!(s3.object_count(), before);
}

/// An export whose every worker dies is given up after its attempts,
/// failed with a reason its requester hears of, never claimed forever.
#[tokio::test]
async fn an_export_that_keeps_killing_its_workers_is_failed() {
    let app = spawn_app().await;
    let admin_user = app.admin.me().await.unwrap();
    let queued = app
        .admin
        .create_export(ExportKind::CallsCsv, &CallQuery::default())
        .await
        .unwrap();
    let mut at = now_micros();
    for _ in 0..=exports::MAX_ATTEMPTS {
        let claimed = app
            .db
            .write(move |conn| {
                jobs::claim_due_of_kind(conn, jobs::EXPORT, "doomed", at, at + LEASE_MICROS, 1)
            })
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        at += LEASE_MICROS + 1;
    }
    assert_eq!(run_exports(&app, at).await, ExportReport::default());
    let failed = app.admin.get_export(queued.id).await.unwrap();
    assert_eq!(failed.state, ExportState::Failed);
    assert!(failed.error.unwrap().contains("never finished"));
    assert_eq!(export_events(&app, &admin_user.id.to_string()).await, 1);
    assert_eq!(
        run_exports(&app, at + LEASE_MICROS + 1).await,
        ExportReport::default()
    );
}

/// Past `expires_at` a download answers 410 at once, before the worker's
/// expiry pass has deleted the file.
#[tokio::test]
async fn a_download_past_its_expiry_is_gone_before_the_worker_looks() {
    let app = spawn_app().await;
    let queued = app
        .admin
        .create_export(ExportKind::CallsCsv, &CallQuery::default())
        .await
        .unwrap();
    assert_eq!(run_exports(&app, now_micros()).await.ready, 1);
    app.execute(format!(
        "UPDATE exports SET expires_at = {} WHERE id = '{}'",
        now_micros() - 1,
        queued.id
    ))
    .await;
    let err = app
        .admin
        .download_export(queued.id, &tempfile::tempdir().unwrap().path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (410, "export_expired".into()));
}
