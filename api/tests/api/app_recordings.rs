//! Recordings sent by the app the phone handed them to (the NFC path):
//! the same transfer, checks and any-order linking as the phone's, only
//! for calls the app user held that phone for, on local storage and S3.

use chrono::{Duration, Utc};
use deskbind_core::ids::PhoneId;
use deskbind_mobile::{AppClient, PhoneClient, RelayedCall, file_digest};
use sha2::{Digest as _, Sha256};

use crate::helpers::{TestApp, code, spawn_app, spawn_app_with};
use crate::recordings::{stored_files, wav, write};
use crate::records::{backdate_bindings, call};
use crate::s3::S3Server;

fn relayed(phone_id: PhoneId, call_id: &str, minutes_ago: i64) -> RelayedCall {
    RelayedCall {
        phone_id,
        call_id: call_id.into(),
        started_at: call(call_id, minutes_ago).started_at,
    }
}

#[tokio::test]
async fn an_app_sends_the_recording_its_phone_handed_over_in_either_order() {
    let app = spawn_app().await;
    let (_, sam_app, phone, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(16_000);
    let file = write(dir.path(), "r.wav", &audio);

    // The record first (relayed by the app), then the recording.
    let record = sam_app
        .upload_call_records(phone.id, &[call("first", 5)])
        .await
        .unwrap();
    let record_id = record.results[0].id.unwrap();
    let first = relayed(phone.id, "first", 5);
    let recording = sam_app.upload_recording(&first, &file).await.unwrap();
    assert_eq!(recording.sha256, hex::encode(Sha256::digest(&audio)));
    assert_eq!(recording.duration_ms, Some(1_000));
    let linked = sam_app.get_call(record_id).await.unwrap();
    assert_eq!(linked.recording.map(|r| r.id), Some(recording.id));
    let saved = dir.path().join("download.wav");
    sam_app.download_recording(record_id, &saved).await.unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), audio);

    // A replay answers the stored recording; other bytes conflict.
    let again = sam_app.upload_recording(&first, &file).await.unwrap();
    assert_eq!(again.id, recording.id);
    let other = write(dir.path(), "o.wav", &wav(16_001));
    let err = sam_app.upload_recording(&first, &other).await.unwrap_err();
    assert_eq!(code(&err), (409, "recording_exists".into()));

    // The recording first, then the phone's own record: linked.
    let second = relayed(phone.id, "second", 4);
    let early = sam_app.upload_recording(&second, &file).await.unwrap();
    let later = device
        .upload_call_records(&[call("second", 4)])
        .await
        .unwrap();
    let record = sam_app
        .get_call(later.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(record.recording.map(|r| r.id), Some(early.id));

    // Twenty copies at once: one recording, every answer the same one.
    let third = relayed(phone.id, "third", 3);
    let sends = (0..20).map(|_| sam_app.upload_recording(&third, &file));
    let answers = futures_util::future::join_all(sends).await;
    let ids: std::collections::HashSet<_> = answers.into_iter().map(|a| a.unwrap().id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("recordings").await, 3);
    assert_eq!(stored_files(&app), 3, "no copy left behind");
}

/// A raw PUT by `client` to the app's route.
async fn put_as(
    app: &TestApp,
    client: &AppClient,
    phone_id: &str,
    query: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let digest = format!(
        "sha-256=:{}:",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            Sha256::digest(&body)
        )
    );
    reqwest::Client::new()
        .put(app.url(&format!("/v1/phones/{phone_id}/recordings/c1{query}")))
        .bearer_auth(client.tokens().await.unwrap().0)
        .header("Content-Digest", digest)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn problem_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or("?").to_owned())
}

/// Sam and Eve share a phone: Eve held it from 3 h to 2 h ago, Sam from
/// 2 h ago until now.
async fn eve_then_sam(
    app: &TestApp,
) -> (
    deskbind_core::wire::User,
    AppClient,
    deskbind_core::wire::Phone,
    PhoneClient,
    AppClient,
) {
    let (sam, sam_app, phone, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (eve, eve_app) = app
        .user("eve@acme.test", deskbind_core::wire::Role::Salesperson)
        .await;
    app.grant(phone.id, &[sam.id, eve.id]).await;
    // Eve held the phone from 3 h to 2 h ago; Sam from 2 h ago until now.
    let now = Utc::now().timestamp_micros();
    let hour = 3_600_000_000_i64;
    app.execute(format!(
        "UPDATE bindings SET started_at = {} WHERE user_id = '{}'",
        now - 2 * hour,
        sam.id
    ))
    .await;
    app.execute(format!(
        "INSERT INTO bindings (id, org_id, phone_id, user_id, via, started_at, ended_at, expires_at, end_reason) \
         SELECT '{}', org_id, phone_id, '{}', via, {}, {}, NULL, 'unbound' FROM bindings WHERE user_id = '{}'",
        uuid::Uuid::now_v7(),
        eve.id,
        now - 3 * hour,
        now - 2 * hour,
        sam.id
    ))
    .await;
    (sam, sam_app, phone, device, eve_app)
}

/// Whether the local store still holds the object of recording `id`.
fn object_exists(app: &TestApp, id: impl std::fmt::Display) -> bool {
    fn find(dir: &std::path::Path, name: &str) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let path = e.path();
                if path.is_dir() {
                    find(&path, name)
                } else {
                    e.file_name().to_string_lossy().starts_with(name)
                }
            })
    }
    find(&app.settings.data_dir.join("recordings"), &id.to_string())
}

