//! Sends a vendor command to a phone's web interface: only to the address
//! configured for that phone, never following a redirect or a proxy, and
//! each command logged (with any secret in it masked).

use std::time::Duration;

use deskbind_core::vendor::commands::outcome;
use deskbind_core::vendor::{CommandOutcome, PhoneRequest, RequestAuth};

use crate::config::PhoneConfig;

/// The longest answer read from a phone.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct PhoneHttp {
    client: reqwest::Client,
}

impl PhoneHttp {
    pub fn new(timeout: Duration) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()?;
        Ok(Self { client })
    }

    /// Sends `request` to `phone` and says what its answer means.
    pub async fn send(&self, phone: &PhoneConfig, request: &PhoneRequest) -> CommandOutcome {
        let url = format!("http://{}{}", phone.address, request.path_and_query());
        let mut builder = self.client.get(&url);
        if request.auth == RequestAuth::Basic {
            builder = builder.basic_auth(&phone.login.username, Some(&phone.login.password));
        }
        let result = match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = read_capped(response).await;
                outcome(phone.vendor, status, &body)
            }
            // The error's text holds the URL, which may hold a passcode.
            Err(e) if e.is_timeout() => CommandOutcome::Failed("the phone did not answer".into()),
            Err(e) if e.is_connect() => CommandOutcome::Failed("cannot reach the phone".into()),
            Err(_) => CommandOutcome::Failed("the request to the phone failed".into()),
        };
        tracing::info!(
            phone = %phone.name,
            address = %phone.address,
            command = request.loggable(),
            outcome = ?result,
            "command sent to the phone"
        );
        result
    }
}

async fn read_capped(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}
