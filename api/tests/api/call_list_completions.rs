//! Completion reports and callbacks nobody took (docs/call-lists.md,
//! "Progress" and "Hand-back and reassignment"): when a salesperson's
//! queue of a list empties, their report reaches them and the list's owner
//! (stream and push); a callback its salesperson does not take within the
//! list's wait goes to the pool. The worker steps are called directly;
//! times come from the test clock.

use deskbind_core::ids::CallListId;
use deskbind_core::time::seconds;
use deskbind_core::usecases::{call_list_callbacks, call_list_completions};
use deskbind_core::wire::{
    AppEvent, CallListCompletion, CallResult, CallState, CallTaskState, CreateCallList,
    DialFailure, ImportCallTask, PushPlatform, RetryPolicyBody, RetryRule, UpdateCall,
};
use deskbind_mobile::{AppClient, AppEvents, PhoneClient};

use crate::call_list_dials::{disposition, list_of, phone_reports, record, task_numbered};
use crate::call_lists::{activate, list_named};
use crate::dialing::within;
use crate::helpers::{TestApp, spawn_app};

const T0: &str = "2026-12-09T10:00:00Z";

fn at(text: &str) -> i64 {
    text.parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_micros()
}

/// Busy and no answer given up at once: every call settles its task.
fn no_retries() -> RetryPolicyBody {
    let none = Some(RetryRule {
        delay_secs: 600,
        max_retries: 0,
    });
    RetryPolicyBody {
        busy: none,
        no_answer: none,
        ..RetryPolicyBody::default()
    }
}

/// The caller leases their next task, dials it and the phone ends the call
/// as `end` says; returns the task's number.
async fn work_one(
    client: &AppClient,
    phone: &PhoneClient,
    call_id: &str,
    end: CallState,
    why: Option<DialFailure>,
) -> String {
    let task = client.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = client.dial_call_task(task.id, None).await.unwrap();
    phone_reports(phone, dialled.dial.id, call_id, end, why).await;
    task.number
}

/// The next completion report on the stream (other events skipped).
async fn next_completion(events: &mut AppEvents<'_>) -> CallListCompletion {
    loop {
        if let AppEvent::CallListCompletion { completion } =
            within(events.next()).await.unwrap().event
        {
            return *completion;
        }
    }
}

/// The worker's delivery a minute on: the lists' gap (10 s) has passed,
/// leases (5 minutes) have not run out.
async fn deliver(app: &TestApp) -> usize {
    let later = app.clock.now() + seconds(60);
    call_list_completions::deliver_pending(&app.services, later)
        .await
        .unwrap()
        .delivered
}

#[tokio::test]
async fn an_emptied_queue_reports_to_the_salesperson_and_the_owner_once() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111301").await;
    let list = list_of(
        &app,
        vec![sam.id],
        &["+4930901301", "+4930901302"],
        no_retries(),
    )
    .await;
    let mut sam_events = sam_app.events(None).await.unwrap();
    let mut owner_events = app.admin.events(None).await.unwrap();
    for (client, token) in [(&sam_app, "sam-device"), (&app.admin, "owner-device")] {
        client
            .register_push_device(PushPlatform::Android, token)
            .await
            .unwrap();
    }

    work_one(&sam_app, &phone, "c-1", CallState::Ended, None).await;
    assert_eq!(deliver(&app).await, 0, "one task is still open");
    work_one(
        &sam_app,
        &phone,
        "c-2",
        CallState::Failed,
        Some(DialFailure::Busy),
    )
    .await;
    let early = call_list_completions::deliver_pending(&app.services, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        early.delivered, 0,
        "the list's gap leaves time for a disposition"
    );
    assert_eq!(deliver(&app).await, 1);
    assert_eq!(deliver(&app).await, 0, "delivered once");
    // A push to each of the two (one device each).
    let pushes = "SELECT COUNT(*) AS n FROM jobs WHERE topic = 'call_list_completion'";
    assert_eq!(app.scalar(pushes.to_owned()).await, 2);

    for events in [&mut sam_events, &mut owner_events] {
        let report = next_completion(events).await;
        assert_eq!(
            (report.list_id, report.user_id, report.list_name.as_str()),
            (list.id, sam.id, "Dialled")
        );
        assert_eq!(
            (
                report.user.attempts,
                report.user.answered,
                report.user.skipped
            ),
            (2, 1, 0)
        );
        assert_eq!(
            (report.outcomes["answered"], report.outcomes["busy"]),
            (1, 1)
        );
        assert_eq!(
            (
                report.tasks.completed,
                report.tasks.gave_up,
                report.tasks.queued
            ),
            (1, 1, 0)
        );
        assert!(report.list_completed);
    }
    // The report's counts are the list report's.
    let full = app.admin.call_list_report(list.id).await.unwrap();
    assert_eq!(full.users[0].attempts, 2);
    assert!(full.completed_at.is_some());
}

