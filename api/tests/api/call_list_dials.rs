//! Dialling call-list tasks (docs/call-lists.md, "Dialling and outcomes"
//! and "Reports"): the holder dials from their phone, the phone's call
//! events or its call record settle the attempt through the retry policy,
//! a disposition decides again, and the report counts what happened.
//! Both databases; retry delays are crossed with the test clock.

use chrono::{DateTime, Utc};
use deskbind_core::ids::{CallListId, DialId};
use deskbind_core::usecases::call_list_dials;
use deskbind_core::wire::{
    AppEvent, BlocklistKind, BlocklistPattern, BlocklistScope, CallAttempt, CallAttemptOutcome,
    CallDirection, CallList, CallRecordUpload, CallResult, CallState, CallTask, CallTaskState,
    CreateBlocklistEntry, CreateCallList, DialFailure, Frame, ImportCallTask, PhoneEvents,
    PhoneFrame, ReassignCallTasks, ReassignTarget, RetryPolicyBody, RetryRule, UpdateCall,
};
use deskbind_mobile::{AppClient, AppEvents, PageQuery, PhoneClient};

use crate::call_lists::{activate, list_named};
use crate::dialing::within;
use crate::helpers::{TestApp, code, spawn_app};

/// An active list of `numbers` for `pool`, retried as `retry` says, with
/// no recall gap (so a retry goes when its delay has passed).
pub(crate) async fn list_of(
    app: &TestApp,
    pool: Vec<deskbind_core::ids::UserId>,
    numbers: &[&str],
    retry: RetryPolicyBody,
) -> CallList {
    let list = app
        .admin
        .create_call_list(&CreateCallList {
            min_recall_gap_secs: Some(0),
            retry: Some(retry),
            ..list_named("Dialled", pool)
        })
        .await
        .unwrap();
    let rows = numbers.iter().map(|n| ImportCallTask::number(*n)).collect();
    let imported = app.admin.import_call_tasks(list.id, rows).await.unwrap();
    assert_eq!(imported.created, numbers.len());
    activate(&app.admin, &list).await
}

/// The phone reports its call of `dial`: acked, dialling, then `end`.
pub(crate) async fn phone_reports(
    phone: &PhoneClient,
    dial: DialId,
    call_id: &str,
    end: CallState,
    why: Option<DialFailure>,
) {
    let event = |state, result| {
        Frame::new(PhoneFrame::CallEvent {
            call_id: call_id.into(),
            command_id: Some(dial),
            state,
            result,
            at: Utc::now(),
        })
    };
    let mut events = vec![
        Frame::new(PhoneFrame::Ack { command_id: dial }),
        event(CallState::Dialing, None),
    ];
    if end == CallState::Ended {
        events.push(event(CallState::Answered, None));
    }
    events.push(event(end, why));
    let results = phone.post_events(&PhoneEvents { events }).await.unwrap();
    for r in &results.results {
        assert!(r.error.is_none(), "{:?}", r.error);
    }
}

/// The phone's call record of `dial`.
pub(crate) fn record(
    call_id: &str,
    dial: DialId,
    number: &str,
    result: CallResult,
    talk: i64,
) -> CallRecordUpload {
    let started: DateTime<Utc> = Utc::now() - chrono::Duration::seconds(talk + 10);
    let answered = result == CallResult::Answered;
    CallRecordUpload {
        call_id: call_id.into(),
        direction: CallDirection::Outbound,
        local_number: None,
        remote_number: number.into(),
        started_at: started,
        answered_at: answered.then(|| started + chrono::Duration::seconds(5)),
        ended_at: Some(started + chrono::Duration::seconds(talk + 5)),
        duration_secs: answered.then_some(talk),
        result: Some(result),
        dial_id: Some(dial),
    }
}

/// The list's one task, as a manager reads it.
async fn only_task(app: &TestApp, list: CallListId) -> CallTask {
    let mut items = app
        .admin
        .list_call_tasks(list, &PageQuery::default(), None)
        .await
        .unwrap()
        .items;
    assert_eq!(items.len(), 1);
    items.remove(0)
}

pub(crate) async fn task_numbered(app: &TestApp, list: CallListId, number: &str) -> CallTask {
    app.admin
        .list_call_tasks(list, &PageQuery::default(), None)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|t| t.number == number)
        .unwrap()
}

