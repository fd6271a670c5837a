//! `GET /v1/binding-events`: the binding audit log, oldest first. Admins only.

use actix_web::web;
use deskbind_core::repo::binding_events::{self, EventFilter};
use deskbind_core::wire::{BindingAction, BindingEvent, Page};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query, SeqPageParams, id_param, time_param};
use crate::state::AppState;

/// The filters of `GET /v1/binding-events` (the console's audit log page
/// takes the same ones).
#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    pub(crate) phone_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) binding_id: Option<String>,
    pub(crate) action: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) until: Option<String>,
}

impl EventQuery {
    /// The checked filter; a bad value is an invalid query naming it.
    pub(crate) fn filter(&self) -> ApiResult<EventFilter> {
        let q = self;
        Ok(EventFilter {
            phone: id_param("phone_id", q.phone_id.as_deref())?,
            user: id_param("user_id", q.user_id.as_deref())?,
            binding: id_param("binding_id", q.binding_id.as_deref())?,
            action: q
                .action
                .as_deref()
                .filter(|a| !a.is_empty())
                .map(|a| {
                    BindingAction::parse(a).ok_or_else(|| ApiError::InvalidQuery {
                        field: "action".into(),
                        detail: "must be bound or ended".into(),
                    })
                })
                .transpose()?,
            from: time_param("from", q.from.as_deref())?,
            until: time_param("until", q.until.as_deref())?,
        })
    }
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    SeqPageParams(page): SeqPageParams,
    Query(q): Query<EventQuery>,
) -> ApiResult<web::Json<Page<BindingEvent>>> {
    auth.require_admin()?;
    let filter = q.filter()?;
    let page = state
        .db
        .run(move |conn| binding_events::list(conn, auth.org_id, &filter, &page))
        .await?;
    Ok(web::Json(page))
}
