//! Call lists (docs/call-lists.md): creating and changing lists, imports
//! with one result per row, and working a list (`next`, `skip`) with its
//! order, windows, DND and a held phone; twenty salespeople racing for one
//! pool; tenancy and roles. Times come from the test clock.

use std::sync::Arc;

use deskbind_core::ids::{CallListId, UserId};
use deskbind_core::wire::{
    BlocklistKind, BlocklistPattern, BlocklistScope, CallList, CallListPool, CallTaskState,
    CreateBlocklistEntry, CreateCallList, ImportCallTask, Role, TimeWindow, UpdateCallList,
};
use deskbind_mobile::{AppClient, PageQuery};

use crate::helpers::{TestApp, code, spawn_app};
use crate::presence::choose;

fn at(text: &str) -> i64 {
    text.parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_micros()
}

pub(crate) fn list_named(name: &str, pool: Vec<UserId>) -> CreateCallList {
    CreateCallList {
        pool: CallListPool {
            team_id: None,
            user_ids: pool,
        },
        ..CreateCallList::named(name)
    }
}

fn task(number: &str) -> ImportCallTask {
    ImportCallTask::number(number)
}

/// Moves the list read as `version` to `state`.
async fn move_to(
    client: &AppClient,
    id: CallListId,
    version: i64,
    state: &str,
) -> Result<CallList, deskbind_mobile::ClientError> {
    client
        .update_call_list(
            id,
            &UpdateCallList {
                version,
                name: None,
                state: Some(state.into()),
            },
        )
        .await
}

pub(crate) async fn activate(client: &AppClient, list: &CallList) -> CallList {
    move_to(client, list.id, list.version, "active")
        .await
        .unwrap()
}

/// An active list of `numbers` (in that import order) worked by `pool`.
async fn active_list(app: &TestApp, pool: Vec<UserId>, numbers: &[(&str, i32)]) -> CallList {
    let list = app
        .admin
        .create_call_list(&list_named("Renewals", pool))
        .await
        .unwrap();
    let rows = numbers
        .iter()
        .map(|(n, p)| ImportCallTask {
            priority: Some(*p),
            ..task(n)
        })
        .collect();
    let imported = app.admin.import_call_tasks(list.id, rows).await.unwrap();
    assert_eq!(imported.created, numbers.len());
    activate(&app.admin, &list).await
}

#[tokio::test]
async fn a_list_gets_defaults_and_bad_settings_name_their_field() {
    let app = spawn_app().await;
    let list = app
        .admin
        .create_call_list(&list_named("Q1", vec![]))
        .await
        .unwrap();
    assert_eq!(
        (list.state.as_str(), list.mode.as_str(), list.order.as_str()),
        ("draft", "preview", "priority")
    );
    assert_eq!((list.lease_secs, list.retry.busy.max_retries), (300, 3));

    for (body, field) in [
        (serde_json::json!({"name": ""}), "name"),
        (serde_json::json!({"name": "x", "mode": "robot"}), "mode"),
        (
            serde_json::json!({"name": "x", "lease_secs": 1}),
            "lease_secs",
        ),
        (
            serde_json::json!({"name": "x", "callee_hours": {"from": "21:00", "to": "09:00"}}),
            "callee_hours",
        ),
        (
            serde_json::json!({"name": "x", "pool": {"team_id": uuid::Uuid::now_v7()}}),
            "pool",
        ),
        (serde_json::json!({"name": "x", "colour": "red"}), "colour"),
    ] {
        let token = app.admin.tokens().await.unwrap().0;
        let response = reqwest::Client::new()
            .post(app.url("/v1/call-lists"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{body}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    assert_eq!(app.count("call_lists").await, 1, "nothing half-written");

    let (_, sam) = app.user("sam@acme.test", Role::Salesperson).await;
    let err = sam
        .create_call_list(&list_named("Mine", vec![]))
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 403);
    let err = sam.get_call_list(list.id).await.unwrap_err();
    assert_eq!(code(&err).0, 403);
}

#[tokio::test]
async fn states_move_with_the_version_read_and_only_along_the_lifecycle() {
    let app = spawn_app().await;
    let list = app
        .admin
        .create_call_list(&list_named("Q1", vec![]))
        .await
        .unwrap();
    let active = activate(&app.admin, &list).await;
    assert_eq!((active.state.as_str(), active.version), ("active", 2));
    // The version read before is stale now.
    let err = app
        .admin
        .update_call_list(
            list.id,
            &UpdateCallList {
                version: list.version,
                name: Some("Renamed".into()),
                state: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "call_list_changed".into()));
    let archived = move_to(&app.admin, list.id, active.version, "archived")
        .await
        .unwrap();
    let err = move_to(&app.admin, list.id, archived.version, "active")
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "invalid_state_transition".into()));
    let err = app
        .admin
        .import_call_tasks(list.id, vec![task("+4930901820")])
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "call_list_closed".into()));
}

