//! The statistics charts as plain SVG geometry, computed here and drawn by
//! the template: calls per day (answered stacked at the bottom) and a
//! weekday x hour heat map. No script and no style attributes (the CSP
//! forbids them): colours come from classes in console.css.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use deskbind_core::domain::team_stats::{HeatMap, Tally};

pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Rounds to a tenth of a pixel so the SVG stays short.
fn px(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One day's bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub day: String,
    pub calls: u64,
    pub answered: u64,
    pub title: String,
    pub x: f64,
    pub width: f64,
    /// The answered part, from the baseline up.
    pub answered_y: f64,
    pub answered_h: f64,
    /// The not answered part, on top of it.
    pub other_y: f64,
    pub other_h: f64,
    /// The day's label under the axis, on some days only.
    pub label: Option<String>,
    pub label_x: f64,
}

/// A labelled value on the vertical axis.
#[derive(Debug, Clone)]
pub struct Tick {
    pub value: u64,
    pub y: f64,
}

#[derive(Debug, Clone)]
pub struct BarChart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub baseline: f64,
    pub label_y: f64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    /// What the chart shows, for screen readers.
    pub summary: String,
}

const BAR_WIDTH: f64 = 760.0;
const BAR_HEIGHT: f64 = 220.0;
const BAR_LEFT: f64 = 40.0;
const BAR_RIGHT: f64 = 10.0;
const BAR_TOP: f64 = 12.0;
const BAR_BOTTOM: f64 = 28.0;
const MAX_BAR_W: f64 = 48.0;

fn day_label(day: NaiveDate, count: usize) -> String {
    if count <= 7 {
        day.format("%a %-d").to_string()
    } else if count <= 31 {
        day.format("%-d").to_string()
    } else {
        day.format("%-d %b").to_string()
    }
}

/// Bars for every day in `days` (days without calls have empty bars).
pub fn calls_per_day(days: &[NaiveDate], tallies: &BTreeMap<NaiveDate, Tally>) -> BarChart {
    let empty = Tally::default();
    let max = days
        .iter()
        .map(|d| tallies.get(d).unwrap_or(&empty).calls)
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = BAR_WIDTH - BAR_LEFT - BAR_RIGHT;
    let plot_h = BAR_HEIGHT - BAR_TOP - BAR_BOTTOM;
    let baseline = BAR_TOP + plot_h;
    let slot = plot_w / days.len().max(1) as f64;
    // A few days' bars stay slim rather than filling the plot.
    let bar_w = (slot * 0.7).min(MAX_BAR_W);
    // Label at most about 15 days so the labels do not overlap.
    let every = days.len().div_ceil(15).max(1);
    let scale = |n: u64| n as f64 / max as f64 * plot_h;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let t = tallies.get(day).unwrap_or(&empty);
            let x = BAR_LEFT + slot * i as f64;
            let answered_h = scale(t.answered);
            let other_h = scale(t.calls - t.answered);
            Bar {
                day: day.format("%Y-%m-%d").to_string(),
                calls: t.calls,
                answered: t.answered,
                title: format!(
                    "{}: {}, {} answered",
                    day.format("%a %-d %b %Y"),
                    plural(t.calls, "call", "calls"),
                    t.answered
                ),
                x: px(x + (slot - bar_w) / 2.0),
                width: px(bar_w),
                answered_y: px(baseline - answered_h),
                answered_h: px(answered_h),
                other_y: px(baseline - answered_h - other_h),
                other_h: px(other_h),
                label: (i % every == 0).then(|| day_label(*day, days.len())),
                label_x: px(x + slot / 2.0),
            }
        })
        .collect();
    let mut ticks = vec![Tick {
        value: 0,
        y: baseline,
    }];
    if max >= 2 {
        ticks.push(Tick {
            value: max / 2,
            y: px(baseline - scale(max / 2)),
        });
    }
    ticks.push(Tick {
        value: max,
        y: px(baseline - plot_h),
    });
    let total: u64 = tallies.values().map(|t| t.calls).sum();
    let answered: u64 = tallies.values().map(|t| t.answered).sum();
    BarChart {
        width: BAR_WIDTH,
        height: BAR_HEIGHT,
        left: BAR_LEFT,
        right: BAR_WIDTH - BAR_RIGHT,
        baseline,
        label_y: BAR_HEIGHT - 8.0,
        bars,
        ticks,
        summary: format!(
            "Calls per day over {}: {} in all, {} answered. The table below lists every day.",
            plural(days.len() as u64, "day", "days"),
            total,
            answered
        ),
    }
}