/// The next `call_task` event on the stream (others skipped).
async fn next_call_task_event(events: &mut AppEvents<'_>) -> (CallTask, Option<CallAttempt>) {
    loop {
        if let AppEvent::CallTask { task, attempt } = within(events.next()).await.unwrap().event {
            return (*task, attempt.map(|a| *a));
        }
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) async fn disposition(
    client: &AppClient,
    code: &str,
) -> deskbind_core::ids::DispositionId {
    client
        .list_dispositions()
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|d| d.code == code)
        .unwrap()
        .id
}

#[tokio::test]
async fn a_busy_number_is_retried_after_its_delay_and_given_up_after_its_maximum() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111201").await;
    let retry = RetryPolicyBody {
        busy: Some(RetryRule {
            delay_secs: 120,
            max_retries: 1,
        }),
        ..RetryPolicyBody::default()
    };
    let list = list_of(&app, vec![sam.id], &["+4930901201"], retry).await;
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();

    let first = sam_app.dial_call_task(task.id, None).await.unwrap();
    assert_eq!(first.attempt.outcome, CallAttemptOutcome::Dialing);
    assert_eq!(first.task.open_dial_id, Some(first.dial.id));
    assert_eq!(first.dial.number, "+4930901201");
    assert_eq!(first.task.attempts, 1);
    // A double tap answers the same dial; nothing is dialled twice.
    let again = sam_app.dial_call_task(task.id, None).await.unwrap();
    assert_eq!(again.dial.id, first.dial.id);
    assert_eq!(app.count("dial_commands").await, 1);
    // On a call, the task is neither skipped nor swapped for another.
    let err = sam_app.skip_call_task(task.id, "later").await.unwrap_err();
    assert_eq!(code(&err), (409, "task_on_call".into()));
    let held = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(held.id, task.id);

    phone_reports(
        &phone,
        first.dial.id,
        "call-1",
        CallState::Failed,
        Some(DialFailure::Busy),
    )
    .await;
    let after = only_task(&app, list.id).await;
    assert_eq!(after.state, CallTaskState::Queued);
    assert_eq!(after.state_reason.as_deref(), Some("retry_busy"));
    assert_eq!(after.open_dial_id, None);
    assert_eq!(after.leased_by, None);
    let settled_at = app.clock.now();
    assert!(
        (micros(after.due_at) - settled_at - 120_000_000).abs() < 30_000_000,
        "due {} vs now {settled_at}",
        after.due_at
    );
    // Not before its delay.
    let none = sam_app.next_call_task(None).await.unwrap();
    assert!(none.task.is_none());
    assert_eq!(none.next_due_at, Some(after.due_at));

    app.clock.set(micros(after.due_at) + 1_000_000);
    let retried = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(retried.id, task.id);
    let second = sam_app.dial_call_task(task.id, None).await.unwrap();
    assert_ne!(second.dial.id, first.dial.id);
    phone_reports(
        &phone,
        second.dial.id,
        "call-2",
        CallState::Failed,
        Some(DialFailure::Busy),
    )
    .await;
    let done = only_task(&app, list.id).await;
    assert_eq!(
        (done.state, done.state_reason.as_deref(), done.attempts),
        (CallTaskState::GaveUp, Some("gave_up_busy"), 2)
    );

    let report = app.admin.call_list_report(list.id).await.unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(report.outcomes["busy"], 2);
    assert_eq!(report.outcomes["answered"], 0);
    assert_eq!(report.tasks.gave_up, 1);
    assert!(report.completed_at.is_some(), "no task is open");
    assert_eq!(report.users.len(), 1);
    assert_eq!(
        (report.users[0].user_id, report.users[0].attempts),
        (sam.id, 2)
    );
    let attempts = app
        .admin
        .list_call_attempts(list.id, &PageQuery::default(), Some(task.id))
        .await
        .unwrap();
    let reasons: Vec<_> = attempts
        .items
        .iter()
        .map(|a| a.reason.clone().unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["retry_busy", "gave_up_busy"]);
}