#[tokio::test]
async fn an_app_may_send_only_recordings_of_calls_its_user_held_the_phone_for() {
    let app = spawn_app().await;
    let (sam, sam_app, phone, device, eve_app) = eve_then_sam(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "r.wav", &wav(8_000));

    // Sam's recorded call: not Eve's, whatever time she claims.
    device
        .upload_call_records(&[call("sams", 5)])
        .await
        .unwrap();
    let err = eve_app
        .upload_recording(&relayed(phone.id, "sams", 150), &file)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "not_your_call".into()));
    // No record yet: a time when Sam held the phone is not Eve's either.
    let err = eve_app
        .upload_recording(&relayed(phone.id, "unknown", 5), &file)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "not_your_call".into()));
    assert_eq!(app.count("recordings").await, 0);
    assert_eq!(stored_files(&app), 0);

    // A time when Eve held it is hers to send; but when the phone then
    // reports the call as Sam's, her recording stays off his call.
    let claimed = eve_app
        .upload_recording(&relayed(phone.id, "contested", 150), &file)
        .await
        .unwrap();
    let record = device
        .upload_call_records(&[call("contested", 5)])
        .await
        .unwrap();
    let contested = sam_app
        .get_call(record.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(contested.user_id, Some(sam.id));
    assert!(contested.recording.is_none(), "{claimed:?} not linked");

    // Missing start, another organisation's caller, an unknown phone.
    let missing = put_as(&app, &sam_app, &phone.id.to_string(), "", wav(100)).await;
    assert_eq!(problem_code(missing).await, (400, "invalid_query".into()));
    let start = format!(
        "?started_at={}",
        (Utc::now() - Duration::minutes(5)).to_rfc3339()
    );
    let start = start.replace('+', "%2B");
    let globex = app.other_org_admin().await;
    let foreign = put_as(&app, &globex, &phone.id.to_string(), &start, wav(100)).await;
    assert_eq!(problem_code(foreign).await, (404, "not_found".into()));
    let unknown = put_as(
        &app,
        &sam_app,
        &PhoneId::new().to_string(),
        &start,
        wav(100),
    )
    .await;
    assert_eq!(problem_code(unknown).await, (404, "not_found".into()));
    // A phone credential is not an app user's.
    let as_phone = reqwest::Client::new()
        .put(app.url(&format!("/v1/phones/{}/recordings/c1{start}", phone.id)))
        .bearer_auth(device.credential())
        .body(wav(100))
        .send()
        .await
        .unwrap();
    assert_eq!(as_phone.status(), 401);
    assert_eq!(app.count("recordings").await, 1);
}

#[tokio::test]
async fn on_s3_an_app_sends_streamed_and_presigned_and_tickets_stay_with_their_holder() {
    let s3 = S3Server::start().await;
    let app = spawn_app_with(|s| s3.configure(s)).await;
    let (_, sam_app, phone, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (_, eve_app) = app
        .user("eve@acme.test", deskbind_core::wire::Role::Salesperson)
        .await;
    backdate_bindings(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(40_000);
    let path = write(dir.path(), "r.wav", &audio);
    let (size, sha) = file_digest(&path).await.unwrap();

    let streamed = sam_app
        .upload_recording_streamed(&relayed(phone.id, "c1", 5), &path, size, sha)
        .await
        .unwrap();
    let presigned = sam_app
        .upload_recording_presigned(&relayed(phone.id, "c2", 4), &path, size, sha)
        .await
        .unwrap();
    assert_ne!(streamed.id, presigned.id);
    assert_eq!(s3.object_count(), 2);
    let records = device
        .upload_call_records(&[call("c1", 5), call("c2", 4)])
        .await
        .unwrap();
    for result in &records.results {
        let record = sam_app.get_call(result.id.unwrap()).await.unwrap();
        assert!(record.recording.is_some(), "{} linked", record.call_id);
    }

    // Eve may not even ask for a ticket for Sam's call.
    let err = eve_app
        .upload_recording_presigned(&relayed(phone.id, "c3", 3), &path, size, sha)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "not_your_call".into()));
    // Sam's ticket is completed by Sam only: not by Eve, not by the phone.
    let started = call("c3", 3)
        .started_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let path = format!(
        "/v1/phones/{}/recordings/c3/uploads?started_at={started}",
        phone.id
    );
    let token = sam_app.tokens().await.unwrap().0;
    let ticket = crate::recordings::ticket_then_put(&app, &path, &token, &audio).await;
    let complete = |token: String, path: &str| {
        reqwest::Client::new()
            .post(app.url(&format!("{path}/{}/complete", ticket.id)))
            .bearer_auth(token)
            .send()
    };
    let eve = complete(eve_app.tokens().await.unwrap().0, "/v1/recording-uploads")
        .await
        .unwrap();
    assert_eq!(eve.status(), 404);
    let by_phone = complete(
        device.credential().to_owned(),
        "/v1/phone/recording-uploads",
    )
    .await
    .unwrap();
    assert_eq!(by_phone.status(), 404);
    let sam = complete(sam_app.tokens().await.unwrap().0, "/v1/recording-uploads")
        .await
        .unwrap();
    assert_eq!(sam.status(), 201);
    assert_eq!(app.count("recordings").await, 3);
    assert_eq!(app.count("recording_uploads").await, 0);
}

