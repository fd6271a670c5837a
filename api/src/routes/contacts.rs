//! `/v1/contacts`: the organisation's contacts (docs/contacts.md). Admins
//! and managers create and edit any contact; salespeople create contacts
//! they own, edit those, and read the others unless the organisation's
//! visibility is `own` (`/v1/contact-settings`), which hides them (404).

use actix_web::{HttpResponse, web};
use deskbind_core::db::DbConn;
use deskbind_core::domain::contacts::{self as rules, ContactAccess, ContactFields};
use deskbind_core::domain::number_search::{MIN_SEARCH_DIGITS, SearchRefusal, search_digits};
use deskbind_core::ids::ContactId;
use deskbind_core::repo::contact_settings;
use deskbind_core::repo::contacts::{self, ContactFilter};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::contact_merge::{self, MergeError};
use deskbind_core::usecases::contact_reads;
use deskbind_core::usecases::contacts::{self as write, Actor, ContactError};
use deskbind_core::wire::{
    Contact, ContactVisibility, CreateContact, ErrorCode, MergeContact, Page, Role, UpdateContact,
};
use serde::Deserialize;

use super::calls::MAX_NUMBER_SEARCH;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    AuthUser, ContactsRead, ContactsWrite, Json, PageParams, Query, Scoped, id_param, path_id,
};
use crate::state::AppState;

/// The search parameters of the list and the export.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub number: Option<String>,
    pub tag: Option<String>,
    pub owner_id: Option<String>,
}

impl SearchQuery {
    /// The checked filter, before the caller's visibility is applied.
    pub fn parse(&self) -> ApiResult<ContactFilter> {
        let q = rules::search_query(self.q.as_deref().unwrap_or_default())?;
        let digits = match self.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            None => None,
            Some(n) if n.chars().count() > MAX_NUMBER_SEARCH => {
                return Err(ApiError::InvalidQuery {
                    field: "number".into(),
                    detail: format!("must be at most {MAX_NUMBER_SEARCH} characters"),
                });
            }
            Some(n) => Some(search_digits(n).map_err(|SearchRefusal::TooFewDigits { .. }| {
                ApiError::Validation {
                    code: ErrorCode::NumberSearchTooShort,
                    field: "number".into(),
                    detail: format!(
                        "must contain at least {MIN_SEARCH_DIGITS} digits (other characters are ignored)"
                    ),
                }
            })?),
        };
        let tag = self
            .tag
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| rules::tag("tag", t))
            .transpose()?;
        Ok(ContactFilter {
            visible_owner: None,
            owner: id_param("owner_id", self.owner_id.as_deref())?,
            q,
            digits,
            tag,
        })
    }
}

/// The organisation's visibility setting.
pub(crate) fn visibility(conn: &mut DbConn, auth: &AuthUser) -> ApiResult<ContactVisibility> {
    Ok(contact_settings::get(conn, auth.org_id)?.0)
}

/// `filter` narrowed to what the caller may see.
pub(crate) fn visible(
    conn: &mut DbConn,
    auth: &AuthUser,
    mut filter: ContactFilter,
) -> ApiResult<ContactFilter> {
    if auth.role == Role::Salesperson && visibility(conn, auth)? == ContactVisibility::Own {
        filter.visible_owner = Some(auth.user_id);
    }
    Ok(filter)
}

/// The contact as sent, if the caller may see it; `None` otherwise.
pub(crate) fn readable(
    conn: &mut DbConn,
    auth: &AuthUser,
    row: contacts::ContactRow,
) -> ApiResult<Option<Contact>> {
    let access = rules::access(
        auth.role,
        auth.user_id,
        row.owner_id,
        visibility(conn, auth)?,
    );
    if access == ContactAccess::Hidden {
        return Ok(None);
    }
    Ok(Some(contact_reads::one(conn, row)?))
}

pub(crate) fn actor(auth: &AuthUser) -> Actor {
    Actor {
        user: auth.user_id,
        role: auth.role,
    }
}

