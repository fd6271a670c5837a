//! `AppClient`'s contacts (docs/contacts.md): search, read, create, change,
//! delete, merge, reverse lookup, import and export.

use std::path::Path;

use deskbind_core::ids::{ContactId, UserId};
use deskbind_core::wire::{
    Contact, ContactLookup, CreateContact, ImportContactRow, ImportContacts, ImportResults,
    MergeContact, Page, UpdateContact,
};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};
use crate::app_calls::save_body;

/// Filters of [`AppClient::list_contacts`] and
/// [`AppClient::export_contacts_csv`]; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    pub page: PageQuery,
    /// Text the name or the company contains (case-insensitive).
    pub q: Option<String>,
    /// Digits one of the contact's numbers contains (at least 3).
    pub number: Option<String>,
    /// One tag, exactly.
    pub tag: Option<String>,
    pub owner_id: Option<UserId>,
}

impl ContactQuery {
    fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (name, value) in [("q", &self.q), ("number", &self.number), ("tag", &self.tag)] {
            if let Some(value) = value {
                out.push((name, value.clone()));
            }
        }
        if let Some(owner) = self.owner_id {
            out.push(("owner_id", owner.to_string()));
        }
        out
    }
}

impl AppClient {
    pub async fn list_contacts(&self, query: &ContactQuery) -> Result<Page<Contact>> {
        let mut pairs = query.page.pairs();
        pairs.extend(query.filter_pairs());
        self.get_with("v1/contacts", &pairs).await
    }

    pub async fn get_contact(&self, id: ContactId) -> Result<Contact> {
        self.get(&format!("v1/contacts/{id}")).await
    }

    pub async fn create_contact(&self, contact: &CreateContact) -> Result<Contact> {
        self.send(Method::POST, "v1/contacts", contact).await
    }

    pub async fn update_contact(&self, id: ContactId, patch: &UpdateContact) -> Result<Contact> {
        self.send(Method::PATCH, &format!("v1/contacts/{id}"), patch)
            .await
    }

    /// Merges contact `from` into `into` (numbers, tags, missing fields,
    /// linked calls and dials) and deletes `from`; the merged contact.
    pub async fn merge_contact(&self, into: ContactId, from: ContactId) -> Result<Contact> {
        self.send(
            Method::POST,
            &format!("v1/contacts/{into}/merge"),
            &MergeContact { from },
        )
        .await
    }

    pub async fn delete_contact(&self, id: ContactId) -> Result<()> {
        self.no_content(Method::DELETE, &format!("v1/contacts/{id}"))
            .await
    }

    /// Who `number` belongs to, and the caller's latest calls with it; a
    /// national number is read in `region`.
    pub async fn lookup_contact(
        &self,
        number: &str,
        region: Option<&str>,
    ) -> Result<ContactLookup> {
        let mut pairs = vec![("number", number.to_owned())];
        if let Some(region) = region {
            pairs.push(("region", region.to_owned()));
        }
        self.get_with("v1/contacts/lookup", &pairs).await
    }

    /// Imports up to 1000 rows (admins and managers); one result per row.
    pub async fn import_contacts(
        &self,
        rows: Vec<ImportContactRow>,
        region: Option<&str>,
    ) -> Result<ImportResults> {
        let query: Vec<(&str, String)> = region
            .map(|r| ("region", r.to_owned()))
            .into_iter()
            .collect();
        self.call(
            Method::POST,
            "v1/contacts/import",
            Some(&ImportContacts { rows }),
            &query,
        )
        .await
    }

    /// Saves the filtered contacts as CSV to `dest`; returns the bytes
    /// written.
    pub async fn export_contacts_csv(&self, query: &ContactQuery, dest: &Path) -> Result<u64> {
        let response = self
            .authed_with(
                Method::GET,
                "v1/contacts/export.csv",
                None::<&()>,
                &query.filter_pairs(),
                |r| r.timeout(std::time::Duration::from_secs(3600)),
            )
            .await?;
        save_body(response, dest).await
    }
}
