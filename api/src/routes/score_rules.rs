//! `/v1/score-rules`: the organisation's contact scoring rules
//! (docs/scoring.md). Every role reads them; admins replace the set,
//! naming the version they read, which starts a recompute
//! (`/v1/score-recomputes/{id}`).

use actix_web::web;
use deskbind_core::ids::ScoreRecomputeId;
use deskbind_core::repo::score_recomputes::RecomputeRow;
use deskbind_core::repo::score_rule_sets::StoredSet;
use deskbind_core::time::{now_micros, to_datetime};
use deskbind_core::usecases::score_recompute;
use deskbind_core::usecases::score_rules::{self, ReplaceError};
use deskbind_core::wire::{
    ErrorCode, PutScoreRules, ScoreRecompute, ScoreRuleSet, ScoreRules, ScoreRulesReplaced,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, path_id};
use crate::state::AppState;

pub async fn get(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<web::Json<ScoreRules>> {
    let stored = score_rules::current(&state.db, auth.org_id).await?;
    Ok(web::Json(rules_wire(stored)))
}

pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PutScoreRules>,
) -> ApiResult<web::Json<ScoreRulesReplaced>> {
    auth.require_admin()?;
    let set = ScoreRuleSet {
        total_cap: body.total_cap,
        groups: body.groups,
        rules: body.rules,
    };
    let (stored, recompute) = score_rules::replace(
        &state.db,
        auth.org_id,
        auth.user_id,
        body.version,
        set,
        now_micros(),
    )
    .await
    .map_err(replace_refusal)?;
    tracing::info!(by = %auth.user_id, version = stored.version, "score rules replaced");
    Ok(web::Json(ScoreRulesReplaced {
        rules: rules_wire(stored),
        recompute: recompute_wire(recompute),
    }))
}

/// What a refused replacement answers (the console's form shows the same).
pub fn replace_refusal(e: ReplaceError) -> ApiError {
    match e {
        ReplaceError::Invalid(e) => ApiError::Validation {
            code: e.code,
            field: e.field,
            detail: e.detail,
        },
        ReplaceError::Changed => ApiError::Conflict {
            code: ErrorCode::ScoreRulesChanged,
            detail: "the score rules changed since this version: read them again".into(),
        },
        ReplaceError::Repo(e) => e.into(),
    }
}

/// `GET /v1/score-recomputes/{id}`: a recompute's progress (every role).
pub async fn recompute(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<ScoreRecompute>> {
    let id: ScoreRecomputeId = path_id(&id)?;
    let row = score_recompute::get(&state.db, auth.org_id, id).await?;
    Ok(web::Json(recompute_wire(row)))
}

fn rules_wire(stored: StoredSet) -> ScoreRules {
    ScoreRules {
        version: stored.version,
        set: stored.set,
        updated_at: to_datetime(stored.created_at),
    }
}

fn recompute_wire(row: RecomputeRow) -> ScoreRecompute {
    ScoreRecompute {
        id: row.id,
        rule_version: row.rule_version,
        state: row.state,
        contacts_total: row.contacts_total,
        contacts_done: row.contacts_done,
        created_at: to_datetime(row.created_at),
        finished_at: row.finished_at.map(to_datetime),
    }
}