/// A use case's refusal as the API answers it.
pub(crate) fn contact_error(e: ContactError) -> ApiError {
    match e {
        ContactError::Repo(e) => e.into(),
        ContactError::Field(e) => e.into(),
        ContactError::Forbidden => ApiError::forbidden(),
        ContactError::UnknownOwner => ApiError::Validation {
            code: ErrorCode::UnknownOwner,
            field: "owner_id".into(),
            detail: "no user of the organisation has this id".into(),
        },
        ContactError::NumberTaken { number, contact } => ApiError::ContactConflict {
            code: ErrorCode::ContactNumberTaken,
            detail: format!("{number} belongs to another contact ({contact})"),
            contact_id: contact,
        },
        ContactError::ExternalIdTaken { contact } => ApiError::ContactConflict {
            code: ErrorCode::ExternalIdTaken,
            detail: format!("the external_id belongs to another contact ({contact})"),
            contact_id: contact,
        },
        ContactError::Held => ApiError::Conflict {
            code: ErrorCode::ContactHeld,
            detail: "a legal hold keeps this contact's calls; release it first".into(),
        },
    }
}

pub async fn list(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<ContactsRead>,
    PageParams(page): PageParams,
    Query(query): Query<SearchQuery>,
) -> ApiResult<web::Json<Page<Contact>>> {
    let filter = query.parse()?;
    let page = state
        .db
        .run(move |conn| list_page(conn, &auth, filter, &page))
        .await?;
    Ok(web::Json(page))
}

/// One page of the contacts the caller may see that `filter` selects.
pub(crate) fn list_page(
    conn: &mut DbConn,
    auth: &AuthUser,
    filter: ContactFilter,
    page: &PageRequest,
) -> ApiResult<Page<Contact>> {
    let filter = visible(conn, auth, filter)?;
    let rows = contacts::list(conn, auth.org_id, &filter, page)?;
    Ok(Page {
        items: contact_reads::many(conn, rows.items)?,
        next_cursor: rows.next_cursor,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<ContactsWrite>,
    Json(body): Json<CreateContact>,
) -> ApiResult<HttpResponse> {
    let fields = ContactFields::from_create(&body)?;
    let contact = write::create(
        &state.db,
        auth.org_id,
        actor(&auth),
        fields,
        body.owner_id,
        now_micros(),
    )
    .await
    .map_err(contact_error)?;
    Ok(HttpResponse::Created().json(contact))
}

pub async fn get(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<ContactsRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<Contact>> {
    let id: ContactId = path_id(&id)?;
    let contact = state
        .db
        .run(move |conn| {
            let row = contacts::get(conn, auth.org_id, id)?;
            readable(conn, &auth, row)
        })
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(web::Json(contact))
}

pub async fn update(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<ContactsWrite>,
    id: web::Path<String>,
    Json(body): Json<UpdateContact>,
) -> ApiResult<web::Json<Contact>> {
    let id: ContactId = path_id(&id)?;
    let contact = write::update(&state.db, auth.org_id, actor(&auth), id, body, now_micros())
        .await
        .map_err(contact_error)?;
    Ok(web::Json(contact))
}

pub async fn delete(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<ContactsWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: ContactId = path_id(&id)?;
    write::delete(&state.db, auth.org_id, actor(&auth), id)
        .await
        .map_err(contact_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /v1/contacts/{id}/merge`: moves `from` into `{id}` and deletes it
/// (docs/contacts.md, "Merge").
pub async fn merge(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<MergeContact>,
) -> ApiResult<web::Json<Contact>> {
    let id: ContactId = path_id(&id)?;
    let contact = contact_merge::merge(
        &state.db,
        auth.org_id,
        actor(&auth),
        id,
        body.from,
        now_micros(),
    )
    .await
    .map_err(|e| match e {
        MergeError::IntoSelf => ApiError::Validation {
            code: ErrorCode::MergeIntoSelf,
            field: "from".into(),
            detail: "a contact cannot be merged into itself".into(),
        },
        MergeError::Contact(e) => contact_error(e),
    })?;
    Ok(web::Json(contact))
}
