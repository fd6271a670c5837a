//! `AppClient`'s contacts (docs/contacts.md): search, read, create, change,
//! delete, reverse lookup, import and export. Enum values are their wire
//! names; custom fields are a list of key/value records.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use deskbind_mobile::wire::{self, CreateContact, UpdateContact};
use deskbind_mobile::{ContactQuery, PageQuery};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::*;

/// One of a contact's numbers: E.164, and the text it was given as.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactNumberInfo {
    pub e164: String,
    pub raw: String,
}

/// One custom field of a contact.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ContactField {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactInfo {
    pub id: String,
    pub name: String,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    pub numbers: Vec<ContactNumberInfo>,
    pub tags: Vec<String>,
    pub external_id: Option<String>,
    pub owner_id: Option<String>,
    /// Sorted by key.
    pub custom_fields: Vec<ContactField>,
    /// `manual`, `import` or `auto`.
    pub source: String,
    pub score: i64,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
}

impl From<wire::Contact> for ContactInfo {
    fn from(c: wire::Contact) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name,
            company: c.company,
            notes: c.notes,
            email: c.email,
            numbers: c
                .numbers
                .into_iter()
                .map(|n| ContactNumberInfo {
                    e164: n.e164,
                    raw: n.raw,
                })
                .collect(),
            tags: c.tags,
            external_id: c.external_id,
            owner_id: c.owner_id.map(|o| o.to_string()),
            custom_fields: c
                .custom_fields
                .into_iter()
                .map(|(key, value)| ContactField { key, value })
                .collect(),
            source: c.source.as_str().to_owned(),
            score: c.score,
            created_at: instant(c.created_at),
            updated_at: instant(c.updated_at),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactPage {
    pub items: Vec<ContactInfo>,
    pub next_cursor: Option<String>,
}

/// Filters of `list_contacts` and `export_contacts_csv`; all optional,
/// combined with AND.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ContactFilter {
    /// Text the name or the company contains (case-insensitive).
    #[uniffi(default = None)]
    pub q: Option<String>,
    /// Digits one of the contact's numbers contains (at least 3).
    #[uniffi(default = None)]
    pub number: Option<String>,
    /// One tag, exactly.
    #[uniffi(default = None)]
    pub tag: Option<String>,
    #[uniffi(default = None)]
    pub owner_id: Option<String>,
}

impl ContactFilter {
    fn query(&self, cursor: Option<String>, limit: Option<u32>) -> Result<ContactQuery> {
        Ok(ContactQuery {
            page: PageQuery { cursor, limit },
            q: self.q.clone(),
            number: self.number.clone(),
            tag: self.tag.clone(),
            owner_id: self
                .owner_id
                .as_deref()
                .map(|o| id("owner_id", o))
                .transpose()?,
        })
    }
}

/// A new contact, or one row of an import. National numbers (without `+`)
/// are read in `region` (ISO 3166-1 alpha-2, e.g. `DE`).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ContactInput {
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub company: Option<String>,
    #[uniffi(default = None)]
    pub notes: Option<String>,
    #[uniffi(default = None)]
    pub email: Option<String>,
    #[uniffi(default = [])]
    pub numbers: Vec<String>,
    #[uniffi(default = [])]
    pub tags: Vec<String>,
    #[uniffi(default = None)]
    pub external_id: Option<String>,
    /// Defaults to the caller for salespeople, to nobody for others.
    #[uniffi(default = None)]
    pub owner_id: Option<String>,
    #[uniffi(default = [])]
    pub custom_fields: Vec<ContactField>,
    #[uniffi(default = None)]
    pub region: Option<String>,
}

fn fields(list: Vec<ContactField>) -> BTreeMap<String, String> {
    list.into_iter().map(|f| (f.key, f.value)).collect()
}

impl ContactInput {
    fn into_wire(self) -> Result<CreateContact> {
        Ok(CreateContact {
            owner_id: self
                .owner_id
                .as_deref()
                .map(|o| id("owner_id", o))
                .transpose()?,
            name: self.name,
            company: self.company,
            notes: self.notes,
            email: self.email,
            numbers: self.numbers,
            tags: self.tags,
            external_id: self.external_id,
            custom_fields: fields(self.custom_fields),
            region: self.region,
        })
    }
}

/// A change of a contact; `None` leaves a field as it is, an empty string
/// clears an optional one; `numbers`, `tags` and `custom_fields` replace the
/// whole list.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ContactUpdateInput {
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub company: Option<String>,
    #[uniffi(default = None)]
    pub notes: Option<String>,
    #[uniffi(default = None)]
    pub email: Option<String>,
    #[uniffi(default = None)]
    pub numbers: Option<Vec<String>>,
    #[uniffi(default = None)]
    pub tags: Option<Vec<String>>,
    #[uniffi(default = None)]
    pub external_id: Option<String>,
    #[uniffi(default = None)]
    pub owner_id: Option<String>,
    #[uniffi(default = None)]
    pub custom_fields: Option<Vec<ContactField>>,
    /// The region national numbers of `numbers` are read in.
    #[uniffi(default = None)]
    pub region: Option<String>,
}

/// `None` stays, `""` clears, anything else sets.
fn clearable(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| if v.is_empty() { None } else { Some(v) })
}