#[tokio::test]
async fn a_past_holders_early_claim_gives_way_to_the_rightful_recording() {
    let app = spawn_app().await;
    let (sam, sam_app, phone, device, eve_app) = eve_then_sam(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "junk.wav", &wav(8_000));
    let audio = wav(16_000);
    let real = write(dir.path(), "real.wav", &audio);

    // Eve claims Sam's call ids before their records arrive, with a start
    // when she held the phone; then the records come, Sam's, and the real
    // recording is sent by Sam's app, then (second call) by the phone.
    for (call_id, by_phone) in [("by-app", false), ("by-phone", true)] {
        let claimed = eve_app
            .upload_recording(&relayed(phone.id, call_id, 150), &junk)
            .await
            .unwrap();
        assert!(object_exists(&app, claimed.id));
        let record = device
            .upload_call_records(&[call(call_id, 5)])
            .await
            .unwrap();
        let record_id = record.results[0].id.unwrap();
        let recording = if by_phone {
            device.upload_recording(call_id, &real).await.unwrap()
        } else {
            sam_app
                .upload_recording(&relayed(phone.id, call_id, 5), &real)
                .await
                .unwrap()
        };
        assert_ne!(recording.id, claimed.id, "{call_id}");
        assert_eq!(recording.sha256, hex::encode(Sha256::digest(&audio)));
        let linked = sam_app.get_call(record_id).await.unwrap();
        assert_eq!(linked.user_id, Some(sam.id));
        assert_eq!(linked.recording.map(|r| r.id), Some(recording.id));
        let saved = dir.path().join(format!("{call_id}.wav"));
        sam_app.download_recording(record_id, &saved).await.unwrap();
        assert_eq!(std::fs::read(&saved).unwrap(), audio, "{call_id}");
        assert!(!object_exists(&app, claimed.id), "{call_id}: junk removed");
        // Eve's claim is gone for good: her replay is not hers to send.
        let err = eve_app
            .upload_recording(&relayed(phone.id, call_id, 150), &junk)
            .await
            .unwrap_err();
        assert_eq!(code(&err), (403, "not_your_call".into()));
    }
    assert_eq!(app.count("recordings").await, 2);
    assert_eq!(stored_files(&app), 2, "no orphan object left");
}

#[tokio::test]
async fn a_past_holder_learns_nothing_of_a_recording_the_phone_sent() {
    let app = spawn_app().await;
    let (_, _, phone, device, eve_app) = eve_then_sam(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "r.wav", &wav(8_000));
    let other = write(dir.path(), "o.wav", &wav(8_001));
    // The phone sent a call's recording; its record has not arrived.
    device.upload_recording("quiet", &file).await.unwrap();
    // Eve, with a start when she held the phone, is told only what she is
    // told for any call not hers: not whether it has a recording, nor
    // (same bytes) the recording itself.
    for bytes in [&file, &other] {
        let err = eve_app
            .upload_recording(&relayed(phone.id, "quiet", 150), bytes)
            .await
            .unwrap_err();
        assert_eq!(code(&err), (403, "not_your_call".into()));
    }
    assert_eq!(app.count("recordings").await, 1);
    assert_eq!(stored_files(&app), 1);
}

#[tokio::test]
async fn a_call_start_in_the_future_is_refused() {
    let app = spawn_app().await;
    let (_, sam_app, phone, _) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let at = |offset: Duration| {
        format!("?started_at={}", (Utc::now() + offset).to_rfc3339()).replace('+', "%2B")
    };
    let phone_id = phone.id.to_string();
    let future = put_as(
        &app,
        &sam_app,
        &phone_id,
        &at(Duration::minutes(10)),
        wav(100),
    )
    .await;
    assert_eq!(
        problem_code(future).await,
        (422, "started_at_in_future".into())
    );
    assert_eq!(app.count("recordings").await, 0);
    // A clock a minute fast is within the skew allowed.
    let fast = put_as(
        &app,
        &sam_app,
        &phone_id,
        &at(Duration::minutes(1)),
        wav(100),
    )
    .await;
    assert_eq!(fast.status(), 201);
}
