//! Statistics rollups (docs/retention.md "Rollups"): the statistics read
//! the sums written as calls arrive and change, so they give the same
//! figures before and after the purge deletes the calls; a change of a
//! call's result, disposition or privacy moves it between sums; another
//! user's private call still never matches a disposition filter.

use chrono::{DateTime, Duration, DurationRound, Utc};
use deskbind_core::wire::{CallDirection, CallRecordUpload, CallResult};
use deskbind_mobile::AppClient;
use serde_json::json;

use crate::call_outcomes::{allow_private_calls, disposition, send};
use crate::helpers::{TestApp, spawn_app};
use crate::retention::{call_ids, purge_at};

const DAY: i64 = 24 * 3600;

/// Per user: (user id, calls, answered, talk seconds).
type UserSums = Vec<(String, u64, u64, u64)>;
/// The sums, and each row's "user day".
type Stats = (UserSums, Vec<String>);

fn upload(
    call_id: &str,
    started: DateTime<Utc>,
    direction: CallDirection,
    result: Option<CallResult>,
    talk_secs: i64,
) -> CallRecordUpload {
    let answered = result == Some(CallResult::Answered);
    CallRecordUpload {
        call_id: call_id.into(),
        direction,
        local_number: None,
        remote_number: "+4930555000".into(),
        started_at: started,
        answered_at: answered.then(|| started + Duration::seconds(5)),
        ended_at: result.map(|_| started + Duration::seconds(5 + talk_secs)),
        duration_secs: result.map(|_| talk_secs),
        result,
        dial_id: None,
    }
}

/// Per user: (calls, answered, talk seconds) summed over the days, and
/// the days listed.
async fn stats(app: &TestApp, who: &AppClient, query: &str) -> Stats {
    let (status, body) = send(app, who, "GET", &format!("/v1/stats/calls?{query}"), None).await;
    assert_eq!(status, 200, "{body}");
    let mut per_user: UserSums = Vec::new();
    let mut days = Vec::new();
    for row in body["items"].as_array().unwrap() {
        let user = row["user_id"].as_str().unwrap().to_owned();
        let n = |f: &str| row[f].as_u64().unwrap();
        days.push(format!("{user} {}", row["day"].as_str().unwrap()));
        match per_user.iter_mut().find(|(u, ..)| *u == user) {
            Some(t) => {
                t.1 += n("calls");
                t.2 += n("answered");
                t.3 += n("talk_secs");
            }
            None => per_user.push((user, n("calls"), n("answered"), n("talk_secs"))),
        }
    }
    (per_user, days)
}

/// Moves every binding's start three days back, so the calls below (up to
/// thirty hours old) have their user.
async fn backdate_bindings_days(app: &TestApp) {
    app.execute(format!(
        "UPDATE bindings SET started_at = started_at - {}",
        3 * DAY * 1_000_000
    ))
    .await;
}

fn enc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .replace('+', "%2B")
}

