//! Push: devices, schedules and on-request digests over the API; the
//! sender against the FCM stand-in (token refresh, 404, 400, 429, 503);
//! digests' content and role scoping; DST; two workers on one queue.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone as _, Timelike as _};
use deskbind_core::config::Settings;
use deskbind_core::db::Database;
use deskbind_core::push::PushSender;
use deskbind_core::repo::push_schedules;
use deskbind_core::testing::push_fixture::{PushFixture, job_outcomes};
use deskbind_core::time::now_micros;
use deskbind_core::wire::{
    CallDirection, CallResult, PushPlatform, PushScheduleRule, PushScheduleSource, Role, UpdateUser,
};
use deskbind_fcm_standin::{Delivery, FcmStandIn, Reply};
use deskbind_worker::push::{SenderOptions, run_scheduler_once, run_sender};
use tokio_util::sync::CancellationToken;

use crate::helpers::{TestApp, code, spawn_app, spawn_app_with};
use crate::records::{backdate_bindings, call};

/// The stand-in, and a sender configured for it as a deployment would be.
pub(crate) struct Fcm {
    pub(crate) standin: FcmStandIn,
    pub(crate) sender: PushSender,
    _dir: tempfile::TempDir,
}

pub(crate) async fn fcm() -> Fcm {
    let standin = FcmStandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        google_application_credentials: Some(standin.write_service_account(dir.path())),
        fcm_endpoint: standin.endpoint(),
        ..Settings::default()
    };
    let sender = PushSender::from_settings(&settings).unwrap();
    Fcm {
        standin,
        sender,
        _dir: dir,
    }
}

/// A running push sender; `stop` waits for its sends to record outcomes.
struct Sending {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start_sending(db: &Database, sender: &PushSender) -> Sending {
    start_sending_with(db, sender, 16)
}

fn start_sending_with(db: &Database, sender: &PushSender, concurrency: usize) -> Sending {
    let cancel = CancellationToken::new();
    let options = SenderOptions {
        poll_interval: Duration::from_millis(20),
        concurrency,
        ..SenderOptions::default()
    };
    let task = tokio::spawn(run_sender(
        db.clone(),
        sender.clone(),
        options,
        cancel.clone(),
    ));
    Sending { cancel, task }
}

impl Sending {
    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap();
    }
}

/// Ann, a salesperson with one Android device whose token is `token`.
async fn ann_with_device(app: &TestApp, token: &str) -> deskbind_mobile::AppClient {
    let (_, client) = app.user("ann@acme.test", Role::Salesperson).await;
    client
        .register_push_device(PushPlatform::Android, token)
        .await
        .unwrap();
    client
}

pub(crate) async fn deliveries(fcm: &Fcm, n: usize) -> Vec<Delivery> {
    fcm.standin
        .wait_for_deliveries(n, Duration::from_secs(20))
        .await
        .unwrap_or_else(|got| panic!("expected {n} deliveries, got {}", got.len()))
}

pub(crate) fn data(delivery: &Delivery) -> BTreeMap<String, String> {
    serde_json::from_value(delivery.message["data"].clone()).unwrap()
}

async fn job_outcome(app: &TestApp, topic: &str) -> (String, i64) {
    let attempts = app
        .scalar(format!(
            "SELECT attempts AS n FROM jobs WHERE topic = '{topic}'"
        ))
        .await;
    let mut finished = Vec::new();
    for outcome in ["sent", "failed", "dropped"] {
        let n = app
            .scalar(format!(
                "SELECT COUNT(*) AS n FROM jobs WHERE topic = '{topic}' AND outcome = '{outcome}'"
            ))
            .await;
        finished.extend(std::iter::repeat_n(outcome, usize::try_from(n).unwrap()));
    }
    match finished.as_slice() {
        [one] => ((*one).to_owned(), attempts),
        other => panic!("one finished {topic} job expected, got {other:?}"),
    }
}

