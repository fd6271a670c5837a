//! `GET /contacts/{id}`: every field of a contact, its score with what
//! made it (points per rule and the newest ledger entries, as
//! `GET /v1/contacts/{id}/score-events` has them), and the latest calls with its numbers
//! the viewer may see (as `GET /v1/contacts/lookup` finds them: the
//! viewer's call scope, another user's private calls left out).
//! `POST /contacts/{id}/delete` deletes it (the page asks first).

use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::ContactId;
use deskbind_core::repo::{call_records, contacts, users};
use deskbind_core::usecases::contacts as write;
use deskbind_core::usecases::record_reads;
use deskbind_core::usecases::score_ledger::{self, RuleTotal};
use deskbind_core::wire::{CallRecord, Contact, Role};
use serde::Deserialize;

use super::super::admin::form::{NoticeQuery, notice};
use super::super::admin::names::users_of;
use super::super::calls::view;
use super::{owner_name, source_label};
use crate::console::chrome::{Chrome, Section, page, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::console::time::viewer_zone;
use crate::error::ApiError;
use crate::extract::path_id;
use crate::routes::contacts::{actor, contact_error, readable};
use crate::routes::users::visibility;
use crate::state::AppState;

/// The most calls the page lists (newest first, over all its numbers).
pub const CONTACT_CALLS: usize = 20;
/// The most score ledger entries the page lists (newest first).
pub const LEDGER_ENTRIES: i64 = 20;

/// One ledger entry.
#[derive(Debug)]
pub struct LedgerLine {
    pub at: String,
    pub iso: String,
    pub label: String,
    pub points: i64,
    /// The call that earned it, when one did.
    pub call_id: Option<String>,
}

#[derive(Debug)]
pub struct CallLine {
    pub id: String,
    pub started: String,
    pub iso: String,
    pub direction: &'static str,
    pub result: &'static str,
    pub duration: String,
    pub number: String,
}

#[derive(Template)]
#[template(path = "contact_detail.html")]
struct ContactPage {
    chrome: Chrome,
    id: String,
    name: String,
    company: String,
    email: String,
    notes: String,
    external_id: String,
    numbers: Vec<String>,
    tags: Vec<String>,
    custom_fields: Vec<(String, String)>,
    owner: String,
    source: &'static str,
    score: i64,
    rule_totals: Vec<RuleTotal>,
    ledger: Vec<LedgerLine>,
    created: String,
    updated: String,
    calls: Vec<CallLine>,
    can_edit: bool,
    notice: Option<&'static str>,
}

/// Whether the viewer may change the contact: admins and managers any,
/// salespeople those they own (the use case decides again on save).
pub fn may_edit(user: &ConsoleUser, contact: &Contact) -> bool {
    user.auth.role != Role::Salesperson || contact.owner_id == Some(user.auth.user_id)
}

/// The contact as the viewer may read it; not found otherwise.
pub async fn readable_contact(
    state: &AppState,
    user: &ConsoleUser,
    raw_id: &str,
) -> ConsoleResult<Contact> {
    let id: ContactId = path_id(raw_id)?;
    let auth = user.auth;
    state
        .db
        .run(move |conn| {
            let row = contacts::get(conn, auth.org_id, id)?;
            readable(conn, &auth, row)
        })
        .await?
        .ok_or_else(ConsoleError::not_found)
}

/// `GET /contacts/{id}`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let contact = readable_contact(&state, &user, &id).await?;
    let auth = user.auth;
    let numbers: Vec<String> = contact.numbers.iter().map(|n| n.e164.clone()).collect();
    let contact_id = contact.id;
    let (owners, calls, explained) = state
        .db
        .run(move |conn| {
            let owners = users_of(conn, auth.org_id)?;
            let explained = score_ledger::explain(conn, auth.org_id, contact_id, LEDGER_ENTRIES)?;
            let scope = users::visible_ids(conn, visibility(&auth))?;
            let mut rows = Vec::new();
            for number in &numbers {
                rows.extend(call_records::latest_with_number(
                    conn,
                    auth.org_id,
                    &scope,
                    number,
                    CONTACT_CALLS as i64,
                )?);
            }
            let mut calls: Vec<CallRecord> = record_reads::for_reader(conn, auth.user_id, &rows)?
                .into_iter()
                .filter(|c| !c.redacted)
                .collect();
            calls.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
            calls.dedup_by_key(|c| c.id);
            calls.truncate(CONTACT_CALLS);
            Ok::<_, ApiError>((owners, calls, explained))
        })
        .await?;
    let tz = viewer_zone(&user);
    let can_edit = may_edit(&user, &contact);
    let page_data = ContactPage {
        chrome: Chrome::new(&user, Section::Contacts),
        id: contact.id.to_string(),
        company: contact.company.clone().unwrap_or_default(),
        email: contact.email.clone().unwrap_or_default(),
        notes: contact.notes.clone().unwrap_or_default(),
        external_id: contact.external_id.clone().unwrap_or_default(),
        numbers: contact
            .numbers
            .iter()
            .map(|n| {
                if n.raw == n.e164 || n.raw.is_empty() {
                    n.e164.clone()
                } else {
                    format!("{} (entered as {})", n.e164, n.raw)
                }
            })
            .collect(),
        tags: contact.tags.clone(),
        custom_fields: contact.custom_fields.clone().into_iter().collect(),
        owner: owner_name(&owners, contact.owner_id.map(|o| o.to_string())),
        source: source_label(contact.source),
        score: contact.score,
        rule_totals: explained.totals,
        ledger: explained
            .latest
            .into_iter()
            .map(|row| {
                let at = deskbind_core::time::to_datetime(row.at);
                LedgerLine {
                    at: view::local_time(at, tz),
                    iso: view::iso(at),
                    label: row.label,
                    points: row.points,
                    call_id: row.call_record_id,
                }
            })
            .collect(),
        created: view::local_time(contact.created_at, tz),
        updated: view::local_time(contact.updated_at, tz),
        calls: calls
            .iter()
            .map(|c| CallLine {
                id: c.id.to_string(),
                started: view::local_time(c.started_at, tz),
                iso: view::iso(c.started_at),
                direction: view::direction_label(c.direction),
                result: view::result_label(c.result),
                duration: view::duration(c.duration_secs),
                number: view::number_label(c),
            })
            .collect(),
        can_edit,
        notice: notice(q.notice.as_deref()),
        name: contact.name,
    };
    page(&page_data)
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// `POST /contacts/{id}/delete`: the use case decides who may.
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<EmptyForm>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    let contact = readable_contact(&state, &user, &id).await?;
    write::delete(&state.db, user.auth.org_id, actor(&user.auth), contact.id)
        .await
        .map_err(contact_error)?;
    Ok(see_other("/contacts?notice=deleted"))
}
