//! Call records: phone and app uploads (idempotent, merged), sync under
//! concurrent writes, and role-scoped review, export and statistics.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Duration, Utc};
use deskbind_core::wire::{
    CallDirection, CallRecordUpload, CallResult, IngestOutcome, IngestResults, Role,
};
use deskbind_mobile::CallQuery;
use futures_util::future::join_all;

use crate::helpers::{code, spawn_app};

/// A finished outbound call `minutes_ago` long ago.
pub fn call(call_id: &str, minutes_ago: i64) -> CallRecordUpload {
    let started = Utc::now() - Duration::minutes(minutes_ago);
    CallRecordUpload {
        call_id: call_id.into(),
        direction: CallDirection::Outbound,
        local_number: None,
        remote_number: "+4930555000".into(),
        started_at: started,
        answered_at: Some(started + Duration::seconds(5)),
        ended_at: Some(started + Duration::seconds(65)),
        duration_secs: None,
        result: Some(CallResult::Answered),
        dial_id: None,
    }
}

/// Moves every binding's start two hours back, so calls placed "minutes
/// ago" fall inside them (the holder at call time is the user).
pub async fn backdate_bindings(app: &crate::helpers::TestApp) {
    app.execute("UPDATE bindings SET started_at = started_at - 7200000000".into())
        .await;
}

fn outcomes(results: &IngestResults) -> Vec<IngestOutcome> {
    results.results.iter().map(|r| r.outcome).collect()
}

