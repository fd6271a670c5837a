//! A list's report as the list page shows it (`GET
//! /v1/call-lists/{id}/report`'s figures): tasks per state, attempts per
//! outcome, dispositions, talk time per salesperson, when it completed.
//! The same fragment is rendered into the page and into each live event.

use askama::Template;
use deskbind_core::ids::CallListId;
use deskbind_core::repo::users;
use deskbind_core::usecases::call_list_reports;
use deskbind_core::usecases::call_lists::Manager;
use deskbind_core::wire::CallListReport;

use crate::console::error::ConsoleResult;
use crate::console::pages::calls::view::duration;
use crate::console::time::{local_time, zone_named};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct PersonLine {
    pub name: String,
    pub attempts: i64,
    pub answered: i64,
    pub skipped: i64,
    pub talk: String,
}

#[derive(Debug, Clone)]
pub struct ReportView {
    /// (state, count) in the states' order.
    pub tasks: Vec<(&'static str, i64)>,
    pub total: i64,
    pub outcomes: Vec<(String, i64)>,
    pub dispositions: Vec<(String, i64)>,
    pub attempts: i64,
    pub talk: String,
    pub people: Vec<PersonLine>,
    pub completed_at: Option<String>,
}

/// The report fragment alone: what each live event carries.
#[derive(Template, Debug)]
#[template(path = "call_list_report.html")]
pub struct ReportFragment<'a> {
    pub report: &'a ReportView,
}

/// The list's report now, times in `zone`.
pub async fn load(
    state: &AppState,
    by: Manager,
    id: CallListId,
    zone: &str,
) -> ConsoleResult<ReportView> {
    let report = call_list_reports::report(&state.services(), by, id).await?;
    let ids: Vec<String> = report.users.iter().map(|u| u.user_id.to_string()).collect();
    let names = state
        .db
        .run(move |conn| Ok::<_, ApiError>(users::display_names(conn, by.org, &ids)?))
        .await?;
    Ok(view(report, &names, zone))
}

fn view(
    r: CallListReport,
    names: &std::collections::HashMap<String, String>,
    zone: &str,
) -> ReportView {
    let tz = zone_named(zone);
    let t = r.tasks;
    let tasks = vec![
        ("queued", t.queued),
        ("leased", t.leased),
        ("returned", t.returned),
        ("completed", t.completed),
        ("gave_up", t.gave_up),
        ("dropped", t.dropped),
        ("blocked", t.blocked),
    ];
    let secs = |s: i64| duration(Some(s));
    ReportView {
        total: tasks.iter().map(|(_, n)| n).sum(),
        tasks,
        outcomes: r.outcomes.into_iter().collect(),
        dispositions: r.dispositions.into_iter().collect(),
        attempts: r.attempts,
        talk: secs(r.talk_secs),
        people: r
            .users
            .into_iter()
            .map(|u| PersonLine {
                name: names
                    .get(&u.user_id.to_string())
                    .cloned()
                    .unwrap_or_else(|| u.user_id.to_string()),
                attempts: u.attempts,
                answered: u.answered,
                skipped: u.skipped,
                talk: secs(u.talk_secs),
            })
            .collect(),
        completed_at: r.completed_at.map(|at| local_time(at, tz)),
    }
}