/// The report is also a `call_list.completed` webhook, written with it,
/// once, for the endpoints that want it.
#[tokio::test]
async fn a_delivered_report_is_a_call_list_completed_webhook_once() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111309").await;
    let token = app.access_token().await;
    for events in [vec!["call_list.completed"], vec!["call.created"]] {
        let response = reqwest::Client::new()
            .post(app.url("/v1/webhook-endpoints"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "url": "https://crm.example.com/hooks", "event_types": events }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
    }
    let list = list_of(&app, vec![sam.id], &["+4930901309"], no_retries()).await;
    work_one(&sam_app, &phone, "c-9", CallState::Ended, None).await;
    assert_eq!(deliver(&app).await, 1);
    assert_eq!(deliver(&app).await, 0);
    let sql = "SELECT COUNT(*) AS n FROM webhook_messages WHERE event_type = 'call_list.completed'";
    assert_eq!(app.scalar(sql.to_owned()).await, 1);
    let deliveries = "SELECT COUNT(*) AS n FROM webhook_deliveries d \
        JOIN webhook_messages m ON m.seq = d.message_seq WHERE m.event_type = 'call_list.completed'";
    assert_eq!(
        app.scalar(deliveries.to_owned()).await,
        1,
        "only the endpoint that wants it"
    );
    let payload = format!(
        "SELECT COUNT(*) AS n FROM webhook_messages WHERE event_type = 'call_list.completed' \
         AND payload LIKE '%\"list_id\":\"{}\"%' AND payload LIKE '%\"list_completed\":true%'",
        list.id
    );
    assert_eq!(app.scalar(payload).await, 1);
}

#[tokio::test]
async fn in_a_shared_pool_each_queue_reports_when_it_empties_and_the_last_completes_the_list() {
    let app = spawn_app().await;
    let (sam, sam_app, _, sam_phone) = app.bound_salesperson("sam@acme.test", "+4930111311").await;
    let (ann, ann_app, _, ann_phone) = app.bound_salesperson("ann@acme.test", "+4930111312").await;
    list_of(
        &app,
        vec![sam.id, ann.id],
        &["+4930901311", "+4930901312"],
        no_retries(),
    )
    .await;
    let mut sam_events = sam_app.events(None).await.unwrap();
    let mut ann_events = ann_app.events(None).await.unwrap();
    let sam_task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let ann_task = ann_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_ne!(sam_task.id, ann_task.id);

    let dialled = sam_app.dial_call_task(sam_task.id, None).await.unwrap();
    phone_reports(&sam_phone, dialled.dial.id, "s-1", CallState::Ended, None).await;
    // Ann holds the other task: nothing is left for Sam, the list goes on.
    assert_eq!(deliver(&app).await, 1);
    let sams = next_completion(&mut sam_events).await;
    assert_eq!((sams.user_id, sams.user.attempts), (sam.id, 1));
    assert!(!sams.list_completed);
    assert_eq!(sams.tasks.leased, 1);

    let dialled = ann_app.dial_call_task(ann_task.id, None).await.unwrap();
    phone_reports(
        &ann_phone,
        dialled.dial.id,
        "a-1",
        CallState::Failed,
        Some(DialFailure::NoAnswer),
    )
    .await;
    assert_eq!(deliver(&app).await, 1);
    let anns = next_completion(&mut ann_events).await;
    assert_eq!(
        (anns.user_id, anns.user.attempts, anns.user.answered),
        (ann.id, 1, 0)
    );
    assert_eq!(anns.outcomes["no_answer"], 1);
    assert!(anns.list_completed);
}

