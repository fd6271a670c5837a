//! The app's live stream (`GET /v1/events`, server-sent events). It
//! resumes by itself: when the connection drops, it reconnects with
//! `Last-Event-ID` after a short jittered pause, so the caller sees every
//! event once and in order.

use std::pin::Pin;
use std::time::Duration;

use deskbind_core::wire::{AppEvent, SequencedEvent};
use eventsource_stream::{Event, EventStreamError, Eventsource as _};
use futures_util::{Stream, StreamExt as _};
use reqwest::Method;

use crate::app::AppClient;
use crate::backoff::Backoff;
use crate::{ClientError, Result};

type SseStream = Pin<
    Box<dyn Stream<Item = std::result::Result<Event, EventStreamError<reqwest::Error>>> + Send>,
>;

/// How long one connection of the stream may last before it is renewed
/// (the server's keep-alives arrive every 15 s meanwhile).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(3600);

pub struct AppEvents<'a> {
    client: &'a AppClient,
    last_id: Option<i64>,
    stream: Option<SseStream>,
    backoff: Backoff,
    /// Also follow `presence` events (`?presence=true`).
    presence: bool,
}

impl std::fmt::Debug for AppEvents<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppEvents")
            .field("last_id", &self.last_id)
            .field("connected", &self.stream.is_some())
            .finish()
    }
}

impl AppClient {
    /// Opens the live stream after event `after` (`None`: from now, which
    /// starts with a `resync` event). Fails at once on a refused login.
    pub async fn events(&self, after: Option<i64>) -> Result<AppEvents<'_>> {
        self.open_events(after, false).await
    }

    /// [`Self::events`] with `presence` events too (docs/presence.md):
    /// live only, they carry the `seq` of the last logged event and do not
    /// move the cursor. After a reconnect, read `list_presences` again.
    pub async fn events_with_presence(&self, after: Option<i64>) -> Result<AppEvents<'_>> {
        self.open_events(after, true).await
    }

    async fn open_events(&self, after: Option<i64>, presence: bool) -> Result<AppEvents<'_>> {
        let mut events = AppEvents {
            client: self,
            last_id: after,
            stream: None,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(10)),
            presence,
        };
        events.connect().await?;
        Ok(events)
    }
}

impl AppEvents<'_> {
    /// The id of the last event returned: give it to
    /// [`AppClient::events`] to resume later.
    pub fn last_event_id(&self) -> Option<i64> {
        self.last_id
    }

    /// The next event, reconnecting as needed. Errors only when the server
    /// refuses the stream (for example the session ended).
    pub async fn next(&mut self) -> Result<SequencedEvent> {
        loop {
            let Some(stream) = self.stream.as_mut() else {
                tokio::time::sleep(self.backoff.next_delay()).await;
                match self.connect().await {
                    Ok(()) => continue,
                    Err(ClientError::Network(_)) => continue,
                    Err(e) => return Err(e),
                }
            };
            match stream.next().await {
                Some(Ok(event)) if event.event.is_empty() || event.data.is_empty() => {}
                // Live presence: no id of its own.
                Some(Ok(event)) if event.event == "presence" => {
                    let body: AppEvent = serde_json::from_str(&event.data)
                        .map_err(|e| ClientError::Decode(format!("presence event: {e}")))?;
                    return Ok(SequencedEvent {
                        seq: self.last_id.unwrap_or(0),
                        event: body,
                    });
                }
                Some(Ok(event)) => {
                    let seq = event
                        .id
                        .parse()
                        .map_err(|_| ClientError::Decode(format!("event id {:?}", event.id)))?;
                    let body: AppEvent = serde_json::from_str(&event.data)
                        .map_err(|e| ClientError::Decode(format!("event {seq}: {e}")))?;
                    self.last_id = Some(seq);
                    self.backoff.reset();
                    return Ok(SequencedEvent { seq, event: body });
                }
                // Dropped or ended: resume from the last id.
                Some(Err(_)) | None => self.stream = None,
            }
        }
    }

    async fn connect(&mut self) -> Result<()> {
        let last_id = self.last_id;
        let query: Vec<(&str, String)> = if self.presence {
            vec![("presence", "true".to_owned())]
        } else {
            Vec::new()
        };
        let response = self
            .client
            .authed_with(Method::GET, "v1/events", None::<&()>, &query, |r| {
                let r = r
                    .header("Accept", "text/event-stream")
                    .timeout(CONNECTION_LIFETIME);
                match last_id {
                    Some(id) => r.header("Last-Event-ID", id.to_string()),
                    None => r,
                }
            })
            .await?;
        self.stream = Some(Box::pin(response.bytes_stream().eventsource()));
        Ok(())
    }
}
