//! Incremental scoring (docs/scoring.md, "Incremental scoring"): a contact
//! with many calls, scored batch by batch at ingest (with replays, answered
//! updates, a group cap, count and once rules, and a number gained with its
//! own calls), has the score and per-rule totals a full recompute gives.

use std::collections::BTreeMap;

use chrono::Duration;
use deskbind_core::wire::CallRecordUpload;
use serde_json::{Value, json};

use crate::contact_http::{Http, created, id};
use crate::helpers::spawn_app;
use crate::records::backdate_bindings;
use crate::scoring::{call, ledger, run_recomputes, score, upload};

const NUMBER: &str = "+4930555000";
const GAINED: &str = "+4930555999";

/// A call `secs_ago`, as `scoring::call` makes them.
fn at(id: &str, number: &str, secs_ago: i64, outbound: bool, answered: bool) -> CallRecordUpload {
    let mut c = call(id, number, 0, outbound, answered);
    let shift = Duration::seconds(secs_ago);
    c.started_at -= shift;
    c.answered_at = c.answered_at.map(|t| t - shift);
    c.ended_at = c.ended_at.map(|t| t - shift);
    c
}

fn rules(version: i64) -> Value {
    json!({
        "version": version,
        "total_cap": 100000,
        "groups": [{"name": "on_air", "cap": 500}],
        "rules": [
            {"key": "placed", "label": "Placed", "trigger": "call_placed",
             "repeat": "each", "points": 5},
            {"key": "answered", "label": "On air", "trigger": "call_answered",
             "repeat": "each", "points": 20, "group": "on_air"},
            {"key": "inbound", "label": "Inbound", "trigger": "inbound_call",
             "repeat": "each", "points": 2},
            {"key": "first_inbound", "label": "First inbound", "trigger": "inbound_call",
             "repeat": "once", "points": 50},
            {"key": "every_50", "label": "Every 50", "trigger": "count_reached",
             "counter": "calls", "threshold": 50, "repeat": "each", "points": 30},
            {"key": "past_100", "label": "Past 100", "trigger": "count_reached",
             "counter": "calls", "threshold": 101, "repeat": "once", "points": 1000},
            {"key": "ten_inbound", "label": "Ten inbound", "trigger": "count_reached",
             "counter": "inbound", "threshold": 10, "repeat": "once", "points": 7}
        ]
    })
}

/// Per rule: how many rows and their points.
fn totals(rows: &[Value]) -> BTreeMap<String, (usize, i64)> {
    let mut out = BTreeMap::new();
    for row in rows {
        let entry = out
            .entry(row["rule_key"].as_str().unwrap().to_owned())
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += row["points"].as_i64().unwrap();
    }
    out
}

#[tokio::test]
async fn ingest_batch_by_batch_scores_what_a_full_recompute_scores() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (_, _, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let (status, body) = admin.send("PUT", "/v1/score-rules", Some(rules(1))).await;
    assert_eq!(status, 200, "{body}");
    run_recomputes(&app).await;
    let contact = created(&admin, json!({"name": "Busy", "numbers": [NUMBER]})).await;

    // 240 calls over 80 minutes, in batches of 9; every 5th batch is sent
    // twice, and some calls are first reported ringing, then answered.
    let history: Vec<CallRecordUpload> = (0..240)
        .map(|i| {
            at(
                &format!("c{i}"),
                NUMBER,
                4800 - i * 20,
                i % 3 != 0,
                i % 4 == 0,
            )
        })
        .collect();
    for (n, batch) in history.chunks(9).enumerate() {
        let ringing: Vec<CallRecordUpload> = batch
            .iter()
            .filter(|c| c.answered_at.is_some() && n % 2 == 0)
            .map(|c| CallRecordUpload {
                answered_at: None,
                ended_at: None,
                result: None,
                ..c.clone()
            })
            .collect();
        if !ringing.is_empty() {
            upload(&device, &ringing).await;
        }
        upload(&device, batch).await;
        if n % 5 == 0 {
            upload(&device, batch).await;
        }
    }
    // Calls with a number the contact gains afterwards, then one more.
    let gained: Vec<CallRecordUpload> = (0..12)
        .map(|i| at(&format!("g{i}"), GAINED, 200 - i, true, false))
        .collect();
    upload(&device, &gained).await;
    let (status, body) = admin
        .patch(
            &format!("/v1/contacts/{}", id(&contact)),
            json!({"numbers": [NUMBER, GAINED]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    upload(&device, &[at("last", NUMBER, 100, true, true)]).await;

    let incremental = score(&admin, &contact).await;
    let rows = ledger(&admin, &contact).await;
    assert_eq!(
        rows.iter()
            .map(|r| r["points"].as_i64().unwrap())
            .sum::<i64>(),
        incremental
    );
    // 253 calls: 173 outbound (161 + 12 gained), 61 on air capped at 500,
    // 80 inbound, 5 × every 50, past 100, the first and tenth inbound.
    assert_eq!(
        incremental,
        173 * 5 + 500 + 80 * 2 + 50 + 5 * 30 + 1000 + 7,
        "{:?}",
        totals(&rows)
    );

    // The same rules again: a full recompute from the whole history.
    let (status, body) = admin.send("PUT", "/v1/score-rules", Some(rules(2))).await;
    assert_eq!(status, 200, "{body}");
    run_recomputes(&app).await;
    let full_rows = ledger(&admin, &contact).await;
    assert!(full_rows.iter().all(|r| r["rule_version"] == 3));
    assert_eq!(score(&admin, &contact).await, incremental);
    assert_eq!(totals(&full_rows), totals(&rows));
}