#[tokio::test]
async fn an_import_answers_each_row_and_a_repeat_changes_nothing() {
    let app = spawn_app().await;
    app.admin
        .create_blocklist_entry(&CreateBlocklistEntry {
            kind: BlocklistKind::Block,
            scope: BlocklistScope::Organisation,
            team_id: None,
            user_id: None,
            pattern: BlocklistPattern::Number,
            value: "+4930901829".into(),
            label: "Asked not to be called".into(),
            reason: String::new(),
            expires_at: None,
        })
        .await
        .unwrap();
    let list = app
        .admin
        .create_call_list(&CreateCallList {
            region: Some("DE".into()),
            ..list_named("Q1", vec![])
        })
        .await
        .unwrap();
    let rows = vec![
        ImportCallTask {
            external_id: Some("crm-1".into()),
            payload: Some(serde_json::json!({"plan": "gold"})),
            ..task("+49 30 901820")
        },
        task("030 901821"),
        task("+49 1"),
        task("+4930901829"),
        ImportCallTask {
            payload: Some(serde_json::json!("not an object")),
            ..task("+4930901822")
        },
        ImportCallTask {
            assignee_id: Some(UserId::new()),
            ..task("+4930901823")
        },
    ];
    let first = app
        .admin
        .import_call_tasks(list.id, rows.clone())
        .await
        .unwrap();
    let statuses: Vec<&str> = first.results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "created", "created", "dropped", "blocked", "rejected", "rejected"
        ]
    );
    assert_eq!(
        first.results[2].code.as_deref(),
        Some("invalid_phone_number")
    );
    assert_eq!(first.results[3].code.as_deref(), Some("number_do_not_call"));
    assert_eq!(
        (
            first.results[4].code.as_deref(),
            first.results[4].field.as_deref()
        ),
        (Some("invalid_payload"), Some("payload"))
    );
    assert_eq!(first.results[5].code.as_deref(), Some("unknown_user"));
    assert_eq!(app.count("call_list_tasks").await, 4);

    // The same batch again: every stored row is unchanged, same ids.
    let again = app.admin.import_call_tasks(list.id, rows).await.unwrap();
    assert_eq!((again.unchanged, again.created), (4, 0));
    assert_eq!(again.results[0].task_id, first.results[0].task_id);
    assert_eq!(app.count("call_list_tasks").await, 4);

    let read = app.admin.get_call_list(list.id).await.unwrap();
    assert_eq!(
        (read.counts.queued, read.counts.dropped, read.counts.blocked),
        (2, 1, 1)
    );
    let page = app
        .admin
        .list_call_tasks(list.id, &PageQuery::default(), None)
        .await
        .unwrap();
    let numbers: Vec<Option<&str>> = page
        .items
        .iter()
        .map(|t| t.number_e164.as_deref())
        .collect();
    assert_eq!(
        numbers,
        [
            Some("+4930901820"),
            Some("+4930901821"),
            None,
            Some("+4930901829")
        ]
    );
    assert_eq!(page.items[0].payload["plan"], "gold");

    for rows in [vec![], vec![task("+4930901820"); 1001]] {
        let err = app
            .admin
            .import_call_tasks(list.id, rows)
            .await
            .unwrap_err();
        assert_eq!(code(&err), (422, "invalid_batch_size".into()));
    }
}

