//! `/admin/score-rules`: the organisation's contact scoring rules
//! (docs/scoring.md), admins only. Each form changes one rule, one group
//! or the total cap; the page replaces the whole set naming the version it
//! showed (`usecases::score_rules::replace`, as `PUT /v1/score-rules`), so
//! a second admin's change in between is refused, not overwritten. The
//! recompute the change starts shows its progress here.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::repo::score_rule_sets::StoredSet;
use deskbind_core::repo::{dispositions, score_recomputes};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::score_rules;
use deskbind_core::wire::{ScoreCounter, ScoreRecomputeState, ScoreRepeat, ScoreTrigger};

use super::form::{NoticeQuery, Refusal, local_time, notice, page_with};
use super::score_rule_edits::{EditRefused, ScoreRulesForm, describe};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::score_rules::replace_refusal;
use crate::state::AppState;

/// The newest recompute, as the page reports it.
struct RecomputeView {
    rule_version: i64,
    running: bool,
    done: i64,
    total: i64,
    started: String,
}

#[derive(Template)]
#[template(path = "admin_score_rules.html")]
struct ScoreRulesPage {
    chrome: Chrome,
    stored: StoredSet,
    updated: String,
    /// The catalogue's codes a disposition rule can name (not archived).
    disposition_codes: Vec<String>,
    recompute: Option<RecomputeView>,
    /// The refused form's fields, kept for the add form.
    draft: ScoreRulesForm,
    message: Option<String>,
    notice: Option<&'static str>,
}

impl ScoreRulesPage {
    fn triggers(&self) -> &'static [ScoreTrigger] {
        ScoreTrigger::ALL
    }

    fn repeats(&self) -> &'static [ScoreRepeat] {
        ScoreRepeat::ALL
    }

    fn counters(&self) -> &'static [ScoreCounter] {
        ScoreCounter::ALL
    }

    fn group_names(&self) -> Vec<String> {
        self.stored
            .set
            .groups
            .iter()
            .map(|g| g.name.clone())
            .collect()
    }

    /// An optional number as a form field shows it.
    fn number(&self, n: &Option<i64>) -> String {
        n.map(|n| n.to_string()).unwrap_or_default()
    }

    /// An optional text as a form field or select compares it.
    fn text<'a>(&self, t: &'a Option<String>) -> &'a str {
        t.as_deref().unwrap_or_default()
    }

    fn counter_of(&self, c: &Option<ScoreCounter>) -> &'static str {
        c.map(|c| c.as_str()).unwrap_or_default()
    }

    /// What a rule's trigger means, in the page's words.
    fn trigger_label(&self, t: &ScoreTrigger) -> &'static str {
        match t {
            ScoreTrigger::CallPlaced => "Call placed (outbound)",
            ScoreTrigger::CallAnswered => "Call answered (on air)",
            ScoreTrigger::InboundCall => "Inbound call",
            ScoreTrigger::Disposition => "Disposition given",
            ScoreTrigger::CountReached => "Count reached",
        }
    }
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    draft: ScoreRulesForm,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let org = user.auth.org_id;
    let stored = score_rules::current(&state.db, org).await?;
    let (codes, latest) = state
        .db
        .run(move |conn| {
            let codes = dispositions::list(conn, org)?
                .into_iter()
                .filter(|d| d.archived_at.is_none())
                .map(|d| d.code)
                .collect::<Vec<_>>();
            let latest = score_recomputes::latest(conn, org)?;
            Ok::<_, ApiError>((codes, latest))
        })
        .await?;
    let zone = user.time_zone.clone();
    let recompute = latest.map(|r| RecomputeView {
        rule_version: r.rule_version,
        running: r.state == ScoreRecomputeState::Running,
        done: r.contacts_done,
        total: r.contacts_total,
        started: local_time(r.created_at, &zone),
    });
    let status = refused.as_ref().map(|r| r.status).unwrap_or(StatusCode::OK);
    let page = ScoreRulesPage {
        chrome: Chrome::admin(user, AdminSection::ScoreRules),
        updated: local_time(stored.created_at, &zone),
        stored,
        disposition_codes: codes,
        recompute,
        draft,
        message: refused.map(|r| r.message),
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/score-rules`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let draft = ScoreRulesForm::default();
    render(&state, &user, draft, None, q.notice.as_deref()).await
}

/// `POST /admin/score-rules`: one form's change (its `action`).
pub async fn save(
    state: web::Data<AppState>,
    form: ConsoleForm<ScoreRulesForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let org = user.auth.org_id;
    let current = score_rules::current(&state.db, org).await?;
    let edited = form
        .version()
        .and_then(|v| Ok((v, form.apply(&current.set)?)));
    let refused = match edited {
        Err(EditRefused(message)) => Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message,
        },
        Ok((version, next)) => {
            let replaced = score_rules::replace(
                &state.db,
                org,
                user.auth.user_id,
                version,
                next.clone(),
                now_micros(),
            )
            .await;
            match replaced.map_err(replace_refusal) {
                Ok((stored, _)) => {
                    tracing::info!(by = %user.auth.user_id, version = stored.version, "score rules replaced in the console");
                    return Ok(see_other("/admin/score-rules?notice=saved"));
                }
                Err(ApiError::Validation { field, detail, .. }) => Refusal {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    message: describe(&field, &detail, &next),
                },
                Err(e) => super::form::refusal(e)?,
            }
        }
    };
    // Only the add form keeps what was typed; a row shows the stored rule.
    let draft = if form.action == "add_rule" {
        form
    } else {
        ScoreRulesForm::default()
    };
    render(&state, &user, draft, Some(refused), None).await
}
