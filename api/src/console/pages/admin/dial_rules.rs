//! `/admin/dial-rules`: the organisation's dial authorisation (which
//! destination classes each team and role may dial, calling hours with
//! holidays, the callee's local time; docs/dialing.md, "Dial
//! authorisation"), admins only. Each form changes one rule; the page
//! replaces the whole set naming the version it showed
//! (`usecases::dial_rules::replace`, as `PUT /v1/dial-rules`), so a
//! second admin's change in between is refused, not overwritten.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::domain::dial_class::DestinationClass;
use deskbind_core::ids::TeamId;
use deskbind_core::time::{now_micros, to_datetime};
use deskbind_core::usecases::dial_rules;
use deskbind_core::wire::{DialRuleSet, Role, WeekWindows};

use super::dial_rule_edits::{self as edits, EditRefused, WEEKDAYS};
use super::form::{Fields, NoticeQuery, Refusal, notice, page_with, role_label};
use super::names::{Named, teams_of};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, zone_named};
use crate::error::ApiError;
use crate::routes::dial_rules::refusal as replace_refusal;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin_dial_rules.html")]
struct DialRulesPage {
    chrome: Chrome,
    version: i64,
    updated: Option<String>,
    set: DialRuleSet,
    teams: Vec<Named>,
    message: Option<String>,
    notice: Option<&'static str>,
}

impl DialRulesPage {
    /// The classes a rule can allow (emergency is always allowed).
    fn classes(&self) -> Vec<&'static str> {
        DestinationClass::ALL
            .iter()
            .filter(|c| **c != DestinationClass::Emergency)
            .map(|c| c.as_str())
            .collect()
    }

    fn class_label(&self, class: &str) -> &'static str {
        match class {
            "domestic" => "Domestic",
            "mobile" => "Mobile",
            "international" => "International",
            "premium_rate" => "Premium rate",
            "internal" => "Internal extensions",
            _ => "Emergency",
        }
    }

    fn roles(&self) -> [Role; 3] {
        [Role::Salesperson, Role::Manager, Role::Admin]
    }

    fn role_name(&self, role: &Option<Role>) -> &'static str {
        role.map_or("Everyone", role_label)
    }

    fn role_title(&self, role: &Role) -> &'static str {
        role_label(*role)
    }

    fn role_value(&self, role: &Option<Role>) -> &'static str {
        role.map_or("", |r| r.as_str())
    }

    fn scope_name(&self, team: &Option<TeamId>) -> String {
        match team {
            None => "Organisation".into(),
            Some(id) => {
                let id = id.to_string();
                self.teams
                    .iter()
                    .find(|t| t.id == id)
                    .map_or(id, |t| format!("Team {}", t.label))
            }
        }
    }

    fn scope_value(&self, team: &Option<TeamId>) -> String {
        team.map(|t| t.to_string()).unwrap_or_default()
    }

    fn weekdays(&self) -> [(&'static str, &'static str); 7] {
        WEEKDAYS
    }

    fn day(&self, week: &WeekWindows, day: &str) -> String {
        edits::show_windows(edits::day_of(week, day))
    }

    fn allows(&self, allowed: &[String], class: &str) -> bool {
        allowed.iter().any(|a| a == class)
    }

    fn holidays(&self, days: &[String]) -> String {
        days.join(", ")
    }

    /// An empty week, for the add form.
    fn no_week(&self) -> WeekWindows {
        WeekWindows::default()
    }
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let org = user.auth.org_id;
    let (stored, teams) = state
        .db
        .run(move |conn| {
            let stored = dial_rules::read(conn, org)?;
            let teams = teams_of(conn, org)?;
            Ok::<_, ApiError>((stored, teams))
        })
        .await?;
    let zone = zone_named(&user.time_zone);
    let status = refused.as_ref().map(|r| r.status).unwrap_or(StatusCode::OK);
    let (version, set, updated) = match stored {
        Some(s) => (
            s.version,
            s.set,
            Some(local_time(to_datetime(s.updated_at), zone)),
        ),
        None => (0, DialRuleSet::default(), None),
    };
    page_with(
        status,
        &DialRulesPage {
            chrome: Chrome::admin(user, AdminSection::DialRules),
            version,
            updated,
            set,
            teams,
            message: refused.map(|r| r.message),
            notice: notice(notice_key),
        },
    )
}

/// `GET /admin/dial-rules`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    render(&state, &user, None, q.notice.as_deref()).await
}

/// `POST /admin/dial-rules`: one form's change (its `action`).
pub async fn save(
    state: web::Data<AppState>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let org = user.auth.org_id;
    let current = state
        .db
        .run(move |conn| dial_rules::read(conn, org))
        .await?;
    let current = current.map(|s| s.set).unwrap_or_default();
    let edited = edits::version(&form).and_then(|v| Ok((v, edits::apply(&form, &current)?)));
    let refused = match edited {
        Err(EditRefused(message)) => Refusal::invalid(message),
        Ok((version, next)) => {
            let replaced = dial_rules::replace(
                &state.db,
                org,
                user.auth.user_id,
                version,
                next,
                now_micros(),
            )
            .await;
            match replaced.map_err(replace_refusal) {
                Ok(stored) => {
                    tracing::info!(by = %user.auth.user_id, version = stored.version, "dial rules replaced in the console");
                    return Ok(see_other("/admin/dial-rules?notice=saved"));
                }
                Err(e) => super::form::refusal(e)?,
            }
        }
    };
    render(&state, &user, Some(refused), None).await
}
