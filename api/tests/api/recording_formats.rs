//! A recording must be the audio its first bytes claim: a WAV header
//! followed by text, an MP3 frame header followed by junk, or an Ogg page
//! with a wrong CRC is refused (422 `invalid_audio`), streamed or
//! presigned, from the phone or the app.

use deskbind_core::domain::audio::wav_header;
use deskbind_core::domain::audio_structure::samples;
use deskbind_mobile::{PhoneClient, RelayedCall, file_digest};

use crate::helpers::{code, spawn_app, spawn_app_with};
use crate::recordings::{stored_files, wav, write};
use crate::records::{backdate_bindings, call};
use crate::s3::S3Server;

/// (name, valid sample, forged copy) per checked format.
fn cases() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut text_wav = wav_header(100_000);
    text_wav.extend_from_slice(b"This is not audio, only a WAV header and some plain text.\n");
    let mut junk_mp3 = vec![0xff, 0xfb, 0x90, 0x64];
    junk_mp3.extend_from_slice(&[b'x'; 2_000]);
    let mut bad_crc = samples::ogg(b"rest of the stream");
    bad_crc[40] ^= 0xff;
    vec![
        ("wav", wav(8_000), text_wav),
        ("mp3", samples::mp3(8, 0), junk_mp3),
        ("mp3 after ID3", samples::mp3(8, 100_000), {
            let mut tagged = samples::mp3(0, 100_000);
            tagged.extend_from_slice(b"plain text where the frames should be");
            tagged
        }),
        ("ogg", samples::ogg(b"rest of the stream"), bad_crc),
    ]
}

async fn expect_invalid(
    result: deskbind_mobile::Result<deskbind_core::wire::Recording>,
    name: &str,
) {
    let err = result.expect_err(name);
    assert_eq!(code(&err), (422, "invalid_audio".into()), "{name}");
}

#[tokio::test]
async fn each_format_is_accepted_when_valid_and_refused_when_forged() {
    let app = spawn_app().await;
    let (_, sam_app, phone, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, valid, forged)) in cases().into_iter().enumerate() {
        let forged_path = write(dir.path(), &format!("forged{i}"), &forged);
        expect_invalid(
            device
                .upload_recording(&format!("f{i}"), &forged_path)
                .await,
            name,
        )
        .await;
        let relayed = RelayedCall {
            phone_id: phone.id,
            call_id: format!("f{i}"),
            started_at: call("x", 5).started_at,
        };
        expect_invalid(sam_app.upload_recording(&relayed, &forged_path).await, name).await;
        let valid_path = write(dir.path(), &format!("valid{i}"), &valid);
        let stored = device
            .upload_recording(&format!("v{i}"), &valid_path)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(stored.size_bytes, valid.len() as u64, "{name}");
    }
    assert_eq!(app.count("recordings").await, 4);
    assert_eq!(stored_files(&app), 4, "nothing kept of the forged files");
}

#[tokio::test]
async fn on_s3_a_forged_presigned_upload_is_refused_and_deleted() {
    let s3 = S3Server::start().await;
    let app = spawn_app_with(|s| s3.configure(s)).await;
    let (_, _, _, device): (_, _, _, PhoneClient) =
        app.bound_salesperson("sam@acme.test", "+4930111").await;
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, _, forged)) in cases().into_iter().enumerate() {
        let path = write(dir.path(), &format!("forged{i}"), &forged);
        let (size, sha) = file_digest(&path).await.unwrap();
        expect_invalid(
            device
                .upload_recording_presigned(&format!("f{i}"), &path, size, sha)
                .await,
            name,
        )
        .await;
    }
    assert_eq!(s3.object_count(), 0);
    assert_eq!(app.count("recordings").await, 0);
    assert_eq!(app.count("recording_uploads").await, 0);
}
