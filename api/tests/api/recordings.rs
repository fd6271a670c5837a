//! Recordings: linking in either order, verification (size, checksum,
//! audio), replays, Range downloads, on local storage and on a real S3
//! server, and memory while a large file streams through.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use deskbind_core::domain::audio::wav_header;
use deskbind_mobile::{PhoneClient, file_digest};
use sha2::{Digest as _, Sha256};

use crate::helpers::{TestApp, code, spawn_app, spawn_app_with};
use crate::records::call;
use crate::s3::{S3Server, count_files};

/// A WAV file of `data_len` bytes of audio (a pattern, not silence, so a
/// wrong byte range shows).
pub fn wav(data_len: u32) -> Vec<u8> {
    let mut bytes = wav_header(data_len);
    bytes.extend((0..data_len).map(|i| (i % 251) as u8));
    bytes
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn digest_header(bytes: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
    )
}

/// A raw PUT of `body` declaring `digest`.
async fn put_raw(
    app: &TestApp,
    phone: &PhoneClient,
    call_id: &str,
    body: Vec<u8>,
    digest: Option<String>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .put(app.url(&format!("/v1/phone/recordings/{call_id}")))
        .bearer_auth(phone.credential());
    if let Some(digest) = digest {
        request = request.header("Content-Digest", digest);
    }
    request.body(body).send().await.unwrap()
}

/// `put_raw` with the body's correct Content-Digest.
async fn put_signed(
    app: &TestApp,
    phone: &PhoneClient,
    call_id: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let digest = digest_header(&body);
    put_raw(app, phone, call_id, body, Some(digest)).await
}

/// Recording files in the local store (not the spool, not call archives).
pub fn stored_files(app: &TestApp) -> usize {
    let root = app.settings.data_dir.join("recordings");
    count_files(&root) - count_files(&root.join(".incoming")) - count_files(&root.join("archives"))
}

fn spool_files(app: &TestApp) -> usize {
    count_files(&app.settings.data_dir.join("recordings").join(".incoming"))
}

#[tokio::test]
async fn record_then_recording_and_recording_then_record_both_end_linked() {
    let app = spawn_app().await;
    let (_, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    crate::records::backdate_bindings(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(16_000);
    let file = write(dir.path(), "r.wav", &audio);

    // Record first.
    let record = phone
        .upload_call_records(&[call("first", 5)])
        .await
        .unwrap();
    let record_id = record.results[0].id.unwrap();
    let before = sam_app.sync_calls(None, None).await.unwrap();
    assert!(before.items[0].recording.is_none());
    let recording = phone.upload_recording("first", &file).await.unwrap();
    assert_eq!(recording.size_bytes, audio.len() as u64);
    assert_eq!(recording.sha256, hex::encode(Sha256::digest(&audio)));
    assert_eq!(recording.duration_ms, Some(1_000));
    let linked = sam_app.get_call(record_id).await.unwrap();
    assert_eq!(linked.recording.as_ref().map(|r| r.id), Some(recording.id));
    // The link is a change the app's sync sees.
    let after = sam_app
        .sync_calls(Some(&before.next_cursor), None)
        .await
        .unwrap();
    assert_eq!(after.items.len(), 1);
    assert_eq!(
        after.items[0].recording.as_ref().map(|r| r.id),
        Some(recording.id)
    );

    // Recording first.
    let early = phone.upload_recording("second", &file).await.unwrap();
    let later = phone
        .upload_call_records(&[call("second", 4)])
        .await
        .unwrap();
    let second = sam_app
        .get_call(later.results[0].id.unwrap())
        .await
        .unwrap();
    assert_eq!(second.recording.map(|r| r.id), Some(early.id));

    let saved = dir.path().join("download.wav");
    let n = sam_app.download_recording(record_id, &saved).await.unwrap();
    assert_eq!(n, audio.len() as u64);
    assert_eq!(std::fs::read(&saved).unwrap(), audio);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_nothing_is_stored() {
    let app = spawn_app_with(|s| s.recording_max_bytes = 64 * 1024).await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let audio = wav(8_000);

    let wrong_checksum = put_raw(
        &app,
        &phone,
        "c1",
        audio.clone(),
        Some(digest_header(b"other")),
    )
    .await;
    assert_eq!(wrong_checksum.status(), 422);
    let body: serde_json::Value = wrong_checksum.json().await.unwrap();
    assert_eq!(body["code"], "checksum_mismatch");

    let pdf = b"%PDF-1.7\n%not audio at all, but long enough to sniff".to_vec();
    let not_audio = put_signed(&app, &phone, "c1", pdf.clone()).await;
    assert_eq!(not_audio.status(), 415);
    let body: serde_json::Value = not_audio.json().await.unwrap();
    assert_eq!(body["code"], "not_audio");

    let big = wav(100 * 1024);
    let oversize = put_signed(&app, &phone, "c1", big.clone()).await;
    assert_eq!(oversize.status(), 413);

    let no_digest = put_raw(&app, &phone, "c1", audio.clone(), None).await;
    assert_eq!(no_digest.status(), 400);
    let body: serde_json::Value = no_digest.json().await.unwrap();
    assert_eq!(body["code"], "digest_required");

    // A body of unknown length (chunked) cannot be checked against a limit
    // up front.
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(audio.clone())]);
    let chunked = reqwest::Client::new()
        .put(app.url("/v1/phone/recordings/c1"))
        .bearer_auth(phone.credential())
        .header("Content-Digest", digest_header(&audio))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), 411);

    assert_eq!(spool_files(&app), 0, "no spool file left behind");
    // Fewer bytes than Content-Length said: the connection ends early.
    truncated_upload(&app, &phone, &audio).await;

    assert_eq!(app.count("recordings").await, 0);
    assert_eq!(stored_files(&app), 0, "no recording file kept");

    // The same call id still accepts a good upload afterwards.
    let good = put_signed(&app, &phone, "c1", audio.clone()).await;
    assert_eq!(good.status(), 201);
    assert_eq!(stored_files(&app), 1);
}

