//! Power mode (docs/call-lists.md, "Power mode"): when a call from a
//! power-mode list ends, the server dials the next task once the gap has
//! passed; it waits while the salesperson is in DND or holds no phone, and
//! resumes when they are back; an empty queue ends it. The worker step is
//! run directly at chosen times.

use deskbind_core::usecases::call_list_power::{self, Step};
use deskbind_core::wire::{
    CallState, CallTaskState, CreateCallList, DialFailure, ImportCallTask, PresenceState,
    RetryPolicyBody, RetryRule,
};
use deskbind_mobile::{BindingQuery, PageQuery};

use crate::call_list_dials::{phone_reports, task_numbered};
use crate::call_lists::{activate, list_named};
use crate::dialing::fast_reconnect;
use crate::helpers::spawn_app;
use crate::presence::{choose, until_mine};

const GAP_SECS: i64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_mode_dials_after_the_gap_waits_in_dnd_and_unbound_and_resumes_on_return() {
    let app = spawn_app().await;
    let (sam, sam_app, phone, device) = app.bound_salesperson("sam@acme.test", "+4930111301").await;
    let _link = device.connect(fast_reconnect()).unwrap();
    until_mine(&sam_app, |p| p.state == PresenceState::Available).await;
    let numbers = ["+4930901301", "+4930901302", "+4930901303", "+4930901304"];
    let list = app
        .admin
        .create_call_list(&CreateCallList {
            mode: Some("power".into()),
            order: Some("import".into()),
            gap_secs: Some(GAP_SECS as u32),
            min_recall_gap_secs: Some(0),
            retry: Some(RetryPolicyBody::default()),
            ..list_named("Power", vec![sam.id])
        })
        .await
        .unwrap();
    let rows = numbers.iter().map(|n| ImportCallTask::number(*n)).collect();
    app.admin.import_call_tasks(list.id, rows).await.unwrap();
    let list = activate(&app.admin, &list).await;
    let svc = &app.services;
    let run_at = |secs: i64| app.clock.now() + secs * 1_000_000;

    // Sam starts: the first call is his.
    let first = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(first.id, None).await.unwrap();
    phone_reports(&device, dialled.dial.id, "p-1", CallState::Ended, None).await;
    // Not before the gap.
    assert!(
        call_list_power::run_due(svc, "t", run_at(GAP_SECS - 5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let steps = call_list_power::run_due(svc, "t", run_at(GAP_SECS + 1), 10)
        .await
        .unwrap();
    let second = task_numbered(&app, list.id, numbers[1]).await;
    assert_eq!(steps, [Step::Dialled(second.id.to_string())]);
    assert_eq!(
        (second.state, second.leased_by),
        (CallTaskState::Leased, Some(sam.id))
    );
    let second_dial = second.open_dial_id.expect("the server dialled it");

    // In DND the next call waits, and goes when Sam is back.
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    phone_reports(&device, second_dial, "p-2", CallState::Ended, None).await;
    let steps = call_list_power::run_due(svc, "t", run_at(GAP_SECS + 1), 10)
        .await
        .unwrap();
    assert_eq!(steps, [Step::Waiting("dnd")]);
    assert_eq!(
        task_numbered(&app, list.id, numbers[2]).await.state,
        CallTaskState::Queued
    );
    sam_app.set_my_presence(&choose("available")).await.unwrap();
    let later = GAP_SECS + 1 + call_list_power::RECHECK_SECS + 1;
    let steps = call_list_power::run_due(svc, "t", run_at(later), 10)
        .await
        .unwrap();
    let third = task_numbered(&app, list.id, numbers[2]).await;
    assert_eq!(steps, [Step::Dialled(third.id.to_string())]);

    // Unbound, it waits; bound again, it resumes.
    phone_reports(
        &device,
        third.open_dial_id.unwrap(),
        "p-3",
        CallState::Ended,
        None,
    )
    .await;
    let binding = sam_app
        .list_bindings(&BindingQuery::default())
        .await
        .unwrap()
        .items
        .remove(0);
    sam_app.unbind(binding.id).await.unwrap();
    let steps = call_list_power::run_due(svc, "t", run_at(GAP_SECS + 1), 10)
        .await
        .unwrap();
    assert!(matches!(steps.as_slice(), [Step::Waiting(_)]), "{steps:?}");
    assert_eq!(
        task_numbered(&app, list.id, numbers[3]).await.state,
        CallTaskState::Queued
    );
    sam_app.bind_phone(phone.id, false).await.unwrap();
    until_mine(&sam_app, |p| p.state == PresenceState::Available).await;
    let steps = call_list_power::run_due(svc, "t", run_at(later), 10)
        .await
        .unwrap();
    let fourth = task_numbered(&app, list.id, numbers[3]).await;
    assert_eq!(steps, [Step::Dialled(fourth.id.to_string())]);

    // The last call ends: the queue is empty and power mode ends.
    phone_reports(
        &device,
        fourth.open_dial_id.unwrap(),
        "p-4",
        CallState::Ended,
        None,
    )
    .await;
    let steps = call_list_power::run_due(svc, "t", run_at(GAP_SECS + 1), 10)
        .await
        .unwrap();
    assert_eq!(steps, [Step::Ended("queue_empty")]);
    assert!(
        call_list_power::run_due(svc, "t", run_at(3 * 3600), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let report = app.admin.call_list_report(list.id).await.unwrap();
    assert_eq!((report.attempts, report.tasks.completed), (4, 4));
    let tasks = app
        .admin
        .list_call_tasks(list.id, &PageQuery::default(), None)
        .await
        .unwrap();
    assert!(
        tasks
            .items
            .iter()
            .all(|t| t.state == CallTaskState::Completed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_mode_never_dials_a_task_held_from_another_list() {
    let app = spawn_app().await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111302").await;
    let _link = device.connect(fast_reconnect()).unwrap();
    until_mine(&sam_app, |p| p.state == PresenceState::Available).await;
    let make = |name: &'static str, mode: &'static str| CreateCallList {
        mode: Some(mode.into()),
        order: Some("import".into()),
        gap_secs: Some(GAP_SECS as u32),
        min_recall_gap_secs: Some(0),
        ..list_named(name, vec![sam.id])
    };
    let power = app
        .admin
        .create_call_list(&make("Power", "power"))
        .await
        .unwrap();
    let rows = ["+4930901311", "+4930901312"]
        .iter()
        .map(|n| ImportCallTask::number(*n))
        .collect();
    app.admin.import_call_tasks(power.id, rows).await.unwrap();
    let power = activate(&app.admin, &power).await;
    let preview = app
        .admin
        .create_call_list(&make("Preview", "preview"))
        .await
        .unwrap();
    app.admin
        .import_call_tasks(preview.id, vec![ImportCallTask::number("+4930901313")])
        .await
        .unwrap();
    let preview = activate(&app.admin, &preview).await;
    let svc = &app.services;
    let run_at = |secs: i64| app.clock.now() + secs * 1_000_000;

    let first = sam_app
        .next_call_task(Some(power.id))
        .await
        .unwrap()
        .task
        .unwrap();
    let dialled = sam_app.dial_call_task(first.id, None).await.unwrap();
    phone_reports(&device, dialled.dial.id, "q-1", CallState::Ended, None).await;
    // During the gap Sam opens a task of the preview list.
    let held = sam_app
        .next_call_task(Some(preview.id))
        .await
        .unwrap()
        .task
        .unwrap();
    let steps = call_list_power::run_due(svc, "t", run_at(GAP_SECS + 1), 10)
        .await
        .unwrap();
    assert_eq!(steps, [Step::Waiting("holding_another_task")]);
    let preview_task = task_numbered(&app, preview.id, "+4930901313").await;
    assert_eq!(preview_task.open_dial_id, None, "never dialled for him");
    assert_eq!(
        task_numbered(&app, power.id, "+4930901312").await.state,
        CallTaskState::Queued
    );
    // Once he hands it back, power mode goes on.
    sam_app.skip_call_task(held.id, "later").await.unwrap();
    let later = GAP_SECS + 1 + call_list_power::RECHECK_SECS + 1;
    let steps = call_list_power::run_due(svc, "t", run_at(later), 10)
        .await
        .unwrap();
    let second = task_numbered(&app, power.id, "+4930901312").await;
    assert_eq!(steps, [Step::Dialled(second.id.to_string())]);
}

/// With nothing due, power mode looks again when the next task falls due
/// (a retry's delay ending), not a fixed recheck later: the salesperson is
/// not left idle while a retry is ready. Before, the job looked again 30 s
/// after each empty look, so a retry due 1 s after it waited 29 s more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_mode_wakes_when_the_next_retry_falls_due() {
    let app = spawn_app().await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930111303").await;
    let _link = device.connect(fast_reconnect()).unwrap();
    until_mine(&sam_app, |p| p.state == PresenceState::Available).await;
    let retry_secs: i64 = 60;
    let rule = RetryRule {
        delay_secs: retry_secs as u32,
        max_retries: 1,
    };
    let list = app
        .admin
        .create_call_list(&CreateCallList {
            mode: Some("power".into()),
            order: Some("import".into()),
            gap_secs: Some(GAP_SECS as u32),
            min_recall_gap_secs: Some(0),
            retry: Some(RetryPolicyBody {
                busy: Some(rule),
                ..RetryPolicyBody::default()
            }),
            ..list_named("Power", vec![sam.id])
        })
        .await
        .unwrap();
    app.admin
        .import_call_tasks(list.id, vec![ImportCallTask::number("+4930901321")])
        .await
        .unwrap();
    let list = activate(&app.admin, &list).await;
    let svc = &app.services;
    let run_at = |secs: i64| app.clock.now() + secs * 1_000_000;

    // The only task is busy: it comes back after the retry delay.
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(task.id, None).await.unwrap();
    phone_reports(
        &device,
        dialled.dial.id,
        "w-1",
        CallState::Failed,
        Some(DialFailure::Busy),
    )
    .await;
    // After the gap nothing is due: the job waits ...
    let steps = call_list_power::run_due(svc, "t", run_at(GAP_SECS + 1), 10)
        .await
        .unwrap();
    assert_eq!(steps, [Step::Waiting("nothing_due")]);
    // ... and a recheck later, with the retry still not due, waits again.
    let recheck = GAP_SECS + 1 + call_list_power::RECHECK_SECS;
    assert!(
        recheck < retry_secs,
        "the test needs the retry after one recheck"
    );
    let steps = call_list_power::run_due(svc, "t", run_at(recheck), 10)
        .await
        .unwrap();
    assert_eq!(steps, [Step::Waiting("nothing_due")]);
    // The retry falls due before the next recheck: the job runs then.
    assert!(recheck + call_list_power::RECHECK_SECS > retry_secs);
    // The retry counts from the phone's report, not from the looks above:
    // look just before and at the instant the task says, so a slow machine
    // (seconds between the report and these lines) cannot blur the edge.
    let retry_due = task_numbered(&app, list.id, "+4930901321")
        .await
        .due_at
        .timestamp_micros();
    let steps = call_list_power::run_due(svc, "t", retry_due - 1_000_000, 10)
        .await
        .unwrap();
    assert!(steps.is_empty(), "not before the retry is due: {steps:?}");
    let steps = call_list_power::run_due(svc, "t", retry_due, 10)
        .await
        .unwrap();
    assert_eq!(steps, [Step::Dialled(task.id.to_string())]);
    let again = task_numbered(&app, list.id, "+4930901321").await;
    assert_eq!((again.attempts, again.state), (2, CallTaskState::Leased));
}
