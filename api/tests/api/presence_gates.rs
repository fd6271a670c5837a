//! What DND does (docs/presence.md, "Gates"): a screen pop stays in the
//! stream history but raises no push; other pushes wait until the DND
//! ends, except the user's own digests; the user's own dials go through.

use std::time::Duration;

use chrono::Utc;
use deskbind_core::ids::UserId;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::push_jobs;
use deskbind_core::wire::{AppEvent, PushPlatform};

use crate::dialing::{fast_reconnect, within};
use crate::helpers::{TestApp, spawn_app};
use crate::presence::choose;

async fn jobs_of(app: &TestApp, user: UserId, topic: &str) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM jobs WHERE topic = '{topic}' AND user_id = '{user}'"
    ))
    .await
}

async fn pops_logged(app: &TestApp, user: UserId, call_id: &str) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM app_events WHERE kind = 'incoming_call' AND user_id = '{user}' AND payload LIKE '%{call_id}%'"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_dnd_a_pop_stays_in_the_history_but_raises_no_push() {
    let app = spawn_app().await;
    let (sam, sam_app, _, device) = app.bound_salesperson("sam@acme.test", "+4930901910").await;
    sam_app
        .register_push_device(PushPlatform::Android, "fcm-token-sam-0001")
        .await
        .unwrap();
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    let mut link = device.connect(fast_reconnect()).unwrap();
    within(link.next()).await.unwrap();

    // No app stream anywhere: without DND this pop would be pushed.
    link.incoming("ring-dnd", "+4930555000");
    within(async {
        while pops_logged(&app, sam.id, "ring-dnd").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(jobs_of(&app, sam.id, "incoming_call").await, 0, "no push");
    // The history has it: a stream from the start replays it.
    let mut events = sam_app.events(Some(0)).await.unwrap();
    loop {
        if let AppEvent::IncomingCall { call_id, .. } = within(events.next()).await.unwrap().event {
            assert_eq!(call_id, "ring-dnd");
            break;
        }
    }
    drop(events);

    // The user's own dial goes through under DND.
    let dial = sam_app.dial("+16502530030", None, None).await.unwrap();
    assert_eq!(dial.user_id, sam.id);

    // DND over, no stream: the next pop is pushed.
    sam_app.set_my_presence(&choose("available")).await.unwrap();
    within(async {
        for i in 0.. {
            link.incoming(&format!("ring-after-{i}"), "+4930555000");
            tokio::time::sleep(Duration::from_millis(50)).await;
            if jobs_of(&app, sam.id, "incoming_call").await > 0 {
                return;
            }
        }
    })
    .await;
    link.close().await;
}

#[tokio::test]
async fn pushes_wait_for_the_end_of_a_dnd_but_digests_do_not() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930901911").await;
    sam_app
        .register_push_device(PushPlatform::Android, "fcm-token-sam-0002")
        .await
        .unwrap();
    let until = Utc::now() + chrono::Duration::minutes(20);
    let mut dnd = choose("dnd");
    dnd.until = Some(until);
    sam_app.set_my_presence(&dnd).await.unwrap();
    // A dial update (pushed as data: the app is not streaming) and the
    // user's own digest, both due now.
    sam_app.dial("+16502530031", None, None).await.unwrap();
    sam_app.request_push().await.unwrap();
    assert!(jobs_of(&app, sam.id, "dial").await > 0);

    let now = now_micros();
    let claimed = push_jobs::claim(&app.db, "w1".into(), now, now + seconds(90), 100)
        .await
        .unwrap();
    let topics: Vec<&str> = claimed
        .iter()
        .map(|c| c.claimed.job.topic.as_str())
        .collect();
    assert_eq!(topics, ["digest"], "only the digest goes out under DND");
    let waiting = app
        .scalar(format!(
            "SELECT COUNT(*) AS n FROM jobs WHERE topic = 'dial' AND user_id = '{}' AND run_at = {} AND lease_owner IS NULL",
            sam.id,
            until.timestamp_micros()
        ))
        .await;
    assert_eq!(
        waiting,
        jobs_of(&app, sam.id, "dial").await,
        "due when it ends"
    );

    // When the DND ends the held pushes are claimed as usual.
    let end = until.timestamp_micros();
    let claimed = push_jobs::claim(&app.db, "w1".into(), end, end + seconds(90), 100)
        .await
        .unwrap();
    // (The digest, claimed at `now` and never answered, comes back too.)
    let dials = claimed
        .iter()
        .filter(|c| c.claimed.job.topic == "dial")
        .count();
    assert_eq!(
        i64::try_from(dials).unwrap(),
        jobs_of(&app, sam.id, "dial").await
    );
}

#[tokio::test]
async fn an_open_ended_dnd_rechecks_its_pushes_every_minute() {
    let app = spawn_app().await;
    let (sam, sam_app, _, _) = app.bound_salesperson("sam@acme.test", "+4930901912").await;
    sam_app
        .register_push_device(PushPlatform::Android, "fcm-token-sam-0003")
        .await
        .unwrap();
    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    sam_app.dial("+16502530032", None, None).await.unwrap();
    let now = now_micros();
    let claimed = push_jobs::claim(&app.db, "w1".into(), now, now + seconds(90), 100)
        .await
        .unwrap();
    assert!(claimed.is_empty());
    let next = app
        .scalar(format!(
            "SELECT MIN(run_at) AS n FROM jobs WHERE topic = 'dial' AND user_id = '{}'",
            sam.id
        ))
        .await;
    assert_eq!(next, now + push_jobs::DND_RECHECK);
}
