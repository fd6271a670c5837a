//! `GET /v1/binding-events`: the binding audit log, oldest first. Admins only.

use actix_web::web;
use deskbind_core::repo::binding_events::{self, EventFilter};
use deskbind_core::wire::{BindingAction, BindingEvent, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Page};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query, id_param, time_param};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct EventQuery {
    cursor: Option<String>,
    limit: Option<String>,
    phone_id: Option<String>,
    user_id: Option<String>,
    binding_id: Option<String>,
    action: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

fn invalid(field: &str, detail: &str) -> ApiError {
    ApiError::InvalidQuery {
        field: field.into(),
        detail: detail.into(),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    Query(q): Query<EventQuery>,
) -> ApiResult<web::Json<Page<BindingEvent>>> {
    auth.require_admin()?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid("cursor", "not a cursor this API returned"))?,
        ),
    };
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE_LIMIT,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    &format!("must be a whole number from 1 to {MAX_PAGE_LIMIT}"),
                )
            })?,
    };
    let filter = EventFilter {
        phone: id_param("phone_id", q.phone_id.as_deref())?,
        user: id_param("user_id", q.user_id.as_deref())?,
        binding: id_param("binding_id", q.binding_id.as_deref())?,
        action: q
            .action
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| {
                BindingAction::parse(a).ok_or_else(|| invalid("action", "must be bound or ended"))
            })
            .transpose()?,
        from: time_param("from", q.from.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
    };
    let page = state
        .db
        .run(move |conn| binding_events::list(conn, auth.org_id, &filter, after, limit))
        .await?;
    Ok(web::Json(page))
}
