//! `/v1/blocklist`: the blocklist and allow-list (docs/blocklist.md).
//! Admins change every scope, managers their teams' and their members'
//! entries, salespeople their own user-scope entries; everyone reads the
//! entries that apply to them (`usecases::blocklist`). `HEAD
//! /v1/blocklist?number=` answers 200 with `Blocklist-Verdict` and
//! `Blocklist-Entry` when an entry decides the number, 404 when none does.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::domain::E164;
use deskbind_core::domain::blocklist::{NewEntry, match_keys};
use deskbind_core::ids::{BlocklistEntryId, UserId};
use deskbind_core::repo::blocklist::{self as entries, Filter};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::blocklist::{self as blocklist, Actor, EntryChanges};
use deskbind_core::usecases::blocklist_check;
use deskbind_core::wire::{
    BlocklistEntry, BlocklistKind, BlocklistScope, CreateBlocklistEntry, Page, Role,
    UpdateBlocklistEntry,
};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, Query, id_param, path_id};
use crate::state::AppState;

/// The verdict header of `HEAD /v1/blocklist`: `blocked` or `allowed`.
pub const VERDICT_HEADER: &str = "blocklist-verdict";
/// The id of the entry that decided it.
pub const ENTRY_HEADER: &str = "blocklist-entry";

pub(crate) fn actor(auth: &AuthUser) -> Actor {
    Actor::Person {
        user: auth.user_id,
        role: auth.role,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub scope: Option<String>,
    /// The entries that match this number (the number and its prefixes).
    pub number: Option<String>,
}

fn number_param(raw: &str) -> Result<E164, ApiError> {
    E164::parse_international("number", raw).map_err(|e| ApiError::InvalidQuery {
        field: "number".into(),
        detail: e.message,
    })
}

fn enum_param<T>(
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Option<T>,
) -> ApiResult<Option<T>> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            parse(r).ok_or_else(|| ApiError::InvalidQuery {
                field: field.into(),
                detail: format!("{r:?} is not one of the listed values"),
            })
        })
        .transpose()
}

impl ListQuery {
    pub(crate) fn parse(&self) -> ApiResult<Filter> {
        Ok(Filter {
            kind: enum_param("kind", self.kind.as_deref(), BlocklistKind::parse)?,
            scope: enum_param("scope", self.scope.as_deref(), BlocklistScope::parse)?,
            match_keys: self
                .number
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| number_param(n).map(|n| match_keys(n.as_str())))
                .transpose()?,
        })
    }
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
    Query(query): Query<ListQuery>,
) -> ApiResult<web::Json<Page<BlocklistEntry>>> {
    let filter = query.parse()?;
    let rows = state
        .db
        .run(move |conn| {
            let reach = blocklist::reach_of(conn, auth.user_id, auth.role)?;
            entries::list(conn, auth.org_id, &reach, &filter, &page).map_err(ApiError::from)
        })
        .await?;
    Ok(web::Json(rows.try_map(|r| r.to_wire())?))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateBlocklistEntry>,
) -> ApiResult<HttpResponse> {
    let now = now_micros();
    let entry = NewEntry::parse(auth.org_id, &body, now)?;
    let row = blocklist::add(&state.db, auth.org_id, entry, actor(&auth), now).await?;
    let entry = row.to_wire()?;
    tracing::info!(by = %auth.user_id, entry = %entry.id, kind = %entry.kind, scope = %entry.scope, "blocklist entry added");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/blocklist/{}", entry.id)))
        .json(entry))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<BlocklistEntry>> {
    let id: BlocklistEntryId = path_id(&id)?;
    let row = state
        .db
        .run(move |conn| {
            blocklist::get(conn, auth.org_id, id, actor(&auth)).map_err(ApiError::from)
        })
        .await?;
    Ok(web::Json(row.to_wire()?))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateBlocklistEntry>,
) -> ApiResult<web::Json<BlocklistEntry>> {
    let id: BlocklistEntryId = path_id(&id)?;
    let now = now_micros();
    let changes = EntryChanges::parse(&body, now)?;
    let row = blocklist::update(&state.db, auth.org_id, id, changes, actor(&auth), now).await?;
    tracing::info!(by = %auth.user_id, entry = %id, "blocklist entry changed");
    Ok(web::Json(row.to_wire()?))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: BlocklistEntryId = path_id(&id)?;
    blocklist::delete(&state.db, auth.org_id, id, actor(&auth)).await?;
    tracing::info!(by = %auth.user_id, entry = %id, "blocklist entry deleted");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckQuery {
    number: Option<String>,
    /// Whose call (default: the caller's own). Another user must be one
    /// the caller may see (their team's members for a manager).
    user_id: Option<String>,
}

/// `HEAD /v1/blocklist?number=[&user_id=]`.
pub async fn check(
    state: web::Data<AppState>,
    auth: AuthUser,
    Query(query): Query<CheckQuery>,
) -> ApiResult<HttpResponse> {
    let raw = query
        .number
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::InvalidQuery {
            field: "number".into(),
            detail: "required: the number to check, in E.164".into(),
        })?;
    let number = number_param(raw)?;
    let user: UserId = id_param("user_id", query.user_id.as_deref())?.unwrap_or(auth.user_id);
    let decided = state
        .db
        .run(move |conn| {
            if user != auth.user_id && !may_see_user(conn, &auth, user)? {
                return Err(ApiError::forbidden());
            }
            blocklist_check::check_in(conn, auth.org_id, Some(user), &number, now_micros())
                .map_err(ApiError::from)
        })
        .await?;
    Ok(match decided {
        None => HttpResponse::NotFound().finish(),
        Some((kind, row)) => HttpResponse::Ok()
            .insert_header((
                VERDICT_HEADER,
                match kind {
                    BlocklistKind::Block => "blocked",
                    BlocklistKind::Allow => "allowed",
                },
            ))
            .insert_header((ENTRY_HEADER, row.id.to_string()))
            .finish(),
    })
}

/// Whether the caller may ask about `user`'s calls: an admin about anyone
/// of the organisation, a manager about their teams' members.
fn may_see_user(
    conn: &mut deskbind_core::db::DbConn,
    auth: &AuthUser,
    user: UserId,
) -> Result<bool, ApiError> {
    let visibility = match auth.role {
        Role::Admin => return Ok(users::exists_in_org(conn, auth.org_id, user)?),
        Role::Manager => Visibility::TeamsOf(auth.user_id),
        Role::Salesperson => return Ok(false),
    };
    Ok(users::visible_ids(conn, visibility)?.is_some_and(|ids| ids.contains(&user.to_string())))
}
