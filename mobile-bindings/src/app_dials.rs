//! `AppClient`'s dialing calls: ask the held phone to dial, follow and
//! cancel commands, read and set the dial policy.

use deskbind_core::ids::{DialId, PhoneId, UserId};
use deskbind_core::wire::{
    CreateDial, Dial, DialCheck, DialCheckResult, DialNfc, DialPolicy, DialRules, DialState, Page,
    PutDialPolicy, PutDialRules,
};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};
use crate::http::json;

/// Filters of [`AppClient::list_dials`].
#[derive(Debug, Clone, Default)]
pub struct DialQuery {
    pub page: PageQuery,
    pub user_id: Option<UserId>,
    pub phone_id: Option<PhoneId>,
    pub state: Option<DialState>,
}

impl DialQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = self.page.pairs();
        if let Some(user) = self.user_id {
            out.push(("user_id", user.to_string()));
        }
        if let Some(phone) = self.phone_id {
            out.push(("phone_id", phone.to_string()));
        }
        if let Some(state) = self.state {
            out.push(("state", state.as_str().to_owned()));
        }
        out
    }
}

impl AppClient {
    /// Asks the phone the user holds (or `phone_id` of those held) to dial
    /// `number`. With an `idempotency_key`, retrying after a network error
    /// returns the same command instead of dialing twice.
    pub async fn dial(
        &self,
        number: &str,
        phone_id: Option<PhoneId>,
        idempotency_key: Option<&str>,
    ) -> Result<Dial> {
        let body = CreateDial {
            number: number.to_owned(),
            phone_id,
        };
        let key = idempotency_key.map(str::to_owned);
        let response = self
            .authed_with(Method::POST, "v1/dials", Some(&body), &[], |r| match &key {
                Some(key) => r.header("Idempotency-Key", key),
                None => r,
            })
            .await?;
        json(response).await
    }

    /// Whether `POST /v1/dials` would accept this number now, without
    /// dialling: `allowed`, or the refusal's code, rule and the next
    /// allowed time (to grey out a button).
    pub async fn check_dial(
        &self,
        number: &str,
        phone_id: Option<PhoneId>,
    ) -> Result<DialCheckResult> {
        let body = DialCheck {
            number: number.to_owned(),
            phone_id,
        };
        self.send(Method::POST, "v1/dials/check", &body).await
    }

    pub async fn get_dial(&self, id: DialId) -> Result<Dial> {
        self.get(&format!("v1/dials/{id}")).await
    }

    pub async fn list_dials(&self, query: &DialQuery) -> Result<Page<Dial>> {
        self.get_with("v1/dials", &query.pairs()).await
    }

    /// Cancels a command that has not finished; the phone hangs up.
    pub async fn cancel_dial(&self, id: DialId) -> Result<Dial> {
        self.bodyless(Method::POST, &format!("v1/dials/{id}/cancel"))
            .await
    }

    /// The user's queued dial as a signed payload and its NDEF message, to
    /// hand the phone over NFC (card emulation or a tag).
    pub async fn dial_nfc(&self, id: DialId) -> Result<DialNfc> {
        self.get(&format!("v1/dials/{id}/nfc")).await
    }

    pub async fn dial_policy(&self) -> Result<DialPolicy> {
        self.get("v1/dial-policy").await
    }

    /// The dial authorisation rules (admins).
    pub async fn dial_rules(&self) -> Result<DialRules> {
        self.get("v1/dial-rules").await
    }

    /// Replaces the dial authorisation rules (admins); `rules.version` is
    /// the version read (a stale one: 409 `dial_rules_changed`).
    pub async fn set_dial_rules(&self, rules: &PutDialRules) -> Result<DialRules> {
        self.send(Method::PUT, "v1/dial-rules", rules).await
    }

    /// Replaces the dial policy (admins).
    pub async fn set_dial_policy(&self, policy: &PutDialPolicy) -> Result<DialPolicy> {
        self.send(Method::PUT, "v1/dial-policy", policy).await
    }
}