#[tokio::test]
async fn statistics_stay_the_same_after_the_purge_deletes_the_calls() {
    let app = spawn_app().await;
    let (ann_user, ann, _, ann_phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    let (bob_user, _bob, _, bob_phone) = app.bound_salesperson("bob@acme.test", "+4930222").await;
    backdate_bindings_days(&app).await;
    let (ann_id, bob_id) = (ann_user.id.to_string(), bob_user.id.to_string());
    let quarter = Duration::minutes(15);
    let base = Utc::now().duration_trunc(quarter).unwrap() - Duration::hours(30);
    // Ann: two answered calls a day apart, a busy one, one still without
    // a result (it gets one below); Bob: one missed call.
    let uploaded = ann_phone
        .upload_call_records(&[
            upload(
                "a1",
                base,
                CallDirection::Outbound,
                Some(CallResult::Answered),
                60,
            ),
            upload(
                "a2",
                base + Duration::minutes(20),
                CallDirection::Outbound,
                Some(CallResult::Busy),
                0,
            ),
            upload(
                "a3",
                base + Duration::hours(24),
                CallDirection::Inbound,
                Some(CallResult::Answered),
                90,
            ),
            upload(
                "a4",
                base + Duration::hours(25),
                CallDirection::Outbound,
                None,
                0,
            ),
        ])
        .await
        .unwrap();
    let id_of = |i: usize| uploaded.results[i].id.unwrap().to_string();
    bob_phone
        .upload_call_records(&[upload(
            "b1",
            base + Duration::hours(2),
            CallDirection::Missed,
            None,
            0,
        )])
        .await
        .unwrap();
    // a4 ends: the update moves it from "no result" to answered.
    ann_phone
        .upload_call_records(&[upload(
            "a4",
            base + Duration::hours(25),
            CallDirection::Outbound,
            Some(CallResult::Answered),
            30,
        )])
        .await
        .unwrap();
    // Dispositions: a1 interested and then private, a3 interested.
    let interested = disposition(&app, "interested").await;
    allow_private_calls(&app).await;
    for (i, body) in [
        (0, json!({ "disposition_id": interested })),
        (0, json!({ "private": true })),
        (2, json!({ "disposition_id": interested })),
    ] {
        let (status, body) = send(
            &app,
            &ann,
            "PATCH",
            &format!("/v1/calls/{}", id_of(i)),
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    // Whole quarter hours: the window the rollups answer alone.
    let window = format!(
        "from={}&until={}",
        enc(base - Duration::hours(1)),
        enc(base + Duration::hours(26))
    );
    let queries = [
        window.clone(),
        format!("{window}&tz=Asia/Kathmandu"),
        format!("{window}&direction=outbound"),
        format!("{window}&result=answered"),
        format!("{window}&user_id={ann_id}"),
        format!("{window}&disposition_id={interested}"),
        String::new(),
    ];
    let mut before = Vec::new();
    for q in &queries {
        before.push(stats(&app, &app.admin, q).await);
    }
    let own_interested = stats(&app, &ann, &format!("{window}&disposition_id={interested}")).await;

    let ann_all = (ann_id.clone(), 4, 3, 180);
    let bob_all = (bob_id.clone(), 1, 0, 0);
    assert_eq!(before[0].0, sorted(vec![ann_all.clone(), bob_all.clone()]));
    // Kathmandu is 5:45 ahead: the days split on its quarter hours.
    assert!(
        before[1].1.iter().all(|d| d.len() == ann_id.len() + 11),
        "{:?}",
        before[1].1
    );
    assert_eq!(before[1].0, before[0].0);
    assert_eq!(before[2].0, vec![(ann_id.clone(), 3, 2, 90)]);
    assert_eq!(before[3].0, vec![(ann_id.clone(), 3, 3, 180)]);
    assert_eq!(before[4].0, vec![ann_all]);
    // Ann's private call hides its disposition from the admin, not from her.
    assert_eq!(before[5].0, vec![(ann_id.clone(), 1, 1, 90)]);
    assert_eq!(own_interested.0, vec![(ann_id.clone(), 2, 2, 150)]);
    assert_eq!(
        before[6].0, before[0].0,
        "the default window holds every call"
    );

    app.admin.set_retention(Some(30), None).await.unwrap();
    let report = purge_at(&app, 32 * DAY).await;
    assert_eq!(report.call_records, 5);
    assert!(call_ids(&app.admin).await.is_empty());
    assert_eq!(app.count("call_records").await, 0);

    for (q, expected) in queries.iter().zip(&before) {
        assert_eq!(&stats(&app, &app.admin, q).await, expected, "stats?{q}");
    }
    assert_eq!(
        stats(&app, &ann, &format!("{window}&disposition_id={interested}")).await,
        own_interested
    );
    // Filters the rollups do not keep can only count stored calls.
    let by_number = stats(&app, &app.admin, &format!("{window}&number=555000")).await;
    assert!(by_number.0.is_empty(), "{by_number:?}");
}

fn sorted(mut rows: UserSums) -> UserSums {
    rows.sort();
    rows
}

/// A window edge inside a quarter hour counts that part from the stored
/// calls, exactly: a call before the edge is not counted.
#[tokio::test]
async fn a_window_edge_inside_a_quarter_hour_counts_exactly() {
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings_days(&app).await;
    let base = Utc::now().duration_trunc(Duration::minutes(15)).unwrap() - Duration::hours(5);
    phone
        .upload_call_records(&[
            upload(
                "e1",
                base + Duration::minutes(2),
                CallDirection::Outbound,
                Some(CallResult::Answered),
                10,
            ),
            upload(
                "e2",
                base + Duration::minutes(7),
                CallDirection::Outbound,
                Some(CallResult::Answered),
                20,
            ),
            upload(
                "e3",
                base + Duration::minutes(40),
                CallDirection::Outbound,
                Some(CallResult::Answered),
                40,
            ),
        ])
        .await
        .unwrap();
    let count = |rows: &Stats| {
        rows.0
            .iter()
            .map(|r| (r.1, r.3))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    let from_inside = stats(
        &app,
        &app.admin,
        &format!(
            "from={}&until={}",
            enc(base + Duration::minutes(5)),
            enc(base + Duration::minutes(41))
        ),
    )
    .await;
    assert_eq!(count(&from_inside), (2, 60));
    let until_inside = stats(
        &app,
        &app.admin,
        &format!(
            "from={}&until={}",
            enc(base),
            enc(base + Duration::minutes(5))
        ),
    )
    .await;
    assert_eq!(count(&until_inside), (1, 10));
}

/// Phones uploading into the same quarter hour at once, while their user
/// edits dispositions, leave sums equal to the stored calls.
#[tokio::test]
async fn racing_uploads_and_edits_sum_exactly() {
    let app = spawn_app().await;
    let (_, ann, _, ann_phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    let (_, _, _, bob_phone) = app.bound_salesperson("bob@acme.test", "+4930222").await;
    backdate_bindings_days(&app).await;
    let base = Utc::now().duration_trunc(Duration::minutes(15)).unwrap() - Duration::hours(3);
    let first = ann_phone
        .upload_call_records(&[upload(
            "seed",
            base,
            CallDirection::Outbound,
            Some(CallResult::Answered),
            7,
        )])
        .await
        .unwrap();
    let seed = first.results[0].id.unwrap().to_string();
    let interested = disposition(&app, "interested").await;
    let not_interested = disposition(&app, "not_interested").await;
    let mut tasks = Vec::new();
    for round in 0..8 {
        for (who, phone) in [("a", ann_phone.clone()), ("b", bob_phone.clone())] {
            tasks.push(tokio::spawn(async move {
                let batch: Vec<CallRecordUpload> = (0..5)
                    .map(|i| {
                        upload(
                            &format!("{who}{round}-{i}"),
                            base + Duration::seconds(i * 60 + round),
                            CallDirection::Outbound,
                            Some(CallResult::Answered),
                            10,
                        )
                    })
                    .collect();
                phone.upload_call_records(&batch).await.unwrap();
            }));
        }
    }
    let edits = (0..6).map(|round| {
        let pick = if round % 2 == 0 {
            &interested
        } else {
            &not_interested
        };
        let path = format!("/v1/calls/{seed}");
        let (app, ann) = (&app, &ann);
        async move {
            send(
                app,
                ann,
                "PATCH",
                &path,
                Some(json!({ "disposition_id": pick })),
            )
            .await
            .0
        }
    });
    let (_, edit_results) = tokio::join!(
        async {
            for t in tasks {
                t.await.unwrap();
            }
        },
        futures_util::future::join_all(edits)
    );
    assert!(
        edit_results.iter().all(|status| *status == 200),
        "{edit_results:?}"
    );
    let window = format!(
        "from={}&until={}",
        enc(base),
        enc(base + Duration::minutes(15))
    );
    let (rows, _) = stats(&app, &app.admin, &window).await;
    let total = rows
        .iter()
        .fold((0, 0, 0), |a, r| (a.0 + r.1, a.1 + r.2, a.2 + r.3));
    assert_eq!(total, (81, 81, 80 * 10 + 7));
    // The seed call counts under exactly one disposition: the one its
    // stored annotation has after the last edit committed.
    let (_, call) = send(&app, &ann, "GET", &format!("/v1/calls/{seed}"), None).await;
    let kept = call["disposition"]["id"].as_str().unwrap().to_owned();
    for (d, expected) in [
        (&interested, u64::from(kept == interested)),
        (&not_interested, u64::from(kept == not_interested)),
    ] {
        let (rows, _) = stats(&app, &app.admin, &format!("{window}&disposition_id={d}")).await;
        assert_eq!(rows.iter().map(|r| r.1).sum::<u64>(), expected, "{d}");
    }
}

/// An edit of a call's disposition racing the upload that gives the call
/// its result: the rollups end where the stored calls are (the stored
/// calls, read through a filter the rollups cannot answer, are the oracle).
#[tokio::test]
async fn edits_racing_result_uploads_leave_rollups_equal_to_the_calls() {
    let app = spawn_app().await;
    let (_, ann, _, phone) = app.bound_salesperson("ann@acme.test", "+4930111").await;
    backdate_bindings_days(&app).await;
    let base = Utc::now().duration_trunc(Duration::minutes(15)).unwrap() - Duration::hours(4);
    const CALLS: i64 = 24;
    let at = |i: i64| base + Duration::seconds(i * 30);
    let pending: Vec<CallRecordUpload> = (0..CALLS)
        .map(|i| upload(&format!("r{i}"), at(i), CallDirection::Outbound, None, 0))
        .collect();
    let stored = phone.upload_call_records(&pending).await.unwrap();
    let interested = disposition(&app, "interested").await;
    let edits = stored.results.iter().map(|r| {
        let path = format!("/v1/calls/{}", r.id.unwrap());
        let (app, ann, interested) = (&app, &ann, &interested);
        async move {
            send(
                app,
                ann,
                "PATCH",
                &path,
                Some(json!({ "disposition_id": interested })),
            )
            .await
            .0
        }
    });
    let results = (0..CALLS).map(|i| {
        let phone = phone.clone();
        async move {
            let done = upload(
                &format!("r{i}"),
                at(i),
                CallDirection::Outbound,
                Some(CallResult::Answered),
                20,
            );
            phone.upload_call_records(&[done]).await.unwrap();
        }
    });
    let (statuses, _) = tokio::join!(
        futures_util::future::join_all(edits),
        futures_util::future::join_all(results)
    );
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let window = format!(
        "from={}&until={}",
        enc(base),
        enc(base + Duration::hours(1))
    );
    for filter in [
        "",
        "&result=answered",
        &format!("&disposition_id={interested}"),
    ] {
        let rolled = stats(&app, &app.admin, &format!("{window}{filter}")).await;
        // Every call has a duration now, so this filter keeps them all and
        // sends the read to the stored calls.
        let stored = stats(
            &app,
            &app.admin,
            &format!("{window}{filter}&min_duration_secs=0"),
        )
        .await;
        assert_eq!(rolled, stored, "filter {filter:?}");
        assert_eq!(rolled.0[0].1, CALLS as u64, "filter {filter:?}");
    }
}
