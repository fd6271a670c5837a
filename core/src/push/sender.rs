//! Where pushes go: FCM when `GOOGLE_APPLICATION_CREDENTIALS` names a
//! service account, otherwise the log (the embedded default), so everything
//! else works without Google.

use std::sync::Arc;
use std::time::Duration;

use super::fcm::FcmClient;
use super::oauth::{AccessTokens, CredentialsError, ServiceAccount};
use crate::config::Settings;
use crate::domain::push_message::PushMessage;

/// The answer to one send, sorted by what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered,
    /// The token is gone (UNREGISTERED, 404): delete it, never send again.
    Unregistered,
    /// FCM refused the message itself (INVALID_ARGUMENT…): retrying cannot help.
    Rejected(String),
    /// Try again later, no earlier than `after` when FCM said so.
    Retry {
        after: Option<Duration>,
        reason: String,
        /// The request may have reached FCM (a timeout), so a retry may
        /// duplicate it.
        maybe_delivered: bool,
    },
}

#[derive(Debug, Clone)]
pub enum PushSender {
    /// No credentials: log what would be sent.
    Log,
    Fcm(Arc<FcmClient>),
}

impl PushSender {
    pub fn from_settings(settings: &Settings) -> Result<Self, CredentialsError> {
        let Some(path) = &settings.google_application_credentials else {
            return Ok(Self::Log);
        };
        let account = ServiceAccount::load(path)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| CredentialsError::Invalid {
                path: path.display().to_string(),
                detail: format!("cannot build an HTTP client: {e}"),
            })?;
        let tokens =
            AccessTokens::new(account, http.clone()).map_err(|e| CredentialsError::Invalid {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        Ok(Self::Fcm(Arc::new(FcmClient::new(
            &settings.fcm_endpoint,
            tokens,
            http,
        ))))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Fcm(_) => "fcm",
        }
    }

    pub async fn send(
        &self,
        device_token: &str,
        topic: &str,
        message: &PushMessage,
    ) -> SendOutcome {
        match self {
            Self::Log => {
                let title = message.notification.as_ref().map(|n| n.title.as_str());
                tracing::info!(
                    topic,
                    title,
                    data = ?message.data,
                    "push not sent: no FCM credentials (GOOGLE_APPLICATION_CREDENTIALS)"
                );
                SendOutcome::Delivered
            }
            Self::Fcm(client) => client.send(device_token, message).await,
        }
    }
}