#[tokio::test]
async fn devices_are_the_callers_own_private_and_limited() {
    let app = spawn_app().await;
    let (_, ann) = app.user("ann@acme.test", Role::Salesperson).await;
    let (_, bob) = app.user("bob@acme.test", Role::Salesperson).await;

    let first = ann
        .register_push_device(PushPlatform::Android, "fcm-token-ann-0001")
        .await
        .unwrap();
    assert_eq!(first.token_hint, "n-0001");
    let again = ann
        .register_push_device(PushPlatform::Android, "fcm-token-ann-0001")
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "re-registering is idempotent");

    // The token is never sent back, not even to its owner.
    let (access, _) = ann.tokens().await.unwrap();
    let raw = reqwest::Client::new()
        .get(app.url("/v1/push/devices"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!raw.contains("fcm-token-ann-0001"), "{raw}");

    // Someone else's device is not found; the install moving to another
    // user takes it away from the first.
    let err = bob.delete_push_device(first.id).await.unwrap_err();
    assert_eq!(code(&err).0, 404);
    let foreign = app.other_org_admin().await;
    assert_eq!(
        code(&foreign.delete_push_device(first.id).await.unwrap_err()).0,
        404
    );
    let moved = bob
        .register_push_device(PushPlatform::Android, "fcm-token-ann-0001")
        .await
        .unwrap();
    assert_ne!(moved.id, first.id);
    assert!(ann.list_push_devices().await.unwrap().is_empty());
    assert_eq!(bob.list_push_devices().await.unwrap().len(), 1);

    // Bad tokens and the per-user limit.
    for bad in ["", "has space", &"x".repeat(4097)] {
        let err = ann
            .register_push_device(PushPlatform::Ios, bad)
            .await
            .unwrap_err();
        assert_eq!(code(&err), (422, "invalid_push_token".into()), "{bad:?}");
    }
    for i in 0..10 {
        ann.register_push_device(PushPlatform::Ios, &format!("ios-{i}"))
            .await
            .unwrap();
    }
    let err = ann
        .register_push_device(PushPlatform::Ios, "ios-10")
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "push_device_limit".into()));
    assert_eq!(app.count("push_devices").await, 11);

    let mine = ann.list_push_devices().await.unwrap();
    ann.delete_push_device(mine[0].id).await.unwrap();
    assert_eq!(ann.list_push_devices().await.unwrap().len(), 9);
}