#[tokio::test]
async fn an_answered_call_completes_its_task_and_its_disposition_decides_again() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111202").await;
    let list = list_of(
        &app,
        vec![sam.id],
        &["+4930901202"],
        RetryPolicyBody::default(),
    )
    .await;
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let mut events = sam_app.events(None).await.unwrap();
    let dialled = sam_app.dial_call_task(task.id, None).await.unwrap();
    phone_reports(&phone, dialled.dial.id, "call-a", CallState::Ended, None).await;
    // Sam's stream follows the task: dialled, then settled.
    let (on_call, attempt) = next_call_task_event(&mut events).await;
    assert_eq!(on_call.open_dial_id, Some(dialled.dial.id));
    assert_eq!(attempt.unwrap().outcome, CallAttemptOutcome::Dialing);
    let (settled, attempt) = next_call_task_event(&mut events).await;
    assert_eq!(settled.state, CallTaskState::Completed);
    assert_eq!(attempt.unwrap().outcome, CallAttemptOutcome::Answered);
    let done = only_task(&app, list.id).await;
    assert_eq!(
        (done.state, done.state_reason.as_deref()),
        (CallTaskState::Completed, Some("completed"))
    );

    // The record arrives: linked, with its talk time.
    let uploaded = phone
        .upload_call_records(&[record(
            "call-a",
            dialled.dial.id,
            "+4930901202",
            CallResult::Answered,
            42,
        )])
        .await
        .unwrap();
    let record_id = uploaded.results[0].id.unwrap();
    let attempt = app
        .admin
        .list_call_attempts(list.id, &PageQuery::default(), None)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(attempt.outcome, CallAttemptOutcome::Answered);
    assert_eq!(
        (attempt.call_record_id, attempt.talk_secs),
        (Some(record_id), Some(42))
    );

    // "Wrong number": reached but not completed, retried a day later.
    let wrong = disposition(&sam_app, "wrong_number").await;
    sam_app
        .update_call(
            record_id,
            &UpdateCall {
                disposition_id: Some(Some(wrong)),
                ..UpdateCall::default()
            },
        )
        .await
        .unwrap();
    let reopened = only_task(&app, list.id).await;
    assert_eq!(
        (reopened.state, reopened.state_reason.as_deref()),
        (CallTaskState::Queued, Some("retry_not_completed"))
    );
    let from_call = micros(attempt.at);
    assert_eq!(micros(reopened.due_at), from_call + 86_400_000_000);

    // Changed to "interested": completed again, the retry given back.
    let interested = disposition(&sam_app, "interested").await;
    sam_app
        .update_call(
            record_id,
            &UpdateCall {
                disposition_id: Some(Some(interested)),
                ..UpdateCall::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        only_task(&app, list.id).await.state,
        CallTaskState::Completed
    );

    // "Call back" at a time: the task returns to Sam then.
    let callback = disposition(&sam_app, "callback").await;
    let at = Utc::now() + chrono::Duration::hours(3);
    sam_app
        .update_call(
            record_id,
            &UpdateCall {
                disposition_id: Some(Some(callback)),
                callback_at: Some(Some(at)),
                ..UpdateCall::default()
            },
        )
        .await
        .unwrap();
    let back = only_task(&app, list.id).await;
    assert_eq!(
        (back.state, back.state_reason.as_deref(), back.assignee_id),
        (CallTaskState::Queued, Some("callback"), Some(sam.id))
    );
    assert_eq!(back.due_at.timestamp(), at.timestamp());

    let report = app.admin.call_list_report(list.id).await.unwrap();
    assert_eq!(report.attempts, 1);
    assert_eq!(report.outcomes["answered"], 1);
    assert_eq!(report.talk_secs, 42);
    assert_eq!(report.dispositions.get("callback"), Some(&1));
    assert_eq!(report.users[0].answered, 1);
    assert_eq!(report.completed_at, None, "the callback is still open");
    // Logging out does not hand a callback back: it waits for Sam.
    sam_app.logout().await.unwrap();
    let kept = only_task(&app, list.id).await;
    assert_eq!(
        (kept.state, kept.state_reason.as_deref(), kept.assignee_id),
        (CallTaskState::Queued, Some("callback"), Some(sam.id))
    );
}

