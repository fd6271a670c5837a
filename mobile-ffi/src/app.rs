//! `AppClient` for the mobile app: a thin wrapper over
//! `deskbind_mobile::AppClient` that keeps the session in the app's own
//! secure storage: [`TokenStore`] is told of every login, refresh (also
//! those the SDK does by itself) and logout.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use deskbind_mobile::wire::{
    CreatePhone, CreateUser, PhoneGrants, PushPlatform, PushScheduleRule as WireRule, Role,
};
use tokio_util::sync::CancellationToken;

use crate::error::{DeskbindError, Result, local};
use crate::types::*;

/// Where the app keeps the session between launches (Keychain, Android
/// Keystore-backed storage). Called from a background thread.
#[uniffi::export(with_foreign)]
pub trait TokenStore: Send + Sync {
    fn load(&self) -> Option<StoredTokens>;
    /// `None`: signed out, forget the tokens.
    fn save(&self, tokens: Option<StoredTokens>);
}

/// Receives the live stream's events (on a background thread).
#[uniffi::export(with_foreign)]
pub trait AppEventListener: Send + Sync {
    fn on_event(&self, event: AppEventInfo);
    /// The stream stopped for good (e.g. the session ended); reconnecting
    /// after network errors is the SDK's job and is not reported.
    fn on_closed(&self, error: Option<DeskbindError>);
}

#[derive(uniffi::Object)]
pub struct AppClient {
    inner: Arc<deskbind_mobile::AppClient>,
    /// Owned here, borrowed by the SDK's session hook: the store lives as
    /// long as the client the app holds, no longer.
    _store: Arc<dyn TokenStore>,
}

impl std::fmt::Debug for AppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppClient")
    }
}

impl AppClient {
    pub(crate) fn inner(&self) -> &deskbind_mobile::AppClient {
        &self.inner
    }
}

