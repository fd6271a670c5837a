//! `GET /call-lists/{id}`: one list: its settings, its state and the
//! moves it allows, the live report, the CSV upload, the reassign form and
//! its tasks (paged in import order, filtered by state). The forms post to
//! [`super::actions`], which re-render this page with their outcome.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::domain::call_lists::may_change;
use deskbind_core::ids::CallListId;
use deskbind_core::usecases::call_lists;
use deskbind_core::wire::{CallList, CallListState, CallTask, CallTaskState};
use serde::Deserialize;

use super::manager;
use super::pickers::{self, Pickers};
use super::report::{self, ReportView};
use crate::console::chrome::{Chrome, Section};
use crate::console::error::{ConsoleResult, url_escape};
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::pages::admin::names::Named;
use crate::console::pages::imports::ResultLine;
use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, viewer_zone};
use crate::error::ApiError;
use crate::extract::path_id;
use crate::state::AppState;

/// Tasks per page.
const TASKS_PER_PAGE: u32 = 50;

/// A state the list may move to, as its button says it.
#[derive(Debug)]
pub struct Move {
    pub state: &'static str,
    pub label: &'static str,
}

fn moves(from: CallListState) -> Vec<Move> {
    use CallListState::*;
    [Active, Paused, Completed, Archived]
        .into_iter()
        .filter(|to| *to != from && may_change(from, *to))
        .map(|to| Move {
            state: to.as_str(),
            label: match (from, to) {
                (Paused, Active) => "Resume",
                (Completed, Active) => "Reopen",
                (_, Active) => "Activate",
                (_, Paused) => "Pause",
                (_, Completed) => "Complete",
                _ => "Archive",
            },
        })
        .collect()
}

#[derive(Debug)]
pub struct TaskLine {
    pub seq: i64,
    pub number: String,
    pub name: String,
    pub state: &'static str,
    pub reason: String,
    pub assignee: String,
    pub attempts: i64,
    pub due: String,
}

/// The upload form and what the last upload did.
#[derive(Debug, Default)]
pub struct UploadView {
    pub csv: String,
    pub results: Vec<ResultLine>,
    pub summary: String,
    pub message: Option<String>,
}

/// The reassign form as typed.
#[derive(Debug, Clone, Deserialize)]
pub struct ReassignDraft {
    #[serde(default)]
    pub from_user_id: String,
    #[serde(default = "to_pool")]
    pub to: String,
    #[serde(default)]
    pub to_user_id: String,
    #[serde(default)]
    pub to_team_id: String,
}

fn to_pool() -> String {
    "pool".into()
}

impl Default for ReassignDraft {
    fn default() -> Self {
        Self {
            from_user_id: String::new(),
            to: to_pool(),
            to_user_id: String::new(),
            to_team_id: String::new(),
        }
    }
}

/// What a form post brings to the page besides the list itself.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: Option<StatusCode>,
    /// A refused state move (a stale version, a move not allowed).
    pub message: Option<String>,
    pub upload: UploadView,
    pub reassign: ReassignDraft,
    pub reassign_errors: Option<FormErrors>,
}

#[derive(Template)]
#[template(path = "call_list.html")]
struct ListPage {
    chrome: Chrome,
    list: CallList,
    owner: String,
    pool_team: String,
    moves: Vec<Move>,
    report: ReportView,
    as_of: String,
    tasks: Vec<TaskLine>,
    task_state: String,
    task_states: &'static [CallTaskState],
    next: Option<String>,
    notice: Option<String>,
    outcome: Outcome,
    users: Vec<Named>,
    teams: Vec<Named>,
    time_zone: String,
}

impl ListPage {
    fn reassign_errors(&self) -> &Option<FormErrors> {
        &self.outcome.reassign_errors
    }
}

/// `?state=&cursor=&notice=&moved=`
#[derive(Debug, Default, Deserialize)]
pub struct ShowParams {
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub notice: Option<String>,
    pub moved: Option<u64>,
}

/// Only these fixed words are shown for `?notice=`, never the query's text.
fn notice(key: Option<&str>, moved: Option<u64>) -> Option<String> {
    Some(match key? {
        "created" => "The list is created as a draft: import tasks, then activate it.".into(),
        "active" => "The list is active.".into(),
        "paused" => "The list is paused.".into(),
        "completed" => "The list is completed.".into(),
        "archived" => "The list is archived.".into(),
        "reassigned" => match moved.unwrap_or(0) {
            1 => "1 task moved.".into(),
            n => format!("{n} tasks moved."),
        },
        _ => return None,
    })
}

