//! What the statistics template shows: figures formatted for people, in
//! the viewer's time zone.

use askama::Template;
use chrono::NaiveDate;
use deskbind_core::domain::periods::{self, Preset, Tz};
use deskbind_core::domain::team_stats::{Metric, Tally, TeamReport, leaders};
use deskbind_core::time::{Micros, to_datetime};

use super::charts::{self, BarChart, HeatChart};
use super::form::{Choices, FormError};
use crate::console::chrome::Chrome;

/// The per-day table's longest length; a longer selection is cut with a
/// note (the summary and the charts still cover everything).
pub const MAX_DAY_ROWS: usize = 2000;

/// Seconds as `h:mm:ss`.
pub fn duration(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A rate 0..=1 as whole percent; a dash without calls.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".into(), |r| format!("{} %", (r * 100.0).round()))
}

fn clock(at: Option<Micros>, tz: Tz, with_day: bool) -> String {
    at.map_or_else(
        || "–".into(),
        |at| {
            let local = to_datetime(at).with_timezone(&tz);
            if with_day {
                local.format("%-d %b %H:%M").to_string()
            } else {
                local.format("%H:%M").to_string()
            }
        },
    )
}

/// One line of figures.
#[derive(Debug, Clone)]
pub struct Figures {
    pub calls: u64,
    pub answered: u64,
    pub connect_rate: String,
    pub talk_total: String,
    pub talk_average: String,
    pub missed_not_called_back: u64,
    pub first_call: String,
    pub last_call: String,
}

impl Figures {
    fn of(t: &Tally, tz: Tz, with_day: bool) -> Self {
        Self {
            calls: t.calls,
            answered: t.answered,
            connect_rate: percent(t.connect_rate()),
            talk_total: duration(t.talk_secs),
            talk_average: t
                .average_talk_secs()
                .map_or_else(|| "–".into(), |a| duration(a.round() as u64)),
            missed_not_called_back: t.missed_not_called_back,
            first_call: clock(t.first_call, tz, with_day),
            last_call: clock(t.last_call, tz, with_day),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PersonRow {
    pub user_id: String,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone)]
pub struct DayRow {
    pub day: String,
    pub iso: String,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone)]
pub struct LeaderCard {
    pub metric: &'static str,
    pub name: String,
    pub value: String,
    pub versus: String,
}

fn metric_label(m: Metric) -> &'static str {
    match m {
        Metric::Calls => "Most calls",
        Metric::Answered => "Most answered",
        Metric::ConnectRate => "Best connect rate",
        Metric::TalkTime => "Most talk time",
    }
}

fn metric_value(m: Metric, v: f64) -> String {
    match m {
        Metric::Calls | Metric::Answered => format!("{}", v.round()),
        Metric::ConnectRate => percent(Some(v)),
        Metric::TalkTime => duration(v.round() as u64),
    }
}

/// The figures of a window with calls.
#[derive(Debug, Clone)]
pub struct Report {
    pub total: Figures,
    pub people: Vec<PersonRow>,
    pub days: Vec<DayRow>,
    pub days_cut: bool,
    pub leaders: Vec<LeaderCard>,
    pub bars: BarChart,
    pub heat: HeatChart,
}

