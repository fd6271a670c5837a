//! Contact scoring (docs/scoring.md): the seed rules' totals over scripted
//! call histories, the ledger explaining each, replays, answered updates,
//! blocked callers, caps, a rule change driven through its recompute job,
//! and the routes' roles and tenancy.

use chrono::{Duration, Utc};
use deskbind_core::wire::{CallDirection, CallRecordUpload, CallResult, Role};
use deskbind_mobile::PhoneClient;
use serde_json::{Value, json};

use crate::contact_http::{Http, created, own_visibility};
use crate::helpers::{TestApp, spawn_app};
use crate::records::backdate_bindings;

/// A finished call with `number`, `minutes_ago`, outbound or inbound,
/// answered or not (an unanswered inbound call is missed).
pub fn call(
    id: &str,
    number: &str,
    minutes_ago: i64,
    outbound: bool,
    answered: bool,
) -> CallRecordUpload {
    let started = Utc::now() - Duration::minutes(minutes_ago);
    CallRecordUpload {
        call_id: id.into(),
        direction: match (outbound, answered) {
            (true, _) => CallDirection::Outbound,
            (false, true) => CallDirection::Inbound,
            (false, false) => CallDirection::Missed,
        },
        local_number: None,
        remote_number: number.into(),
        started_at: started,
        answered_at: answered.then(|| started + Duration::seconds(5)),
        ended_at: Some(started + Duration::seconds(65)),
        duration_secs: None,
        result: Some(if answered {
            CallResult::Answered
        } else {
            CallResult::NoAnswer
        }),
        dial_id: None,
    }
}

pub async fn upload(device: &PhoneClient, calls: &[CallRecordUpload]) {
    for chunk in calls.chunks(40) {
        device.upload_call_records(chunk).await.unwrap();
    }
}

pub async fn score(http: &Http, contact: &Value) -> i64 {
    let (status, body) = http
        .get(&format!("/v1/contacts/{}", contact["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200, "{body}");
    body["score"].as_i64().unwrap()
}

/// Every ledger row of the contact, following the pages.
pub async fn ledger(http: &Http, contact: &Value) -> Vec<Value> {
    let id = contact["id"].as_str().unwrap();
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/contacts/{id}/score-events?limit=50&cursor={c}"),
            None => format!("/v1/contacts/{id}/score-events?limit=50"),
        };
        let (status, page) = http.get(&path).await;
        assert_eq!(status, 200, "{page}");
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return rows,
        }
    }
}

fn sum(rows: &[Value]) -> i64 {
    rows.iter().map(|r| r["points"].as_i64().unwrap()).sum()
}

fn count_of(rows: &[Value], rule: &str) -> usize {
    rows.iter().filter(|r| r["rule_key"] == rule).count()
}