impl ContactUpdateInput {
    fn into_wire(self) -> Result<UpdateContact> {
        let owner_id = match self.owner_id.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(raw) => Some(Some(id("owner_id", raw)?)),
        };
        Ok(UpdateContact {
            name: self.name,
            company: clearable(self.company),
            notes: clearable(self.notes),
            email: clearable(self.email),
            numbers: self.numbers,
            tags: self.tags,
            external_id: clearable(self.external_id),
            owner_id,
            custom_fields: self.custom_fields.map(fields),
            region: self.region,
        })
    }
}

/// What one import row did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactImportRowInfo {
    /// Position in the request (0-based).
    pub row: u32,
    /// `created`, `updated`, `unchanged` or `rejected`.
    pub status: String,
    pub contact_id: Option<String>,
    pub code: Option<String>,
    pub field: Option<String>,
    pub message: Option<String>,
}

impl From<wire::ImportRowResult> for ContactImportRowInfo {
    fn from(r: wire::ImportRowResult) -> Self {
        Self {
            row: r.row,
            status: r.status.as_str().to_owned(),
            contact_id: r.contact_id.map(|c| c.to_string()),
            code: r.code,
            field: r.field,
            message: r.message,
        }
    }
}

/// Who a number belongs to, and the caller's latest calls with it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactLookupInfo {
    /// The number in E.164.
    pub number: String,
    pub contact: Option<ContactInfo>,
    /// The contact's score; `None` without a contact.
    pub score: Option<i64>,
    /// Newest first, at most 10.
    pub recent_calls: Vec<CallRecordInfo>,
    /// Whether the blocklist blocks the number for the caller.
    pub blocked: bool,
    /// The blocking entry's id and label, when blocked.
    pub blocked_entry_id: Option<String>,
    pub blocked_label: Option<String>,
}

impl From<wire::ContactLookup> for ContactLookupInfo {
    fn from(l: wire::ContactLookup) -> Self {
        Self {
            number: l.number,
            contact: l.contact.map(ContactInfo::from),
            score: l.score,
            recent_calls: l
                .recent_calls
                .into_iter()
                .map(CallRecordInfo::from)
                .collect(),
            blocked: l.blocked,
            blocked_entry_id: l.blocked_by.as_ref().map(|b| b.entry_id.to_string()),
            blocked_label: l.blocked_by.map(|b| b.label),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// The contacts the caller sees, filtered.
    pub async fn list_contacts(
        &self,
        filter: ContactFilter,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<ContactPage> {
        let out = self
            .inner()
            .list_contacts(&filter.query(cursor, limit)?)
            .await;
        let page = done(out)?;
        Ok(ContactPage {
            items: page.items.into_iter().map(ContactInfo::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    pub async fn get_contact(&self, contact_id: String) -> Result<ContactInfo> {
        let out = self
            .inner()
            .get_contact(id("contact_id", &contact_id)?)
            .await;
        done(out).map(ContactInfo::from)
    }

    pub async fn create_contact(&self, contact: ContactInput) -> Result<ContactInfo> {
        let out = self.inner().create_contact(&contact.into_wire()?).await;
        done(out).map(ContactInfo::from)
    }

    /// Changes a contact; the contact as it is after.
    pub async fn update_contact(
        &self,
        contact_id: String,
        change: ContactUpdateInput,
    ) -> Result<ContactInfo> {
        let contact_id = id("contact_id", &contact_id)?;
        let out = self
            .inner()
            .update_contact(contact_id, &change.into_wire()?)
            .await;
        done(out).map(ContactInfo::from)
    }

    /// Merges contact `from_id` into `contact_id` (numbers, tags, missing
    /// fields, linked calls and dials) and deletes `from_id`.
    pub async fn merge_contact(&self, contact_id: String, from_id: String) -> Result<ContactInfo> {
        let out = self
            .inner()
            .merge_contact(id("contact_id", &contact_id)?, id("from", &from_id)?)
            .await;
        done(out).map(ContactInfo::from)
    }

    pub async fn delete_contact(&self, contact_id: String) -> Result<()> {
        let out = self
            .inner()
            .delete_contact(id("contact_id", &contact_id)?)
            .await;
        done(out)
    }

    /// Who `number` belongs to, and the caller's latest calls with it; a
    /// national number is read in `region`.
    pub async fn lookup_contact(
        &self,
        number: String,
        region: Option<String>,
    ) -> Result<ContactLookupInfo> {
        let out = self
            .inner()
            .lookup_contact(&number, region.as_deref())
            .await;
        done(out).map(ContactLookupInfo::from)
    }

    /// Imports up to 1000 rows (admins and managers); one result per row.
    /// A row's `region` overrides `region`.
    pub async fn import_contacts(
        &self,
        rows: Vec<ContactInput>,
        region: Option<String>,
    ) -> Result<Vec<ContactImportRowInfo>> {
        let rows = rows
            .into_iter()
            .map(ContactInput::into_wire)
            .collect::<Result<Vec<_>>>()?;
        let out = self.inner().import_contacts(rows, region.as_deref()).await;
        Ok(done(out)?
            .results
            .into_iter()
            .map(ContactImportRowInfo::from)
            .collect())
    }

    /// Writes the filtered contacts as CSV to `path`; returns its size in
    /// bytes.
    pub async fn export_contacts_csv(&self, filter: ContactFilter, path: String) -> Result<u64> {
        let out = self
            .inner()
            .export_contacts_csv(&filter.query(None, None)?, &PathBuf::from(path))
            .await;
        done(out)
    }
}
