//! `PhoneClient` for Android desk phones: provisioning, the live link
//! (commands in, acknowledgements and call progress out), NFC binding
//! tokens, recordings, and call records through an offline queue kept in a
//! file, so records taken while the network is down survive a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use deskbind_mobile::wire::{CallState, DialFailure, HangupReason};
use deskbind_mobile::{LinkOptions, PhoneCommand, PhoneReporter};
use tokio_util::sync::CancellationToken;

use crate::error::{DeskbindError, Result, local, malformed_json};
use crate::queue::RecordQueue;
use crate::types::*;

/// A dial the server asks the phone to place. Dial it only before
/// `expires_at`, and acknowledge it first.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DialCommand {
    pub dial_id: String,
    pub number: String,
    pub expires_at: SystemTime,
}

/// Receives the server's commands (on a background thread).
#[uniffi::export(with_foreign)]
pub trait PhoneCommandListener: Send + Sync {
    fn on_dial(&self, command: DialCommand);
    /// Stop the call of `dial_id` (`reason` `cancelled` or `expired`).
    fn on_hangup(&self, dial_id: String, reason: String);
    /// The holder changed; `None`: nobody holds the phone.
    fn on_holder(&self, user_id: Option<String>, display_name: Option<String>);
    /// The server refused something the phone sent.
    fn on_refused(&self, code: String, detail: String);
}

#[derive(uniffi::Object)]
pub struct PhoneClient {
    inner: Arc<deskbind_mobile::PhoneClient>,
    queue: RecordQueue,
}