#[tokio::test]
async fn schedules_follow_the_default_until_set_and_are_checked() {
    let app = spawn_app().await;
    let (sam, client) = app.user("sam@acme.test", Role::Salesperson).await;
    app.admin
        .update_user(
            sam.id,
            &UpdateUser {
                time_zone: Some("Europe/Berlin".into()),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();

    let built_in = client.push_schedule().await.unwrap();
    assert_eq!(built_in.source, PushScheduleSource::Default);
    assert_eq!(built_in.rule.daily_at.as_deref(), Some("18:00"));
    assert!(built_in.rule.on_missed_call);
    assert_eq!(built_in.time_zone, "Europe/Berlin");
    let due = built_in.next_due_at.unwrap();
    let local = due.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!((local.hour(), local.minute()), (18, 0));

    // A device gives the user a schedule row; the admin's new default
    // moves it.
    client
        .register_push_device(PushPlatform::Android, "sam-device")
        .await
        .unwrap();
    let morning = PushScheduleRule {
        daily_at: Some("08:30".into()),
        every_minutes: None,
        on_missed_call: false,
        on_new_records: true,
    };
    let err = client
        .set_default_push_schedule(&morning)
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 403);
    app.admin.set_default_push_schedule(&morning).await.unwrap();
    assert_eq!(client.default_push_schedule().await.unwrap(), morning);
    let followed = client.push_schedule().await.unwrap();
    assert_eq!(followed.rule, morning);
    let local = followed
        .next_due_at
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!((local.hour(), local.minute()), (8, 30));

    // Their own rule stays when the default changes again.
    let own = PushScheduleRule {
        daily_at: None,
        every_minutes: Some(30),
        on_missed_call: true,
        on_new_records: false,
    };
    let set = client.set_push_schedule(&own).await.unwrap();
    assert_eq!(
        (set.source, set.rule.clone()),
        (PushScheduleSource::Custom, own.clone())
    );
    let next = set.next_due_at.unwrap() - chrono::Utc::now();
    assert!(next <= chrono::TimeDelta::minutes(30) && next > chrono::TimeDelta::minutes(29));
    app.admin
        .set_default_push_schedule(&PushScheduleRule {
            daily_at: Some("12:00".into()),
            ..morning.clone()
        })
        .await
        .unwrap();
    assert_eq!(client.push_schedule().await.unwrap().rule, own);
    let back = client.use_default_push_schedule().await.unwrap();
    assert_eq!(back.source, PushScheduleSource::Default);
    assert_eq!(back.rule.daily_at.as_deref(), Some("12:00"));

    // Bad rules are refused, naming the field, and change nothing.
    for (body, field) in [
        (r#"{"daily_at":"25:00"}"#, "daily_at"),
        (r#"{"every_minutes":1}"#, "every_minutes"),
        (r#"{"use_default":true,"every_minutes":60}"#, "use_default"),
    ] {
        let (access, _) = client.tokens().await.unwrap();
        let response = reqwest::Client::new()
            .put(app.url("/v1/push/schedule"))
            .bearer_auth(access)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_schedule", "{body}");
        assert_eq!(problem["field"], field, "{body}");
    }
    assert_eq!(
        client
            .push_schedule()
            .await
            .unwrap()
            .rule
            .daily_at
            .as_deref(),
        Some("12:00")
    );
}

#[tokio::test]
async fn on_request_digest_needs_a_device_and_is_rate_limited() {
    let app = spawn_app().await;
    let (_, client) = app.user("ann@acme.test", Role::Salesperson).await;
    let err = client.request_push().await.unwrap_err();
    assert_eq!(code(&err), (409, "no_push_device".into()));
    client
        .register_push_device(PushPlatform::Android, "ann-phone")
        .await
        .unwrap();
    let queued = client.request_push().await.unwrap();
    assert_eq!((queued.devices, queued.records), (1, 0));
    // Two per minute by default; the first refusal came before the device.
    let err = client.request_push().await.unwrap_err();
    assert_eq!(code(&err), (429, "rate_limited".into()));
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE topic = 'digest'".into())
            .await,
        1
    );
}

#[tokio::test]
async fn digest_holds_exactly_the_records_since_the_last_push_in_scope() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    let team = app.admin.create_team("North").await.unwrap();
    let (manager, boss) = app.user("mia@acme.test", Role::Manager).await;
    let (sam, _sam_app, _, sam_phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (_, _, _, tom_phone) = app.bound_salesperson("tom@acme.test", "+4930222").await;
    app.admin
        .add_team_member(team.id, manager.id)
        .await
        .unwrap();
    app.admin.add_team_member(team.id, sam.id).await.unwrap();
    backdate_bindings(&app).await;
    boss.register_push_device(PushPlatform::Android, "mia-device")
        .await
        .unwrap();
    app.admin
        .register_push_device(PushPlatform::Ios, "admin-device")
        .await
        .unwrap();

    let mut missed = call("s2", 3);
    missed.direction = CallDirection::Missed;
    missed.answered_at = None;
    missed.result = Some(CallResult::NoAnswer);
    let sam_first = sam_phone
        .upload_call_records(&[call("s1", 9), missed])
        .await
        .unwrap();
    tom_phone
        .upload_call_records(&[call("t1", 7)])
        .await
        .unwrap();
    let sending = start_sending(&app.db, &fcm.sender);

    assert_eq!(boss.request_push().await.unwrap().records, 2);
    assert_eq!(app.admin.request_push().await.unwrap().records, 3);
    let got = deliveries(&fcm, 2).await;
    let by_token: HashMap<&str, BTreeMap<String, String>> = got
        .iter()
        .map(|d| (d.device_token.as_str(), data(d)))
        .collect();
    let mia = &by_token["mia-device"];
    assert_eq!(
        (
            mia["type"].as_str(),
            mia["records"].as_str(),
            mia["missed"].as_str()
        ),
        ("digest", "2", "1"),
        "the manager's team: Sam's two calls, not Tom's"
    );
    let latest: Vec<serde_json::Value> = serde_json::from_str(&mia["latest"]).unwrap();
    let sam_ids: Vec<String> = sam_first
        .results
        .iter()
        .map(|r| r.id.unwrap().to_string())
        .collect();
    assert_eq!(
        latest
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>(),
        vec![sam_ids[1].clone(), sam_ids[0].clone()],
        "newest first"
    );
    assert_eq!(by_token["admin-device"]["records"], "3");

    // Only what came after the last push.
    sam_phone
        .upload_call_records(&[call("s3", 2), call("s4", 1)])
        .await
        .unwrap();
    tom_phone
        .upload_call_records(&[call("t2", 1)])
        .await
        .unwrap();
    assert_eq!(boss.request_push().await.unwrap().records, 2);
    let got = deliveries(&fcm, 3).await;
    let second = data(&got[2]);
    assert_eq!(
        (second["records"].as_str(), second["missed"].as_str()),
        ("2", "0")
    );
    assert!(
        second["through_cursor"].parse::<i64>().unwrap()
            > mia["through_cursor"].parse::<i64>().unwrap()
    );
    sending.stop().await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE outcome = 'sent'".into())
            .await,
        3
    );
}

#[tokio::test]
async fn access_tokens_are_cached_and_refreshed_before_they_expire() {
    let app = spawn_app_with(|s| s.push_request_rate_per_minute = 100).await;
    let fcm = fcm().await;
    fcm.standin.set_token_lifetime(2);
    let client = ann_with_device(&app, "ann-phone").await;
    let sending = start_sending(&app.db, &fcm.sender);
    client.request_push().await.unwrap();
    client.request_push().await.unwrap();
    let early = deliveries(&fcm, 2).await;
    assert_eq!(
        fcm.standin.tokens_issued(),
        1,
        "one token serves both sends"
    );
    // The token lives 2 s; the client refreshes after 1.5 s (a quarter
    // early), so a send at 1.6 s uses a new token and FCM never sees an
    // expired one.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    client.request_push().await.unwrap();
    let all = deliveries(&fcm, 3).await;
    sending.stop().await;
    assert_eq!(fcm.standin.tokens_issued(), 2);
    assert_ne!(all[2].access_token, early[0].access_token);
    assert!(
        fcm.standin.attempts().iter().all(|a| a.status == 200),
        "no send was refused for an expired token: {:?}",
        fcm.standin.attempts()
    );
}

#[tokio::test]
async fn an_unregistered_token_is_removed_and_never_used_again() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    let client = ann_with_device(&app, "gone-token").await;
    fcm.standin.script("gone-token", [Reply::NotFound]);
    // Two digests queued for the device; one send at a time, so the second
    // is still queued when FCM answers the first.
    client.request_push().await.unwrap();
    client.request_push().await.unwrap();
    let sending = start_sending_with(&app.db, &fcm.sender, 1);
    fcm.standin
        .wait_for_attempts(1, Duration::from_secs(20))
        .await
        .unwrap();
    sending.stop().await;
    assert_eq!(
        fcm.standin.attempts().len(),
        1,
        "the second digest was never sent"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE outcome = 'dropped'".into())
            .await,
        2
    );
    assert_eq!(app.count("push_devices").await, 0);
    assert_eq!(app.count("push_dead_tokens").await, 1);

    let err = client
        .register_push_device(PushPlatform::Android, "gone-token")
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "push_token_unregistered".into()));
    assert_eq!(app.count("push_devices").await, 0);
}