/// Sends headers announcing `audio.len()` bytes and then half of them,
/// then closes: the server must store nothing.
async fn truncated_upload(app: &TestApp, phone: &PhoneClient, audio: &[u8]) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "PUT /v1/phone/recordings/c1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\nContent-Digest: {}\r\n\r\n",
        phone.credential(),
        audio.len(),
        digest_header(audio)
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&audio[..audio.len() / 2]).await.unwrap();
    socket.shutdown().await.unwrap();
    // Wait for the server to finish with the connection (an answer or a close).
    let mut sink = Vec::new();
    let _read = socket.read_to_end(&mut sink).await;
}

#[tokio::test]
async fn a_replay_answers_the_stored_recording_and_different_bytes_conflict() {
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let audio = wav(4_000);
    let first = put_signed(&app, &phone, "c1", audio.clone()).await;
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = put_signed(&app, &phone, "c1", audio.clone()).await;
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let other = wav(4_001);
    let conflict = put_signed(&app, &phone, "c1", other.clone()).await;
    assert_eq!(conflict.status(), 409);
    assert_eq!(app.count("recordings").await, 1);
    assert_eq!(stored_files(&app), 1);
}

#[tokio::test]
async fn range_requests_answer_206_with_the_right_bytes_and_only_to_who_may_see() {
    let app = spawn_app().await;
    let (_, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (_, eve_app, _, _) = app.bound_salesperson("eve@acme.test", "+4930222").await;
    crate::records::backdate_bindings(&app).await;
    let audio = wav(50_000);
    let dir = tempfile::tempdir().unwrap();
    phone
        .upload_recording("c1", &write(dir.path(), "r.wav", &audio))
        .await
        .unwrap();
    let record = phone.upload_call_records(&[call("c1", 5)]).await.unwrap();
    let id = record.results[0].id.unwrap();
    let token = sam_app.tokens().await.unwrap().0;
    let url = app.url(&format!("/v1/calls/{id}/recording"));

    let partial = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), 206);
    assert_eq!(
        partial.headers()["content-range"],
        format!("bytes 100-199/{}", audio.len()).as_str()
    );
    assert_eq!(partial.headers()["content-type"], "audio/wav");
    assert_eq!(&partial.bytes().await.unwrap()[..], &audio[100..200]);

    let tail = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(&tail.bytes().await.unwrap()[..], &audio[audio.len() - 10..]);

    let whole = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&token)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(
        whole
            .headers()
            .get("content-encoding")
            .is_none_or(|e| e == "identity"),
        "audio is sent as it is stored"
    );
    assert_eq!(&whole.bytes().await.unwrap()[..], &audio[..]);

    // Another salesperson, and another organisation, get 404.
    let saved = dir.path().join("x");
    let err = eve_app.download_recording(id, &saved).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let globex = app.other_org_admin().await;
    let err = globex.download_recording(id, &saved).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    // A call without a recording has none to download.
    let bare = phone.upload_call_records(&[call("c2", 4)]).await.unwrap();
    let err = sam_app
        .download_recording(bare.results[0].id.unwrap(), &saved)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn presigned_uploads_need_object_storage() {
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(1_000);
    let path = write(dir.path(), "r.wav", &audio);
    let (size, sha) = file_digest(&path).await.unwrap();
    let err = phone
        .upload_recording_presigned("c1", &path, size, sha)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "presigned_upload_unavailable".into()));
}

