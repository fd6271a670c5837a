//! `PhoneClient`: what a desk phone does with its device credential.

use deskbind_core::wire::{
    Binding, BindingToken, Phone, PhoneBindingRequest, PhoneCommands, PhoneEventResults,
    PhoneEvents, ProvisionRequest, Provisioned,
};
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::Result;
use crate::http::{Http, json};
use crate::phone_nfc_dial::KeyringCache;

#[derive(Clone)]
pub struct PhoneClient {
    http: Http,
    credential: String,
    dial_keys: KeyringCache,
}

impl std::fmt::Debug for PhoneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneClient")
            .field("http", &self.http)
            .field("credential", &"****")
            .finish()
    }
}

impl PhoneClient {
    /// A client for a phone that already holds its credential.
    pub fn new(base_url: &str, credential: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new(base_url)?,
            credential: credential.to_owned(),
            dial_keys: KeyringCache::default(),
        })
    }

    /// Exchanges a one-time provisioning code for the phone's credential.
    /// Store `Provisioned::credential` securely: it is shown only once.
    pub async fn provision(base_url: &str, code: &str) -> Result<(Self, Provisioned)> {
        let http = Http::new(base_url)?;
        let request = http
            .request(Method::POST, "v1/phone/provision")?
            .json(&ProvisionRequest {
                code: code.to_owned(),
            });
        let provisioned: Provisioned = json(http.send(request).await?).await?;
        Ok((
            Self {
                http,
                credential: provisioned.credential.clone(),
                dial_keys: KeyringCache::default(),
            },
            provisioned,
        ))
    }

    pub fn credential(&self) -> &str {
        &self.credential
    }

    pub(crate) fn http_base(&self) -> &url::Url {
        self.http.base()
    }

    /// The phone's own record, with its current holder.
    pub async fn me(&self) -> Result<Phone> {
        self.call(Method::GET, "v1/phone/me", None::<&()>).await
    }

    /// Asks to bind a user (email or id) to this phone.
    pub async fn bind_user(&self, user: &str, takeover: bool) -> Result<Binding> {
        self.call(
            Method::POST,
            "v1/phone/bindings",
            Some(&PhoneBindingRequest {
                user: user.to_owned(),
                takeover,
            }),
        )
        .await
    }

    /// A fresh single-use NFC binding token (and its NDEF bytes and numeric
    /// code); the previous one stops working.
    pub async fn binding_token(&self) -> Result<BindingToken> {
        self.call(Method::POST, "v1/phone/binding-tokens", None::<&()>)
            .await
    }

    /// The WebSocket fallback (`GET /v1/phone/commands`): frames waiting
    /// for the phone, or the next one within `wait_secs` (0 to 30).
    pub async fn poll_commands(&self, wait_secs: u32) -> Result<PhoneCommands> {
        self.call(
            Method::GET,
            &format!("v1/phone/commands?wait={wait_secs}"),
            None::<&()>,
        )
        .await
    }

    /// The WebSocket fallback (`POST /v1/phone/events`): frames the phone
    /// would have sent on the socket; one result per frame.
    pub async fn post_events(&self, events: &PhoneEvents) -> Result<PhoneEventResults> {
        self.call(Method::POST, "v1/phone/events", Some(events))
            .await
    }

    pub(crate) fn dial_keys(&self) -> &KeyringCache {
        &self.dial_keys
    }

    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// A request carrying the phone's credential.
    pub(crate) fn authed(&self, method: Method, path: &str) -> Result<reqwest::RequestBuilder> {
        Ok(self
            .http
            .request(method, path)?
            .bearer_auth(&self.credential))
    }

    pub(crate) async fn call<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let mut request = self.authed(method, path)?;
        if let Some(body) = body {
            request = request.json(body);
        }
        json(self.http.send(request).await?).await
    }
}