#[tokio::test]
async fn an_answer_from_a_claim_whose_lease_ran_out_is_not_recorded() {
    use deskbind_core::repo::jobs::{self, Outcome};
    use deskbind_core::usecases::push_jobs;
    let app = spawn_app().await;
    let client = ann_with_device(&app, "ann-phone").await;
    client.request_push().await.unwrap();
    let now = now_micros();
    let second = 1_000_000;
    let first = push_jobs::claim(&app.db, "worker-a".into(), now, now + second, 10)
        .await
        .unwrap();
    assert!(!first[0].claimed.taken_over);
    // The lease ran out mid-send; the same worker (or another) claims again.
    let again = push_jobs::claim(
        &app.db,
        "worker-a".into(),
        now + 2 * second,
        now + 3 * second,
        10,
    )
    .await
    .unwrap();
    assert!(again[0].claimed.taken_over, "in flight when taken over");
    let stale = first[0].claimed.job.clone();
    let recorded = app
        .db
        .run(move |conn| jobs::finish(conn, &stale, Outcome::Sent, None, now))
        .await
        .unwrap();
    assert!(!recorded, "the first claim's answer is not recorded");
    let current = again[0].claimed.job.clone();
    let recorded = app
        .db
        .run(move |conn| jobs::finish(conn, &current, Outcome::Sent, None, now))
        .await
        .unwrap();
    assert!(recorded);
    assert_eq!(
        app.scalar("SELECT possible_duplicates AS n FROM jobs".into())
            .await,
        1
    );
}

