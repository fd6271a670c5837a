//! `AppClient`: API keys for integrations (admin; docs/integrations.md).
//! The app itself never calls with a key: a CRM does.

use deskbind_core::ids::ApiKeyId;
use deskbind_core::wire::{ApiKey, CreateApiKey, CreatedApiKey, Page};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};

impl AppClient {
    /// `POST /v1/api-keys`: the key with its secret, shown this once.
    pub async fn create_api_key(&self, name: &str, scopes: &[&str]) -> Result<CreatedApiKey> {
        let body = CreateApiKey {
            name: name.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        self.send(Method::POST, "v1/api-keys", &body).await
    }

    pub async fn list_api_keys(&self, page: &PageQuery) -> Result<Page<ApiKey>> {
        self.get_with("v1/api-keys", &page.pairs()).await
    }

    /// `DELETE /v1/api-keys/{id}`: the key, revoked.
    pub async fn revoke_api_key(&self, id: ApiKeyId) -> Result<ApiKey> {
        self.bodyless(Method::DELETE, &format!("v1/api-keys/{id}"))
            .await
    }
}