/// Asks for a presigned upload of `audio` and PUTs it to the bucket, but
/// does not complete it.
async fn presigned_put(
    app: &TestApp,
    phone: &PhoneClient,
    call_id: &str,
    audio: &[u8],
) -> deskbind_core::wire::RecordingUpload {
    let path = format!("/v1/phone/recordings/{call_id}/uploads");
    ticket_then_put(app, &path, phone.credential(), audio).await
}

/// Asks `path` (with `token`) for a presigned upload of `audio` and PUTs it
/// to the bucket, without completing it.
pub async fn ticket_then_put(
    app: &TestApp,
    path: &str,
    token: &str,
    audio: &[u8],
) -> deskbind_core::wire::RecordingUpload {
    let ticket: deskbind_core::wire::RecordingUpload = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "size_bytes": audio.len(),
            "sha256": hex::encode(Sha256::digest(audio)),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let put = reqwest::Client::new()
        .put(&ticket.url)
        .body(audio.to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    ticket
}

pub(crate) async fn s3_app(s3: &S3Server) -> TestApp {
    spawn_app_with(|s| s3.configure(s)).await
}

#[tokio::test]
async fn on_s3_streamed_and_presigned_uploads_are_verified_linked_and_served() {
    let s3 = S3Server::start().await;
    let app = s3_app(&s3).await;
    let (_, sam_app, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    crate::records::backdate_bindings(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(40_000);
    let path = write(dir.path(), "r.wav", &audio);
    let (size, sha) = file_digest(&path).await.unwrap();

    // Streamed through the API into the bucket.
    let streamed = phone
        .upload_recording_streamed("c1", &path, size, sha)
        .await
        .unwrap();
    assert_eq!(s3.object_count(), 1);
    // Presigned straight to the bucket, then verified by the server.
    let presigned = phone
        .upload_recording_presigned("c2", &path, size, sha)
        .await
        .unwrap();
    assert_ne!(streamed.id, presigned.id);
    assert_eq!(s3.object_count(), 2);
    assert_eq!(spool_files(&app), 0);

    let records = phone
        .upload_call_records(&[call("c1", 5), call("c2", 4)])
        .await
        .unwrap();
    for result in &records.results {
        let record = sam_app.get_call(result.id.unwrap()).await.unwrap();
        assert!(record.recording.is_some(), "{} linked", record.call_id);
    }

    // Downloads redirect to a presigned URL that honours Range.
    let id = records.results[1].id.unwrap();
    let saved = dir.path().join("download.wav");
    assert_eq!(
        sam_app.download_recording(id, &saved).await.unwrap(),
        audio.len() as u64
    );
    assert_eq!(std::fs::read(&saved).unwrap(), audio);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects
        .get(app.url(&format!("/v1/calls/{id}/recording")))
        .bearer_auth(sam_app.tokens().await.unwrap().0)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&s3.endpoint), "{location}");
    let partial = reqwest::Client::new()
        .get(&location)
        .header("Range", "bytes=1000-1099")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), 206);
    assert_eq!(&partial.bytes().await.unwrap()[..], &audio[1000..1100]);
}

#[tokio::test]
async fn on_s3_a_presigned_upload_that_fails_verification_leaves_nothing() {
    let s3 = S3Server::start().await;
    let app = s3_app(&s3).await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let dir = tempfile::tempdir().unwrap();
    let audio = wav(20_000);
    let path = write(dir.path(), "r.wav", &audio);
    let (size, _) = file_digest(&path).await.unwrap();
    let wrong: [u8; 32] = Sha256::digest(b"something else").into();
    let err = phone
        .upload_recording_presigned("c1", &path, size, wrong)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "checksum_mismatch".into()));
    assert_eq!(s3.object_count(), 0, "the object was deleted");

    let pdf = {
        let mut bytes = b"%PDF-1.7\n".to_vec();
        bytes.resize(5_000, b'x');
        bytes
    };
    let pdf_path = write(dir.path(), "x.pdf", &pdf);
    let (size, sha) = file_digest(&pdf_path).await.unwrap();
    let err = phone
        .upload_recording_presigned("c1", &pdf_path, size, sha)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (415, "not_audio".into()));
    assert_eq!(s3.object_count(), 0);
    assert_eq!(app.count("recordings").await, 0);
    assert_eq!(app.count("recording_uploads").await, 0);

    // Another phone (of another organisation) cannot complete a ticket.
    let globex = app.other_org_admin().await;
    let foreign = crate::helpers::foreign_phone(&globex, "+4930999").await;
    let intruder = app.provision(&globex, foreign.id).await;
    // Completing before uploading anything says so and keeps the ticket.
    let ticket = reqwest::Client::new()
        .post(app.url("/v1/phone/recordings/c9/uploads"))
        .bearer_auth(phone.credential())
        .json(&serde_json::json!({ "size_bytes": 100, "sha256": hex::encode([0u8; 32]) }))
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.status(), 201);
    let ticket: serde_json::Value = ticket.json().await.unwrap();
    let complete = reqwest::Client::new()
        .post(app.url(&format!(
            "/v1/phone/recording-uploads/{}/complete",
            ticket["id"].as_str().unwrap()
        )))
        .bearer_auth(phone.credential())
        .send()
        .await
        .unwrap();
    assert_eq!(complete.status(), 409);
    let body: serde_json::Value = complete.json().await.unwrap();
    assert_eq!(body["code"], "upload_incomplete");
    let stolen = reqwest::Client::new()
        .post(app.url(&format!(
            "/v1/phone/recording-uploads/{}/complete",
            ticket["id"].as_str().unwrap()
        )))
        .bearer_auth(intruder.credential())
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 404);
}

