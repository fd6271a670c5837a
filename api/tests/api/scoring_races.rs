//! Scoring under concurrency (docs/scoring.md, "Recompute"): call records
//! ingested for a contact while the recompute the worker runs walks the
//! organisation leave a score equal to the contact's ledger under the
//! version in force, with every award once; two admins replacing the rules
//! from the same version get one 200 and one 409, and one recompute.

use std::sync::Arc;

use deskbind_core::time::now_micros;
use deskbind_core::usecases::score_recompute;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::contact_http::{Http, created, id};
use crate::helpers::{TestApp, spawn_app};
use crate::records::backdate_bindings;
use crate::scoring::call;

/// Version 2: 3 per outbound call, 10 at every 4th call.
fn rules_v2() -> Value {
    json!({
        "version": 1,
        "total_cap": null,
        "groups": [],
        "rules": [
            {"key": "placed", "label": "Placed", "trigger": "call_placed",
             "repeat": "each", "points": 3},
            {"key": "every_4", "label": "Every 4 calls", "trigger": "count_reached",
             "counter": "calls", "threshold": 4, "repeat": "each", "points": 10}
        ]
    })
}

/// Contacts whose score is not the sum of their ledger under the version
/// in force (or was built under another version).
async fn inconsistent_contacts(app: &TestApp, version: i64) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM contacts c WHERE c.score_version IS NULL \
         OR c.score_version <> {version} OR c.score <> (SELECT COALESCE(SUM(e.points), 0) \
         FROM score_events e WHERE e.contact_id = c.id AND e.rule_version = c.score_version)"
    ))
    .await
}

/// Ledger keys written more than once, and awards of one call under one
/// rule written more than once (under different trigger keys).
async fn duplicate_awards(app: &TestApp) -> i64 {
    app.scalar(
        "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM score_events \
         GROUP BY contact_id, rule_version, rule_key, trigger_key HAVING COUNT(*) > 1) d"
            .into(),
    )
    .await
        + app
            .scalar(
                "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM score_events \
                 WHERE rule_key = 'placed' \
                 GROUP BY contact_id, rule_version, call_record_id HAVING COUNT(*) > 1) d"
                    .into(),
            )
            .await
}

#[tokio::test]
async fn ingest_during_a_recompute_leaves_every_score_equal_to_its_ledger() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (_, _, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let target = created(
        &admin,
        json!({"name": "Target", "numbers": ["+4930555000"]}),
    )
    .await;
    // Enough contacts that the recompute (2 per batch) takes many batches,
    // some before the target's id and some after it.
    for i in 1..24 {
        created(
            &admin,
            json!({"name": format!("C{i}"), "numbers": [format!("+49305551{i:02}")]}),
        )
        .await;
    }
    let history: Vec<_> = (0..6)
        .map(|i| call(&format!("h{i}"), "+4930555000", 110 - i, true, false))
        .collect();
    device.upload_call_records(&history).await.unwrap();

    let (status, replaced) = admin.send("PUT", "/v1/score-rules", Some(rules_v2())).await;
    assert_eq!(status, 200, "{replaced}");

    let start = Arc::new(Barrier::new(2));
    let ingest = tokio::spawn({
        let start = start.clone();
        async move {
            start.wait().await;
            for batch in 0..8 {
                // The target and a contact the recompute may not have reached.
                let calls = vec![
                    call(
                        &format!("n{batch}a"),
                        "+4930555000",
                        100 - batch,
                        true,
                        true,
                    ),
                    call(
                        &format!("n{batch}b"),
                        "+4930555000",
                        100 - batch,
                        true,
                        false,
                    ),
                    call(
                        &format!("n{batch}c"),
                        "+4930555000",
                        90 - batch,
                        true,
                        false,
                    ),
                    call(
                        &format!("n{batch}d"),
                        "+4930555123",
                        90 - batch,
                        true,
                        false,
                    ),
                ];
                device.upload_call_records(&calls).await.unwrap();
            }
        }
    });
    let recompute = tokio::spawn({
        let (db, start) = (app.db.clone(), start.clone());
        async move {
            start.wait().await;
            let mut batches = 0;
            // The worker's own batch step, two contacts at a time.
            while score_recompute::run_once(&db, "race-worker".into(), now_micros(), 2)
                .await
                .unwrap()
            {
                batches += 1;
            }
            batches
        }
    });
    ingest.await.unwrap();
    let batches = recompute.await.unwrap();
    assert!(batches >= 12, "the recompute ran in {batches} batches");

    let (status, progress) = admin
        .get(&format!(
            "/v1/score-recomputes/{}",
            replaced["recompute"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, progress["state"].as_str()), (200, Some("done")));
    assert_eq!(inconsistent_contacts(&app, 2).await, 0);
    assert_eq!(duplicate_awards(&app).await, 0);
    // 6 + 8×3 = 30 outbound calls: 30×3, and 7 fourth calls × 10.
    let (_, contact) = admin.get(&format!("/v1/contacts/{}", id(&target))).await;
    assert_eq!(contact["score"], 160, "{contact}");
}

#[tokio::test]
async fn two_admins_replacing_the_same_version_get_one_200_and_one_409() {
    let app = spawn_app().await;
    let (_, second) = app
        .user("second@acme.test", deskbind_core::wire::Role::Admin)
        .await;
    let admins = [
        Http::of(&app, &app.admin).await,
        Http::of(&app, &second).await,
    ];
    let start = Arc::new(Barrier::new(2));
    let tasks: Vec<_> = admins
        .into_iter()
        .map(|admin| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                admin.send("PUT", "/v1/score-rules", Some(rules_v2())).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{}", answers[0].1);
    assert_eq!(answers[0].1["rules"]["version"], 2);
    assert_eq!(
        (answers[1].0, answers[1].1["code"].as_str()),
        (409, Some("score_rules_changed")),
        "{}",
        answers[1].1
    );
    assert_eq!(app.count("score_recomputes").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'score_recompute'".into())
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM score_rule_sets WHERE version = 2".into())
            .await,
        1
    );
}
