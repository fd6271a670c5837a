//! `AppClient`: what the mobile app (and an admin console) does as a person.
//! It keeps the access and refresh tokens, and when the access token has
//! expired it refreshes once and retries the call.

use chrono::{DateTime, Utc};
use deskbind_core::ids::{BindingId, PhoneId, TeamId, UserId};
use deskbind_core::wire::{
    Binding, BindingAction, BindingEvent, BindingPolicy, CreateBinding, CreatePhone, CreateTeam,
    CreateUser, LoginRequest, Page, Phone, PhoneGrants, ProvisioningCode, PutBindingPolicy,
    RefreshRequest, Team, TokenResponse, UpdatePhone, UpdateTeam, UpdateUser, User,
};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::http::{Http, json};
use crate::{ClientError, Result};

#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl PageQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(cursor) = &self.cursor {
            out.push(("cursor", cursor.clone()));
        }
        if let Some(limit) = self.limit {
            out.push(("limit", limit.to_string()));
        }
        out
    }
}

/// Filters of [`AppClient::list_bindings`].
#[derive(Debug, Clone, Default)]
pub struct BindingQuery {
    pub page: PageQuery,
    pub phone_id: Option<PhoneId>,
    pub user_id: Option<UserId>,
    /// Ended and expired bindings too.
    pub include_ended: bool,
}

impl BindingQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = self.page.pairs();
        if let Some(phone) = self.phone_id {
            out.push(("phone_id", phone.to_string()));
        }
        if let Some(user) = self.user_id {
            out.push(("user_id", user.to_string()));
        }
        if self.include_ended {
            out.push(("include_ended", "true".into()));
        }
        out
    }
}

/// Filters of [`AppClient::list_binding_events`].
#[derive(Debug, Clone, Default)]
pub struct BindingEventQuery {
    pub page: PageQuery,
    pub phone_id: Option<PhoneId>,
    pub user_id: Option<UserId>,
    pub binding_id: Option<BindingId>,
    pub action: Option<BindingAction>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl BindingEventQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = self.page.pairs();
        let ids = [
            ("phone_id", self.phone_id.map(|i| i.to_string())),
            ("user_id", self.user_id.map(|i| i.to_string())),
            ("binding_id", self.binding_id.map(|i| i.to_string())),
            ("action", self.action.map(|a| a.as_str().to_owned())),
            ("from", self.from.map(|t| t.to_rfc3339())),
            ("until", self.until.map(|t| t.to_rfc3339())),
        ];
        out.extend(ids.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        out
    }
}

#[derive(Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(****)")
    }
}

/// Told of every session change (login, refresh, logout) with the new
/// (access, refresh) tokens, or `None` when signed out, so the app can keep
/// them in its own storage.
pub type TokenListener = std::sync::Arc<dyn Fn(Option<(String, String)>) + Send + Sync>;

#[derive(Default)]
struct Listener(std::sync::Mutex<Option<TokenListener>>);

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenListener")
    }
}

#[derive(Debug)]
pub struct AppClient {
    http: Http,
    tokens: Mutex<Option<Tokens>>,
    listener: Listener,
    /// Held across a refresh, so concurrent calls that all see an expired
    /// token refresh once: presenting one refresh token twice would look like
    /// theft to the server and end the session.
    refreshing: Mutex<()>,
}