#[tokio::test]
async fn invalid_argument_is_not_retried() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    let client = ann_with_device(&app, "ann-phone").await;
    fcm.standin.script("ann-phone", [Reply::InvalidArgument]);
    let sending = start_sending(&app.db, &fcm.sender);
    client.request_push().await.unwrap();
    let attempts = fcm
        .standin
        .wait_for_attempts(1, Duration::from_secs(20))
        .await
        .unwrap();
    sending.stop().await;
    assert_eq!(attempts[0].status, 400);
    assert_eq!(job_outcome(&app, "digest").await, ("failed".into(), 1));
    assert_eq!(fcm.standin.attempts().len(), 1);
    assert_eq!(app.count("push_devices").await, 1, "the device stays");
}

#[tokio::test]
async fn quota_exceeded_is_retried_no_earlier_than_retry_after() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    let client = ann_with_device(&app, "ann-phone").await;
    fcm.standin.script(
        "ann-phone",
        [Reply::TooManyRequests {
            retry_after_secs: 2,
        }],
    );
    let sending = start_sending(&app.db, &fcm.sender);
    client.request_push().await.unwrap();
    deliveries(&fcm, 1).await;
    sending.stop().await;
    let attempts = fcm.standin.attempts();
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let waited = attempts[1].at - attempts[0].at;
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    assert_eq!(job_outcome(&app, "digest").await, ("sent".into(), 2));
}

#[tokio::test]
async fn unavailable_backs_off_exponentially_then_delivers() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    let client = ann_with_device(&app, "ann-phone").await;
    fcm.standin
        .script("ann-phone", [Reply::Unavailable, Reply::Unavailable]);
    let sending = start_sending(&app.db, &fcm.sender);
    let started = Instant::now();
    client.request_push().await.unwrap();
    deliveries(&fcm, 1).await;
    sending.stop().await;
    let attempts = fcm.standin.attempts();
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    // Base 1 s, doubling, jittered to 50-100 % of each step.
    let first_wait = attempts[1].at - attempts[0].at;
    let second_wait = attempts[2].at - attempts[1].at;
    assert!(first_wait >= Duration::from_millis(500), "{first_wait:?}");
    assert!(
        second_wait >= Duration::from_millis(1000),
        "{second_wait:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(job_outcome(&app, "digest").await, ("sent".into(), 3));
}