impl std::fmt::Debug for PhoneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneClient")
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl PhoneClient {
    /// Exchanges a provisioning code for the phone's credential (keep it:
    /// [`PhoneClient::credential`]). `queue_path` is the file the offline
    /// record queue lives in.
    #[uniffi::constructor]
    pub async fn provision(
        base_url: String,
        code: String,
        queue_path: String,
    ) -> Result<Arc<Self>> {
        let (inner, _) = deskbind_mobile::PhoneClient::provision(&base_url, &code).await?;
        Ok(Arc::new(Self {
            inner: Arc::new(inner),
            queue: RecordQueue::open(PathBuf::from(queue_path))?,
        }))
    }

    /// A client with a credential kept from an earlier provisioning.
    #[uniffi::constructor]
    pub fn with_credential(
        base_url: String,
        credential: String,
        queue_path: String,
    ) -> Result<Arc<Self>> {
        let inner = deskbind_mobile::PhoneClient::new(&base_url, &credential)?;
        Ok(Arc::new(Self {
            inner: Arc::new(inner),
            queue: RecordQueue::open(PathBuf::from(queue_path))?,
        }))
    }

    /// The phone's credential, to keep in secure storage.
    pub fn credential(&self) -> String {
        self.inner.credential().to_owned()
    }

    pub async fn me(&self) -> Result<PhoneInfo> {
        Ok(self.inner.me().await?.into())
    }

    /// A fresh single-use NFC binding token: emulate `ndef`, or show `code`.
    pub async fn binding_token(&self) -> Result<BindingTokenInfo> {
        let token = self.inner.binding_token().await?;
        let ndef = deskbind_mobile::nfc::encode_binding_token(&token.token).map_err(local)?;
        Ok(BindingTokenInfo {
            token: token.token,
            ndef,
            code: token.code,
            expires_at: instant(token.expires_at),
        })
    }

    /// Binds a user who identified themself at the phone (e-mail or id).
    pub async fn bind_user(&self, user: String, takeover: bool) -> Result<BindingInfo> {
        Ok(self.inner.bind_user(&user, takeover).await?.into())
    }

    /// Fetches the keys this phone verifies NFC dial payloads with and
    /// returns them as JSON: keep it in secure storage and hand it to
    /// [`PhoneClient::restore_dial_keys`] after a restart, so the phone
    /// verifies taps while offline.
    pub async fn fetch_dial_keys(&self) -> Result<String> {
        let keyring = self.inner.fetch_dial_keys().await?;
        serde_json::to_string(&keyring.to_wire()).map_err(local)
    }

    /// Uses keys kept from [`PhoneClient::fetch_dial_keys`].
    pub async fn restore_dial_keys(&self, keys_json: String) -> Result<()> {
        let wire: deskbind_mobile::wire::DialKeys =
            serde_json::from_str(&keys_json).map_err(|e| malformed_json(Some("keys_json"), e))?;
        let keyring = deskbind_mobile::DialKeyring::from_wire(&wire)?;
        self.inner.set_dial_keys(keyring).await;
        Ok(())
    }

    /// Verifies an NDEF message read from the app (a signed dial payload)
    /// without dialing it. [`PhoneConnection::dial_ndef`] verifies and
    /// dials.
    pub async fn verify_dial_ndef(&self, ndef: Vec<u8>) -> Result<DialCommand> {
        Ok(command_of(&self.inner.verify_dial_ndef(&ndef).await?))
    }

    /// Opens the live link; it reconnects by itself until closed.
    pub async fn connect(
        &self,
        listener: Arc<dyn PhoneCommandListener>,
    ) -> Result<Arc<PhoneConnection>> {
        let mut link = self.inner.connect(LinkOptions::default())?;
        let reporter = link.reporter();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    next = link.next() => match next {
                        Some(command) => deliver(listener.as_ref(), command),
                        None => break,
                    },
                }
            }
            link.close().await;
        });
        Ok(Arc::new(PhoneConnection {
            client: self.inner.clone(),
            reporter,
            cancel,
        }))
    }

    /// Uploads a call's recording (streamed; presigned to object storage
    /// for large files when the server offers it).
    pub async fn upload_recording(&self, call_id: String, path: String) -> Result<RecordingInfo> {
        let r = self
            .inner
            .upload_recording(&call_id, &PathBuf::from(path))
            .await?;
        Ok(RecordingInfo::from(r))
    }

    /// The WebSocket fallback for networks that block it: frames waiting
    /// for the phone, or the next within `wait_secs` (as JSON, the shape of
    /// `GET /v1/phone/commands`). [`PhoneClient::connect`] is the normal way.
    pub async fn poll_commands_json(&self, wait_secs: u32) -> Result<String> {
        let commands = self.inner.poll_commands(wait_secs).await?;
        serde_json::to_string(&commands).map_err(local)
    }

    /// The WebSocket fallback: posts frames (JSON `{"events": [...]}`, the
    /// shape of `POST /v1/phone/events`); returns the per-frame results as
    /// JSON.
    pub async fn post_events_json(&self, events_json: String) -> Result<String> {
        let events: deskbind_mobile::wire::PhoneEvents =
            serde_json::from_str(&events_json).map_err(|e| malformed_json(None, e))?;
        let results = self.inner.post_events(&events).await?;
        serde_json::to_string(&results).map_err(local)
    }

    /// Stores records in the offline queue (on disk before this returns).
    pub async fn enqueue_call_records(&self, records: Vec<CallRecordInput>) -> Result<u32> {
        let records = records
            .iter()
            .map(CallRecordInput::to_wire)
            .collect::<Result<Vec<_>>>()?;
        self.queue.push(records).await
    }

    /// Records waiting in the offline queue.
    pub async fn pending_call_records(&self) -> Result<u32> {
        self.queue.len().await
    }

    /// Uploads the queue. Records the server answered for (stored or
    /// refused) leave the queue; on a network error they all stay and the
    /// error is returned, so call it again later.
    pub async fn flush_call_records(&self) -> Result<Vec<IngestOutcomeInfo>> {
        let inner = self.inner.clone();
        self.queue
            .drain(|records| async move { inner.upload_call_records(&records).await })
            .await
            .map(outcomes)
    }
}

fn deliver(listener: &dyn PhoneCommandListener, command: PhoneCommand) {
    match command {
        PhoneCommand::Dial {
            command_id,
            number,
            expires_at,
            ..
        } => listener.on_dial(DialCommand {
            dial_id: command_id.to_string(),
            number,
            expires_at: instant(expires_at),
        }),
        PhoneCommand::Hangup { command_id, reason } => listener.on_hangup(
            command_id.to_string(),
            match reason {
                HangupReason::Cancelled => "cancelled",
                HangupReason::Expired => "expired",
            }
            .to_owned(),
        ),
        PhoneCommand::Binding { user } => listener.on_holder(
            user.as_ref().map(|u| u.id.to_string()),
            user.map(|u| u.display_name),
        ),
        PhoneCommand::Refused { code, detail, .. } => listener.on_refused(code, detail),
    }
}