/// Sam's answered call of the list's task, marked "callback" at `when`.
async fn promise_callback(
    sam_app: &AppClient,
    phone: &PhoneClient,
    number: &str,
    when: chrono::DateTime<chrono::Utc>,
) {
    let task = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let dialled = sam_app.dial_call_task(task.id, None).await.unwrap();
    phone_reports(phone, dialled.dial.id, "cb-1", CallState::Ended, None).await;
    let uploaded = phone
        .upload_call_records(&[record(
            "cb-1",
            dialled.dial.id,
            number,
            CallResult::Answered,
            60,
        )])
        .await
        .unwrap();
    let record = uploaded.results[0]
        .id
        .unwrap_or_else(|| panic!("{uploaded:?}"));
    let callback = disposition(sam_app, "callback").await;
    sam_app
        .update_call(
            record,
            &UpdateCall {
                disposition_id: Some(Some(callback)),
                callback_at: Some(Some(when)),
                ..UpdateCall::default()
            },
        )
        .await
        .unwrap();
}

async fn the_task(app: &TestApp, list: CallListId, number: &str) -> deskbind_core::wire::CallTask {
    task_numbered(app, list, number).await
}

#[tokio::test]
async fn a_callback_waits_for_its_salesperson_then_goes_to_the_pool() {
    let app = spawn_app().await;
    app.clock.set(at(T0));
    let (sam, sam_app, _, sam_phone) = app.bound_salesperson("sam@acme.test", "+4930111321").await;
    let (ann, ann_app, _, _) = app.bound_salesperson("ann@acme.test", "+4930111322").await;
    let number = "+4930901321";
    let list = list_of(&app, vec![sam.id, ann.id], &[number], no_retries()).await;
    let when = deskbind_core::time::to_datetime(at(T0) + seconds(3600));
    promise_callback(&sam_app, &sam_phone, number, when).await;
    let waiting = the_task(&app, list.id, number).await;
    assert_eq!(
        (
            waiting.state,
            waiting.state_reason.as_deref(),
            waiting.assignee_id
        ),
        (CallTaskState::Queued, Some("callback"), Some(sam.id))
    );
    let later = app.clock.now() + seconds(60);
    let reopened = call_list_completions::deliver_pending(&app.services, later)
        .await
        .unwrap();
    assert_eq!(
        (reopened.delivered, reopened.reopened),
        (0, 1),
        "the answered call emptied Sam's queue, the callback filled it again"
    );

    // Within the default wait (30 minutes) past its time, Ann cannot take it.
    let due = at(T0) + seconds(3600);
    app.clock.set(due + seconds(1799));
    assert_eq!(
        call_list_callbacks::sweep(&app.services, app.clock.now())
            .await
            .unwrap(),
        0
    );
    assert!(ann_app.next_call_task(None).await.unwrap().task.is_none());

    app.clock.set(due + seconds(1800));
    assert_eq!(
        call_list_callbacks::sweep(&app.services, app.clock.now())
            .await
            .unwrap(),
        1
    );
    let pooled = the_task(&app, list.id, number).await;
    assert_eq!(
        (pooled.state_reason.as_deref(), pooled.assignee_id),
        (Some("callback_to_pool"), None)
    );
    assert_eq!(
        call_list_callbacks::sweep(&app.services, app.clock.now())
            .await
            .unwrap(),
        0,
        "moved once"
    );
    let taken = ann_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(taken.id, pooled.id);
}

