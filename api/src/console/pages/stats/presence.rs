//! The statistics' time per presence state: per person and day, how long
//! they were available, on a call, away, in DND and offline, from the
//! once-a-minute samples (docs/presence.md, "Time per state"). Days are
//! each person's own local days (what a workday means to them), which the
//! page says.

use std::collections::{BTreeMap, HashMap};

use deskbind_core::ids::OrgId;
use deskbind_core::repo::presence_minutes::{self, MinutesRow};
use deskbind_core::repo::{RepoError, call_records::Scope};

use super::form::Choice;
use crate::console::error::ConsoleResult;
use crate::state::AppState;

/// Rows on one page (people × days); a note says when there were more.
const MAX_ROWS: usize = 1_000;

/// The states in the order the table shows them.
const STATES: [&str; 5] = ["available", "busy", "away", "dnd", "offline"];

#[derive(Debug)]
pub struct PresenceDay {
    pub day: String,
    pub name: String,
    /// Minutes as `h:mm`, in [`STATES`] order.
    pub times: Vec<String>,
}

#[derive(Debug, Default)]
pub struct PresenceTime {
    pub rows: Vec<PresenceDay>,
    pub truncated: bool,
}

fn hours_minutes(minutes: i64) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// The people whose time is shown: those picked (a person or a team) within
/// the viewer's scope; `None` is the whole organisation (admins, nothing
/// picked).
fn people(scope: &Scope, picked: &Option<Vec<String>>) -> Option<Vec<String>> {
    match (scope, picked) {
        (None, None) => None,
        (Some(scope), None) => Some(scope.clone()),
        (None, Some(picked)) => Some(picked.clone()),
        (Some(scope), Some(picked)) => Some(
            picked
                .iter()
                .filter(|p| scope.contains(p))
                .cloned()
                .collect(),
        ),
    }
}

/// Lays out the rows: one per person and day, newest day first.
fn lay_out(rows: Vec<MinutesRow>, names: &HashMap<&str, &str>) -> PresenceTime {
    let mut days: BTreeMap<(String, String), [i64; 5]> = BTreeMap::new();
    for row in rows {
        if let Some(i) = STATES.iter().position(|s| *s == row.state) {
            days.entry((row.day, row.user_id)).or_default()[i] += row.minutes;
        }
    }
    let truncated = days.len() > MAX_ROWS;
    let rows = days
        .into_iter()
        .rev()
        .take(MAX_ROWS)
        .map(|((day, user), minutes)| PresenceDay {
            name: names
                .get(user.as_str())
                .map_or(user.clone(), |n| n.to_string()),
            day,
            times: minutes.iter().map(|m| hours_minutes(*m)).collect(),
        })
        .collect();
    PresenceTime { rows, truncated }
}

/// The time per state of the people in view on the days `first..=last`
/// (`YYYY-MM-DD`).
pub async fn load(
    state: &AppState,
    org: OrgId,
    scope: &Scope,
    picked: &Option<Vec<String>>,
    (first, last): (String, String),
    choices: &[Choice],
) -> ConsoleResult<PresenceTime> {
    let who = people(scope, picked);
    let rows = state
        .db
        .run(move |conn| -> Result<_, RepoError> {
            presence_minutes::of_days(conn, org, who.as_deref(), &first, &last)
        })
        .await?;
    let names: HashMap<&str, &str> = choices
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    Ok(lay_out(rows, &names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user: &str, day: &str, state: &str, minutes: i64) -> MinutesRow {
        MinutesRow {
            user_id: user.into(),
            day: day.into(),
            state: state.into(),
            minutes,
        }
    }

    #[test]
    fn one_row_per_person_and_day_newest_first() {
        let names = HashMap::from([("u1", "Sam")]);
        let table = lay_out(
            vec![
                row("u1", "2026-12-02", "available", 95),
                row("u1", "2026-12-02", "dnd", 30),
                row("u1", "2026-12-03", "busy", 5),
            ],
            &names,
        );
        let got: Vec<(&str, &str, Vec<&str>)> = table
            .rows
            .iter()
            .map(|r| {
                (
                    r.day.as_str(),
                    r.name.as_str(),
                    r.times.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "2026-12-03",
                    "Sam",
                    vec!["0:00", "0:05", "0:00", "0:00", "0:00"]
                ),
                (
                    "2026-12-02",
                    "Sam",
                    vec!["1:35", "0:00", "0:00", "0:30", "0:00"]
                ),
            ]
        );
        assert!(!table.truncated);
    }

    #[test]
    fn the_picked_people_stay_within_the_scope() {
        let scope = Some(vec!["a".to_string(), "b".to_string()]);
        assert_eq!(people(&None, &None), None);
        assert_eq!(people(&scope, &None), scope);
        assert_eq!(
            people(&scope, &Some(vec!["b".into(), "c".into()])),
            Some(vec!["b".to_string()])
        );
    }
}