/// The SDK's result as the bindings' error type.
pub(crate) fn done<T>(result: deskbind_mobile::Result<T>) -> Result<T> {
    result.map_err(DeskbindError::from)
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// A client for `base_url` (e.g. `https://deskbind.example.com`),
    /// signed in if `store` holds a session. (Kotlin has no async primary
    /// constructors, hence a named one.)
    #[uniffi::constructor]
    pub async fn open(base_url: String, store: Arc<dyn TokenStore>) -> Result<Arc<Self>> {
        let inner = deskbind_mobile::AppClient::new(&base_url)?;
        if let Some(tokens) = store.load() {
            inner
                .set_tokens(&tokens.access_token, &tokens.refresh_token)
                .await;
        }
        let saver = Arc::downgrade(&store);
        inner.on_tokens_changed(Arc::new(move |tokens| {
            if let Some(store) = saver.upgrade() {
                store.save(tokens.map(|(access_token, refresh_token)| StoredTokens {
                    access_token,
                    refresh_token,
                }));
            }
        }));
        Ok(Arc::new(Self {
            inner: Arc::new(inner),
            _store: store,
        }))
    }

    pub async fn login(&self, email: String, password: String) -> Result<UserInfo> {
        let login = self.inner.login(&email, &password).await;
        done(login)?;
        let me = self.inner.me().await;
        done(me).map(UserInfo::from)
    }

    pub async fn logout(&self) -> Result<()> {
        let out = self.inner.logout().await;
        done(out)
    }

    pub async fn me(&self) -> Result<UserInfo> {
        let me = self.inner.me().await;
        done(me).map(UserInfo::from)
    }

    // Binding.

    pub async fn bind_phone(&self, phone_id: String, takeover: bool) -> Result<BindingInfo> {
        let out = self
            .inner
            .bind_phone(id("phone_id", &phone_id)?, takeover)
            .await;
        done(out).map(BindingInfo::from)
    }

    /// Binds with the token the phone shows over NFC (the NDEF text).
    pub async fn bind_with_token(&self, token: String, takeover: bool) -> Result<BindingInfo> {
        let out = self.inner.bind_with_token(&token, takeover).await;
        done(out).map(BindingInfo::from)
    }

    /// Binds with the raw NDEF message read from the phone.
    pub async fn bind_with_ndef(&self, ndef: Vec<u8>, takeover: bool) -> Result<BindingInfo> {
        let out = self.inner.bind_with_ndef(&ndef, takeover).await;
        done(out).map(BindingInfo::from)
    }

    /// Binds with the numeric code the phone shows.
    pub async fn bind_with_code(&self, code: String, takeover: bool) -> Result<BindingInfo> {
        let out = self.inner.bind_with_code(&code, takeover).await;
        done(out).map(BindingInfo::from)
    }

    pub async fn unbind(&self, binding_id: String) -> Result<BindingInfo> {
        let out = self.inner.unbind(id("binding_id", &binding_id)?).await;
        done(out).map(BindingInfo::from)
    }

    // Dialing.

    /// Asks the bound phone to dial; `idempotency_key` makes a retry after
    /// a network error return the same dial instead of dialing twice.
    pub async fn dial(
        &self,
        number: String,
        phone_id: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<DialInfo> {
        let phone = phone_id.as_deref().map(|p| id("phone_id", p)).transpose()?;
        let out = self
            .inner
            .dial(&number, phone, idempotency_key.as_deref())
            .await;
        done(out).map(DialInfo::from)
    }

    pub async fn cancel_dial(&self, dial_id: String) -> Result<DialInfo> {
        let out = self.inner.cancel_dial(id("dial_id", &dial_id)?).await;
        done(out).map(DialInfo::from)
    }

    /// The user's queued dial as a signed NFC payload for the phone
    /// (docs/sdk.md, "Dialing over NFC").
    pub async fn dial_nfc(&self, dial_id: String) -> Result<DialNfcInfo> {
        let offer = done(self.inner.dial_nfc(id("dial_id", &dial_id)?).await)?;
        let ndef = deskbind_mobile::nfc::encode_dial_payload(&offer.payload).map_err(local)?;
        Ok(DialNfcInfo {
            dial_id: offer.dial_id.to_string(),
            phone_id: offer.phone_id.to_string(),
            payload: offer.payload,
            ndef,
            expires_at: instant(offer.expires_at),
        })
    }

    pub async fn get_dial(&self, dial_id: String) -> Result<DialInfo> {
        let out = self.inner.get_dial(id("dial_id", &dial_id)?).await;
        done(out).map(DialInfo::from)
    }

    /// Starts the live event stream after `after` (the last `seq` the app
    /// handled; `None` for new events only). Events go to `listener` until
    /// the returned subscription is cancelled or dropped.
    pub async fn subscribe_events(
        &self,
        after: Option<i64>,
        listener: Arc<dyn AppEventListener>,
    ) -> Result<Arc<EventSubscription>> {
        self.subscribe(after, false, listener).await
    }

    /// [`Self::subscribe_events`] with the presence changes of the people
    /// the user may see too (`kind` `presence`; docs/presence.md). They are
    /// live only: after the listener hears `on_closed`, read
    /// `list_presences` again.
    pub async fn subscribe_events_with_presence(
        &self,
        after: Option<i64>,
        listener: Arc<dyn AppEventListener>,
    ) -> Result<Arc<EventSubscription>> {
        self.subscribe(after, true, listener).await
    }

    // Calls.

    /// Changes after `cursor` (the `next_cursor` the app kept; `None` from
    /// the start), oldest first.
    pub async fn sync_calls(
        &self,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<SyncPageInfo> {
        let out = self.inner.sync_calls(cursor.as_deref(), limit).await;
        let page = done(out)?;
        Ok(SyncPageInfo {
            items: page.items.into_iter().map(CallRecordInfo::from).collect(),
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }

    pub async fn get_call(&self, call_record_id: String) -> Result<CallRecordInfo> {
        let out = self
            .inner
            .get_call(id("call_record_id", &call_record_id)?)
            .await;
        done(out).map(CallRecordInfo::from)
    }

    /// The NFC path: records the phone handed over, uploaded for it.
    pub async fn upload_call_records(
        &self,
        phone_id: String,
        records: Vec<CallRecordInput>,
    ) -> Result<Vec<IngestOutcomeInfo>> {
        let records = records
            .iter()
            .map(CallRecordInput::to_wire)
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .inner
            .upload_call_records(id("phone_id", &phone_id)?, &records)
            .await;
        done(out).map(outcomes)
    }

    /// The NFC path: the recording the phone handed over, uploaded for it
    /// (streamed; presigned to object storage for large files when the
    /// server offers it). `call_id` and `started_at` as in the call's
    /// record: the user must have held the phone then (`not_your_call`).
    pub async fn upload_recording(
        &self,
        phone_id: String,
        call_id: String,
        started_at: SystemTime,
        path: String,
    ) -> Result<RecordingInfo> {
        let call = deskbind_mobile::RelayedCall {
            phone_id: id("phone_id", &phone_id)?,
            call_id,
            started_at: datetime(started_at),
        };
        let out = self
            .inner
            .upload_recording(&call, &PathBuf::from(path))
            .await;
        done(out).map(RecordingInfo::from)
    }

    /// Saves the call's recording to `path`; returns its size in bytes.
    pub async fn download_recording(&self, call_record_id: String, path: String) -> Result<u64> {
        let out = self
            .inner
            .download_recording(id("call_record_id", &call_record_id)?, &PathBuf::from(path))
            .await;
        done(out)
    }

    // Push.

    /// Registers this install's FCM token (`platform` `android` or `ios`).
    pub async fn register_push_device(
        &self,
        platform: String,
        token: String,
    ) -> Result<PushDeviceInfo> {
        let platform = wire_enum("platform", &platform, PushPlatform::parse)?;
        let out = self.inner.register_push_device(platform, &token).await;
        done(out).map(PushDeviceInfo::from)
    }

    pub async fn list_push_devices(&self) -> Result<Vec<PushDeviceInfo>> {
        let out = self.inner.list_push_devices().await;
        Ok(done(out)?.into_iter().map(PushDeviceInfo::from).collect())
    }

    pub async fn delete_push_device(&self, device_id: String) -> Result<()> {
        let out = self
            .inner
            .delete_push_device(id("device_id", &device_id)?)
            .await;
        done(out)
    }

    pub async fn push_schedule(&self) -> Result<PushScheduleInfo> {
        let out = self.inner.push_schedule().await;
        done(out).map(PushScheduleInfo::from)
    }

    pub async fn set_push_schedule(&self, rule: PushScheduleRule) -> Result<PushScheduleInfo> {
        let rule = WireRule {
            daily_at: rule.daily_at,
            every_minutes: rule.every_minutes,
            on_missed_call: rule.on_missed_call,
            on_new_records: rule.on_new_records,
        };
        let out = self.inner.set_push_schedule(&rule).await;
        done(out).map(PushScheduleInfo::from)
    }

    pub async fn use_default_push_schedule(&self) -> Result<PushScheduleInfo> {
        let out = self.inner.use_default_push_schedule().await;
        done(out).map(PushScheduleInfo::from)
    }

    /// Pushes the current digest now; returns how many records it covers.
    pub async fn request_push(&self) -> Result<u32> {
        let out = self.inner.request_push().await;
        done(out).map(|r| r.records)
    }

    // Administration (admins).

    pub async fn create_user(
        &self,
        email: String,
        display_name: String,
        role: String,
        password: String,
    ) -> Result<UserInfo> {
        let body = CreateUser {
            email,
            display_name,
            role: wire_enum("role", &role, Role::parse)?,
            password,
            time_zone: None,
            team_ids: Vec::new(),
        };
        let out = self.inner.create_user(&body).await;
        done(out).map(UserInfo::from)
    }

    pub async fn create_phone(&self, number: String, label: String) -> Result<PhoneInfo> {
        let body = CreatePhone {
            number,
            region: None,
            extension: None,
            label,
            vendor: None,
            model: None,
            driver: None,
        };
        let out = self.inner.create_phone(&body).await;
        done(out).map(PhoneInfo::from)
    }

    /// A one-time code the phone exchanges for its credential.
    pub async fn create_provisioning_code(&self, phone_id: String) -> Result<String> {
        let out = self
            .inner
            .create_provisioning_code(id("phone_id", &phone_id)?)
            .await;
        done(out).map(|c| c.code)
    }

    /// Lets these users (or, with `everyone`, the whole organisation) bind
    /// the phone.
    pub async fn set_phone_grants(
        &self,
        phone_id: String,
        everyone: bool,
        user_ids: Vec<String>,
    ) -> Result<()> {
        let grants = PhoneGrants {
            everyone,
            user_ids: user_ids
                .iter()
                .map(|u| id("user_ids", u))
                .collect::<Result<_>>()?,
            team_ids: Vec::new(),
        };
        let out = self
            .inner
            .set_phone_grants(id("phone_id", &phone_id)?, &grants)
            .await;
        done(out).map(drop)
    }
}

/// A running event stream; it stops when cancelled or dropped.
#[derive(Debug, uniffi::Object)]
pub struct EventSubscription {
    cancel: CancellationToken,
}

#[uniffi::export]
impl EventSubscription {
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl Drop for EventSubscription {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl AppClient {
    async fn subscribe(
        &self,
        after: Option<i64>,
        presence: bool,
        listener: Arc<dyn AppEventListener>,
    ) -> Result<Arc<EventSubscription>> {
        let client = self.inner.clone();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        // The stream borrows the client, so it lives in the task; the task
        // says whether it opened, so a refused session is this call's error.
        let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let opened = if presence {
                client.events_with_presence(after).await
            } else {
                client.events(after).await
            };
            let mut stream = match opened {
                Ok(stream) => {
                    let _ = opened_tx.send(Ok(()));
                    stream
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                    return;
                }
            };
            loop {
                tokio::select! {
                    () = stop.cancelled() => return listener.on_closed(None),
                    next = stream.next() => match next {
                        Ok(event) => listener.on_event(event.into()),
                        Err(e) => return listener.on_closed(Some(e.into())),
                    },
                }
            }
        });
        opened_rx
            .await
            .map_err(|_| local("the event stream task ended before it opened"))??;
        Ok(Arc::new(EventSubscription { cancel }))
    }
}
