//! Call archives (docs/retention.md "Archives"): the purge writes the call
//! records it deletes, and only those, as gzip NDJSON per UTC month before
//! they go; admins list the months and download them (the parts of a
//! month joined), each download audited; a part a crashed run left pending
//! is cleaned by a later run; a batch that changed while it was archived
//! (an edit, a hold, a cleaner) is not deleted, and archived again as it
//! is by the next run.

use std::io::Read as _;

use chrono::{DateTime, Duration, Utc};
use deskbind_core::ids::CallArchiveId;
use deskbind_core::repo::call_archives::{self, CallArchiveRow};
use deskbind_core::storage::Storage;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::retention_archive::{self, ABANDONED_AFTER};
use deskbind_core::usecases::retention_purge::{Committed, commit_archived};
use deskbind_core::wire::{CallRecord, CallRecordUpload, Role};
use deskbind_mobile::{AppClient, PageQuery};
use serde_json::json;

use crate::call_outcomes::send;
use crate::helpers::{code, spawn_app, spawn_app_with};
use crate::records::{backdate_bindings, call};
use crate::retention::{audit_entries, call_ids as listed_call_ids, purge_at};

fn at(call_id: &str, started: &str) -> CallRecordUpload {
    let started: DateTime<Utc> = started.parse().unwrap();
    let mut upload = call(call_id, 0);
    upload.started_at = started;
    upload.answered_at = Some(started + Duration::seconds(5));
    upload.ended_at = Some(started + Duration::seconds(65));
    upload
}