#[tokio::test]
async fn dial_updates_and_phone_bindings_are_pushed_as_data() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    ann_app
        .register_push_device(PushPlatform::Android, "ann-phone")
        .await
        .unwrap();
    let (phone, device) = app.provisioned_phone("+4930333").await;
    app.grant(phone.id, &[ann.id]).await;
    let sending = start_sending(&app.db, &fcm.sender);

    let binding = device.bind_user("ann@acme.test", false).await.unwrap();
    let dial = ann_app.dial("+4930555123", None, None).await.unwrap();
    ann_app.cancel_dial(dial.id).await.unwrap();
    let got = deliveries(&fcm, 3).await;
    sending.stop().await;
    let kinds: Vec<BTreeMap<String, String>> = got.iter().map(data).collect();
    let bound = kinds.iter().find(|d| d["type"] == "binding").unwrap();
    assert_eq!(
        (bound["binding_id"].clone(), bound["via"].as_str()),
        (binding.id.to_string(), "phone")
    );
    // Sends run concurrently, so FCM may get them in either order; the
    // app keeps the state with the newest `updated_at`.
    let mut states: Vec<(&str, &str)> = kinds
        .iter()
        .filter(|d| d["type"] == "dial")
        .map(|d| (d["updated_at"].as_str(), d["state"].as_str()))
        .collect();
    states.sort_unstable();
    assert_eq!(
        states.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        ["queued", "cancelled"]
    );
    let dial_push = got.iter().find(|d| data(d)["type"] == "dial").unwrap();
    assert!(dial_push.message.get("notification").is_none(), "data only");
    assert_eq!(
        dial_push.message["android"]["collapse_key"],
        format!("dial:{}", dial.id)
    );
}

