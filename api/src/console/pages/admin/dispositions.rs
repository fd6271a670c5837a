//! `/admin/dispositions`: the organisation's disposition catalogue
//! (docs/call-outcomes.md), admins only: add an entry, change its label,
//! flags and order, archive it (retire: calls keep it, nobody can choose
//! it) or bring it back. There is no delete, as in the API. The checks and
//! use case are `/v1/dispositions`'s (`usecases::dispositions`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::DispositionId;
use deskbind_core::repo::dispositions;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::dispositions as catalogue;
use deskbind_core::wire::{CreateDisposition, Disposition, UpdateDisposition};
use serde::Deserialize;

use super::form::{NoticeQuery, notice, page_with};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::path_id;
use crate::state::AppState;

const SHOWN: &[&str] = &["code", "label", "sort_order"];

/// A catalogue entry's form (add, or change one row). Checkboxes are
/// present when ticked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DispositionDraft {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub label: String,
    pub reached: Option<String>,
    pub sale: Option<String>,
    pub do_not_call: Option<String>,
    pub callback: Option<String>,
    pub archived: Option<String>,
    #[serde(default)]
    pub sort_order: String,
}

impl DispositionDraft {
    fn sort_order(&self) -> Result<Option<i64>, FormErrors> {
        match self.sort_order.trim() {
            "" => Ok(None),
            n => n
                .parse()
                .map(Some)
                .map_err(|_| FormErrors::invalid("sort_order", "Order: a whole number", SHOWN)),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_dispositions.html")]
struct DispositionsPage {
    chrome: Chrome,
    rows: Vec<Disposition>,
    draft: DispositionDraft,
    /// The refused form: `None` for the add form, an id for a row's.
    errors_for: Option<String>,
    errors: Option<FormErrors>,
    notice: Option<&'static str>,
}

impl DispositionsPage {
    /// The add form's refusal.
    fn add_errors(&self) -> Option<FormErrors> {
        match self.errors_for {
            None => self.errors.clone(),
            Some(_) => None,
        }
    }

    /// A row's refusal, shown in its row.
    fn row_message(&self, id: &DispositionId) -> Option<String> {
        match (&self.errors_for, &self.errors) {
            (Some(row), Some(e)) if *row == id.to_string() => Some(e.message.clone()),
            _ => None,
        }
    }
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    draft: DispositionDraft,
    errors_for: Option<String>,
    errors: Option<FormErrors>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let org = user.auth.org_id;
    let rows = state
        .db
        .run(move |conn| {
            let rows = dispositions::list(conn, org)?;
            Ok::<_, ApiError>(
                rows.iter()
                    .map(|r| r.to_wire())
                    .collect::<Result<Vec<_>, _>>()?,
            )
        })
        .await?;
    let status = errors.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = DispositionsPage {
        chrome: Chrome::admin(user, AdminSection::Dispositions),
        rows,
        draft,
        errors_for,
        errors,
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/dispositions`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let draft = DispositionDraft::default();
    render(&state, &user, draft, None, None, q.notice.as_deref()).await
}

/// `POST /admin/dispositions`
pub async fn create(
    state: web::Data<AppState>,
    form: ConsoleForm<DispositionDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let errors = match draft.sort_order() {
        Err(e) => e,
        Ok(sort_order) => {
            let body = CreateDisposition {
                code: draft.code.trim().to_owned(),
                label: draft.label.clone(),
                reached: draft.reached.is_some(),
                sale: draft.sale.is_some(),
                do_not_call: draft.do_not_call.is_some(),
                callback: draft.callback.is_some(),
                sort_order,
            };
            match catalogue::create(&state.services(), user.auth.org_id, body, now_micros()).await {
                Ok(_) => return Ok(see_other("/admin/dispositions?notice=created")),
                Err(e) => FormErrors::from_api(e.into(), SHOWN)?,
            }
        }
    };
    render(&state, &user, draft, None, Some(errors), None).await
}

/// `POST /admin/dispositions/{id}`: every field of the row's form.
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<DispositionDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let id: DispositionId = path_id(&id)?;
    let errors = match draft.sort_order() {
        Err(e) => e,
        Ok(sort_order) => {
            let body = UpdateDisposition {
                label: Some(draft.label.clone()),
                reached: Some(draft.reached.is_some()),
                sale: Some(draft.sale.is_some()),
                do_not_call: Some(draft.do_not_call.is_some()),
                callback: Some(draft.callback.is_some()),
                sort_order,
                archived: Some(draft.archived.is_some()),
            };
            match catalogue::update(&state.services(), user.auth.org_id, id, body, now_micros())
                .await
            {
                Ok(_) => return Ok(see_other("/admin/dispositions?notice=saved")),
                Err(e) => FormErrors::from_api(e.into(), SHOWN)?,
            }
        }
    };
    let empty = DispositionDraft::default();
    render(
        &state,
        &user,
        empty,
        Some(id.to_string()),
        Some(errors),
        None,
    )
    .await
}