/// The month's archive as downloaded, one call per line.
async fn archived(client: &AppClient, month: &str) -> Vec<CallRecord> {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("archive.ndjson.gz");
    let written = client.download_archive(month, &dest).await.unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    assert_eq!(written, bytes.len() as u64);
    // Parts are gzip members one after another: one gzip stream.
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn call_ids(records: &[CallRecord]) -> Vec<&str> {
    records.iter().map(|r| r.call_id.as_str()).collect()
}

#[tokio::test]
async fn the_archive_holds_exactly_the_purged_records_per_month() {
    let app = spawn_app().await;
    let (_, _ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let uploaded = phone
        .upload_call_records(&[
            at("jan-a", "2025-01-20T10:00:00Z"),
            at("jan-b", "2025-01-31T23:59:59Z"),
            at("feb-a", "2025-02-01T00:00:00Z"),
            at("feb-held", "2025-02-14T09:30:00Z"),
            call("recent", 5),
        ])
        .await
        .unwrap();
    let id_of = |i: usize| uploaded.results[i].id.unwrap().to_string();
    let (status, _) = send(
        &app,
        &app.admin,
        "PATCH",
        &format!("/v1/calls/{}", id_of(0)),
        Some(json!({ "notes": "asked for a quote" })),
    )
    .await;
    assert_eq!(status, 200);
    let hold = app
        .admin
        .place_legal_hold("call", &id_of(3), "complaint")
        .await
        .unwrap();
    app.admin.set_retention(Some(30), None).await.unwrap();
    let nothing = app
        .admin
        .list_archives(&PageQuery::default())
        .await
        .unwrap();
    assert!(nothing.archiving);
    assert!(nothing.items.is_empty());

    let report = purge_at(&app, 0).await;
    assert_eq!((report.call_records, report.archive_parts), (3, 2));
    let months = app
        .admin
        .list_archives(&PageQuery::default())
        .await
        .unwrap();
    let summary: Vec<(&str, i64, i64)> = months
        .items
        .iter()
        .map(|m| (m.month.as_str(), m.parts, m.records))
        .collect();
    assert_eq!(summary, [("2025-02", 1, 1), ("2025-01", 1, 2)]);
    assert_eq!(
        months.items[1].first_started_at,
        "2025-01-20T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    // Newest month first, a page at a time.
    let first = app
        .admin
        .list_archives(&PageQuery {
            cursor: None,
            limit: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(first.items[0].month, "2025-02");
    let second = app
        .admin
        .list_archives(&PageQuery {
            cursor: first.next_cursor.clone(),
            limit: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(second.items[0].month, "2025-01");
    assert!(second.next_cursor.is_none());

    let january = archived(&app.admin, "2025-01").await;
    assert_eq!(call_ids(&january), ["jan-a", "jan-b"]);
    assert_eq!(january[0].notes.as_deref(), Some("asked for a quote"));
    assert_eq!(january[0].id.to_string(), id_of(0));
    assert_eq!(call_ids(&archived(&app.admin, "2025-02").await), ["feb-a"]);
    assert_eq!(listed_call_ids(&app.admin).await, ["feb-held", "recent"]);

    // Once released, the held call goes too, into a second February part;
    // the month's download joins both.
    app.admin.release_legal_hold(hold.id).await.unwrap();
    let report = purge_at(&app, 0).await;
    assert_eq!((report.call_records, report.archive_parts), (1, 1));
    assert_eq!(
        call_ids(&archived(&app.admin, "2025-02").await),
        ["feb-a", "feb-held"]
    );
    let months = app
        .admin
        .list_archives(&PageQuery::default())
        .await
        .unwrap();
    assert_eq!((months.items[0].parts, months.items[0].records), (2, 2));
    // Nothing due: no part.
    assert_eq!(purge_at(&app, 0).await.archive_parts, 0);

    let purged: Vec<i64> = audit_entries(&app, "retention.purged")
        .await
        .iter()
        .map(|e| e["details"]["archive_parts"].as_i64().unwrap())
        .collect();
    assert_eq!(purged, [2, 1]);
}

#[tokio::test]
async fn only_admins_of_the_organisation_reach_its_archives() {
    let app = spawn_app().await;
    let (_, _ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    phone
        .upload_call_records(&[at("old", "2025-03-03T12:00:00Z")])
        .await
        .unwrap();
    app.admin.set_retention(Some(30), None).await.unwrap();
    assert_eq!(purge_at(&app, 0).await.archive_parts, 1);
    assert_eq!(call_ids(&archived(&app.admin, "2025-03").await), ["old"]);

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.gz");
    let (_, manager) = app.user("mia@acme.test", Role::Manager).await;
    let err = manager
        .list_archives(&PageQuery::default())
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 403);
    let err = manager
        .download_archive("2025-03", &dest)
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 403);
    // Another organisation has no archive of that month.
    let other = app.other_org_admin().await;
    assert!(
        other
            .list_archives(&PageQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let err = other.download_archive("2025-03", &dest).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    // A month with nothing archived, or that is no month, is not found.
    for month in ["2025-04", "2025-13", "2025-3", "..%2F..", "latest"] {
        let err = app.admin.download_archive(month, &dest).await.unwrap_err();
        assert_eq!(code(&err).0, 404, "{month}");
    }
    let (status, body) = send(&app, &app.admin, "GET", "/v1/archives?cursor=2025", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_query"))
    );
}

#[tokio::test]
async fn without_archiving_the_purge_writes_no_archive() {
    let app = spawn_app_with(|s| s.retention_archive = false).await;
    let (_, _ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    phone
        .upload_call_records(&[at("old", "2025-03-03T12:00:00Z")])
        .await
        .unwrap();
    app.admin.set_retention(Some(30), None).await.unwrap();
    let report = purge_at(&app, 0).await;
    assert_eq!((report.call_records, report.archive_parts), (1, 0));
    let listed = app
        .admin
        .list_archives(&PageQuery::default())
        .await
        .unwrap();
    assert!(!listed.archiving);
    assert!(listed.items.is_empty());
}

/// A run killed after storing a part's object and before deleting its
/// records leaves a pending part: the records are still there. A run
/// inside the hour leaves the part alone (its own run might still complete
/// it) and archives the records afresh; once the part is an hour old, a
/// run deletes it (object, then row), so the month holds each call once.
#[tokio::test]
async fn a_part_a_crashed_run_left_pending_is_cleaned_and_the_records_archived_once() {
    let app = spawn_app().await;
    let (_, _ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    phone
        .upload_call_records(&[
            at("a", "2025-05-05T08:00:00Z"),
            at("b", "2025-05-06T08:00:00Z"),
        ])
        .await
        .unwrap();
    app.admin.set_retention(Some(30), None).await.unwrap();
    // What the crashed run left: a pending row and its object.
    let storage = Storage::from_settings(&app.settings).await.unwrap();
    let org = app.admin.me().await.unwrap().org_id.to_string();
    let id = CallArchiveId::new();
    let key = format!("archives/{org}/2025-05/{id}.ndjson.gz");
    let row = CallArchiveRow {
        id: id.to_string(),
        org_id: org,
        month: "2025-05".into(),
        storage_key: key.clone(),
        store_id: storage.store_id().map(str::to_owned),
        records: 2,
        size_bytes: 20,
        first_started_at: 0,
        last_started_at: 0,
        created_at: now_micros(),
        completed_at: None,
        abandoned_at: None,
    };
    app.db
        .write(move |conn| call_archives::insert_pending(conn, &row))
        .await
        .unwrap();
    let object = app.settings.data_dir.join("recordings").join(&key);
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::write(&object, b"half a part").unwrap();

    // Pending parts are not listed or served.
    assert!(
        app.admin
            .list_archives(&PageQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let report = purge_at(&app, 0).await;
    assert_eq!((report.call_records, report.archive_parts), (2, 1));
    assert!(object.exists());
    assert_eq!(app.count("call_archives").await, 2);
    // An hour on (by the system clock parts are stamped with), it is
    // abandoned: object and row go.
    let old = now_micros() - seconds(ABANDONED_AFTER.as_secs() as i64 + 1);
    app.execute(format!(
        "UPDATE call_archives SET created_at = {old} WHERE id = '{id}'"
    ))
    .await;
    assert!(purge_at(&app, 0).await.is_empty());
    assert!(!object.exists());
    assert_eq!(app.count("call_archives").await, 1);
    assert_eq!(call_ids(&archived(&app.admin, "2025-05").await), ["a", "b"]);
}

/// Between archiving a batch and deleting it, the batch changes: an edit,
/// a hold, or a cleaner judging the part abandoned. Nothing is deleted,
/// the part is discarded, and the next run archives what is due then.
#[tokio::test]
async fn a_batch_that_changed_after_it_was_archived_is_not_deleted() {
    let app = spawn_app().await;
    let (_, _ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    let uploaded = phone
        .upload_call_records(&[
            at("edited", "2025-06-01T08:00:00Z"),
            at("held", "2025-06-02T08:00:00Z"),
        ])
        .await
        .unwrap();
    let id_of = |i: usize| uploaded.results[i].id.unwrap().to_string();
    app.admin.set_retention(Some(30), None).await.unwrap();
    let storage = Storage::from_settings(&app.settings).await.unwrap();
    let org = app.admin.me().await.unwrap().org_id;
    let before = now_micros() - seconds(30 * 24 * 3600);
    let step = || async {
        let part = retention_archive::prepare(&app.db, org, before, None, 500)
            .await
            .unwrap()
            .unwrap();
        let stored = retention_archive::store(&app.db, &storage, org, &part)
            .await
            .unwrap();
        (part, stored)
    };

    // An edit after the archive was written.
    let (part, stored) = step().await;
    assert_eq!(part.rows.len(), 2);
    let (status, _) = send(
        &app,
        &app.admin,
        "PATCH",
        &format!("/v1/calls/{}", id_of(0)),
        Some(json!({ "notes": "late note" })),
    )
    .await;
    assert_eq!(status, 200);
    let committed = commit_archived(&app.db, org, before, &part, &stored)
        .await
        .unwrap();
    assert_eq!(committed, Committed::Changed);
    retention_archive::discard(&app.db, &storage, &stored.row)
        .await
        .unwrap();
    assert_eq!(app.count("call_records").await, 2);
    assert_eq!(app.count("call_archives").await, 0);

    // A hold placed after the archive was written.
    let (part, stored) = step().await;
    app.admin
        .place_legal_hold("call", &id_of(1), "complaint")
        .await
        .unwrap();
    let committed = commit_archived(&app.db, org, before, &part, &stored)
        .await
        .unwrap();
    assert_eq!(committed, Committed::Changed);
    retention_archive::discard(&app.db, &storage, &stored.row)
        .await
        .unwrap();

    // A cleaner claims the part first: it can no longer be completed, and
    // its object is gone.
    let (part, stored) = step().await;
    assert_eq!(part.rows.len(), 1, "the held call is not due");
    let old = now_micros() - seconds(ABANDONED_AFTER.as_secs() as i64 + 1);
    let id = stored.row.id.clone();
    app.execute(format!(
        "UPDATE call_archives SET created_at = {old} WHERE id = '{id}'"
    ))
    .await;
    assert_eq!(
        retention_archive::clean_abandoned(&app.db, &storage)
            .await
            .unwrap(),
        1
    );
    let committed = commit_archived(&app.db, org, before, &part, &stored)
        .await
        .unwrap();
    assert_eq!(committed, Committed::Changed);
    assert_eq!(app.count("call_records").await, 2);
    assert_eq!(app.count("call_archives").await, 0);

    // The next run archives the edited call as it is now; the held one stays.
    let report = purge_at(&app, 0).await;
    assert_eq!((report.call_records, report.archive_parts), (1, 1));
    let june = archived(&app.admin, "2025-06").await;
    assert_eq!(call_ids(&june), ["edited"]);
    assert_eq!(june[0].notes.as_deref(), Some("late note"));
    assert_eq!(app.count("call_records").await, 1);
    // Every download is audited.
    let downloads = audit_entries(&app, "archive.downloaded").await;
    assert_eq!(downloads.len(), 1);
    assert_eq!(
        (
            &downloads[0]["details"]["month"],
            &downloads[0]["details"]["records"]
        ),
        (&json!("2025-06"), &json!(1))
    );
}