#[tokio::test]
async fn a_missed_call_makes_the_digest_due_at_once() {
    let app = spawn_app().await;
    let (_, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    sam_app
        .register_push_device(PushPlatform::Android, "sam-phone")
        .await
        .unwrap();
    // The built-in default: daily at 18:00 and at once on a missed call.
    phone.upload_call_records(&[call("a1", 5)]).await.unwrap();
    let report = run_scheduler_once(&app.db, now_micros()).await.unwrap();
    assert_eq!(report.schedules, 0, "an answered call waits for 18:00");

    let mut missed = call("m1", 2);
    missed.direction = CallDirection::Missed;
    missed.answered_at = None;
    missed.result = Some(CallResult::NoAnswer);
    phone.upload_call_records(&[missed]).await.unwrap();
    let report = run_scheduler_once(&app.db, now_micros()).await.unwrap();
    assert_eq!((report.schedules, report.digests, report.jobs), (1, 1, 1));
    let schedule = sam_app.push_schedule().await.unwrap();
    let local = schedule.next_due_at.unwrap().with_timezone(&chrono_tz::UTC);
    assert_eq!(
        (local.hour(), local.minute()),
        (18, 0),
        "back on the daily time"
    );
}

/// Steps the scheduler through `days` local days from `first` in five
/// minute steps; returns the local times at which digests were queued.
async fn simulate_days(
    app: &TestApp,
    upload: impl AsyncFn(usize),
    tz: chrono_tz::Tz,
    first: NaiveDate,
    days: usize,
) -> Vec<chrono::DateTime<chrono_tz::Tz>> {
    let start = tz
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let end = start + chrono::TimeDelta::days(i64::try_from(days).unwrap());
    let mut fired = Vec::new();
    let mut now = start;
    let mut day = usize::MAX;
    while now < end {
        let local = now.with_timezone(&tz);
        let index = usize::try_from((local.date_naive() - first).num_days()).unwrap();
        if index != day {
            // A record each day, so each daily digest has something to say.
            day = index;
            upload(day).await;
        }
        let report = run_scheduler_once(&app.db, now.timestamp_micros())
            .await
            .unwrap();
        for _ in 0..report.digests {
            fired.push(local);
        }
        now += chrono::TimeDelta::minutes(5);
    }
    fired
}

#[tokio::test]
async fn a_daily_digest_fires_once_per_local_day_across_dst_changes() {
    let app = spawn_app().await;
    let (sam, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    app.admin
        .update_user(
            sam.id,
            &UpdateUser {
                time_zone: Some("Europe/Berlin".into()),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();
    sam_app
        .register_push_device(PushPlatform::Android, "sam-phone")
        .await
        .unwrap();
    sam_app
        .set_push_schedule(&PushScheduleRule {
            daily_at: Some("18:00".into()),
            every_minutes: None,
            on_missed_call: false,
            on_new_records: false,
        })
        .await
        .unwrap();
    let tz = chrono_tz::Europe::Berlin;
    let upload = async |day: usize| {
        phone
            .upload_call_records(&[call(&format!("d{day}-{}", fastrand::u64(..)), 1)])
            .await
            .unwrap();
    };
    // Spring forward (29 March 2026, a 23-hour day) and fall back
    // (25 October 2026, a 25-hour day), three days around each.
    for first in [
        NaiveDate::from_ymd_opt(2026, 3, 28).unwrap(),
        NaiveDate::from_ymd_opt(2026, 10, 24).unwrap(),
    ] {
        let start = tz
            .from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap())
            .unwrap()
            .timestamp_micros();
        let user = sam.id;
        // Start the clock at the simulation's first midnight.
        app.execute("UPDATE push_schedules SET next_due_at = NULL".into())
            .await;
        app.db
            .run(move |conn| push_schedules::retime(conn, user, "Europe/Berlin", start))
            .await
            .unwrap();
        let fired = simulate_days(&app, upload, tz, first, 3).await;
        let days: Vec<NaiveDate> = fired.iter().map(|t| t.date_naive()).collect();
        assert_eq!(
            days,
            (0..3)
                .map(|d| first + chrono::TimeDelta::days(d))
                .collect::<Vec<_>>(),
            "exactly one digest per local day: {fired:?}"
        );
        assert!(
            fired.iter().all(|t| (t.hour(), t.minute()) == (18, 0)),
            "each at 18:00 local: {fired:?}"
        );
    }
    assert_eq!(app.count("jobs").await, 6);
}

#[tokio::test]
async fn workers_racing_on_the_same_schedules_send_each_digest_once() {
    let app = spawn_app().await;
    let fcm = fcm().await;
    const USERS: usize = 240;
    let now = now_micros();
    let fixture = app
        .db
        .run(move |conn| PushFixture::create(conn, USERS, 5, "UTC", now))
        .await
        .unwrap();
    // Four schedulers claim small batches at the same time, and two senders
    // share the queue.
    let a = start_sending(&app.db, &fcm.sender);
    let b = start_sending(&app.db, &fcm.sender);
    let schedulers = (0..4).map(|_| {
        let db = app.db.clone();
        tokio::spawn(async move {
            let mut total = 0;
            loop {
                let report = db
                    .run(move |conn| {
                        deskbind_core::usecases::digests::enqueue_due(conn, now_micros(), 7)
                    })
                    .await
                    .unwrap();
                total += report.digests;
                if report.schedules == 0 {
                    return total;
                }
            }
        })
    });
    let queued: usize = futures_util::future::join_all(schedulers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    assert_eq!(queued, USERS);
    deliveries(&fcm, USERS).await;
    a.stop().await;
    b.stop().await;
    let all = fcm.standin.deliveries();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for d in &all {
        *counts.entry(d.device_token.clone()).or_default() += 1;
        assert_eq!(data(d)["records"], "5");
    }
    assert_eq!(all.len(), USERS, "no digest sent twice");
    assert!(fixture.tokens.iter().all(|t| counts.get(t) == Some(&1)));
    let org = fixture.org;
    let outcomes = app
        .db
        .run(move |conn| job_outcomes(conn, org))
        .await
        .unwrap();
    assert_eq!(outcomes, vec![(Some("sent".to_owned()), USERS as i64)]);
}
