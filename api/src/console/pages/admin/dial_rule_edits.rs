//! The dial-rules page's forms as changes to the rule set in force: each
//! form sets or removes one class rule (a scope and role), one scope's
//! calling hours or callee's-time rule, or the organisation's zone; the
//! page then replaces the whole set (`PUT /v1/dial-rules`'s use case), so
//! the API's checks refuse exactly what they refuse there.

use deskbind_core::ids::TeamId;
use deskbind_core::wire::{
    CalleeHoursRule, CallingHoursRule, DialClassRule, DialRuleSet, Role, TimeWindow, WeekWindows,
};

use super::form::Fields;

/// The weekdays as the forms name their fields, Monday first.
pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Why a form could not even be turned into a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRefused(pub String);

/// The version the form was read at.
pub fn version(fields: &Fields) -> Result<i64, EditRefused> {
    fields
        .one("version")
        .trim()
        .parse()
        .map_err(|_| EditRefused("The page is out of date: load it again.".into()))
}

/// The team a form names ("" is the organisation).
fn team(fields: &Fields) -> Result<Option<TeamId>, EditRefused> {
    match fields.one("team_id").trim() {
        "" => Ok(None),
        raw => raw
            .parse()
            .map(Some)
            .map_err(|_| EditRefused("Choose a team from the list.".into())),
    }
}

/// The role a form names ("" is everyone).
fn role(fields: &Fields) -> Result<Option<Role>, EditRefused> {
    match fields.one("role").trim() {
        "" => Ok(None),
        raw => Role::parse(raw)
            .map(Some)
            .ok_or_else(|| EditRefused("Choose a role from the list.".into())),
    }
}

/// `09:00-12:00, 13:00-17:30` as windows; empty is no window.
pub fn parse_windows(day: &str, raw: &str) -> Result<Vec<TimeWindow>, EditRefused> {
    raw.split([',', ';'])
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (from, to) = piece.split_once('-').ok_or_else(|| {
                EditRefused(format!(
                    "{day}: write each window as HH:MM-HH:MM, separated by commas (\"{piece}\" is not one)."
                ))
            })?;
            Ok(TimeWindow {
                from: from.trim().to_owned(),
                to: to.trim().to_owned(),
            })
        })
        .collect()
}

/// Windows as their form field shows them.
pub fn show_windows(windows: &[TimeWindow]) -> String {
    windows
        .iter()
        .map(|w| format!("{}-{}", w.from, w.to))
        .collect::<Vec<_>>()
        .join(", ")
}

fn day_mut<'a>(week: &'a mut WeekWindows, day: &str) -> &'a mut Vec<TimeWindow> {
    match day {
        "mon" => &mut week.mon,
        "tue" => &mut week.tue,
        "wed" => &mut week.wed,
        "thu" => &mut week.thu,
        "fri" => &mut week.fri,
        "sat" => &mut week.sat,
        _ => &mut week.sun,
    }
}

pub fn day_of<'a>(week: &'a WeekWindows, day: &str) -> &'a [TimeWindow] {
    match day {
        "mon" => &week.mon,
        "tue" => &week.tue,
        "wed" => &week.wed,
        "thu" => &week.thu,
        "fri" => &week.fri,
        "sat" => &week.sat,
        _ => &week.sun,
    }
}

