//! Call-list tasks imported as CSV (`POST /v1/call-lists/{id}/tasks` with
//! `text/csv`, docs/call-lists.md "Import"): a CSV row stores exactly the
//! task its JSON twin stores, other columns land in the payload, a file of
//! the wrong shape is refused whole with nothing written, a cell that
//! cannot be read rejects its row alone, and the same file sent again
//! changes nothing.

use deskbind_core::wire::{CallTask, ImportCallTask, Role, TimeWindow};
use deskbind_mobile::PageQuery;
use serde_json::{Value, json};

use crate::call_lists::list_named;
use crate::contact_http::Http;
use crate::helpers::{TestApp, spawn_app};

async fn tasks_of(app: &TestApp, list: deskbind_core::ids::CallListId) -> Vec<CallTask> {
    app.admin
        .list_call_tasks(list, &PageQuery::default(), None)
        .await
        .unwrap()
        .items
}

fn statuses(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

/// What a stored task is, without what differs between two imports (a
/// task without `due_at` is due from its import).
fn essence(t: &CallTask) -> Value {
    json!({
        "seq": t.seq, "external_id": t.external_id, "number": t.number,
        "number_e164": t.number_e164, "name": t.name, "payload": t.payload,
        "priority": t.priority, "window": t.window, "assignee_id": t.assignee_id,
        "state": t.state, "state_reason": t.state_reason,
    })
}

#[tokio::test]
async fn csv_rows_store_what_their_json_twins_store_and_a_resend_changes_nothing() {
    let app = spawn_app().await;
    let (ann, _) = app.user("ann@acme.test", Role::Salesperson).await;
    let admin = Http::of(&app, &app.admin).await;
    let by_json = app
        .admin
        .create_call_list(&list_named("JSON", vec![]))
        .await
        .unwrap();
    let by_csv = app
        .admin
        .create_call_list(&list_named("CSV", vec![]))
        .await
        .unwrap();
    let rows = vec![
        ImportCallTask {
            external_id: Some("crm-1".into()),
            name: Some("Ann, Lee".into()),
            priority: Some(7),
            window: Some(TimeWindow {
                from: "09:00".into(),
                to: "17:30".into(),
            }),
            due_at: Some("2026-12-01T09:00:00Z".parse().unwrap()),
            assignee_id: Some(ann.id),
            payload: Some(json!({"plan": "gold", "note": "said \"call me\""})),
            ..ImportCallTask::number("+4930901820")
        },
        ImportCallTask {
            region: Some("DE".into()),
            assignee_id: Some(ann.id),
            ..ImportCallTask::number("030 901821")
        },
        ImportCallTask::number("+49 1"),
    ];
    let from_json = app.admin.import_call_tasks(by_json.id, rows).await.unwrap();
    let csv = format!(
        "number,external_id,name,priority,window_from,window_to,due_at,assignee_id,assignee_email,region,plan,note\r\n\
         +4930901820,crm-1,\"Ann, Lee\",7,09:00,17:30,2026-12-01T10:00:00+01:00,{},,,gold,\"said \"\"call me\"\"\"\r\n\
         030 901821,,,,,,,,ANN@acme.test,DE,,\r\n\
         +49 1,,,,,,,,,,,\r\n",
        ann.id
    );
    let path = format!("/v1/call-lists/{}/tasks", by_csv.id);
    let (status, text) = admin
        .post_text(&path, "text/csv; charset=utf-8", &csv)
        .await;
    assert_eq!(status, 200, "{text}");
    let first: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(statuses(&first), ["created", "created", "dropped"]);
    assert_eq!(first["results"][2]["code"], "invalid_phone_number");
    assert_eq!(
        (first["created"].clone(), first["dropped"].clone()),
        (json!(from_json.created), json!(from_json.dropped))
    );
    let (json_tasks, csv_tasks) = (
        tasks_of(&app, by_json.id).await,
        tasks_of(&app, by_csv.id).await,
    );
    assert_eq!(csv_tasks.len(), 3);
    for (j, c) in json_tasks.iter().zip(&csv_tasks) {
        assert_eq!(essence(j), essence(c));
    }
    assert_eq!(csv_tasks[0].due_at, json_tasks[0].due_at);
    assert_eq!(csv_tasks[0].payload["note"], "said \"call me\"");

    // The same file again: every row unchanged, the same tasks.
    let (status, text) = admin.post_text(&path, "text/csv", &csv).await;
    assert_eq!(status, 200, "{text}");
    let again: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(statuses(&again), ["unchanged", "unchanged", "unchanged"]);
    assert_eq!(
        again["results"][0]["task_id"],
        first["results"][0]["task_id"]
    );
    assert_eq!(app.count("call_list_tasks").await, 6);
}

#[tokio::test]
async fn a_cell_that_cannot_be_read_rejects_its_row_alone() {
    let app = spawn_app().await;
    let team = app.admin.create_team("North").await.unwrap();
    let (boss, boss_client) = app.user("boss@acme.test", Role::Manager).await;
    let (near, _) = app.user("near@acme.test", Role::Salesperson).await;
    app.user("far@acme.test", Role::Salesperson).await;
    for member in [boss.id, near.id] {
        app.admin.add_team_member(team.id, member).await.unwrap();
    }
    let list = boss_client
        .create_call_list(&list_named("Mine", vec![]))
        .await
        .unwrap();
    let boss = Http::of(&app, &boss_client).await;
    let csv = "number,priority,due_at,assignee_email,window_from\n\
               +4930901820,high,,,\n\
               +4930901821,,tomorrow,,\n\
               +4930901822,,,far@acme.test,\n\
               +4930901823,,,nobody@acme.test,\n\
               +4930901824,,,,09:00\n\
               +4930901825,-3,,near@acme.test,\n";
    let (status, text) = boss
        .post_text(
            &format!("/v1/call-lists/{}/tasks", list.id),
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        statuses(&answer),
        [
            "rejected", "rejected", "rejected", "rejected", "rejected", "created"
        ]
    );
    let why: Vec<(String, String)> = answer["results"].as_array().unwrap()[..5]
        .iter()
        .map(|r| {
            (
                r["field"].as_str().unwrap().to_owned(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("priority", "invalid_field"),
        ("due_at", "invalid_field"),
        // Someone outside the manager's teams is nobody to them.
        ("assignee_email", "unknown_user"),
        ("assignee_email", "unknown_user"),
        ("window", "invalid_window"),
    ];
    for ((field, code), (want_field, want_code)) in why.iter().zip(expected) {
        assert_eq!(field, want_field);
        if want_field != "window" {
            assert_eq!(code, want_code);
        }
    }
    let stored = tasks_of(&app, list.id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].priority, stored[0].assignee_id),
        (-3, Some(near.id))
    );
}

#[tokio::test]
async fn a_file_of_the_wrong_shape_is_refused_whole_and_writes_nothing() {
    let app = spawn_app().await;
    let list = app
        .admin
        .create_call_list(&list_named("Q1", vec![]))
        .await
        .unwrap();
    let admin = Http::of(&app, &app.admin).await;
    let path = format!("/v1/call-lists/{}/tasks", list.id);
    for (csv, code) in [
        (
            "number,name\n\"+4930901820,Ann\n+4930901821,Bob\n",
            "invalid_csv",
        ),
        (
            "number,name\n+4930901820,Ann\n+4930901821,Bob,extra\n",
            "invalid_csv",
        ),
        ("phone,name\n+4930901820,Ann\n", "invalid_csv"),
        ("number\n", "invalid_batch_size"),
    ] {
        let (status, text) = admin.post_text(&path, "text/csv", csv).await;
        assert_eq!(status, 422, "{csv}: {text}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["code"], code, "{csv}");
    }
    let many: String = std::iter::once("number\n".to_owned())
        .chain((0..1001).map(|i| format!("+49309{i:06}\n")))
        .collect();
    let (status, text) = admin.post_text(&path, "text/csv", &many).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("invalid_batch_size"), "{text}");
    let huge = format!("number,note\n+4930901820,{}\n", "x".repeat(1024 * 1024));
    let (status, _) = admin.post_text(&path, "text/csv", &huge).await;
    assert_eq!(status, 413);
    let (status, _) = admin.post_text(&path, "text/plain", "number\n1\n").await;
    assert_eq!(status, 415);

    // Roles and tenancy as for JSON: a salesperson 403, another
    // organisation's admin 404.
    let (_, seller) = app.user("sam@acme.test", Role::Salesperson).await;
    let seller = Http::of(&app, &seller).await;
    let (status, _) = seller
        .post_text(&path, "text/csv", "number\n+4930901820\n")
        .await;
    assert_eq!(status, 403);
    let globex = app.other_org_admin().await;
    let globex = Http::of(&app, &globex).await;
    let (status, _) = globex
        .post_text(&path, "text/csv", "number\n+4930901820\n")
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.count("call_list_tasks").await, 0);
}