#[tokio::test]
async fn a_disposition_given_during_the_call_counts_and_a_silent_phone_times_out() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111207").await;
    let list = list_of(
        &app,
        vec![sam.id],
        &["+4930901209", "+4930901210"],
        RetryPolicyBody::default(),
    )
    .await;
    // The record comes while the call is going; Sam gives it "wrong
    // number" before the call ends.
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(task.id, None).await.unwrap();
    let mut going = record(
        "call-m",
        dialled.dial.id,
        &task.number,
        CallResult::Answered,
        30,
    );
    going.result = None;
    going.ended_at = None;
    going.duration_secs = None;
    let uploaded = phone.upload_call_records(&[going]).await.unwrap();
    let record_id = uploaded.results[0].id.unwrap();
    let wrong = disposition(&sam_app, "wrong_number").await;
    sam_app
        .update_call(
            record_id,
            &UpdateCall {
                disposition_id: Some(Some(wrong)),
                ..UpdateCall::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        task_numbered(&app, list.id, &task.number)
            .await
            .open_dial_id,
        Some(dialled.dial.id),
        "still on the call"
    );
    phone_reports(&phone, dialled.dial.id, "call-m", CallState::Ended, None).await;
    let settled = task_numbered(&app, list.id, &task.number).await;
    assert_eq!(
        (settled.state, settled.state_reason.as_deref()),
        (CallTaskState::Queued, Some("retry_not_completed"))
    );

    // The phone takes the next dial and is never heard of again: after
    // the outcome timeout the attempt fails and the task is free.
    let next = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let silent = sam_app.dial_call_task(next.id, None).await.unwrap();
    let svc = &app.services;
    let before = app.clock.now() + (call_list_dials::OUTCOME_TIMEOUT_SECS - 60) * 1_000_000;
    assert_eq!(
        call_list_dials::settle_stale(svc, before, 10)
            .await
            .unwrap(),
        0
    );
    let after = app.clock.now() + (call_list_dials::OUTCOME_TIMEOUT_SECS + 60) * 1_000_000;
    assert_eq!(
        call_list_dials::settle_stale(svc, after, 10).await.unwrap(),
        1
    );
    let freed = task_numbered(&app, list.id, &next.number).await;
    assert_eq!(
        (
            freed.state,
            freed.state_reason.as_deref(),
            freed.open_dial_id
        ),
        (CallTaskState::Queued, Some("retry_failed"), None)
    );
    assert_eq!(
        call_list_dials::settle_stale(svc, after, 10).await.unwrap(),
        0
    );
    // A late end of that dial changes nothing.
    phone_reports(&phone, silent.dial.id, "call-s", CallState::Ended, None).await;
    assert_eq!(
        task_numbered(&app, list.id, &next.number)
            .await
            .state_reason
            .as_deref(),
        Some("retry_failed")
    );
}

#[tokio::test]
async fn an_invalid_number_is_dropped_a_record_alone_settles_and_a_cancel_keeps_the_task() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111203").await;
    let list = list_of(
        &app,
        vec![sam.id],
        &["+4930901203", "+4930901204", "+4930901205", "+4930901206"],
        RetryPolicyBody::default(),
    )
    .await;
    // The network says the number does not exist: dropped at once.
    let a = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(a.id, None).await.unwrap();
    phone_reports(
        &phone,
        dialled.dial.id,
        "call-x",
        CallState::Failed,
        Some(DialFailure::InvalidNumber),
    )
    .await;
    let dropped = task_numbered(&app, list.id, "+4930901203").await;
    assert_eq!(
        (dropped.state, dropped.state_reason.as_deref()),
        (CallTaskState::Dropped, Some("invalid_number"))
    );

    // No call events, only the record: it settles the attempt.
    let b = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(b.id, None).await.unwrap();
    phone
        .upload_call_records(&[record(
            "call-y",
            dialled.dial.id,
            "+4930901204",
            CallResult::NoAnswer,
            0,
        )])
        .await
        .unwrap();
    let unanswered = task_numbered(&app, list.id, "+4930901204").await;
    assert_eq!(unanswered.state_reason.as_deref(), Some("retry_no_answer"));
    // A late call event of the same dial changes nothing.
    phone_reports(
        &phone,
        dialled.dial.id,
        "call-y",
        CallState::Failed,
        Some(DialFailure::Busy),
    )
    .await;
    assert_eq!(
        task_numbered(&app, list.id, "+4930901204")
            .await
            .state_reason
            .as_deref(),
        Some("retry_no_answer")
    );

    // Cancelled by Sam: the task stays his to dial again.
    let c = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(c.id, None).await.unwrap();
    sam_app.cancel_dial(dialled.dial.id).await.unwrap();
    let kept = task_numbered(&app, list.id, "+4930901205").await;
    assert_eq!(
        (kept.state, kept.leased_by, kept.open_dial_id),
        (CallTaskState::Leased, Some(sam.id), None)
    );
    let redial = sam_app.dial_call_task(c.id, None).await.unwrap();
    assert_ne!(redial.dial.id, dialled.dial.id);
    phone_reports(&phone, redial.dial.id, "call-z", CallState::Ended, None).await;

    // A refused dial leaves nothing behind: the task stays leased, no
    // attempt, no command.
    let d = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    app.admin
        .create_blocklist_entry(&CreateBlocklistEntry {
            kind: BlocklistKind::Block,
            scope: BlocklistScope::Organisation,
            team_id: None,
            user_id: None,
            pattern: BlocklistPattern::Number,
            value: "+4930901206".into(),
            label: "Asked not to be called".into(),
            reason: String::new(),
            expires_at: None,
        })
        .await
        .unwrap();
    let (commands, attempts) = (
        app.count("dial_commands").await,
        app.count("call_list_attempts").await,
    );
    let err = sam_app.dial_call_task(d.id, None).await.unwrap_err();
    assert_eq!(code(&err).0, 403, "{err:?}");
    assert_eq!(app.count("dial_commands").await, commands);
    assert_eq!(app.count("call_list_attempts").await, attempts);
    assert_eq!(
        task_numbered(&app, list.id, "+4930901206").await.state,
        CallTaskState::Leased
    );

    let report = app.admin.call_list_report(list.id).await.unwrap();
    assert_eq!(report.attempts, 3, "cancelled dials do not count");
    assert_eq!(report.outcomes["cancelled"], 1);
    assert_eq!(report.outcomes["invalid_number"], 1);
    assert_eq!(report.outcomes["no_answer"], 1);
    assert_eq!(report.outcomes["answered"], 1);
    assert_eq!((report.tasks.dropped, report.tasks.completed), (1, 1));
}

