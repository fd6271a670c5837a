//! `GET /v1/contacts/{id}/score-events`: the ledger that explains a
//! contact's score (its rows under the rule-set version the score was
//! built with sum to `score`), oldest first, keyset paged on `seq`. The
//! contact's visibility applies (docs/contacts.md): a hidden contact is
//! not found.

use actix_web::web;
use deskbind_core::ids::ContactId;
use deskbind_core::repo::contacts;
use deskbind_core::time::to_datetime;
use deskbind_core::usecases::score_ledger;
use deskbind_core::wire::{Page, ScoreEvent};

use super::contacts::readable;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, SeqPageParams, path_id};
use crate::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    SeqPageParams(page): SeqPageParams,
) -> ApiResult<web::Json<Page<ScoreEvent>>> {
    let id: ContactId = path_id(&id)?;
    let after: Option<i64> = page.after.as_deref().and_then(|a| a.parse().ok());
    let page = state
        .db
        .run(move |conn| {
            let row = contacts::get(conn, auth.org_id, id)?;
            if readable(conn, &auth, row)?.is_none() {
                return Ok(None);
            }
            let rows = score_ledger::page(conn, auth.org_id, id, after, page.fetch())?;
            Ok::<_, ApiError>(Some(page.finish(
                rows,
                |r| r.seq.to_string(),
                |r| ScoreEvent {
                    seq: r.seq,
                    rule_key: r.rule_key,
                    label: r.label,
                    points: r.points,
                    call_record_id: r.call_record_id.and_then(|c| c.parse().ok()),
                    rule_version: r.rule_version,
                    at: to_datetime(r.at),
                },
            )))
        })
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(web::Json(page))
}