/// The phone's open link: report through it; `close` (or dropping it)
/// disconnects.
#[derive(Debug, uniffi::Object)]
pub struct PhoneConnection {
    client: Arc<deskbind_mobile::PhoneClient>,
    reporter: PhoneReporter,
    cancel: CancellationToken,
}

fn serde_enum<T: serde::de::DeserializeOwned>(field: &str, raw: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
        DeskbindError::Validation {
            code: "invalid_field".into(),
            field: Some(field.to_owned()),
            message: format!("{raw:?} is not a known value"),
        }
    })
}

#[uniffi::export(async_runtime = "tokio")]
impl PhoneConnection {
    /// Verifies an NDEF message the app handed over (a signed dial
    /// payload) and dials it: the listener's `on_dial` gets it, exactly once
    /// even if the server sends the same dial too; ack and report it as
    /// usual. Works offline with keys already held (reports wait for the
    /// connection). Refusals are `Validation` errors with an
    /// `nfc_dial_...` code.
    pub async fn dial_ndef(&self, ndef: Vec<u8>) -> Result<DialCommand> {
        let dial = self.client.verify_dial_ndef(&ndef).await?;
        Ok(self.dial_verified(dial))
    }

    /// As [`PhoneConnection::dial_ndef`], for the signed payload itself
    /// (scanned from the QR code an iPhone shows: iOS cannot emulate a tag).
    pub async fn dial_payload(&self, payload: String) -> Result<DialCommand> {
        let dial = self.client.verify_dial_payload(&payload).await?;
        Ok(self.dial_verified(dial))
    }

    /// Confirms a dial command arrived (send it before dialing).
    pub fn ack(&self, dial_id: String) -> Result<()> {
        self.reporter.ack(id("dial_id", &dial_id)?);
        Ok(())
    }

    /// Reports a call's progress: `state` is `dialing`, `ringing`,
    /// `answered`, `ended` or `failed` (then `failure`: `busy`,
    /// `no_answer`, `rejected`, `invalid_number` or `error`). `dial_id`
    /// links it to the command that caused it.
    pub fn report_call(
        &self,
        call_id: String,
        dial_id: Option<String>,
        state: String,
        failure: Option<String>,
    ) -> Result<()> {
        let state: CallState = serde_enum("state", &state)?;
        let failure: Option<DialFailure> = failure
            .as_deref()
            .map(|f| serde_enum("failure", f))
            .transpose()?;
        let dial = dial_id.as_deref().map(|d| id("dial_id", d)).transpose()?;
        self.reporter.report(&call_id, dial, state, failure);
        Ok(())
    }

    /// A call rings in; the holder's app is told.
    pub fn incoming(&self, call_id: String, from: String) {
        self.reporter.incoming(&call_id, &from);
    }

    /// The phone's line (docs/presence.md): `idle`, `ringing`, `dialing`,
    /// `talking` or `held`. Send it on connect and whenever it changes.
    pub fn line_state(&self, state: String) -> Result<()> {
        let state: deskbind_mobile::wire::LineState = serde_enum("state", &state)?;
        self.reporter.line_state(state);
        Ok(())
    }

    pub fn close(&self) {
        self.cancel.cancel();
    }
}

impl PhoneConnection {
    fn dial_verified(&self, dial: deskbind_mobile::NfcDial) -> DialCommand {
        let command = command_of(&dial);
        self.reporter.dial_from_nfc(dial);
        command
    }
}

fn command_of(dial: &deskbind_mobile::NfcDial) -> DialCommand {
    DialCommand {
        dial_id: dial.command_id.to_string(),
        number: dial.number.clone(),
        expires_at: instant(dial.expires_at),
    }
}

impl Drop for PhoneConnection {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