fn task_line(t: CallTask, pickers: &Pickers, tz: chrono_tz::Tz) -> TaskLine {
    TaskLine {
        seq: t.seq,
        number: t.number_e164.unwrap_or(t.number),
        name: t.name.unwrap_or_default(),
        state: t.state.as_str(),
        reason: t.state_reason.unwrap_or_default(),
        assignee: t
            .assignee_id
            .map(|u| pickers.user_name(&u.to_string()))
            .unwrap_or_default(),
        attempts: t.attempts,
        due: local_time(t.due_at, tz),
    }
}

/// Renders the list page, with what a form post did.
pub async fn render(
    state: &AppState,
    user: &ConsoleUser,
    id: CallListId,
    params: ShowParams,
    outcome: Outcome,
) -> ConsoleResult<HttpResponse> {
    let by = manager(user)?;
    let svc = state.services();
    let list = call_lists::get(&svc, by, id).await?;
    let tz = viewer_zone(user);
    let report = report::load(state, by, id, &user.time_zone).await?;
    let pickers = pickers::load(state, by).await?;
    let task_state = params.state.unwrap_or_default();
    let wanted = match task_state.as_str() {
        "" => None,
        raw => Some(
            CallTaskState::parse(raw).ok_or_else(|| ApiError::InvalidQuery {
                field: "state".into(),
                detail: "must be one of the listed task states".into(),
            })?,
        ),
    };
    let after = params.cursor.as_deref().and_then(|c| c.parse::<i64>().ok());
    let tasks = call_lists::tasks(&svc, by, id, wanted, after, TASKS_PER_PAGE).await?;
    let next = tasks.next_cursor.map(|cursor| {
        let mut href = format!("/call-lists/{id}?");
        if !task_state.is_empty() {
            href.push_str(&format!("state={}&", url_escape(&task_state)));
        }
        href.push_str(&format!("cursor={}#tasks", url_escape(&cursor)));
        href
    });
    let owner = pickers.user_name(&list.owner_id.to_string());
    let pool_team = list
        .pool
        .team_id
        .map(|t| {
            let t = t.to_string();
            pickers
                .teams
                .iter()
                .find(|n| n.id == t)
                .map_or(t.clone(), |n| n.label.clone())
        })
        .unwrap_or_default();
    let page = ListPage {
        chrome: Chrome::new(user, Section::CallLists),
        owner,
        pool_team,
        moves: moves(list.state),
        report,
        as_of: local_time(chrono::Utc::now(), tz),
        tasks: tasks
            .items
            .into_iter()
            .map(|t| task_line(t, &pickers, tz))
            .collect(),
        task_state,
        task_states: CallTaskState::ALL,
        next,
        notice: notice(params.notice.as_deref(), params.moved),
        list,
        users: pickers.users,
        teams: pickers.teams,
        time_zone: tz.name().to_owned(),
        outcome,
    };
    let status = page.outcome.status.unwrap_or(StatusCode::OK);
    crate::console::pages::admin::form::page_with(status, &page)
}

/// `GET /call-lists/{id}`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(params): web::Query<ShowParams>,
) -> ConsoleResult<HttpResponse> {
    let id: CallListId = path_id(&id)?;
    render(&state, &user, id, params, Outcome::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_offer_only_the_moves_the_state_allows() {
        let labels = |s| moves(s).into_iter().map(|m| m.label).collect::<Vec<_>>();
        assert_eq!(labels(CallListState::Draft), ["Activate", "Archive"]);
        assert_eq!(
            labels(CallListState::Active),
            ["Pause", "Complete", "Archive"]
        );
        assert_eq!(
            labels(CallListState::Paused),
            ["Resume", "Complete", "Archive"]
        );
        assert_eq!(labels(CallListState::Completed), ["Reopen", "Archive"]);
        assert!(labels(CallListState::Archived).is_empty());
    }

    #[test]
    fn only_fixed_notices_are_shown() {
        assert_eq!(
            notice(Some("paused"), None).as_deref(),
            Some("The list is paused.")
        );
        assert_eq!(
            notice(Some("reassigned"), Some(1)).as_deref(),
            Some("1 task moved.")
        );
        assert_eq!(notice(Some("<b>x</b>"), Some(3)), None);
    }
}