async fn setup(app: &TestApp) -> (Http, PhoneClient) {
    let admin = Http::of(app, &app.admin).await;
    let (_, _, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(app).await;
    (admin, device)
}

/// 101 outbound calls of which 11 answered: 101×5 + 11×20 + 1000 + 100.
fn busy_history(number: &str) -> Vec<CallRecordUpload> {
    (0..101)
        .map(|i| call(&format!("b{i}"), number, 110 - i, true, i < 11))
        .collect()
}

/// 5 outbound calls answered and 96 missed inbound ones: 5×5 + 5×20 + 1000.
fn inbound_history(number: &str) -> Vec<CallRecordUpload> {
    (0..101)
        .map(|i| call(&format!("i{i}"), number, 110 - i, i < 5, i < 5))
        .collect()
}

pub async fn run_recomputes(app: &TestApp) -> usize {
    deskbind_worker::run_score_recomputes_once(&app.db, "test-worker", usize::MAX)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_seed_rules_give_the_seed_totals_and_the_ledger_explains_them() {
    let app = spawn_app().await;
    let (admin, device) = setup(&app).await;
    let busy = created(&admin, json!({"name": "Busy", "numbers": ["+4930555000"]})).await;
    let inbound = created(
        &admin,
        json!({"name": "Inbound", "numbers": ["+4930555001"]}),
    )
    .await;
    upload(&device, &busy_history("+4930555000")).await;
    upload(&device, &inbound_history("+4930555001")).await;

    assert_eq!(score(&admin, &busy).await, 1825);
    let rows = ledger(&admin, &busy).await;
    assert_eq!(sum(&rows), 1825);
    assert_eq!(
        (
            count_of(&rows, "call_placed"),
            count_of(&rows, "call_answered"),
            count_of(&rows, "past_100_calls"),
            count_of(&rows, "past_10_on_air"),
        ),
        (101, 11, 1, 1)
    );
    assert_eq!(rows[0]["label"], "Call placed");
    assert_eq!(score(&admin, &inbound).await, 1125);
    assert_eq!(sum(&ledger(&admin, &inbound).await), 1125);

    // The console's contact page says why: points per rule.
    let console = crate::console_live::Console::sign_in(&app.base, "admin@acme.test").await;
    let (status, page) = console
        .get(&format!("/contacts/{}", busy["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("<strong data-score>1825</strong>"), "{page}");
    for (rule, times, points) in [("Call placed", 101, 505), ("Call on air", 11, 220)] {
        let line = format!(
            "<tr data-rule=\"{rule}\"><td>{rule}</td><td class=\"num\">{times}</td><td class=\"num\">{points}</td></tr>"
        );
        assert!(page.contains(&line), "{line} in {page}");
    }

    // A replay of every record scores nothing twice.
    upload(&device, &busy_history("+4930555000")).await;
    assert_eq!(score(&admin, &busy).await, 1825);
    assert_eq!(ledger(&admin, &busy).await.len(), rows.len());
}

#[tokio::test]
async fn an_answered_update_adds_only_the_answered_rule() {
    let app = spawn_app().await;
    let (admin, device) = setup(&app).await;
    let contact = created(&admin, json!({"name": "Ann", "numbers": ["+4930555000"]})).await;
    let mut ringing = call("u1", "+4930555000", 5, true, false);
    ringing.ended_at = None;
    ringing.result = None;
    upload(&device, &[ringing]).await;
    assert_eq!(score(&admin, &contact).await, 5);
    upload(&device, &[call("u1", "+4930555000", 5, true, true)]).await;
    let rows = ledger(&admin, &contact).await;
    assert_eq!(score(&admin, &contact).await, 25);
    assert_eq!(
        (
            count_of(&rows, "call_placed"),
            count_of(&rows, "call_answered")
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn blocked_callers_accrue_nothing() {
    let app = spawn_app().await;
    let (admin, device) = setup(&app).await;
    let contact = created(&admin, json!({"name": "Spam", "numbers": ["+4930555009"]})).await;
    let (status, entry) = admin
        .post(
            "/v1/blocklist",
            json!({"kind": "block", "scope": "organisation", "pattern": "number",
                   "value": "+4930555009", "label": "spam"}),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    upload(
        &device,
        &[
            call("s1", "+4930555009", 5, false, true),
            call("s2", "+4930555009", 4, false, false),
        ],
    )
    .await;
    assert_eq!(score(&admin, &contact).await, 0);
    assert!(ledger(&admin, &contact).await.is_empty());
}

#[tokio::test]
async fn a_rule_change_recomputes_every_contact_and_caps_hold() {
    let app = spawn_app().await;
    let (admin, device) = setup(&app).await;
    let (_, sam_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let sales = Http::of(&app, &sam_client).await;
    let busy = created(&admin, json!({"name": "Busy", "numbers": ["+4930555000"]})).await;
    let quiet = created(&admin, json!({"name": "Quiet", "numbers": ["+4930555002"]})).await;
    upload(&device, &busy_history("+4930555000")).await;
    assert_eq!(score(&admin, &busy).await, 1825);

    // Every role reads the rules; only admins replace them.
    let (status, rules) = sales.get("/v1/score-rules").await;
    assert_eq!(
        (status, rules["version"].as_i64()),
        (200, Some(1)),
        "{rules}"
    );
    assert_eq!(rules["rules"].as_array().unwrap().len(), 4);
    let new_rules = json!({
        "version": 1,
        "total_cap": 1000,
        "groups": [{"name": "calls", "cap": 300}],
        "rules": [
            {"key": "call_placed", "label": "Call placed", "trigger": "call_placed",
             "repeat": "each", "points": 10, "group": "calls"},
            {"key": "call_answered", "label": "Call on air", "trigger": "call_answered",
             "repeat": "each", "points": 20},
            {"key": "every_50", "label": "Every 50 calls", "trigger": "count_reached",
             "counter": "calls", "threshold": 50, "repeat": "each", "points": 7}
        ]
    });
    let (status, refused) = sales
        .send("PUT", "/v1/score-rules", Some(new_rules.clone()))
        .await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let (status, replaced) = admin
        .send("PUT", "/v1/score-rules", Some(new_rules.clone()))
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["rules"]["version"], 2);
    assert_eq!(replaced["recompute"]["state"], "running");
    let recompute = replaced["recompute"]["id"].as_str().unwrap().to_owned();
    // A second admin still holding version 1 is refused, not overwritten.
    let (status, stale) = admin.send("PUT", "/v1/score-rules", Some(new_rules)).await;
    assert_eq!(
        (status, stale["code"].as_str()),
        (409, Some("score_rules_changed"))
    );

    assert!(run_recomputes(&app).await >= 1);
    let (status, progress) = sales
        .get(&format!("/v1/score-recomputes/{recompute}"))
        .await;
    assert_eq!(status, 200, "{progress}");
    assert_eq!(progress["state"], "done");
    assert_eq!(
        (
            progress["contacts_done"].as_i64(),
            progress["contacts_total"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(run_recomputes(&app).await, 0, "the job finished");

    // 101 calls × 10 capped at 300 by the group, + 11 × 20 + 2 × 7 = 534.
    let rows = ledger(&admin, &busy).await;
    assert_eq!(score(&admin, &busy).await, 534);
    assert_eq!(sum(&rows), 534);
    assert!(rows.iter().all(|r| r["rule_version"] == 2));
    assert_eq!(score(&admin, &quiet).await, 0);

    // New calls keep scoring under the new rules; the total cap holds.
    let more: Vec<_> = (0..40)
        .map(|i| call(&format!("m{i}"), "+4930555000", 3, true, true))
        .collect();
    upload(&device, &more).await;
    assert_eq!(score(&admin, &busy).await, 1000);
    assert_eq!(sum(&ledger(&admin, &busy).await), 1000);

    let (status, audit) = admin
        .get("/v1/audit-events?action=score_rules.replaced")
        .await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["items"][0]["details"]["version"], 2);
}

#[tokio::test]
async fn bad_rule_sets_are_refused_with_the_field() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let cases = [
        (
            json!({"version": 1, "rules": [{"key": "n", "label": "N", "trigger": "count_reached",
                   "repeat": "once", "points": 5, "counter": "calls"}]}),
            422,
            "invalid_score_rule",
            Some("rules[0].threshold"),
        ),
        (
            json!({"version": 1, "rules": [{"key": "p", "label": "P", "trigger": "call_placed",
                   "repeat": "each", "points": 5000000}]}),
            422,
            "invalid_score_rule",
            Some("rules[0].points"),
        ),
        (
            json!({"version": 1, "rules": (0..101).map(|i| json!({"key": format!("r{i}"),
                   "label": "R", "trigger": "call_placed", "repeat": "each", "points": 1}))
                   .collect::<Vec<_>>()}),
            422,
            "too_many_score_rules",
            Some("rules"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, problem) = admin.send("PUT", "/v1/score-rules", Some(body)).await;
        assert_eq!(
            (got, problem["code"].as_str(), problem["field"].as_str()),
            (status, Some(code), field),
            "{problem}"
        );
    }
    let (_, rules) = admin.get("/v1/score-rules").await;
    assert_eq!(rules["version"], 1, "nothing was stored");
}

#[tokio::test]
async fn the_ledger_has_the_contacts_visibility() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let contact = created(&admin, json!({"name": "Owned", "numbers": ["+4930555000"]})).await;
    let path = format!(
        "/v1/contacts/{}/score-events",
        contact["id"].as_str().unwrap()
    );
    let (_, kim_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let kim = Http::of(&app, &kim_client).await;
    assert_eq!(kim.get(&path).await.0, 200);
    own_visibility(&admin).await;
    let (status, problem) = kim.get(&path).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    let intruder = Http::of(&app, &app.other_org_admin().await).await;
    assert_eq!(intruder.get(&path).await.0, 404);
}