/// Dates separated by commas, spaces or lines.
fn holidays(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Puts `rule` where the rule of its key is, or at the end.
fn upsert<T>(rules: &mut Vec<T>, rule: T, same: impl Fn(&T) -> bool) {
    match rules.iter_mut().find(|r| same(r)) {
        Some(existing) => *existing = rule,
        None => rules.push(rule),
    }
}

/// The set in force with the form's change made (its `action`).
pub fn apply(fields: &Fields, set: &DialRuleSet) -> Result<DialRuleSet, EditRefused> {
    let mut next = set.clone();
    match fields.one("action") {
        "zone" => next.time_zone = fields.one("time_zone").trim().to_owned(),
        "classes" => {
            let (team_id, role) = (team(fields)?, role(fields)?);
            let rule = DialClassRule {
                team_id,
                role,
                allowed: fields.all("allowed").map(str::to_owned).collect(),
            };
            upsert(&mut next.classes, rule, |r| {
                r.team_id == team_id && r.role == role
            });
        }
        "remove_classes" => {
            let (team_id, role) = (team(fields)?, role(fields)?);
            next.classes
                .retain(|r| !(r.team_id == team_id && r.role == role));
        }
        "hours" => {
            let team_id = team(fields)?;
            let mut weekly = WeekWindows::default();
            for (day, name) in WEEKDAYS {
                *day_mut(&mut weekly, day) = parse_windows(name, fields.one(day))?;
            }
            let rule = CallingHoursRule {
                team_id,
                weekly,
                holidays: holidays(fields.one("holidays")),
            };
            upsert(&mut next.calling_hours, rule, |r| r.team_id == team_id);
        }
        "remove_hours" => {
            let team_id = team(fields)?;
            next.calling_hours.retain(|r| r.team_id != team_id);
        }
        "callee" => {
            let team_id = team(fields)?;
            let rule = CalleeHoursRule {
                team_id,
                enabled: fields.one("enabled") == "on",
                from: fields.one("from").trim().to_owned(),
                to: fields.one("to").trim().to_owned(),
            };
            upsert(&mut next.callee_hours, rule, |r| r.team_id == team_id);
        }
        "remove_callee" => {
            let team_id = team(fields)?;
            next.callee_hours.retain(|r| r.team_id != team_id);
        }
        _ => return Err(EditRefused("Unknown change: load the page again.".into())),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        serde_urlencoded::from_str(&body).unwrap()
    }

    #[test]
    fn a_class_rule_is_set_per_scope_and_role_and_replaced_in_place() {
        let set = DialRuleSet::default();
        let one = apply(
            &fields(&[
                ("action", "classes"),
                ("role", "salesperson"),
                ("allowed", "domestic"),
                ("allowed", "mobile"),
            ]),
            &set,
        )
        .unwrap();
        assert_eq!(one.classes.len(), 1);
        assert_eq!(one.classes[0].role, Some(Role::Salesperson));
        assert_eq!(one.classes[0].allowed, ["domestic", "mobile"]);
        let two = apply(
            &fields(&[
                ("action", "classes"),
                ("role", "salesperson"),
                ("allowed", "international"),
            ]),
            &one,
        )
        .unwrap();
        assert_eq!(two.classes.len(), 1);
        assert_eq!(two.classes[0].allowed, ["international"]);
        let gone = apply(
            &fields(&[("action", "remove_classes"), ("role", "salesperson")]),
            &two,
        )
        .unwrap();
        assert!(gone.classes.is_empty());
    }

    #[test]
    fn hours_are_read_from_one_field_per_day() {
        let set = apply(
            &fields(&[
                ("action", "hours"),
                ("mon", "09:00-12:00, 13:00-17:30"),
                ("sat", ""),
                ("holidays", "2026-12-25, 2026-12-26\n2027-01-01"),
            ]),
            &DialRuleSet::default(),
        )
        .unwrap();
        let rule = &set.calling_hours[0];
        assert_eq!(rule.team_id, None);
        assert_eq!(show_windows(&rule.weekly.mon), "09:00-12:00, 13:00-17:30");
        assert!(rule.weekly.sat.is_empty());
        assert_eq!(rule.holidays, ["2026-12-25", "2026-12-26", "2027-01-01"]);
    }

    #[test]
    fn a_window_without_a_dash_is_refused_with_its_day() {
        let refused = apply(
            &fields(&[("action", "hours"), ("tue", "09:00")]),
            &DialRuleSet::default(),
        )
        .unwrap_err();
        assert!(refused.0.starts_with("Tuesday"), "{refused:?}");
    }

    #[test]
    fn bad_choices_and_versions_are_refused() {
        let set = DialRuleSet::default();
        assert!(apply(&fields(&[("action", "classes"), ("role", "boss")]), &set).is_err());
        assert!(apply(&fields(&[("action", "callee"), ("team_id", "x")]), &set).is_err());
        assert!(apply(&fields(&[("action", "drop_all")]), &set).is_err());
        assert!(version(&fields(&[("version", "v2")])).is_err());
        assert_eq!(version(&fields(&[("version", "3")])), Ok(3));
    }

    #[test]
    fn the_callee_rule_reads_its_checkbox() {
        let on = apply(
            &fields(&[
                ("action", "callee"),
                ("enabled", "on"),
                ("from", "09:00"),
                ("to", "20:00"),
            ]),
            &DialRuleSet::default(),
        )
        .unwrap();
        assert!(on.callee_hours[0].enabled);
        let off = apply(
            &fields(&[("action", "callee"), ("from", "09:00"), ("to", "20:00")]),
            &on,
        )
        .unwrap();
        assert_eq!(off.callee_hours.len(), 1);
        assert!(!off.callee_hours[0].enabled);
    }
}