/// One weekday x hour cell.
#[derive(Debug, Clone)]
pub struct Cell {
    pub x: f64,
    pub y: f64,
    pub count: u64,
    /// 0 (no calls) to 4 (the busiest hour).
    pub level: u8,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct HeatRow {
    pub weekday: &'static str,
    pub short: String,
    pub label_y: f64,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone)]
pub struct HeatChart {
    pub width: f64,
    pub height: f64,
    pub cell_w: f64,
    pub cell_h: f64,
    pub hours: Vec<(u32, f64)>,
    pub rows: Vec<HeatRow>,
    pub max: u64,
}

const HEAT_LEFT: f64 = 40.0;
const HEAT_TOP: f64 = 18.0;
const CELL_W: f64 = 26.0;
const CELL_H: f64 = 20.0;

/// The shade of a count: the busiest hour is 4, any call at all at least 1.
fn level(count: u64, max: u64) -> u8 {
    if count == 0 || max == 0 {
        0
    } else {
        (count * 4).div_ceil(max).clamp(1, 4) as u8
    }
}

pub fn heat_map(heat: &HeatMap) -> HeatChart {
    let max = heat.iter().flatten().copied().max().unwrap_or(0);
    let rows = heat
        .iter()
        .enumerate()
        .map(|(d, hours)| {
            let y = HEAT_TOP + CELL_H * d as f64;
            HeatRow {
                weekday: WEEKDAYS[d],
                short: WEEKDAYS[d][..3].to_owned(),
                label_y: px(y + CELL_H * 0.7),
                cells: hours
                    .iter()
                    .enumerate()
                    .map(|(h, &count)| Cell {
                        x: px(HEAT_LEFT + CELL_W * h as f64),
                        y: px(y),
                        count,
                        level: level(count, max),
                        title: format!(
                            "{} {:02}:00–{:02}:00: {}",
                            WEEKDAYS[d],
                            h,
                            (h + 1) % 24,
                            plural(count, "call", "calls")
                        ),
                    })
                    .collect(),
            }
        })
        .collect();
    HeatChart {
        width: HEAT_LEFT + CELL_W * 24.0 + 2.0,
        height: HEAT_TOP + CELL_H * 7.0 + 2.0,
        cell_w: CELL_W - 2.0,
        cell_h: CELL_H - 2.0,
        hours: (0..24)
            .step_by(3)
            .map(|h| (h, px(HEAT_LEFT + CELL_W * f64::from(h) + 2.0)))
            .collect(),
        rows,
        max,
    }
}

/// Short weekday of a day, for the tables.
pub fn weekday_of(day: NaiveDate) -> &'static str {
    &WEEKDAYS[day.weekday().num_days_from_monday() as usize][..3]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_answered_under_the_rest_and_scale_to_the_busiest_day() {
        let d1 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let mut tallies = BTreeMap::new();
        tallies.insert(
            d2,
            Tally {
                calls: 4,
                answered: 1,
                ..Tally::default()
            },
        );
        let chart = calls_per_day(&[d1, d2], &tallies);
        assert_eq!(chart.bars.len(), 2);
        assert_eq!(chart.bars[0].calls, 0);
        assert_eq!(chart.bars[0].answered_h + chart.bars[0].other_h, 0.0);
        let full = chart.baseline - BAR_TOP;
        let b = &chart.bars[1];
        assert!((b.answered_h + b.other_h - full).abs() < 0.2);
        assert!((b.other_y - BAR_TOP).abs() < 0.2);
        assert_eq!(b.title, "Wed 2 Dec 2026: 4 calls, 1 answered");
    }

    #[test]
    fn heat_levels_scale_to_the_busiest_hour() {
        assert_eq!(level(0, 10), 0);
        assert_eq!(level(1, 10), 1);
        assert_eq!(level(5, 10), 2);
        assert_eq!(level(10, 10), 4);
        let mut heat: HeatMap = [[0; 24]; 7];
        heat[2][9] = 3;
        let chart = heat_map(&heat);
        assert_eq!(chart.rows.len(), 7);
        assert!(chart.rows.iter().all(|r| r.cells.len() == 24));
        assert_eq!(chart.rows[2].cells[9].level, 4);
        assert_eq!(
            chart.rows[2].cells[9].title,
            "Wednesday 09:00–10:00: 3 calls"
        );
    }
}