/// Peak resident memory (VmHWM) after clearing it, in bytes.
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_200_mb_upload_raises_memory_by_less_than_32_mb() {
    const SIZE: u32 = 200 * 1024 * 1024;
    let app = spawn_app().await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.wav");
    {
        use std::io::Write as _;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        file.write_all(&wav_header(SIZE - 44)).unwrap();
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        let mut left = (SIZE - 44) as usize;
        while left > 0 {
            let n = left.min(block.len());
            file.write_all(&block[..n]).unwrap();
            left -= n;
        }
    }
    let (size, sha) = file_digest(&path).await.unwrap();
    // Warm the server path with a small upload so one-time allocations
    // (pools, buffers) are not counted.
    let small = write(dir.path(), "small.wav", &wav(1_000));
    phone.upload_recording("warm", &small).await.unwrap();

    reset_peak_rss();
    let before = status_kib("VmRSS:");
    let stored = phone
        .upload_recording_streamed("big", &path, size, sha)
        .await
        .unwrap();
    let peak = status_kib("VmHWM:");
    assert_eq!(stored.size_bytes, u64::from(SIZE));
    let grew_mib = peak.saturating_sub(before) as f64 / 1024.0;
    eprintln!("200 MB upload: RSS before {before} KiB, peak {peak} KiB (+{grew_mib:.1} MiB)");
    // Client and server share this process, so the figure covers both.
    assert!(grew_mib < 32.0, "memory grew by {grew_mib:.1} MiB");
}

#[tokio::test]
async fn the_worker_removes_presigned_uploads_never_completed() {
    let s3 = S3Server::start().await;
    let app = s3_app(&s3).await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let audio = wav(2_000);
    let _ticket = presigned_put(&app, &phone, "c1", &audio).await;
    assert_eq!(s3.object_count(), 1);

    let storage = deskbind_core::storage::Storage::from_settings(&app.settings)
        .await
        .unwrap();
    // Within its lifetime (and grace) the ticket is left alone.
    assert_eq!(
        deskbind_worker::run_upload_cleanup_once(&app.db, &storage)
            .await
            .unwrap(),
        (0, 0)
    );
    app.execute("UPDATE recording_uploads SET expires_at = expires_at - 7200000000".into())
        .await;
    assert_eq!(
        deskbind_worker::run_upload_cleanup_once(&app.db, &storage)
            .await
            .unwrap(),
        (1, 0)
    );
    assert_eq!(s3.object_count(), 0);
    assert_eq!(app.count("recording_uploads").await, 0);
}

#[tokio::test]
async fn completing_one_upload_twice_at_once_keeps_the_recording() {
    let s3 = S3Server::start().await;
    let app = s3_app(&s3).await;
    let (_, _, _, phone) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let audio = wav(30_000);
    let ticket = presigned_put(&app, &phone, "c1", &audio).await;
    let complete = || {
        reqwest::Client::new()
            .post(app.url(&format!(
                "/v1/phone/recording-uploads/{}/complete",
                ticket.id
            )))
            .bearer_auth(phone.credential())
            .send()
    };
    let (a, b) = tokio::join!(complete(), complete());
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 201] || statuses == [201, 404],
        "{statuses:?}"
    );
    assert_eq!(app.count("recordings").await, 1);
    assert_eq!(app.count("recording_uploads").await, 0);
    assert_eq!(
        s3.object_count(),
        1,
        "the stored recording's object survives"
    );
}