#[tokio::test]
async fn a_callback_is_leased_at_its_time_despite_the_recall_gap_and_stays_without_a_pool() {
    let app = spawn_app().await;
    app.clock.set(at(T0));
    let (sam, sam_app, _, sam_phone) = app.bound_salesperson("sam@acme.test", "+4930111331").await;
    let number = "+4930901331";
    // No pool (the task is Sam's by assignment), a recall gap of a day,
    // callbacks offered to the pool at once.
    let list = app
        .admin
        .create_call_list(&CreateCallList {
            min_recall_gap_secs: Some(86_400),
            retry: Some(no_retries()),
            callback_pool_after_secs: Some(0),
            ..list_named("Gap", vec![])
        })
        .await
        .unwrap();
    let row = ImportCallTask {
        assignee_id: Some(sam.id),
        ..ImportCallTask::number(number)
    };
    let imported = app
        .admin
        .import_call_tasks(list.id, vec![row])
        .await
        .unwrap();
    assert_eq!(imported.created, 1);
    let list = activate(&app.admin, &list).await;
    let when = deskbind_core::time::to_datetime(at(T0) + seconds(600));
    promise_callback(&sam_app, &sam_phone, number, when).await;

    app.clock.set(at(T0) + seconds(600));
    assert_eq!(
        call_list_callbacks::sweep(&app.services, app.clock.now())
            .await
            .unwrap(),
        0,
        "without a pool nobody else could take it"
    );
    let again = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    assert_eq!(
        (again.list_id, again.number.as_str(), again.state),
        (list.id, number, CallTaskState::Leased),
        "the callee asked for this time: no recall gap"
    );
}

#[tokio::test]
async fn a_queue_that_empties_twice_before_delivery_reports_once() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111341").await;
    let number = "+4930901341";
    let list = list_of(&app, vec![sam.id], &[number], no_retries()).await;
    // Answered (the queue empties), marked "callback" (it fills again),
    // then corrected to "interested" (it empties again): two notes.
    promise_callback(
        &sam_app,
        &phone,
        number,
        chrono::Utc::now() + chrono::Duration::hours(2),
    )
    .await;
    let record = app
        .admin
        .list_call_attempts(list.id, &deskbind_mobile::PageQuery::default(), None)
        .await
        .unwrap()
        .items[0]
        .call_record_id
        .unwrap();
    let interested = disposition(&sam_app, "interested").await;
    sam_app
        .update_call(
            record,
            &UpdateCall {
                disposition_id: Some(Some(interested)),
                ..UpdateCall::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        the_task(&app, list.id, number).await.state,
        CallTaskState::Completed
    );
    assert_eq!(deliver(&app).await, 1);
    assert_eq!(deliver(&app).await, 0);
    let sent = format!(
        "SELECT COUNT(*) AS n FROM app_events WHERE kind = 'call_list_completion' AND user_id = '{}'",
        sam.id
    );
    assert_eq!(app.scalar(sent).await, 1, "one report for both");
}

#[tokio::test]
async fn a_pool_member_whose_last_task_another_took_reports_on_their_next_look() {
    let app = spawn_app().await;
    let (sam, sam_app, _, sam_phone) = app.bound_salesperson("sam@acme.test", "+4930111351").await;
    let (ann, ann_app, _, ann_phone) = app.bound_salesperson("ann@acme.test", "+4930111352").await;
    list_of(
        &app,
        vec![sam.id, ann.id],
        &["+4930901351", "+4930901352", "+4930901353"],
        no_retries(),
    )
    .await;
    // Sam and Ann each call one; the third is still free when both end.
    let sams = sam_app.next_call_task(None).await.unwrap().task.unwrap();
    let anns = ann_app.next_call_task(None).await.unwrap().task.unwrap();
    for (client, phone, task, call) in [
        (&sam_app, &sam_phone, sams.id, "s-1"),
        (&ann_app, &ann_phone, anns.id, "a-1"),
    ] {
        let dialled = client.dial_call_task(task, None).await.unwrap();
        phone_reports(phone, dialled.dial.id, call, CallState::Ended, None).await;
    }
    assert_eq!(deliver(&app).await, 0, "one task is still free for both");
    // Ann takes and ends the last one: her queue empties by her own call,
    // Sam's by her lease, and Sam hears of it when he next looks.
    work_one(&ann_app, &ann_phone, "a-2", CallState::Ended, None).await;
    let next = sam_app.next_call_task(None).await.unwrap();
    assert!(next.task.is_none() && next.next_due_at.is_none());
    let again = sam_app.next_call_task(None).await.unwrap();
    assert!(again.task.is_none());
    assert_eq!(deliver(&app).await, 2, "Ann's and Sam's, Sam's noted once");
    let sent = "SELECT COUNT(*) AS n FROM app_events WHERE kind = 'call_list_completion'";
    // Each to its salesperson and to the owner (the admin).
    assert_eq!(app.scalar(sent.to_owned()).await, 4);
}
