//! `AppClient`'s blocklist calls (docs/blocklist.md): list, check, add,
//! change and delete entries, and the CSV import and export.

use deskbind_core::ids::{BlocklistEntryId, UserId};
use deskbind_core::wire::{
    BlocklistEntry, BlocklistImportResult, BlocklistKind, BlocklistScope, CreateBlocklistEntry,
    Page, UpdateBlocklistEntry,
};
use reqwest::Method;

use crate::app::{AppClient, PageQuery};
use crate::http::json;
use crate::{ClientError, Result};

/// Filters of [`AppClient::list_blocklist`].
#[derive(Debug, Clone, Default)]
pub struct BlocklistQuery {
    pub page: PageQuery,
    pub kind: Option<BlocklistKind>,
    pub scope: Option<BlocklistScope>,
    /// An E.164 number: the entries whose value is it or one of its prefixes.
    pub number: Option<String>,
}

/// What the blocklist says about a number (`HEAD /v1/blocklist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistVerdict {
    /// `true`: an allow entry decides it; `false`: a block entry does.
    pub allowed: bool,
    pub entry_id: BlocklistEntryId,
}

impl AppClient {
    pub async fn list_blocklist(&self, query: &BlocklistQuery) -> Result<Page<BlocklistEntry>> {
        let mut pairs = query.page.pairs();
        if let Some(kind) = query.kind {
            pairs.push(("kind", kind.as_str().to_owned()));
        }
        if let Some(scope) = query.scope {
            pairs.push(("scope", scope.as_str().to_owned()));
        }
        if let Some(number) = &query.number {
            pairs.push(("number", number.clone()));
        }
        self.get_with("v1/blocklist", &pairs).await
    }

    /// The entry that decides `number` for `user` (default: the caller),
    /// or `None` when no entry applies.
    pub async fn check_number(
        &self,
        number: &str,
        user: Option<UserId>,
    ) -> Result<Option<BlocklistVerdict>> {
        let mut pairs = vec![("number", number.to_owned())];
        if let Some(user) = user {
            pairs.push(("user_id", user.to_string()));
        }
        let response = match self
            .authed_try(Method::HEAD, "v1/blocklist", &pairs, Ok)
            .await
        {
            Ok(response) => response,
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(e),
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| ClientError::Decode(format!("no {name} header")))
        };
        let allowed = header("blocklist-verdict")? == "allowed";
        let entry_id = header("blocklist-entry")?
            .parse()
            .map_err(|_| ClientError::Decode("Blocklist-Entry is not an id".into()))?;
        Ok(Some(BlocklistVerdict { allowed, entry_id }))
    }

    pub async fn create_blocklist_entry(
        &self,
        body: &CreateBlocklistEntry,
    ) -> Result<BlocklistEntry> {
        self.send(Method::POST, "v1/blocklist", body).await
    }

    pub async fn get_blocklist_entry(&self, id: BlocklistEntryId) -> Result<BlocklistEntry> {
        self.get(&format!("v1/blocklist/{id}")).await
    }

    pub async fn update_blocklist_entry(
        &self,
        id: BlocklistEntryId,
        body: &UpdateBlocklistEntry,
    ) -> Result<BlocklistEntry> {
        self.send(Method::PATCH, &format!("v1/blocklist/{id}"), body)
            .await
    }

    pub async fn delete_blocklist_entry(&self, id: BlocklistEntryId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/blocklist/{id}"))
            .await
    }

    /// Imports CSV text (the columns of [`Self::export_blocklist_csv`]).
    pub async fn import_blocklist_csv(&self, csv: &str) -> Result<BlocklistImportResult> {
        let response = self
            .authed_try(Method::POST, "v1/blocklist/import", &[], |r| {
                Ok(r.header(reqwest::header::CONTENT_TYPE, "text/csv")
                    .body(csv.to_owned()))
            })
            .await?;
        json(response).await
    }

    /// The entries the caller reads, as CSV text.
    pub async fn export_blocklist_csv(&self) -> Result<String> {
        let response = self
            .authed_try(Method::GET, "v1/blocklist/export.csv", &[], Ok)
            .await?;
        response.text().await.map_err(crate::http::network)
    }
}
