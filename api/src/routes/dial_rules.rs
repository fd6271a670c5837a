//! `/v1/dial-rules` (admins): the organisation's dial authorisation rules
//! (destination classes per team and role, calling hours, the callee's
//! local time; docs/dialing.md, "Dial authorisation"). A PUT replaces the
//! whole set and names the version it read: a stale one is 409
//! `dial_rules_changed`.

use actix_web::web;
use deskbind_core::repo::dial_rule_sets::StoredRules;
use deskbind_core::time::{now_micros, to_datetime};
use deskbind_core::usecases::dial_rules::{self, ReplaceError};
use deskbind_core::wire::{DialRuleSet, DialRules, ErrorCode, PutDialRules};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

fn to_wire(stored: Option<StoredRules>) -> DialRules {
    match stored {
        Some(stored) => DialRules {
            version: stored.version,
            rules: stored.set,
            updated_at: Some(to_datetime(stored.updated_at)),
        },
        None => DialRules {
            version: 0,
            rules: DialRuleSet::default(),
            updated_at: None,
        },
    }
}

pub async fn get(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<web::Json<DialRules>> {
    auth.require_admin()?;
    let stored = state
        .db
        .run(move |conn| dial_rules::read(conn, auth.org_id))
        .await?;
    Ok(web::Json(to_wire(stored)))
}

pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PutDialRules>,
) -> ApiResult<web::Json<DialRules>> {
    auth.require_admin()?;
    if body.version < 0 {
        return Err(ApiError::Validation {
            code: ErrorCode::InvalidField,
            field: "version".into(),
            detail: "must be the version read (0 before any rules are stored)".into(),
        });
    }
    let (version, set) = body.into_set();
    let stored = dial_rules::replace(
        &state.db,
        auth.org_id,
        auth.user_id,
        version,
        set,
        now_micros(),
    )
    .await
    .map_err(refusal)?;
    tracing::info!(by = %auth.user_id, version = stored.version, "dial rules replaced");
    Ok(web::Json(to_wire(Some(stored))))
}

pub(crate) fn refusal(e: ReplaceError) -> ApiError {
    match e {
        ReplaceError::Invalid(e) => e.into(),
        ReplaceError::Changed => ApiError::Conflict {
            code: ErrorCode::DialRulesChanged,
            detail: "the dial rules changed since this version: read them again".into(),
        },
        ReplaceError::Repo(e) => e.into(),
    }
}