#[tokio::test]
async fn only_the_holder_dials_and_reports_stay_with_their_managers() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111204").await;
    let (ann, ann_app, _, _) = app.bound_salesperson("ann@acme.test", "+4930111205").await;
    let list = list_of(
        &app,
        vec![sam.id, ann.id],
        &["+4930901207"],
        RetryPolicyBody::default(),
    )
    .await;
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let err = ann_app.dial_call_task(task.id, None).await.unwrap_err();
    assert_eq!(code(&err), (409, "task_not_leased".into()));

    let err = sam_app.call_list_report(list.id).await.unwrap_err();
    assert_eq!(code(&err).0, 403);
    let other = app.other_org_admin().await;
    let err = other.call_list_report(list.id).await.unwrap_err();
    assert_eq!(code(&err).0, 404);
    let err = other
        .list_call_attempts(list.id, &PageQuery::default(), None)
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 404);
    let err = other.dial_call_task(task.id, None).await.unwrap_err();
    assert_eq!(code(&err).0, 404);
    // Unknown fields are refused.
    let response = reqwest::Client::new()
        .post(app.url(&format!("/v1/me/call-list/tasks/{}/dial", task.id)))
        .bearer_auth(sam_app.tokens().await.unwrap().0)
        .json(&serde_json::json!({"phone": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_task_on_a_call_is_neither_reassigned_nor_handed_back_until_the_call_ends() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111206").await;
    let list = list_of(
        &app,
        vec![sam.id],
        &["+4930901208"],
        RetryPolicyBody::default(),
    )
    .await;
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(task.id, None).await.unwrap();
    let moved = app
        .admin
        .reassign_call_tasks(
            list.id,
            &ReassignCallTasks {
                from_user_id: sam.id,
                to: ReassignTarget {
                    user_id: None,
                    team_id: None,
                    pool: Some(true),
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.moved, 0);
    // Logging out does not hand it back either.
    sam_app.logout().await.unwrap();
    let on_call = only_task(&app, list.id).await;
    assert_eq!(
        (on_call.state, on_call.open_dial_id),
        (CallTaskState::Leased, Some(dialled.dial.id))
    );
    // The call's outcome settles it as usual.
    phone_reports(
        &phone,
        dialled.dial.id,
        "call-r",
        CallState::Failed,
        Some(DialFailure::NoAnswer),
    )
    .await;
    let settled = only_task(&app, list.id).await;
    assert_eq!(
        (settled.state, settled.state_reason.as_deref()),
        (CallTaskState::Queued, Some("retry_no_answer"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_taps_on_dial_place_one_dial_and_all_answer_it() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930111208").await;
    let list = list_of(
        &app,
        vec![sam.id],
        &["+4930901211"],
        RetryPolicyBody::default(),
    )
    .await;
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let token = sam_app.tokens().await.unwrap().0;
    let url = app.url(&format!("/v1/me/call-list/tasks/{}/dial", task.id));
    let http = reqwest::Client::new();
    let taps = (0..20).map(|_| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["dial"]["id"].as_str().map(str::to_owned))
        }
    });
    let answers = futures_util::future::join_all(taps).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{answers:?}"
    );
    let first = answers[0].1.clone();
    assert!(answers.iter().all(|(_, d)| *d == first), "{answers:?}");
    assert_eq!(app.count("dial_commands").await, 1);
    assert_eq!(app.count("call_list_attempts").await, 1);
    assert_eq!(only_task(&app, list.id).await.attempts, 1);
}