impl Report {
    /// `None` when the window has no calls.
    pub fn build(
        report: TeamReport,
        choices: &Choices,
        tz: Tz,
        days: &[NaiveDate],
    ) -> Option<Self> {
        if report.total.calls == 0 {
            return None;
        }
        let several_days = days.len() > 1;
        // Named once each: the day rows repeat people many times.
        let names: std::collections::HashMap<&str, &str> = choices
            .people
            .iter()
            .map(|p| (p.id.as_str(), p.name.as_str()))
            .collect();
        let name_of = |id: &str| {
            names
                .get(id)
                .map_or_else(|| id.to_owned(), |n| (*n).to_owned())
        };
        let mut people: Vec<(String, String, &Tally)> = report
            .people
            .iter()
            .map(|(id, t)| (id.clone(), name_of(id), t))
            .collect();
        people.sort_by(|a, b| {
            a.1.to_lowercase()
                .cmp(&b.1.to_lowercase())
                .then(a.0.cmp(&b.0))
        });
        let tallies: Vec<&Tally> = people.iter().map(|p| p.2).collect();
        let leaders = leaders(&tallies)
            .into_iter()
            .map(|l| LeaderCard {
                metric: metric_label(l.metric),
                name: people[l.index].1.clone(),
                value: metric_value(l.metric, l.value),
                versus: match l.vs_average_pct {
                    Some(0) => "equal to the team average".into(),
                    Some(p) => format!("+{p} % vs team average"),
                    None => "team average 0".into(),
                },
            })
            .collect();
        let mut day_rows: Vec<DayRow> = report
            .person_days
            .iter()
            .map(|(id, day, t)| DayRow {
                day: format!("{} {}", charts::weekday_of(*day), day.format("%-d %b %Y")),
                iso: day.format("%Y-%m-%d").to_string(),
                name: name_of(id),
                figures: Figures::of(t, tz, false),
            })
            .collect();
        day_rows.sort_by(|a, b| {
            a.iso
                .cmp(&b.iso)
                .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        let days_cut = day_rows.len() > MAX_DAY_ROWS;
        day_rows.truncate(MAX_DAY_ROWS);
        Some(Self {
            total: Figures::of(&report.total, tz, several_days),
            people: people
                .iter()
                .map(|(id, name, t)| PersonRow {
                    user_id: id.clone(),
                    name: name.clone(),
                    figures: Figures::of(t, tz, several_days),
                })
                .collect(),
            days: day_rows,
            days_cut,
            leaders,
            bars: charts::calls_per_day(days, &report.days),
            heat: charts::heat_map(&report.heat),
        })
    }
}

/// A period choice in the form.
#[derive(Debug, Clone)]
pub struct PeriodOption {
    pub value: &'static str,
    pub label: &'static str,
}

pub fn period_options() -> Vec<PeriodOption> {
    Preset::ALL
        .into_iter()
        .map(|p| PeriodOption {
            value: p.as_str(),
            label: p.label(),
        })
        .chain(std::iter::once(PeriodOption {
            value: super::form::CUSTOM,
            label: "Custom days",
        }))
        .collect()
}

/// "Wed 2 Dec 2026" or "Mon 23 Mar – Sun 29 Mar 2026".
pub fn window_label(from: Micros, until: Micros, tz: Tz) -> String {
    let days = periods::days_in(from, until, tz);
    let fmt = |d: &NaiveDate| format!("{} {}", charts::weekday_of(*d), d.format("%-d %b %Y"));
    match (days.first(), days.last()) {
        (Some(a), Some(b)) if a == b => fmt(a),
        (Some(a), Some(b)) => format!("{} – {}", fmt(a), fmt(b)),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "stats.html")]
pub struct StatsPage {
    pub chrome: Chrome,
    /// Managers and admins pick a team and a person; salespeople see
    /// only themselves.
    pub pickers: bool,
    pub choices: Choices,
    pub team_id: String,
    pub user_id: String,
    pub period: &'static str,
    pub periods: Vec<PeriodOption>,
    pub from: String,
    pub until: String,
    pub error: Option<FormError>,
    pub window: String,
    pub time_zone: String,
    pub report: Option<Report>,
    /// Time per presence state per person and day.
    pub presence: super::presence::PresenceTime,
}

impl StatsPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_read_as_people_write_them() {
        assert_eq!(duration(0), "0:00:00");
        assert_eq!(duration(3725), "1:02:05");
        assert_eq!(percent(Some(2.0 / 3.0)), "67 %");
        assert_eq!(percent(None), "–");
    }
}