#[tokio::test]
async fn next_hands_out_by_priority_then_import_order_one_task_at_a_time() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111001").await;
    let list = active_list(
        &app,
        vec![sam.id],
        &[("+4930901830", 0), ("+4930901831", 5), ("+4930901832", 5)],
    )
    .await;
    let first = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(
        first.number, "+4930901831",
        "highest priority, first imported"
    );
    assert_eq!(first.state, CallTaskState::Leased);
    assert_eq!(first.leased_by, Some(sam.id));
    // Asking again answers the task held.
    let again = sam_app
        .next_call_task(Some(list.id))
        .await
        .unwrap()
        .task
        .unwrap();
    assert_eq!(again.id, first.id);
    // Skipped, it waits; the next is the other priority-5 task.
    let skipped = sam_app
        .skip_call_task(first.id, "Customer at lunch")
        .await
        .unwrap();
    assert_eq!(
        (skipped.state, skipped.state_reason.as_deref()),
        (CallTaskState::Queued, Some("skipped"))
    );
    let second = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(second.number, "+4930901832");
    let err = sam_app.skip_call_task(first.id, "again").await.unwrap_err();
    assert_eq!(code(&err), (409, "task_not_leased".into()));
    assert_eq!(app.count("call_list_attempts").await, 1);

    // Under DND nothing is handed out.
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    let err = sam_app.next_call_task(None).await.unwrap_err();
    assert_eq!(code(&err), (409, "caller_unavailable".into()));
}

#[tokio::test]
async fn only_the_pool_and_the_assignee_work_a_list_and_only_with_a_phone() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111002").await;
    let (_, out_app, _, _) = app.bound_salesperson("out@acme.test", "+4930111003").await;
    let (_, phoneless) = app.user("una@acme.test", Role::Salesperson).await;
    let list = active_list(&app, vec![sam.id], &[("+4930901840", 0)]).await;
    let none = out_app.next_call_task(None).await.unwrap();
    assert!(
        none.task.is_none() && none.next_due_at.is_none(),
        "{none:?}"
    );
    let err = phoneless.next_call_task(None).await.unwrap_err();
    assert_eq!(code(&err), (409, "no_binding".into()));
    // Another organisation's list id is not found.
    let globex = app.other_org_admin().await;
    let err = globex.get_call_list(list.id).await.unwrap_err();
    assert_eq!(code(&err).0, 404);
    let err = out_app
        .next_call_task(Some(CallListId::new()))
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 404);
    assert!(sam_app.next_call_task(None).await.unwrap().task.is_some());
}

