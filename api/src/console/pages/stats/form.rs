//! The statistics page's filter form: team, person and period, read from
//! the query string (a GET form, so it works without JavaScript and the
//! URL can be shared), and the teams and people the viewer may pick.

use chrono::NaiveDate;
use deskbind_core::db::DbConn;
use deskbind_core::domain::periods::{self, Preset, Tz};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::{RepoError, teams, users};
use deskbind_core::time::Micros;
use deskbind_core::wire::MAX_PAGE_LIMIT;
use serde::Deserialize;

use crate::extract::AuthUser;
use crate::routes::teams::visibility as team_visibility;
use crate::routes::users::visibility;

/// The most teams or people a picker lists (and names are looked up for).
const MAX_OPTIONS: usize = 5000;
/// The value of the period field for a custom day range.
pub const CUSTOM: &str = "custom";

/// The query string as sent.
#[derive(Debug, Default, Deserialize)]
pub struct StatsQuery {
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    /// A [`Preset`] value or [`CUSTOM`]; default today.
    pub period: Option<String>,
    /// First and last day of a custom period, `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    pub until: Option<String>,
}

/// A period the form asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Preset(Preset),
    Days(NaiveDate, NaiveDate),
}

impl Period {
    /// The value the period field carries.
    pub fn value(&self) -> &'static str {
        match self {
            Period::Preset(p) => p.as_str(),
            Period::Days(..) => CUSTOM,
        }
    }
}

/// A form value the page cannot use, with the field it came from.
#[derive(Debug, Clone)]
pub struct FormError {
    pub field: &'static str,
    pub message: String,
}

fn nonempty(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|r| !r.is_empty())
}

fn day(field: &'static str, raw: Option<&str>) -> Result<NaiveDate, FormError> {
    let raw = raw.ok_or_else(|| FormError {
        field,
        message: "Enter the first and last day of the period.".into(),
    })?;
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| FormError {
        field,
        message: format!("{raw:?} is not a date like 2026-12-31."),
    })
}

impl StatsQuery {
    /// The period asked for; custom days when the period field says so (or
    /// is absent but days are given).
    pub fn period(&self) -> Result<Period, FormError> {
        let from = nonempty(&self.from);
        let until = nonempty(&self.until);
        match nonempty(&self.period) {
            Some(CUSTOM) => {}
            Some(raw) => {
                return Preset::parse(raw)
                    .map(Period::Preset)
                    .ok_or_else(|| FormError {
                        field: "period",
                        message: "Pick one of the listed periods.".into(),
                    });
            }
            None if from.is_none() && until.is_none() => {
                return Ok(Period::Preset(Preset::Today));
            }
            None => {}
        }
        Ok(Period::Days(day("from", from)?, day("until", until)?))
    }
}

/// `[from, until)` of `period` in `tz` as of `now`.
pub fn window(period: Period, tz: Tz, now: Micros) -> Result<(Micros, Micros), FormError> {
    match period {
        Period::Preset(p) => Ok(periods::window(p, tz, now)),
        Period::Days(first, last) => {
            periods::custom_window(first, last, tz).map_err(|e| FormError {
                field: "until",
                message: e.to_string(),
            })
        }
    }
}

/// A team or person in a picker.
#[derive(Debug, Clone)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

/// What the viewer may pick from: the teams they may see (all for admins,
/// their own otherwise) and the people they may see, ordered by name.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub teams: Vec<Choice>,
    pub people: Vec<Choice>,
}

impl Choices {
    pub fn load(conn: &mut DbConn, auth: &AuthUser) -> Result<Self, RepoError> {
        let mut teams = Vec::new();
        let mut page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
        loop {
            let rows = teams::list(conn, auth.org_id, team_visibility(auth), &page)?;
            teams.extend(rows.items.into_iter().map(|t| Choice {
                id: t.id,
                name: t.name,
            }));
            match rows.next_cursor {
                Some(next) if teams.len() < MAX_OPTIONS => page.after = Some(next),
                _ => break,
            }
        }
        let mut people = Vec::new();
        let mut page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
        loop {
            let rows = users::list(conn, auth.org_id, visibility(auth), &page)?;
            people.extend(rows.items.into_iter().map(|u| Choice {
                id: u.id,
                name: u.display_name,
            }));
            match rows.next_cursor {
                Some(next) if people.len() < MAX_OPTIONS => page.after = Some(next),
                _ => break,
            }
        }
        teams.sort_by_key(|c| c.name.to_lowercase());
        people.sort_by_key(|c| c.name.to_lowercase());
        Ok(Self { teams, people })
    }

    pub fn has_team(&self, id: &str) -> bool {
        self.teams.iter().any(|t| t.id == id)
    }

    pub fn has_person(&self, id: &str) -> bool {
        self.people.iter().any(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(period: Option<&str>, from: Option<&str>, until: Option<&str>) -> StatsQuery {
        StatsQuery {
            period: period.map(Into::into),
            from: from.map(Into::into),
            until: until.map(Into::into),
            ..StatsQuery::default()
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_period_defaults_to_today_and_days_alone_mean_custom() {
        assert_eq!(
            query(None, None, None).period().unwrap(),
            Period::Preset(Preset::Today)
        );
        // A preset wins over the custom fields the page pre-fills.
        assert_eq!(
            query(Some("last_week"), Some("2026-01-01"), Some("2026-01-02"))
                .period()
                .unwrap(),
            Period::Preset(Preset::LastWeek)
        );
        assert_eq!(
            query(None, Some("2026-01-01"), Some("2026-01-31"))
                .period()
                .unwrap(),
            Period::Days(day("2026-01-01"), day("2026-01-31"))
        );
    }

    #[test]
    fn bad_periods_name_the_field_at_fault() {
        assert_eq!(
            query(Some("forever"), None, None)
                .period()
                .unwrap_err()
                .field,
            "period"
        );
        assert_eq!(
            query(Some("custom"), Some("2026-02-30"), Some("2026-03-01"))
                .period()
                .unwrap_err()
                .field,
            "from"
        );
        assert_eq!(
            query(Some("custom"), Some("2026-03-01"), None)
                .period()
                .unwrap_err()
                .field,
            "until"
        );
        let reversed = Period::Days(day("2026-03-02"), day("2026-03-01"));
        assert_eq!(window(reversed, Tz::UTC, 0).unwrap_err().field, "until");
        let long = Period::Days(day("2025-01-01"), day("2026-01-02"));
        assert!(
            window(long, Tz::UTC, 0)
                .unwrap_err()
                .message
                .contains("366")
        );
    }
}