#[tokio::test]
async fn phone_batches_create_then_replay_then_merge_later_facts() {
    let app = spawn_app().await;
    let (sam, _sam_app, _phone, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let mut missed = call("c2", 5);
    missed.direction = CallDirection::Missed;
    missed.answered_at = None;
    missed.ended_at = None;
    missed.result = Some(CallResult::NoAnswer);
    let mut backwards = call("c3", 5);
    backwards.ended_at = Some(backwards.started_at - Duration::seconds(1));
    let mut open = call("c1", 10);
    open.ended_at = None;
    open.result = None;
    let batch = vec![open.clone(), missed, backwards];

    let first = phone.upload_call_records(&batch).await.unwrap();
    assert_eq!(
        outcomes(&first),
        [
            IngestOutcome::Created,
            IngestOutcome::Created,
            IngestOutcome::Rejected
        ]
    );
    let refusal = first.results[2].error.as_ref().unwrap();
    assert_eq!(
        (refusal.code.as_str(), refusal.field.as_deref()),
        ("invalid_time_order", Some("ended_at"))
    );
    let replay = phone.upload_call_records(&batch).await.unwrap();
    assert_eq!(
        outcomes(&replay),
        [
            IngestOutcome::Unchanged,
            IngestOutcome::Unchanged,
            IngestOutcome::Rejected
        ]
    );
    assert_eq!(replay.results[0].id, first.results[0].id);

    // The call ends later: the same call id merges, the first facts stay.
    let mut finished = open.clone();
    finished.ended_at = Some(finished.started_at + Duration::seconds(65));
    finished.result = Some(CallResult::Answered);
    let ended = phone.upload_call_records(&[finished]).await.unwrap();
    assert_eq!(outcomes(&ended), [IngestOutcome::Updated]);
    // An older, shorter report of it again erases nothing.
    let stale = phone.upload_call_records(&[open]).await.unwrap();
    assert_eq!(outcomes(&stale), [IngestOutcome::Unchanged]);
    let stored = app
        .admin
        .get_call(first.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(stored.result, Some(CallResult::Answered));
    assert_eq!(stored.duration_secs, Some(60));
    assert_eq!(stored.user_id, Some(sam.id), "the holder at call time");
    assert_eq!(stored.remote_number_e164.as_deref(), Some("+4930555000"));
    assert!(stored.reported_by_phone && !stored.reported_by_app);
    assert_eq!(app.count("call_records").await, 2);
}

#[tokio::test]
async fn records_link_to_their_dial_and_unknown_dials_are_refused() {
    let app = spawn_app().await;
    let (sam, sam_app, _phone, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let dial = sam_app.dial("+4930555000", None, None).await.unwrap();
    let mut linked = call("d1", 1);
    linked.dial_id = Some(dial.id);
    let mut unknown = call("d2", 1);
    unknown.dial_id = Some(deskbind_core::ids::DialId::new());
    let results = phone.upload_call_records(&[linked, unknown]).await.unwrap();
    assert_eq!(
        outcomes(&results),
        [IngestOutcome::Created, IngestOutcome::Rejected]
    );
    assert_eq!(
        results.results[1].error.as_ref().unwrap().code,
        "dial_not_found"
    );
    let record = sam_app
        .get_call(results.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(
        (record.dial_id, record.user_id),
        (Some(dial.id), Some(sam.id))
    );
    // Per-item refusals wrote nothing for that item.
    assert_eq!(app.count("call_records").await, 1);
}

#[tokio::test]
async fn the_apps_copy_merges_with_the_phones_and_only_for_its_own_calls() {
    let app = spawn_app().await;
    let (_sam, sam_app, phone_row, phone) =
        app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let mut from_app = call("n1", 3);
    from_app.result = None;
    from_app.local_number = Some("+4930111".into());
    let created = sam_app
        .upload_call_records(phone_row.id, &[from_app.clone()])
        .await
        .unwrap();
    assert_eq!(outcomes(&created), [IngestOutcome::Created]);

    // The phone's copy arrives: same record, the phone's facts win.
    let mut from_phone = call("n1", 3);
    from_phone.remote_number = "+4930555001".into();
    let merged = phone.upload_call_records(&[from_phone]).await.unwrap();
    assert_eq!(outcomes(&merged), [IngestOutcome::Updated]);
    assert_eq!(merged.results[0].id, created.results[0].id);
    // The app's copy again changes nothing the phone said.
    let again = sam_app
        .upload_call_records(phone_row.id, &[from_app])
        .await
        .unwrap();
    assert_eq!(outcomes(&again), [IngestOutcome::Unchanged]);
    let record = sam_app
        .get_call(created.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(record.remote_number, "+4930555001");
    assert_eq!(record.local_number.as_deref(), Some("+4930111"));
    assert!(record.reported_by_phone && record.reported_by_app);
    assert_eq!(app.count("call_records").await, 1);

    // A call only the app has reported so far.
    let app_only = sam_app
        .upload_call_records(phone_row.id, &[call("n4", 2)])
        .await
        .unwrap();
    assert_eq!(outcomes(&app_only), [IngestOutcome::Created]);

    // Bob holds the phone later; claiming Sam's calls with times inside his
    // own binding neither takes them over nor amends them.
    let (bob_user, bob) = app.user("bob@acme.test", Role::Salesperson).await;
    let sams = sam_app.list_bindings(&Default::default()).await.unwrap();
    sam_app.unbind(sams.items[0].id).await.unwrap();
    app.grant(phone_row.id, &[bob_user.id]).await;
    bob.bind_phone(phone_row.id, false).await.unwrap();
    let mut claim = call("n4", 0);
    claim.started_at = Utc::now();
    claim.answered_at = None;
    claim.ended_at = None;
    claim.result = Some(CallResult::Busy);
    let mut amend = call("n1", 0);
    amend.started_at = Utc::now();
    let refused = bob
        .upload_call_records(phone_row.id, &[claim, amend])
        .await
        .unwrap();
    assert!(
        refused
            .results
            .iter()
            .all(|r| r.error.as_ref().map(|e| e.code.as_str()) == Some("not_your_call")),
        "{refused:?}"
    );
    let still_sams = sam_app
        .get_call(app_only.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(still_sams.result, Some(CallResult::Answered));

    // Someone who did not hold the phone cannot upload its calls.
    let (_, eve) = app.user("eve@acme.test", Role::Salesperson).await;
    let refused = eve
        .upload_call_records(phone_row.id, &[call("n2", 2)])
        .await
        .unwrap();
    assert_eq!(
        refused.results[0].error.as_ref().unwrap().code,
        "not_your_call"
    );
    // Another organisation's phone does not exist for this user.
    let globex = app.other_org_admin().await;
    let foreign = crate::helpers::foreign_phone(&globex, "+4930999").await;
    let err = sam_app
        .upload_call_records(foreign.id, &[call("n3", 2)])
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    assert_eq!(app.count("call_records").await, 2, "n1 and n4 only");
}

#[tokio::test]
async fn batch_size_is_bounded() {
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let err = phone.upload_call_records(&[]).await;
    // The SDK sends nothing for an empty list; the server refuses one.
    assert!(err.unwrap().results.is_empty());
    let raw = reqwest::Client::new()
        .post(app.url("/v1/phone/call-records"))
        .bearer_auth(phone.credential())
        .json(&serde_json::json!({ "records": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 422);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["code"], "invalid_batch_size");
    let too_many: Vec<_> = (0..501).map(|i| call(&format!("x{i}"), 1)).collect();
    let raw = reqwest::Client::new()
        .post(app.url("/v1/phone/call-records"))
        .bearer_auth(phone.credential())
        .json(&serde_json::json!({ "records": too_many }))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 422);
    assert_eq!(app.count("call_records").await, 0);
}

#[tokio::test]
async fn ten_thousand_records_sent_three_times_at_once_plus_app_copies_make_ten_thousand() {
    let app = spawn_app().await;
    let (_sam, sam_app, phone_row, phone) =
        app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let records: Vec<CallRecordUpload> = (0..10_000)
        .map(|i| call(&format!("call-{i:05}"), 1 + i64::from(i % 50)))
        .collect();
    let batches: Vec<&[CallRecordUpload]> = records.chunks(500).collect();
    let mut uploads = Vec::new();
    for batch in &batches {
        for _ in 0..3 {
            let phone = phone.clone();
            let batch = batch.to_vec();
            uploads.push(tokio::spawn(async move {
                phone.upload_call_records(&batch).await.unwrap()
            }));
        }
    }
    let app_copies: Vec<_> = records[..1000].to_vec();
    let app_upload = sam_app.upload_call_records(phone_row.id, &app_copies);
    let (phone_results, app_results) = tokio::join!(join_all(uploads), app_upload);
    let mut created = 0;
    let mut ids_by_call = std::collections::HashMap::new();
    for results in phone_results {
        for r in results.unwrap().results {
            assert_ne!(r.outcome, IngestOutcome::Rejected, "{r:?}");
            created += usize::from(r.outcome == IngestOutcome::Created);
            let id = ids_by_call.entry(r.call_id.clone()).or_insert(r.id);
            assert_eq!(*id, r.id, "one call, one record id");
        }
    }
    created += app_results
        .unwrap()
        .results
        .iter()
        .filter(|r| r.outcome == IngestOutcome::Created)
        .count();
    assert_eq!(created, 10_000, "each call created exactly once");
    assert_eq!(app.count("call_records").await, 10_000);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM call_records WHERE app_reported_at IS NOT NULL".into()
        )
        .await,
        1000
    );
}

#[tokio::test]
async fn sync_under_concurrent_inserts_never_skips_or_repeats() {
    let app = spawn_app().await;
    let (_, _, _, phone_a) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    let (_, bob_app, _, phone_b) = app.bound_salesperson("bob@acme.test", "+4930222").await;
    backdate_bindings(&app).await;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = |phone: deskbind_mobile::PhoneClient, tag: &'static str| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for batch in 0..30 {
                let records: Vec<_> = (0..40)
                    .map(|i| call(&format!("{tag}-{batch}-{i}"), 1))
                    .collect();
                let results = phone.upload_call_records(&records).await.unwrap();
                ids.extend(results.results.into_iter().map(|r| r.id.unwrap()));
            }
            ids
        })
    };
    let writers = [writer(phone_a, "a"), writer(phone_b, "b")];
    let reader = {
        let (admin, writing) = (app.client(), writing.clone());
        admin
            .login(&app.admin_email, crate::helpers::PASSWORD)
            .await
            .unwrap();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                // Read the flag first: a page read after the writers finished
                // and found empty means everything was seen.
                let still_writing = writing.load(Ordering::SeqCst);
                let page = admin.sync_calls(cursor.as_deref(), Some(37)).await.unwrap();
                seen.extend(page.items.iter().map(|r| r.id));
                cursor = Some(page.next_cursor);
                if !still_writing && !page.has_more {
                    return seen;
                }
            }
        })
    };
    let mut written = HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    writing.store(false, Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a record was repeated");
    assert_eq!(unique, written, "a record was skipped");
    assert_eq!(written.len(), 2 * 30 * 40);

    // A salesperson's feed holds only their own calls.
    let mut bobs = 0;
    let mut cursor = None;
    loop {
        let page = bob_app
            .sync_calls(cursor.as_deref(), Some(500))
            .await
            .unwrap();
        bobs += page.items.len();
        assert!(page.items.iter().all(|r| r.call_id.starts_with("b-")));
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(bobs, 30 * 40);
}

#[tokio::test]
async fn review_is_scoped_by_role_team_and_organisation() {
    let app = spawn_app().await;
    let (ann, ann_app, ann_phone, ann_link) =
        app.bound_salesperson("ann@acme.test", "+4930111").await;
    let (bob, bob_app, _, bob_link) = app.bound_salesperson("bob@acme.test", "+4930222").await;
    backdate_bindings(&app).await;
    let (_, mia) = app.user("mia@acme.test", Role::Manager).await;
    let me = mia.me().await.unwrap();
    let team = app.admin.create_team("Berlin").await.unwrap();
    app.admin.add_team_member(team.id, ann.id).await.unwrap();
    app.admin.add_team_member(team.id, me.id).await.unwrap();

    let mut missed = call("a3", 30);
    missed.direction = CallDirection::Missed;
    missed.remote_number = "+4989777123".into();
    missed.answered_at = None;
    missed.ended_at = None;
    missed.result = Some(CallResult::NoAnswer);
    let ann_calls = ann_link
        .upload_call_records(&[call("a1", 10), call("a2", 20), missed])
        .await
        .unwrap();
    let bob_calls = bob_link
        .upload_call_records(&[call("b1", 15), call("b2", 25)])
        .await
        .unwrap();
    let bob_call = bob_calls.results[0].id.unwrap();

    let all = CallQuery::default();
    let ann_sees = list(&ann_app, all.clone()).await;
    assert_eq!(ann_sees.len(), 3);
    assert!(ann_sees.iter().all(|c| c.user_id == Some(ann.id)));
    let err = ann_app.get_call(bob_call).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let by_bob = CallQuery {
        user_id: Some(bob.id),
        ..Default::default()
    };
    assert!(list(&ann_app, by_bob.clone()).await.is_empty());
    assert_eq!(list(&mia, all.clone()).await.len(), 3, "the team's calls");
    assert!(list(&mia, by_bob).await.is_empty());
    assert_eq!(list(&bob_app, all.clone()).await.len(), 2);
    assert_eq!(list(&app.admin, all.clone()).await.len(), 5);
    let by_team = CallQuery {
        team_id: Some(team.id),
        ..Default::default()
    };
    assert_eq!(list(&app.admin, by_team).await.len(), 3);

    // Filters.
    let missed_only = CallQuery {
        direction: Some(CallDirection::Missed),
        ..Default::default()
    };
    let found = list(&app.admin, missed_only).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].call_id, "a3");
    let by_number = CallQuery {
        number: Some("777".into()),
        ..Default::default()
    };
    assert_eq!(list(&app.admin, by_number).await.len(), 1);
    let window = CallQuery {
        from: Some(Utc::now() - Duration::minutes(17)),
        until: Some(Utc::now()),
        ..Default::default()
    };
    let recent: Vec<_> = list(&app.admin, window)
        .await
        .into_iter()
        .map(|c| c.call_id)
        .collect();
    assert_eq!(recent, ["a1", "b1"], "newest first");
    let by_phone = CallQuery {
        phone_id: Some(ann_phone.id),
        result: Some(CallResult::Answered),
        ..Default::default()
    };
    assert_eq!(list(&app.admin, by_phone).await.len(), 2);

    // Keyset pages walk everything once, newest first.
    let mut order = Vec::new();
    let mut page = CallQuery::default();
    page.page.limit = Some(2);
    loop {
        let got = app.admin.list_calls(&page).await.unwrap();
        order.extend(got.items.into_iter().map(|c| c.call_id));
        match got.next_cursor {
            Some(c) => page.page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(order, ["a1", "b1", "a2", "b2", "a3"]);

    // Another organisation: the ids do not exist, the lists are empty.
    let globex = app.other_org_admin().await;
    let err = globex
        .get_call(ann_calls.results[0].id.unwrap())
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    assert!(list(&globex, all.clone()).await.is_empty());
    let err = globex.get_call(bob_call).await.unwrap_err();
    assert_eq!(err.status(), Some(404));

    // Bad filters are 400s naming the parameter.
    let raw = reqwest::Client::new()
        .get(app.url("/v1/calls?direction=sideways"))
        .bearer_auth(app.access_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["field"], "direction");
}

#[tokio::test]
async fn export_and_statistics_follow_the_same_scope() {
    let app = spawn_app().await;
    let (ann, ann_app, _, ann_link) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    let (_, _, _, bob_link) = app.bound_salesperson("bob@acme.test", "+4930222").await;
    backdate_bindings(&app).await;
    let mut busy = call("a2", 20);
    busy.answered_at = None;
    busy.ended_at = None;
    busy.result = Some(CallResult::Busy);
    busy.remote_number = "=HYPERLINK(\"http://evil\")".into();
    ann_link
        .upload_call_records(&[call("a1", 10), busy])
        .await
        .unwrap();
    bob_link
        .upload_call_records(&[call("b1", 15)])
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.csv");
    app.admin
        .export_calls_csv(&CallQuery::default(), &path)
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,started_at,"));
    assert_eq!(lines.len(), 4, "header and three calls: {text}");
    assert!(text.contains("ann@acme.test") && text.contains("bob@acme.test"));
    assert!(text.contains("'=HYPERLINK"), "formula neutralised: {text}");
    ann_app
        .export_calls_csv(&CallQuery::default(), &path)
        .await
        .unwrap();
    let mine = std::fs::read_to_string(&path).unwrap();
    assert_eq!(mine.lines().count(), 3);
    assert!(!mine.contains("bob@acme.test"));

    let stats = app
        .admin
        .call_stats(&CallQuery::default(), Some("Europe/Berlin"))
        .await
        .unwrap();
    assert_eq!(stats.time_zone, "Europe/Berlin");
    let ann_row = stats
        .items
        .iter()
        .filter(|r| r.user_id == ann.id)
        .fold((0, 0, 0), |acc, r| {
            (acc.0 + r.calls, acc.1 + r.answered, acc.2 + r.talk_secs)
        });
    assert_eq!(ann_row, (2, 1, 60));
    let own = ann_app
        .call_stats(&CallQuery::default(), None)
        .await
        .unwrap();
    assert!(own.items.iter().all(|r| r.user_id == ann.id));
    let err = ann_app
        .call_stats(&CallQuery::default(), Some("Mars/Olympus"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "invalid_query".into()));
}

async fn list(
    client: &deskbind_mobile::AppClient,
    query: CallQuery,
) -> Vec<deskbind_core::wire::CallRecord> {
    client.list_calls(&query).await.unwrap().items
}
