//! `/contacts/import` and `/blocklist/import`: a CSV file (chosen, which
//! console.js reads into the text field, or pasted) imported through the
//! same code as `POST /v1/contacts/import` and `POST /v1/blocklist/import`,
//! answered with one line per row: created, updated, unchanged or
//! rejected with the reason. A refused file (no header, an unknown
//! column, too many rows) imports nothing and says why.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::wire::Role;
use serde::Deserialize;

use super::admin::form::{Refusal, page_with, refusal};
use crate::console::chrome::{Chrome, Section};
use crate::console::csrf::{ConsoleForm, IMPORT_FORM_BYTES};
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::{blocklist_csv, contact_import};
use crate::state::AppState;

/// Which list a page imports into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Contacts,
    Blocklist,
}

impl Target {
    fn path(self) -> &'static str {
        match self {
            Target::Contacts => "/contacts/import",
            Target::Blocklist => "/blocklist/import",
        }
    }
}

/// One row's result as the page lists it.
#[derive(Debug)]
pub struct ResultLine {
    /// The data row, counting from 1 (the header is not a row).
    pub row: u32,
    pub outcome: String,
    /// The created or matched item's page.
    pub href: Option<String>,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    chrome: Chrome,
    contacts: bool,
    action: &'static str,
    csv: String,
    region: String,
    results: Vec<ResultLine>,
    /// How many rows ended in each outcome, in the results' order.
    summary: String,
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csv: String,
    /// Contacts: the region national numbers are read in.
    #[serde(default)]
    region: String,
}

fn render(
    user: &ConsoleUser,
    target: Target,
    form: ImportForm,
    results: Vec<ResultLine>,
    refused: Option<Refusal>,
) -> ConsoleResult<HttpResponse> {
    let status = refused.as_ref().map_or(StatusCode::OK, |r| r.status);
    let page = ImportPage {
        chrome: Chrome::new(
            user,
            match target {
                Target::Contacts => Section::Contacts,
                Target::Blocklist => Section::Blocklist,
            },
        ),
        contacts: target == Target::Contacts,
        action: target.path(),
        summary: summary(&results),
        // A file that imported is not offered again by mistake.
        csv: if refused.is_some() {
            form.csv
        } else {
            String::new()
        },
        region: form.region,
        results,
        message: refused.map(|r| r.message),
    };
    page_with(status, &page)
}

/// Managers and admins import contacts, as in the API.
fn may_import_contacts(user: &ConsoleUser) -> ConsoleResult<()> {
    match user.auth.role {
        Role::Salesperson => Err(ApiError::forbidden().into()),
        _ => Ok(()),
    }
}

/// `GET /contacts/import`
pub async fn contacts_form(user: ConsoleUser) -> ConsoleResult<HttpResponse> {
    may_import_contacts(&user)?;
    render(&user, Target::Contacts, ImportForm::default(), vec![], None)
}

/// `POST /contacts/import`
pub async fn import_contacts(
    state: web::Data<AppState>,
    form: ConsoleForm<ImportForm, IMPORT_FORM_BYTES>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    may_import_contacts(&user)?;
    let region = Some(form.region.trim().to_ascii_uppercase()).filter(|r| !r.is_empty());
    let imported =
        contact_import::import_csv(&state, user.auth.org_id, form.csv.as_bytes(), region).await;
    match imported {
        Ok(done) => {
            let lines = done
                .results
                .into_iter()
                .map(|r| ResultLine {
                    row: r.row + 1,
                    outcome: r.status.as_str().to_owned(),
                    href: r.contact_id.map(|id| format!("/contacts/{id}")),
                    detail: detail(r.field, r.message),
                })
                .collect();
            tracing::info!(by = %user.auth.user_id, "contacts imported in the console");
            render(&user, Target::Contacts, form, lines, None)
        }
        Err(e) => {
            let refused = refusal(e)?;
            render(&user, Target::Contacts, form, vec![], Some(refused))
        }
    }
}

/// `GET /blocklist/import`: every role may import; each row is checked
/// against the scopes its importer may change.
pub async fn blocklist_form(user: ConsoleUser) -> ConsoleResult<HttpResponse> {
    render(
        &user,
        Target::Blocklist,
        ImportForm::default(),
        vec![],
        None,
    )
}

/// `POST /blocklist/import`
pub async fn import_blocklist(
    state: web::Data<AppState>,
    form: ConsoleForm<ImportForm, IMPORT_FORM_BYTES>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    let imported = blocklist_csv::import_csv(&state, &user.auth, form.csv.as_bytes()).await;
    match imported {
        Ok(done) => {
            let lines = done
                .rows
                .into_iter()
                .map(|r| ResultLine {
                    row: r.row,
                    outcome: r.outcome.as_str().to_owned(),
                    href: r.id.map(|id| format!("/blocklist/{id}")),
                    detail: detail(r.field, r.detail),
                })
                .collect();
            render(&user, Target::Blocklist, form, lines, None)
        }
        Err(e) => {
            let refused = refusal(e)?;
            render(&user, Target::Blocklist, form, vec![], Some(refused))
        }
    }
}

fn detail(field: Option<String>, message: Option<String>) -> String {
    match (field, message) {
        (Some(f), Some(m)) => format!("{f}: {m}"),
        (None, Some(m)) => m,
        (Some(f), None) => f,
        (None, None) => String::new(),
    }
}

/// "3 created, 1 rejected": each outcome's count, first seen first.
pub(crate) fn summary(lines: &[ResultLine]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for line in lines {
        match counts.iter_mut().find(|(o, _)| *o == line.outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((&line.outcome, 1)),
        }
    }
    counts
        .iter()
        .map(|(o, n)| format!("{n} {o}"))
        .collect::<Vec<_>>()
        .join(", ")
}
