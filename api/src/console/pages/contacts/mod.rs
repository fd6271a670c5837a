//! `/contacts`: the organisation's contacts as `GET /v1/contacts` shows
//! them to the viewer (docs/contacts.md): search by text, number, tag and
//! owner, keyset pages that keep the filters; a contact's page with its
//! calls; the create and edit forms; delete. A salesperson under the
//! visibility `own` sees only their own contacts; another organisation's
//! contact, or a hidden one, is the 404 page.

pub mod detail;
pub mod edit;

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::wire::{Contact, ContactSource};
use serde::Deserialize;

use super::admin::form::{NoticeQuery, notice, page_with, refusal};
use super::admin::names::{Named, users_of};
use crate::console::chrome::{Chrome, Section};
use crate::console::error::{ConsoleResult, url_escape};
use crate::console::session::ConsoleUser;
use crate::extract::PageParams;
use crate::routes::contacts::{SearchQuery, list_page};
use crate::state::AppState;

/// One row of the list.
#[derive(Debug)]
pub struct ContactLine {
    pub id: String,
    pub name: String,
    pub company: String,
    pub numbers: String,
    pub tags: String,
    pub owner: String,
    pub score: i64,
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    chrome: Chrome,
    q: String,
    number: String,
    tag: String,
    owner_id: String,
    owners: Vec<Named>,
    rows: Vec<ContactLine>,
    /// The "Next page" link, filters kept.
    next: Option<String>,
    /// The CSV of every contact the filters select.
    export_href: String,
    message: Option<String>,
    notice: Option<&'static str>,
}

/// `?q=&number=&tag=&owner_id=&cursor=&limit=&notice=`
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    search: SearchQuery,
    limit: Option<String>,
    #[serde(flatten)]
    notice: NoticeQuery,
}

/// A person's name for an owner id (the first 200 users by name; the id
/// beyond them).
pub fn owner_name(owners: &[Named], id: Option<String>) -> String {
    match id {
        None => String::new(),
        Some(id) => owners
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.label.clone())
            .unwrap_or(id),
    }
}

pub fn source_label(source: ContactSource) -> &'static str {
    match source {
        ContactSource::Manual => "Entered by hand",
        ContactSource::Import => "Imported",
        ContactSource::Auto => "Created for an unknown caller",
    }
}

fn line(owners: &[Named], c: Contact) -> ContactLine {
    ContactLine {
        id: c.id.to_string(),
        name: c.name,
        company: c.company.unwrap_or_default(),
        numbers: c
            .numbers
            .iter()
            .map(|n| n.e164.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        tags: c.tags.join(", "),
        owner: owner_name(owners, c.owner_id.map(|o| o.to_string())),
        score: c.score,
    }
}

/// `base` with the page's filters (and `limit`) as its query.
fn filter_href(base: &str, page: &ContactsPage, limit: Option<&str>) -> String {
    let pairs = [
        ("q", page.q.as_str()),
        ("number", page.number.as_str()),
        ("tag", page.tag.as_str()),
        ("owner_id", page.owner_id.as_str()),
        ("limit", limit.unwrap_or_default()),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_escape(v)))
        .collect();
    format!("{base}{}", query.join("&"))
}

/// `GET /contacts`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    web::Query(query): web::Query<ListQuery>,
) -> ConsoleResult<HttpResponse> {
    let search = query.search;
    let org = user.auth.org_id;
    let owners = state.db.run(move |conn| users_of(conn, org)).await?;
    let mut page = ContactsPage {
        chrome: Chrome::new(&user, Section::Contacts),
        q: search.q.clone().unwrap_or_default(),
        number: search.number.clone().unwrap_or_default(),
        tag: search.tag.clone().unwrap_or_default(),
        owner_id: search.owner_id.clone().unwrap_or_default(),
        owners: Vec::new(),
        rows: Vec::new(),
        next: None,
        export_href: String::new(),
        message: None,
        notice: notice(query.notice.notice.as_deref()),
    };
    page.export_href = filter_href("/contacts/export.csv?", &page, None);
    // A bad filter shows the form again with the API's words and status.
    let checked = match PageParams::extract(&req).await {
        Ok(PageParams(p)) => search.parse().map(|f| (f, p)),
        Err(e) => Err(e),
    };
    let (filter, paging) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            let refused = refusal(e)?;
            page.message = Some(refused.message);
            page.owners = owners;
            return page_with(refused.status, &page);
        }
    };
    let auth = user.auth;
    let rows = state
        .db
        .run(move |conn| list_page(conn, &auth, filter, &paging))
        .await?;
    page.next = rows.next_cursor.map(|cursor| {
        let mut href = filter_href("/contacts?", &page, query.limit.as_deref());
        href.push_str(&format!("&cursor={}", url_escape(&cursor)));
        href
    });
    page.rows = rows.items.into_iter().map(|c| line(&owners, c)).collect();
    page.owners = owners;
    page_with(actix_web::http::StatusCode::OK, &page)
}

/// `GET /contacts/export.csv`: the JSON API's export
/// (`GET /v1/contacts/export.csv`) for the console session, the same
/// filters and visibility: every matching contact, not one page.
pub async fn export(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(search): web::Query<SearchQuery>,
) -> ConsoleResult<HttpResponse> {
    Ok(crate::routes::contact_export::csv(state, user.auth, crate::extract::Query(search)).await?)
}
