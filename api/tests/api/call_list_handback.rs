//! Hand-back and reassignment of call-list tasks (docs/call-lists.md,
//! "Hand-back and reassignment"; decision 0033): logout, unbind and a long
//! absence return a user's tasks, held for them until the hold ends; a
//! manager moves a user's unfinished tasks to a user, a team or the pool.
//! Times come from the test clock; the offline sweep is called directly.

use std::sync::Arc;

use deskbind_core::ids::{CallListId, CallTaskId, UserId};
use deskbind_core::time::seconds;
use deskbind_core::usecases::call_list_handback;
use deskbind_core::wire::{
    CallList, CallListPool, CallTask, CallTaskState, CreateCallList, ImportCallTask,
    ReassignCallTasks, ReassignTarget, Role, UpdateCallList, User,
};
use deskbind_mobile::{AppClient, PageQuery};

use crate::helpers::{PASSWORD, TestApp, code, spawn_app};

fn at(text: &str) -> i64 {
    text.parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_micros()
}

const T0: &str = "2026-12-09T10:00:00Z";

/// One row: number, priority, assignee.
type Row<'a> = (&'a str, i32, Option<UserId>);

/// An active list of `rows` worked by the pool `pool`, with `change`
/// applied to its settings.
async fn active_list(
    app: &TestApp,
    pool: Vec<UserId>,
    rows: &[Row<'_>],
    change: impl FnOnce(&mut CreateCallList),
) -> CallList {
    let mut body = CreateCallList {
        pool: CallListPool {
            team_id: None,
            user_ids: pool,
        },
        ..CreateCallList::named("Renewals")
    };
    change(&mut body);
    let list = app.admin.create_call_list(&body).await.unwrap();
    let rows = rows
        .iter()
        .map(|(number, priority, assignee)| ImportCallTask {
            priority: Some(*priority),
            assignee_id: *assignee,
            ..ImportCallTask::number(*number)
        })
        .collect();
    let imported = app.admin.import_call_tasks(list.id, rows).await.unwrap();
    assert_eq!(imported.rejected, 0, "{imported:?}");
    app.admin
        .update_call_list(
            list.id,
            &UpdateCallList {
                version: list.version,
                name: None,
                state: Some("active".into()),
            },
        )
        .await
        .unwrap()
}

/// The list's tasks by number.
async fn tasks(app: &TestApp, list: CallListId) -> std::collections::HashMap<String, CallTask> {
    app.admin
        .list_call_tasks(list, &PageQuery::default(), None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| (t.number.clone(), t))
        .collect()
}

async fn next(client: &AppClient) -> Option<CallTask> {
    client.next_call_task(None).await.unwrap().task
}

fn reassign(from: UserId, to: ReassignTarget) -> ReassignCallTasks {
    ReassignCallTasks {
        from_user_id: from,
        to,
    }
}

fn to_user(user: UserId) -> ReassignTarget {
    ReassignTarget {
        user_id: Some(user),
        ..Default::default()
    }
}

#[tokio::test]
async fn logout_returns_the_tasks_and_the_next_login_gets_them_back_first() {
    let app = spawn_app().await;
    app.clock.set(at(T0));
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111101").await;
    let (ann, ann_app, _, _) = app.bound_salesperson("ann@acme.test", "+4930111102").await;
    let list = active_list(
        &app,
        vec![sam.id, ann.id],
        &[
            ("+4930901901", 0, None),
            ("+4930901902", 0, Some(sam.id)),
            ("+4930901903", 10, None),
        ],
        |_| {},
    )
    .await;
    let leased = next(&sam_app).await.unwrap();
    assert_eq!(leased.number, "+4930901903", "the highest priority");

    sam_app.logout().await.unwrap();
    let after = tasks(&app, list.id).await;
    for number in ["+4930901903", "+4930901902"] {
        let task = &after[number];
        assert_eq!(
            (
                task.state,
                task.state_reason.as_deref(),
                task.held_for,
                task.held_until.map(|t| t.timestamp_micros()),
                task.leased_by,
            ),
            (
                CallTaskState::Returned,
                Some("logged_out"),
                Some(sam.id),
                Some(at(T0) + seconds(3600)),
                None
            ),
            "{number}"
        );
    }
    assert_eq!(after["+4930901901"].state, CallTaskState::Queued);
    assert_eq!(
        app.admin
            .get_call_list(list.id)
            .await
            .unwrap()
            .counts
            .returned,
        2
    );

    // The pool does not get what is held for sam.
    let anns = next(&ann_app).await.unwrap();
    assert_eq!(anns.number, "+4930901901");

    // Sam is back (the phone is still theirs): the held tasks come first,
    // the priority-10 one before the assigned one.
    sam_app.login("sam@acme.test", PASSWORD).await.unwrap();
    let back = next(&sam_app).await.unwrap();
    assert_eq!(back.id, leased.id);
    assert_eq!(
        (back.state, back.leased_by, back.held_for, back.held_until),
        (CallTaskState::Leased, Some(sam.id), None, None)
    );
    sam_app.skip_call_task(back.id, "later").await.unwrap();
    let assigned = next(&sam_app).await.unwrap();
    assert_eq!(
        (assigned.number.as_str(), assigned.assignee_id),
        ("+4930901902", Some(sam.id))
    );
}

#[tokio::test]
async fn once_the_hold_ends_the_pool_gets_the_tasks_and_a_zero_hold_gives_them_at_once() {
    let app = spawn_app().await;
    app.clock.set(at(T0));
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111103").await;
    let (ann, ann_app, _, _) = app.bound_salesperson("ann@acme.test", "+4930111104").await;
    let list = active_list(
        &app,
        vec![sam.id, ann.id],
        &[("+4930901911", 0, Some(sam.id))],
        |_| {},
    )
    .await;
    let held = next(&sam_app).await.unwrap();
    sam_app.logout().await.unwrap();
    let none = ann_app.next_call_task(None).await.unwrap();
    assert!(none.task.is_none());
    assert_eq!(
        none.next_due_at.map(|t| t.timestamp_micros()),
        Some(at(T0) + seconds(3600)),
        "the pool's turn comes when the hold ends"
    );
    app.clock.set(at(T0) + seconds(3600));
    let taken = next(&ann_app).await.unwrap();
    assert_eq!(
        (taken.id, taken.leased_by, taken.assignee_id, taken.held_for),
        (held.id, Some(ann.id), None, None),
        "the assignee is cleared: the pool has it now"
    );

    // A list that holds nothing: the pool gets the task at once.
    let (una, una_app, _, _) = app.bound_salesperson("una@acme.test", "+4930111105").await;
    let (vic, vic_app, _, _) = app.bound_salesperson("vic@acme.test", "+4930111106").await;
    active_list(
        &app,
        vec![una.id, vic.id],
        &[("+4930901912", 0, None)],
        |b| b.hand_back_hold_secs = Some(0),
    )
    .await;
    let unas = next(&una_app).await.unwrap();
    una_app.logout().await.unwrap();
    assert_eq!(next(&vic_app).await.unwrap().id, unas.id);
    let _ = list;
}

#[tokio::test]
async fn unbinding_the_last_phone_returns_the_tasks_and_rebinding_gets_them_back() {
    let app = spawn_app().await;
    app.set_policy(crate::helpers::policy(
        deskbind_core::wire::TakeoverRule::Nobody,
        None,
        2,
    ))
    .await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let (first, _) = app.provisioned_phone("+4930111107").await;
    let (second, _) = app.provisioned_phone("+4930111108").await;
    app.grant(first.id, &[sam.id]).await;
    app.grant(second.id, &[sam.id]).await;
    let one = sam_app.bind_phone(first.id, false).await.unwrap();
    let two = sam_app.bind_phone(second.id, false).await.unwrap();
    let list = active_list(
        &app,
        vec![sam.id],
        &[("+4930901921", 0, None), ("+4930901922", 0, Some(sam.id))],
        |_| {},
    )
    .await;
    let leased = next(&sam_app).await.unwrap();
    // Another phone is still held: sam can still work, nothing goes back.
    sam_app.unbind(one.id).await.unwrap();
    assert_eq!(
        app.admin
            .get_call_list(list.id)
            .await
            .unwrap()
            .counts
            .returned,
        0
    );
    sam_app.unbind(two.id).await.unwrap();
    let after = tasks(&app, list.id).await;
    assert!(
        after.values().all(|t| t.state == CallTaskState::Returned
            && t.state_reason.as_deref() == Some("unbound")
            && t.held_for == Some(sam.id)),
        "{after:?}"
    );
    sam_app.bind_phone(first.id, false).await.unwrap();
    assert_eq!(next(&sam_app).await.unwrap().id, leased.id);

    // Disabling a user ends their binding: their tasks go back too.
    app.disable_user(sam.id).await.unwrap();
    let after = tasks(&app, list.id).await;
    assert_eq!(after[&leased.number].state, CallTaskState::Returned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_sweep_returns_the_tasks_of_users_away_longer_than_the_limit() {
    let app = spawn_app().await;
    app.clock.set(at(T0));
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111109").await;
    let (ann, ann_app, _, _) = app.bound_salesperson("ann@acme.test", "+4930111110").await;
    let list = active_list(
        &app,
        vec![sam.id],
        &[
            ("+4930901931", 5, None),
            ("+4930901932", 0, Some(sam.id)),
            ("+4930901933", 0, Some(ann.id)),
        ],
        |b| {
            b.lease_secs = Some(3600);
            b.offline_return_secs = Some(120);
        },
    )
    .await;
    let leased = next(&sam_app).await.unwrap();
    // Ann's app is connected; sam has neither the app's stream nor the
    // phone connected.
    let _ann_events = ann_app.events(None).await.unwrap();
    crate::presence::until_mine(&ann_app, |p| p.app_connected).await;

    let sweep = |now| {
        let services = app.services.clone();
        async move {
            call_list_handback::sweep_offline(&services, now)
                .await
                .unwrap()
        }
    };
    let first = sweep(at(T0)).await;
    assert_eq!((first.offline, first.returned), (1, 0), "sam, from now");
    let early = sweep(at(T0) + seconds(119)).await;
    assert_eq!(early.returned, 0, "not away long enough yet");
    let late = sweep(at(T0) + seconds(120)).await;
    assert_eq!(late.returned, 2, "sam's lease and assigned task");

    let after = tasks(&app, list.id).await;
    for number in ["+4930901931", "+4930901932"] {
        assert_eq!(
            (after[number].state, after[number].state_reason.as_deref()),
            (CallTaskState::Returned, Some("offline")),
            "{number}"
        );
    }
    assert_eq!(
        after["+4930901933"].state,
        CallTaskState::Queued,
        "ann is connected"
    );
    // Without work left sam's absence is forgotten.
    sweep(at(T0) + seconds(180)).await;
    assert_eq!(app.count("call_list_absences").await, 0);
    assert_eq!(next(&sam_app).await.unwrap().id, leased.id);
}

/// Admin, a list with sam's, ann's and the pool's tasks, and a second list
/// of sam's.
struct Reassigning {
    app: TestApp,
    sam: User,
    ann: User,
    list: CallList,
    other: CallList,
}

async fn reassigning() -> Reassigning {
    let app = spawn_app().await;
    app.clock.set(at(T0));
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111111").await;
    let (ann, _) = app.user("ann@acme.test", Role::Salesperson).await;
    let list = active_list(
        &app,
        vec![sam.id],
        &[
            ("+4930901941", 9, Some(sam.id)),
            ("+4930901942", 0, Some(sam.id)),
            ("+4930901943", 0, Some(sam.id)),
            ("+4930901944", 0, Some(ann.id)),
            ("+4930901945", 0, None),
        ],
        |_| {},
    )
    .await;
    let other = active_list(&app, vec![], &[("+4930901946", 0, Some(sam.id))], |_| {}).await;
    // Sam holds one of theirs: the reassignment breaks the lease.
    let leased = next(&sam_app).await.unwrap();
    assert_eq!(leased.number, "+4930901941");
    Reassigning {
        app,
        sam,
        ann,
        list,
        other,
    }
}

#[tokio::test]
async fn reassignment_moves_exactly_a_users_unfinished_tasks_to_a_user_a_team_or_the_pool() {
    let Reassigning {
        app,
        sam,
        ann,
        list,
        other,
    } = reassigning().await;
    let moved = app
        .admin
        .reassign_call_tasks(list.id, &reassign(sam.id, to_user(ann.id)))
        .await
        .unwrap();
    assert_eq!(moved.moved, 3);
    let now = tasks(&app, list.id).await;
    for number in ["+4930901941", "+4930901942", "+4930901943", "+4930901944"] {
        let task = &now[number];
        assert_eq!(
            (task.state, task.assignee_id, task.leased_by),
            (CallTaskState::Queued, Some(ann.id), None),
            "{number}"
        );
    }
    assert_eq!(
        now["+4930901941"].state_reason.as_deref(),
        Some("reassigned")
    );
    assert_eq!(now["+4930901945"].assignee_id, None, "the pool's stays");
    assert_eq!(
        tasks(&app, other.id).await["+4930901946"].assignee_id,
        Some(sam.id),
        "another list's stays"
    );

    // To a team: its enabled members in turn (a disabled one gets none).
    let team = app.admin.create_team("Closers").await.unwrap();
    let mut members = Vec::new();
    for email in ["una@acme.test", "vic@acme.test", "wes@acme.test"] {
        let (user, _) = app.user(email, Role::Salesperson).await;
        app.admin.add_team_member(team.id, user.id).await.unwrap();
        members.push(user.id);
    }
    app.disable_user(members[2]).await.unwrap();
    let moved = app
        .admin
        .reassign_call_tasks(
            list.id,
            &reassign(
                ann.id,
                ReassignTarget {
                    team_id: Some(team.id),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(moved.moved, 4);
    let now = tasks(&app, list.id).await;
    let count = |user: UserId| now.values().filter(|t| t.assignee_id == Some(user)).count();
    assert_eq!(
        (count(members[0]), count(members[1]), count(members[2])),
        (2, 2, 0)
    );

    // To the pool.
    let moved = app
        .admin
        .reassign_call_tasks(
            list.id,
            &reassign(
                members[0],
                ReassignTarget {
                    pool: Some(true),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(moved.moved, 2);
    let now = tasks(&app, list.id).await;
    assert_eq!(now.values().filter(|t| t.assignee_id.is_none()).count(), 3);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'call_list.tasks_reassigned'"
                .into()
        )
        .await,
        3
    );
}

#[tokio::test]
async fn reassignment_refuses_salespeople_strangers_and_bad_targets() {
    let Reassigning {
        app,
        sam,
        ann,
        list,
        ..
    } = reassigning().await;
    let (_, sally) = app.user("sally@acme.test", Role::Salesperson).await;
    let err = sally
        .reassign_call_tasks(list.id, &reassign(sam.id, to_user(ann.id)))
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 403);
    // Another organisation: its admin does not find the list, and its
    // users are unknown here.
    let globex = app.other_org_admin().await;
    let err = globex
        .reassign_call_tasks(list.id, &reassign(sam.id, to_user(ann.id)))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let stranger = globex.me().await.unwrap().id;
    let err = app
        .admin
        .reassign_call_tasks(list.id, &reassign(sam.id, to_user(stranger)))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "unknown_user".into()));
    // A manager who does not own the list does not find it.
    let (_, mia) = app.user("mia@acme.test", Role::Manager).await;
    let err = mia
        .reassign_call_tasks(list.id, &reassign(sam.id, to_user(ann.id)))
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 404);

    let empty = app.admin.create_team("Empty").await.unwrap();
    let token = app.admin.tokens().await.unwrap().0;
    for (body, status, expected) in [
        (
            serde_json::json!({"from_user_id": sam.id, "to": {"user_id": ann.id, "pool": true}}),
            422,
            "one_of_required",
        ),
        (
            serde_json::json!({"from_user_id": sam.id, "to": {"pool": false}}),
            422,
            "one_of_required",
        ),
        (
            serde_json::json!({"from_user_id": sam.id, "to": {"team_id": empty.id}}),
            422,
            "empty_team",
        ),
        (
            serde_json::json!({"from_user_id": sam.id, "to": {"team_id": uuid::Uuid::now_v7()}}),
            422,
            "unknown_team",
        ),
        (
            serde_json::json!({"from_user_id": sam.id, "to": {"pool": true}, "why": "x"}),
            422,
            "unknown_field",
        ),
        (
            serde_json::json!({"from_user_id": uuid::Uuid::now_v7(), "to": {"pool": true}}),
            422,
            "unknown_user",
        ),
    ] {
        let response = reqwest::Client::new()
            .post(app.url(&format!("/v1/call-lists/{}/reassign", list.id)))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], expected, "{body}: {problem}");
    }
    // Nothing moved.
    assert_eq!(
        tasks(&app, list.id)
            .await
            .values()
            .filter(|t| t.assignee_id == Some(sam.id))
            .count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reassignment_racing_next_never_leaves_a_task_with_two_holders() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111112").await;
    let (ann, ann_app, _, _) = app.bound_salesperson("ann@acme.test", "+4930111113").await;
    let rows: Vec<String> = (0..10).map(|i| format!("+49309019{:02}", 50 + i)).collect();
    let refs: Vec<Row<'_>> = rows.iter().map(|n| (n.as_str(), 0, Some(sam.id))).collect();
    let list = active_list(&app, vec![], &refs, |_| {}).await;
    let (sam_app, ann_app) = (Arc::new(sam_app), Arc::new(ann_app));
    let start = Arc::new(tokio::sync::Barrier::new(5));
    let mut racers = Vec::new();
    for client in [&sam_app, &ann_app, &sam_app, &ann_app] {
        let (client, start) = (client.clone(), start.clone());
        racers.push(tokio::spawn(async move {
            start.wait().await;
            let mut got: Vec<CallTaskId> = Vec::new();
            for _ in 0..3 {
                if let Some(task) = client.next_call_task(None).await.unwrap().task {
                    got.push(task.id);
                }
            }
            got
        }));
    }
    let admin = app.client();
    admin.login(&app.admin_email, PASSWORD).await.unwrap();
    let mover = tokio::spawn({
        let start = start.clone();
        async move {
            start.wait().await;
            admin
                .reassign_call_tasks(list.id, &reassign(sam.id, to_user(ann.id)))
                .await
                .unwrap()
        }
    });
    for racer in racers {
        racer.await.unwrap();
    }
    assert_eq!(mover.await.unwrap().moved, 10, "every task was sam's");
    let now = tasks(&app, list.id).await;
    assert!(
        now.values().all(|t| t.assignee_id == Some(ann.id)),
        "{now:?}"
    );
    let leased: Vec<&CallTask> = now
        .values()
        .filter(|t| t.state == CallTaskState::Leased)
        .collect();
    assert!(
        leased.len() <= 1 && leased.iter().all(|t| t.leased_by == Some(ann.id)),
        "only ann may hold one now: {leased:?}"
    );
    // Sam's next after the move finds nothing, ann's renews or takes one.
    assert!(next(&sam_app).await.is_none());
    assert!(next(&ann_app).await.is_some());
}