impl AppClient {
    pub fn new(base_url: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new(base_url)?,
            tokens: Mutex::new(None),
            listener: Listener::default(),
            refreshing: Mutex::new(()),
        })
    }

    /// Restores a session the app stored earlier (the listener is not told).
    pub async fn set_tokens(&self, access_token: &str, refresh_token: &str) {
        *self.tokens.lock().await = Some(Tokens {
            access: access_token.to_owned(),
            refresh: refresh_token.to_owned(),
        });
    }

    /// Calls `listener` on every later session change, including the
    /// refreshes the client does by itself.
    pub fn on_tokens_changed(&self, listener: TokenListener) {
        if let Ok(mut slot) = self.listener.0.lock() {
            *slot = Some(listener);
        }
    }

    /// Replaces the session and tells the listener.
    async fn replace_tokens(&self, tokens: Option<(String, String)>) {
        *self.tokens.lock().await = tokens.as_ref().map(|(access, refresh)| Tokens {
            access: access.clone(),
            refresh: refresh.clone(),
        });
        let listener = self.listener.0.lock().ok().and_then(|l| l.clone());
        if let Some(listener) = listener {
            listener(tokens);
        }
    }

    /// The current (access, refresh) tokens, for the app to store.
    pub async fn tokens(&self) -> Option<(String, String)> {
        self.tokens
            .lock()
            .await
            .as_ref()
            .map(|t| (t.access.clone(), t.refresh.clone()))
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<TokenResponse> {
        let request = self
            .http
            .request(Method::POST, "v1/auth/login")?
            .json(&LoginRequest {
                email: email.to_owned(),
                password: password.to_owned(),
            });
        let tokens: TokenResponse = json(self.http.send(request).await?).await?;
        self.replace_tokens(Some((
            tokens.access_token.clone(),
            tokens.refresh_token.clone(),
        )))
        .await;
        Ok(tokens)
    }

    /// Rotates the refresh token. The old one stops working; presenting it
    /// again ends the session.
    pub async fn refresh(&self) -> Result<TokenResponse> {
        let _single_flight = self.refreshing.lock().await;
        self.refresh_now().await
    }

    async fn refresh_now(&self) -> Result<TokenResponse> {
        let refresh = self
            .tokens
            .lock()
            .await
            .as_ref()
            .map(|t| t.refresh.clone())
            .ok_or(ClientError::NotLoggedIn)?;
        let request = self
            .http
            .request(Method::POST, "v1/auth/refresh")?
            .json(&RefreshRequest {
                refresh_token: refresh,
            });
        let tokens: TokenResponse = json(self.http.send(request).await?).await?;
        self.replace_tokens(Some((
            tokens.access_token.clone(),
            tokens.refresh_token.clone(),
        )))
        .await;
        Ok(tokens)
    }

    pub async fn logout(&self) -> Result<()> {
        self.no_content(Method::POST, "v1/auth/logout").await?;
        self.replace_tokens(None).await;
        Ok(())
    }

    pub async fn me(&self) -> Result<User> {
        self.get("v1/me").await
    }

    // Users.
    pub async fn list_users(&self, page: &PageQuery) -> Result<Page<User>> {
        self.get_with("v1/users", &page.pairs()).await
    }
    pub async fn create_user(&self, body: &CreateUser) -> Result<User> {
        self.send(Method::POST, "v1/users", body).await
    }
    pub async fn get_user(&self, id: UserId) -> Result<User> {
        self.get(&format!("v1/users/{id}")).await
    }
    pub async fn update_user(&self, id: UserId, body: &UpdateUser) -> Result<User> {
        self.send(Method::PATCH, &format!("v1/users/{id}"), body)
            .await
    }

    // Teams.
    pub async fn list_teams(&self, page: &PageQuery) -> Result<Page<Team>> {
        self.get_with("v1/teams", &page.pairs()).await
    }
    pub async fn create_team(&self, name: &str) -> Result<Team> {
        self.send(
            Method::POST,
            "v1/teams",
            &CreateTeam {
                name: name.to_owned(),
            },
        )
        .await
    }
    pub async fn get_team(&self, id: TeamId) -> Result<Team> {
        self.get(&format!("v1/teams/{id}")).await
    }
    pub async fn rename_team(&self, id: TeamId, name: &str) -> Result<Team> {
        self.send(
            Method::PATCH,
            &format!("v1/teams/{id}"),
            &UpdateTeam {
                name: name.to_owned(),
            },
        )
        .await
    }
    pub async fn delete_team(&self, id: TeamId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/teams/{id}"))
            .await
    }
    pub async fn team_members(&self, id: TeamId, page: &PageQuery) -> Result<Page<User>> {
        self.get_with(&format!("v1/teams/{id}/members"), &page.pairs())
            .await
    }
    pub async fn add_team_member(&self, team: TeamId, user: UserId) -> Result<()> {
        self.no_content(Method::PUT, &format!("v1/teams/{team}/members/{user}"))
            .await
    }
    pub async fn remove_team_member(&self, team: TeamId, user: UserId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/teams/{team}/members/{user}"))
            .await
    }

    // Phones.
    pub async fn list_phones(&self, page: &PageQuery) -> Result<Page<Phone>> {
        self.get_with("v1/phones", &page.pairs()).await
    }
    pub async fn create_phone(&self, body: &CreatePhone) -> Result<Phone> {
        self.send(Method::POST, "v1/phones", body).await
    }
    pub async fn get_phone(&self, id: PhoneId) -> Result<Phone> {
        self.get(&format!("v1/phones/{id}")).await
    }
    pub async fn update_phone(&self, id: PhoneId, body: &UpdatePhone) -> Result<Phone> {
        self.send(Method::PATCH, &format!("v1/phones/{id}"), body)
            .await
    }
    /// A one-time code the phone exchanges for its credential.
    pub async fn create_provisioning_code(&self, id: PhoneId) -> Result<ProvisioningCode> {
        self.bodyless(Method::POST, &format!("v1/phones/{id}/provisioning-code"))
            .await
    }
    pub async fn revoke_phone_credential(&self, id: PhoneId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/phones/{id}/credential"))
            .await
    }

    /// Who may bind the phone (admins).
    pub async fn phone_grants(&self, id: PhoneId) -> Result<PhoneGrants> {
        self.get(&format!("v1/phones/{id}/grants")).await
    }
    /// Replaces who may bind the phone (admins).
    pub async fn set_phone_grants(&self, id: PhoneId, grants: &PhoneGrants) -> Result<PhoneGrants> {
        self.send(Method::PUT, &format!("v1/phones/{id}/grants"), grants)
            .await
    }

    // Binding.
    pub async fn binding_policy(&self) -> Result<BindingPolicy> {
        self.get("v1/binding-policy").await
    }
    /// Replaces the organisation's binding policy (admins).
    pub async fn set_binding_policy(&self, policy: &PutBindingPolicy) -> Result<BindingPolicy> {
        self.send(Method::PUT, "v1/binding-policy", policy).await
    }
    /// Binds the user to a phone by id; `takeover` takes it from its holder
    /// where the policy allows. Binding a phone the user already holds
    /// returns that binding.
    pub async fn bind_phone(&self, phone: PhoneId, takeover: bool) -> Result<Binding> {
        self.create_binding(&CreateBinding {
            phone_id: Some(phone),
            takeover,
            ..Default::default()
        })
        .await
    }
    /// Binds by the token read from the phone's NFC tag.
    pub async fn bind_with_token(&self, token: &str, takeover: bool) -> Result<Binding> {
        self.create_binding(&CreateBinding {
            token: Some(token.to_owned()),
            takeover,
            ..Default::default()
        })
        .await
    }
    /// Binds by the NDEF message read from the phone's NFC tag.
    pub async fn bind_with_ndef(&self, message: &[u8], takeover: bool) -> Result<Binding> {
        let token = deskbind_core::nfc::decode_binding_token(message)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        self.bind_with_token(&token, takeover).await
    }
    /// Binds by the numeric code the phone shows.
    pub async fn bind_with_code(&self, code: &str, takeover: bool) -> Result<Binding> {
        self.create_binding(&CreateBinding {
            code: Some(code.to_owned()),
            takeover,
            ..Default::default()
        })
        .await
    }
    pub async fn create_binding(&self, body: &CreateBinding) -> Result<Binding> {
        self.send(Method::POST, "v1/bindings", body).await
    }
    pub async fn list_bindings(&self, query: &BindingQuery) -> Result<Page<Binding>> {
        self.get_with("v1/bindings", &query.pairs()).await
    }
    pub async fn get_binding(&self, id: BindingId) -> Result<Binding> {
        self.get(&format!("v1/bindings/{id}")).await
    }
    /// Ends a binding; returns it as ended.
    pub async fn unbind(&self, id: BindingId) -> Result<Binding> {
        self.bodyless(Method::DELETE, &format!("v1/bindings/{id}"))
            .await
    }
    /// The binding audit log, oldest first (admins).
    pub async fn list_binding_events(
        &self,
        query: &BindingEventQuery,
    ) -> Result<Page<BindingEvent>> {
        self.get_with("v1/binding-events", &query.pairs()).await
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None::<&()>, &[]).await
    }

    pub(crate) async fn get_with<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.call(Method::GET, path, None::<&()>, query).await
    }

    pub(crate) async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.call(method, path, Some(body), &[]).await
    }

    /// A request without a body that answers with JSON.
    pub(crate) async fn bodyless<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
    ) -> Result<T> {
        self.call(method, path, None::<&()>, &[]).await
    }

    /// A request without a body that answers 204.
    pub(crate) async fn no_content(&self, method: Method, path: &str) -> Result<()> {
        self.authed(method, path, None::<&()>, &[]).await.map(drop)
    }

    pub(crate) async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: &[(&str, String)],
    ) -> Result<T> {
        json(self.authed(method, path, body, query).await?).await
    }

    /// Refreshes, unless another call already replaced `stale_access` while
    /// this one waited; returns the access token to retry with.
    async fn refresh_unless_done(&self, stale_access: &str) -> Result<String> {
        let _single_flight = self.refreshing.lock().await;
        let current = self
            .tokens
            .lock()
            .await
            .as_ref()
            .map(|t| t.access.clone())
            .ok_or(ClientError::NotLoggedIn)?;
        if current != stale_access {
            return Ok(current);
        }
        Ok(self.refresh_now().await?.access_token)
    }

    /// Sends with the access token; on `token_expired`, refreshes once and retries.
    async fn authed<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response> {
        self.authed_with(method, path, body, query, |r| r).await
    }

    /// [`Self::authed`] with extra settings (headers, timeout) on the request.
    pub(crate) async fn authed_with<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: &[(&str, String)],
        extra: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<reqwest::Response> {
        self.authed_try(method, path, query, |mut request| {
            if let Some(body) = body {
                request = request.json(body);
            }
            Ok(extra(request))
        })
        .await
    }

    /// The client for requests to other hosts (presigned URLs).
    pub(crate) fn http_raw(&self) -> &reqwest::Client {
        self.http.raw()
    }

    /// Sends the request `finish` completes (it may be called twice: once
    /// more after refreshing an expired token).
    pub(crate) async fn authed_try(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        finish: impl Fn(RequestBuilder) -> Result<RequestBuilder>,
    ) -> Result<reqwest::Response> {
        let build = |access: &str| -> Result<RequestBuilder> {
            let mut request = self.http.request(method.clone(), path)?.bearer_auth(access);
            if !query.is_empty() {
                request = request.query(query);
            }
            finish(request)
        };
        let access = self
            .tokens
            .lock()
            .await
            .as_ref()
            .map(|t| t.access.clone())
            .ok_or(ClientError::NotLoggedIn)?;
        match self.http.send(build(&access)?).await {
            Err(e) if e.code() == Some("token_expired") => {
                let fresh = self.refresh_unless_done(&access).await?;
                self.http.send(build(&fresh)?).await
            }
            other => other,
        }
    }
}
