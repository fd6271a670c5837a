//! `AppClient`: vendor desk phones' configuration and direct-mode tokens
//! (admin; docs/vendor-phones.md).

use deskbind_core::ids::PhoneId;
use deskbind_core::wire::{IssueVendorToken, VendorConfig, VendorMode, VendorToken};
use reqwest::Method;

use crate::Result;
use crate::app::AppClient;

impl AppClient {
    /// `GET /v1/phones/{id}/vendor-config`: what to paste into the phone;
    /// `relay_url` (the relay's LAN base URL) only with `VendorMode::Relay`.
    pub async fn phone_vendor_config(
        &self,
        id: PhoneId,
        mode: VendorMode,
        relay_url: Option<&str>,
    ) -> Result<VendorConfig> {
        let mut query = vec![("mode", mode.as_str().to_owned())];
        if let Some(url) = relay_url {
            query.push(("relay_url", url.to_owned()));
        }
        self.get_with(&format!("v1/phones/{id}/vendor-config"), &query)
            .await
    }

    /// `POST /v1/phones/{id}/vendor-token`: a new direct-mode event token,
    /// shown this once; the previous one stops working.
    pub async fn issue_phone_vendor_token(
        &self,
        id: PhoneId,
        mac: Option<&str>,
    ) -> Result<VendorToken> {
        let body = IssueVendorToken {
            mac: mac.map(str::to_owned),
        };
        self.send(Method::POST, &format!("v1/phones/{id}/vendor-token"), &body)
            .await
    }

    /// `DELETE /v1/phones/{id}/vendor-token`: ends the phone's direct mode.
    pub async fn revoke_phone_vendor_token(&self, id: PhoneId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/phones/{id}/vendor-token"))
            .await
    }
}