#[tokio::test]
async fn a_task_waits_for_the_callees_hours_and_is_leased_when_they_open() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111004").await;
    let list = app
        .admin
        .create_call_list(&CreateCallList {
            callee_hours: Some(TimeWindow {
                from: "09:00".into(),
                to: "20:00".into(),
            }),
            ..list_named("UK", vec![sam.id])
        })
        .await
        .unwrap();
    app.admin
        .import_call_tasks(list.id, vec![task("+442079460000")])
        .await
        .unwrap();
    activate(&app.admin, &list).await;
    // 07:00 in London (UTC in December): due at 09:00 there.
    app.clock.set(at("2026-12-09T07:00:00Z"));
    let waiting = sam_app.next_call_task(None).await.unwrap();
    assert!(waiting.task.is_none());
    assert_eq!(
        waiting.next_due_at.map(|t| t.timestamp_micros()),
        Some(at("2026-12-09T09:00:00Z"))
    );
    app.clock.set(at("2026-12-09T09:00:00Z"));
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(task.number, "+442079460000");
    // The lease runs out: the task is free again for the next caller.
    app.clock.set(at("2026-12-09T09:05:01Z"));
    let again = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(again.id, task.id);
    assert!(again.leased_until > task.leased_until);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_salespeople_racing_for_one_pool_never_share_a_task() {
    let app = spawn_app().await;
    let mut people = Vec::new();
    for i in 0..20 {
        let (user, client, _, _) = app
            .bound_salesperson(
                &format!("s{i}@acme.test"),
                &format!("+49301110{:02}", 50 + i),
            )
            .await;
        people.push((user.id, client));
    }
    let pool: Vec<UserId> = people.iter().map(|(id, _)| *id).collect();
    let numbers: Vec<(String, i32)> = (0..12)
        .map(|i| (format!("+49309018{:02}", 50 + i), 0))
        .collect();
    let refs: Vec<(&str, i32)> = numbers.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    active_list(&app, pool, &refs).await;

    let start = Arc::new(tokio::sync::Barrier::new(people.len()));
    let racers: Vec<_> = people
        .into_iter()
        .map(|(_, client)| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                client.next_call_task(None).await
            })
        })
        .collect();
    let mut leased = Vec::new();
    let mut empty = 0;
    for racer in racers {
        match racer.await.unwrap().unwrap().task {
            Some(task) => leased.push(task.id),
            None => empty += 1,
        }
    }
    let distinct: std::collections::HashSet<_> = leased.iter().collect();
    assert_eq!((leased.len(), distinct.len(), empty), (12, 12, 8));
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM call_list_tasks WHERE state = 'leased'".into())
            .await,
        12
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_tap_leases_one_task_and_a_paused_list_takes_its_task_back() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111005").await;
    let list = active_list(
        &app,
        vec![sam.id],
        &[("+4930901870", 0), ("+4930901871", 0), ("+4930901872", 0)],
    )
    .await;
    // Ten `next` calls of one user at once: one task, held by them.
    let sam_app = Arc::new(sam_app);
    let start = Arc::new(tokio::sync::Barrier::new(10));
    let taps: Vec<_> = (0..10)
        .map(|_| {
            let (client, start) = (sam_app.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                client.next_call_task(None).await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for tap in taps {
        ids.insert(tap.await.unwrap().unwrap().task.unwrap().id);
    }
    assert_eq!(ids.len(), 1, "one task for one caller");
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM call_list_tasks WHERE state = 'leased'".into())
            .await,
        1
    );
    // The list is paused: the held task goes back and nothing is handed out.
    let read = app.admin.get_call_list(list.id).await.unwrap();
    move_to(&app.admin, list.id, read.version, "paused")
        .await
        .unwrap();
    let none = sam_app.next_call_task(None).await.unwrap();
    assert!(none.task.is_none(), "{none:?}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM call_list_tasks WHERE state = 'leased'".into())
            .await,
        0
    );
    let err = sam_app.next_call_task(Some(list.id)).await.unwrap_err();
    assert_eq!(code(&err), (409, "call_list_closed".into()));
}

#[tokio::test]
async fn a_large_import_fits_and_hours_without_a_window_are_refused() {
    let app = spawn_app().await;
    let list = app
        .admin
        .create_call_list(&list_named("Big", vec![]))
        .await
        .unwrap();
    // 1,000 rows with names and payloads: well over the 64 KiB of an
    // ordinary request.
    let rows: Vec<ImportCallTask> = (0..1000)
        .map(|i| ImportCallTask {
            external_id: Some(format!("crm-{i:06}")),
            name: Some(format!("Customer number {i} of the spring campaign")),
            payload: Some(serde_json::json!({ "notes": "renewal due", "plan": "gold" })),
            ..task(&format!("+49309{:06}", 100_000 + i))
        })
        .collect();
    let result = app.admin.import_call_tasks(list.id, rows).await.unwrap();
    assert_eq!(result.created, 1000);

    let err = app
        .admin
        .create_call_list(&CreateCallList {
            calling_hours: Some(deskbind_core::wire::ListCallingHours {
                time_zone: None,
                weekly: Default::default(),
                holidays: vec![],
            }),
            ..list_named("Never", vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "invalid_field".into()));
}
