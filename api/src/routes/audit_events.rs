//! `GET /v1/audit-events`: the organisation's audit log, oldest first.
//! Admins read every entry; managers the entries about their teams'
//! members; salespeople none (docs/audit.md).

use actix_web::web;
use deskbind_core::repo::audit_events::{self, AuditFilter};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::wire::{AuditAction, AuditEvent, Page, Role};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query, SeqPageParams, id_param, time_param};
use crate::state::AppState;

/// The subject kinds an entry can be about.
const SUBJECT_TYPES: &[&str] = &[
    "binding",
    "dial",
    "phone",
    "organisation",
    "blocklist_entry",
    "call_list",
    "api_key",
    "webhook_endpoint",
    "legal_hold",
];

/// The filters of `GET /v1/audit-events` (the console's audit page takes
/// the same ones).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    pub(crate) action: Option<String>,
    pub(crate) subject_type: Option<String>,
    pub(crate) subject_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) actor_id: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) until: Option<String>,
}

impl AuditQuery {
    /// The checked filter; a bad value is an invalid query naming it.
    pub(crate) fn filter(&self) -> ApiResult<AuditFilter> {
        let q = self;
        let invalid = |field: &str, detail: String| ApiError::InvalidQuery {
            field: field.into(),
            detail,
        };
        let action = non_empty(q.action.as_deref())
            .map(|a| {
                AuditAction::parse(a).ok_or_else(|| {
                    let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                    invalid("action", format!("must be one of {}", known.join(", ")))
                })
            })
            .transpose()?;
        let subject_type = non_empty(q.subject_type.as_deref())
            .map(|t| {
                SUBJECT_TYPES
                    .contains(&t)
                    .then(|| t.to_owned())
                    .ok_or_else(|| {
                        invalid(
                            "subject_type",
                            format!("must be one of {}", SUBJECT_TYPES.join(", ")),
                        )
                    })
            })
            .transpose()?;
        let subject_id = non_empty(q.subject_id.as_deref())
            .map(|id| {
                uuid::Uuid::parse_str(id)
                    .map(|u| u.to_string())
                    .map_err(|_| invalid("subject_id", "must be a UUID".into()))
            })
            .transpose()?;
        Ok(AuditFilter {
            action,
            subject_type,
            subject_id,
            user: id_param("user_id", q.user_id.as_deref())?,
            actor: id_param("actor_id", q.actor_id.as_deref())?,
            from: time_param("from", q.from.as_deref())?,
            until: time_param("until", q.until.as_deref())?,
        })
    }
}

fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.filter(|r| !r.is_empty())
}

/// Whom the caller may read entries about; salespeople are refused.
pub(crate) fn audit_visibility(auth: &AuthUser) -> ApiResult<Visibility> {
    match auth.role {
        Role::Admin => Ok(Visibility::Org),
        Role::Manager => Ok(Visibility::TeamsOf(auth.user_id)),
        Role::Salesperson => Err(ApiError::forbidden()),
    }
}

/// One page of the log as the caller may read it.
pub(crate) async fn page(
    state: &AppState,
    auth: &AuthUser,
    filter: AuditFilter,
    page: deskbind_core::repo::page::PageRequest,
) -> ApiResult<Page<AuditEvent>> {
    let visibility = audit_visibility(auth)?;
    let org = auth.org_id;
    Ok(state
        .db
        .run(move |conn| {
            let visible = users::visible_ids(conn, visibility)?;
            audit_events::list(conn, org, visible.as_deref(), &filter, &page)
        })
        .await?)
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    SeqPageParams(request): SeqPageParams,
    Query(q): Query<AuditQuery>,
) -> ApiResult<web::Json<Page<AuditEvent>>> {
    audit_visibility(&auth)?;
    let filter = q.filter()?;
    Ok(web::Json(page(&state, &auth, filter, request).await?))
}
