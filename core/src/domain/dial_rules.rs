//! The organisation's dial authorisation rules (docs/dialing.md, "Dial
//! authorisation"), validated, and the decisions they make without the
//! database: which destination classes a caller may dial (team over
//! organisation, a role's rule over the scope's rule for everyone) and
//! which calling-hours rules apply to them.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::FieldError;
use super::calling_hours::{EveryZone, MINUTES_PER_DAY, Weekly, Window};
use super::dial_class::DestinationClass;
use crate::wire::{
    CalleeHoursRule, CallingHoursRule, DialClassRule, DialRuleRef, DialRuleSet, ErrorCode, Role,
    TimeWindow, WeekWindows,
};

pub const MAX_CLASS_RULES: usize = 500;
pub const MAX_HOURS_RULES: usize = 200;
pub const MAX_WINDOWS_PER_DAY: usize = 8;
pub const MAX_HOLIDAYS: usize = 400;

/// Who is dialling, as the rules see them.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub role: Role,
    pub team_ids: &'a [String],
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub zone: Tz,
    classes: Vec<ClassRule>,
    hours: Vec<(Option<String>, Weekly)>,
    callee: Vec<CalleeRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClassRule {
    team: Option<String>,
    role: Option<Role>,
    allowed: BTreeSet<DestinationClass>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CalleeRule {
    team: Option<String>,
    window: Option<Window>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            zone: chrono_tz::UTC,
            classes: Vec::new(),
            hours: Vec::new(),
            callee: Vec::new(),
        }
    }
}

/// The classes a caller may dial and the rule that says so (`None`: no
/// rule applies, everything is allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassVerdict {
    pub allowed: BTreeSet<DestinationClass>,
    pub rule: DialRuleRef,
}

impl Rules {
    /// Checks a set (team ids are checked against the organisation by the
    /// caller: [`Rules::team_ids`]).
    pub fn parse(set: &DialRuleSet) -> Result<Self, FieldError> {
        let zone = super::TimeZoneName::parse("time_zone", &set.time_zone)?.tz();
        if set.classes.len() > MAX_CLASS_RULES {
            return Err(too_many("classes", MAX_CLASS_RULES));
        }
        if set.calling_hours.len() > MAX_HOURS_RULES {
            return Err(too_many("calling_hours", MAX_HOURS_RULES));
        }
        if set.callee_hours.len() > MAX_HOURS_RULES {
            return Err(too_many("callee_hours", MAX_HOURS_RULES));
        }
        let mut classes = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, rule) in set.classes.iter().enumerate() {
            let team = rule.team_id.map(|t| t.to_string());
            if !seen.insert((team.clone(), rule.role.map(Role::as_str))) {
                return Err(duplicate("classes", i));
            }
            classes.push(class_rule(i, rule, team)?);
        }
        let mut hours = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, rule) in set.calling_hours.iter().enumerate() {
            let team = rule.team_id.map(|t| t.to_string());
            if !seen.insert(team.clone()) {
                return Err(duplicate("calling_hours", i));
            }
            hours.push((team, weekly(i, rule, zone)?));
        }
        let mut callee = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, rule) in set.callee_hours.iter().enumerate() {
            let team = rule.team_id.map(|t| t.to_string());
            if !seen.insert(team.clone()) {
                return Err(duplicate("callee_hours", i));
            }
            callee.push(callee_rule(i, rule, team)?);
        }
        Ok(Self {
            zone,
            classes,
            hours,
            callee,
        })
    }

    /// Every team the rules name (each must be the organisation's).
    pub fn team_ids(&self) -> BTreeSet<&str> {
        self.classes
            .iter()
            .filter_map(|r| r.team.as_deref())
            .chain(self.hours.iter().filter_map(|(t, _)| t.as_deref()))
            .chain(self.callee.iter().filter_map(|r| r.team.as_deref()))
            .collect()
    }

    /// The classes `caller` may dial. Precedence: the rules of the
    /// caller's teams for their role, else their teams' rules for
    /// everyone, else the organisation's rule for their role, else the
    /// organisation's for everyone; several teams at the winning level
    /// allow what any of them allows. `None`: no rule applies.
    pub fn classes_for(&self, caller: Caller<'_>) -> Option<ClassVerdict> {
        let in_team = |r: &&ClassRule| r.team.as_ref().is_some_and(|t| caller.team_ids.contains(t));
        let levels: [&dyn Fn(&&ClassRule) -> bool; 4] = [
            &|r| in_team(r) && r.role == Some(caller.role),
            &|r| in_team(r) && r.role.is_none(),
            &|r| r.team.is_none() && r.role == Some(caller.role),
            &|r| r.team.is_none() && r.role.is_none(),
        ];
        levels.iter().find_map(|level| {
            let matching: Vec<&ClassRule> = self.classes.iter().filter(level).collect();
            let first = matching.first()?;
            Some(ClassVerdict {
                allowed: matching.iter().flat_map(|r| r.allowed.clone()).collect(),
                rule: DialRuleRef {
                    kind: "classes".into(),
                    scope: Some(scope_name(&first.team).into()),
                    team_id: first.team.as_deref().and_then(|t| t.parse().ok()),
                    role: first.role,
                },
            })
        })
    }

    /// The caller's calling hours: their teams' when any has some (any of
    /// them allows), else the organisation's; `zone` is the caller's.
    pub fn calling_hours_for(
        &self,
        caller: Caller<'_>,
        zone: Tz,
    ) -> Option<(Vec<Weekly>, DialRuleRef)> {
        let pick = pick_scoped(&self.hours, |(t, _)| t, caller)?;
        let rule = rule_ref("calling_hours", &pick[0].0);
        let weeks = pick
            .into_iter()
            .map(|(_, w)| Weekly { zone, ..w.clone() })
            .collect();
        Some((weeks, rule))
    }

    /// The callee's local-time window for the caller (team over
    /// organisation; a team's disabled rule switches it off; several teams:
    /// the widest, i.e. any of them allows).
    pub fn callee_hours_for(
        &self,
        caller: Caller<'_>,
        zones: Vec<Tz>,
    ) -> Option<(Vec<EveryZone>, DialRuleRef)> {
        let pick = pick_scoped(&self.callee, |r| &r.team, caller)?;
        let rule = rule_ref("callee_hours", &pick[0].team);
        if pick.iter().any(|r| r.window.is_none()) {
            return None;
        }
        let rules = pick
            .into_iter()
            .filter_map(|r| r.window)
            .map(|window| EveryZone {
                zones: zones.clone(),
                window,
            })
            .collect();
        Some((rules, rule))
    }
}

/// The entries of the caller's teams if any, else the organisation's.
fn pick_scoped<'r, T>(
    rules: &'r [T],
    team_of: impl Fn(&T) -> &Option<String>,
    caller: Caller<'_>,
) -> Option<Vec<&'r T>> {
    let teams: Vec<&T> = rules
        .iter()
        .filter(|r| {
            team_of(r)
                .as_ref()
                .is_some_and(|t| caller.team_ids.contains(t))
        })
        .collect();
    if !teams.is_empty() {
        return Some(teams);
    }
    let org: Vec<&T> = rules.iter().filter(|r| team_of(r).is_none()).collect();
    (!org.is_empty()).then_some(org)
}

fn scope_name(team: &Option<String>) -> &'static str {
    if team.is_some() {
        "team"
    } else {
        "organisation"
    }
}

fn rule_ref(kind: &str, team: &Option<String>) -> DialRuleRef {
    DialRuleRef {
        kind: kind.into(),
        scope: Some(scope_name(team).into()),
        team_id: team.as_deref().and_then(|t| t.parse().ok()),
        role: None,
    }
}

fn class_rule(
    i: usize,
    rule: &DialClassRule,
    team: Option<String>,
) -> Result<ClassRule, FieldError> {
    let mut allowed = BTreeSet::new();
    for name in &rule.allowed {
        let class = DestinationClass::parse(name.trim()).ok_or_else(|| {
            FieldError::new(
                "classes",
                ErrorCode::InvalidDialClass,
                format!(
                    "classes[{i}]: {name:?} is not a class; use domestic, mobile, \
                     international, premium_rate, emergency or internal"
                ),
            )
        })?;
        allowed.insert(class);
    }
    // Emergency numbers are never refused by class rules.
    allowed.insert(DestinationClass::Emergency);
    Ok(ClassRule {
        team,
        role: rule.role,
        allowed,
    })
}

pub(crate) fn weekly(i: usize, rule: &CallingHoursRule, zone: Tz) -> Result<Weekly, FieldError> {
    let WeekWindows {
        mon,
        tue,
        wed,
        thu,
        fri,
        sat,
        sun,
    } = &rule.weekly;
    let mut days: [Vec<Window>; 7] = Default::default();
    for (day, windows) in [mon, tue, wed, thu, fri, sat, sun].into_iter().enumerate() {
        if windows.len() > MAX_WINDOWS_PER_DAY {
            return Err(too_many("calling_hours", MAX_WINDOWS_PER_DAY));
        }
        days[day] = windows
            .iter()
            .map(|w| window("calling_hours", i, w))
            .collect::<Result<_, _>>()?;
    }
    if rule.holidays.len() > MAX_HOLIDAYS {
        return Err(too_many("calling_hours", MAX_HOLIDAYS));
    }
    let holidays = rule
        .holidays
        .iter()
        .map(|d| {
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                FieldError::new(
                    "calling_hours",
                    ErrorCode::InvalidDate,
                    format!("calling_hours[{i}]: holiday {d:?} is not a date like 2026-12-24"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Weekly {
        zone,
        days,
        holidays,
    })
}

fn callee_rule(
    i: usize,
    rule: &CalleeHoursRule,
    team: Option<String>,
) -> Result<CalleeRule, FieldError> {
    let window = window(
        "callee_hours",
        i,
        &TimeWindow {
            from: rule.from.clone(),
            to: rule.to.clone(),
        },
    )?;
    Ok(CalleeRule {
        team,
        window: rule.enabled.then_some(window),
    })
}

pub(crate) fn window(field: &'static str, i: usize, w: &TimeWindow) -> Result<Window, FieldError> {
    let from = minute_of(field, i, &w.from)?;
    let to = minute_of(field, i, &w.to)?;
    if from >= to {
        return Err(FieldError::new(
            field,
            ErrorCode::InvalidTimeOrder,
            format!(
                "{field}[{i}]: a window must end after it starts ({} to {}); split one across \
                 midnight into two days",
                w.from, w.to
            ),
        ));
    }
    Ok(Window { from, to })
}

/// `HH:MM` (00:00 to 24:00) as minutes since midnight.
fn minute_of(field: &'static str, i: usize, raw: &str) -> Result<u32, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            ErrorCode::InvalidTime,
            format!("{field}[{i}]: {raw:?} is not a time like 09:00 (00:00 to 24:00)"),
        )
    };
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    let digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minute = h * 60 + m;
    if m >= 60 || minute > MINUTES_PER_DAY {
        return Err(bad());
    }
    Ok(minute)
}

fn too_many(field: &'static str, max: usize) -> FieldError {
    FieldError::new(field, ErrorCode::TooMany, format!("at most {max}"))
}

fn duplicate(field: &'static str, i: usize) -> FieldError {
    FieldError::new(
        field,
        ErrorCode::DuplicateRule,
        format!("{field}[{i}]: another rule has the same scope (team and role)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TeamId;
    use DestinationClass as C;

    fn class_rule(team: Option<TeamId>, role: Option<Role>, allowed: &[&str]) -> DialClassRule {
        DialClassRule {
            team_id: team,
            role,
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn allowed(rules: &Rules, role: Role, teams: &[String]) -> Option<Vec<DestinationClass>> {
        rules
            .classes_for(Caller {
                role,
                team_ids: teams,
            })
            .map(|v| v.allowed.into_iter().collect())
    }

    #[test]
    fn team_rules_win_over_the_organisation_and_role_rules_within_a_scope() {
        let team = TeamId::new();
        let set = DialRuleSet {
            classes: vec![
                class_rule(None, None, &["domestic"]),
                class_rule(None, Some(Role::Salesperson), &["domestic", "mobile"]),
                class_rule(
                    None,
                    Some(Role::Manager),
                    &["domestic", "mobile", "international"],
                ),
                class_rule(Some(team), None, &["internal"]),
            ],
            ..DialRuleSet::default()
        };
        let rules = Rules::parse(&set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            allowed(&rules, Role::Salesperson, &[]),
            Some(vec![C::Domestic, C::Mobile, C::Emergency])
        );
        assert_eq!(
            allowed(&rules, Role::Admin, &[]),
            Some(vec![C::Domestic, C::Emergency])
        );
        assert_eq!(
            allowed(&rules, Role::Manager, &[team.to_string()]),
            Some(vec![C::Emergency, C::Internal])
        );
        assert_eq!(allowed(&Rules::default(), Role::Admin, &[]), None);
    }

    #[test]
    fn bad_rules_name_their_field_and_code() {
        let bad = |set: DialRuleSet| Rules::parse(&set).err().map(|e| (e.field, e.code.as_str()));
        assert_eq!(
            bad(DialRuleSet {
                classes: vec![class_rule(None, None, &["premium"])],
                ..DialRuleSet::default()
            }),
            Some(("classes", "invalid_dial_class"))
        );
        assert_eq!(
            bad(DialRuleSet {
                classes: vec![
                    class_rule(None, None, &[]),
                    class_rule(None, None, &["mobile"])
                ],
                ..DialRuleSet::default()
            }),
            Some(("classes", "duplicate_rule"))
        );
        let hours = |from: &str, to: &str, holiday: &str| DialRuleSet {
            calling_hours: vec![CallingHoursRule {
                team_id: None,
                weekly: WeekWindows {
                    mon: vec![TimeWindow {
                        from: from.into(),
                        to: to.into(),
                    }],
                    ..WeekWindows::default()
                },
                holidays: vec![holiday.into()],
            }],
            ..DialRuleSet::default()
        };
        assert_eq!(
            bad(hours("9:00", "17:00", "2026-12-24")),
            Some(("calling_hours", "invalid_time"))
        );
        assert_eq!(
            bad(hours("18:00", "17:00", "2026-12-24")),
            Some(("calling_hours", "invalid_time_order"))
        );
        assert_eq!(
            bad(hours("09:00", "24:01", "2026-12-24")),
            Some(("calling_hours", "invalid_time"))
        );
        assert_eq!(
            bad(hours("09:00", "24:00", "24.12.2026")),
            Some(("calling_hours", "invalid_date"))
        );
        assert_eq!(
            bad(DialRuleSet {
                time_zone: "Mars/Olympus".into(),
                ..DialRuleSet::default()
            }),
            Some(("time_zone", "invalid_time_zone"))
        );
    }

    #[test]
    fn a_teams_calling_hours_replace_the_organisations_in_the_callers_zone() {
        let (sales, night) = (TeamId::new(), TeamId::new());
        let hours = |team_id, from: &str, to: &str| CallingHoursRule {
            team_id,
            weekly: WeekWindows {
                mon: vec![TimeWindow {
                    from: from.into(),
                    to: to.into(),
                }],
                ..WeekWindows::default()
            },
            holidays: vec![],
        };
        let rules = Rules::parse(&DialRuleSet {
            calling_hours: vec![
                hours(None, "09:00", "17:00"),
                hours(Some(night), "18:00", "22:00"),
            ],
            ..DialRuleSet::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let zone = chrono_tz::Asia::Tokyo;
        let windows = |teams: &[String]| {
            rules
                .calling_hours_for(
                    Caller {
                        role: Role::Salesperson,
                        team_ids: teams,
                    },
                    zone,
                )
                .map(|(weeks, rule)| {
                    let week = &weeks[0];
                    assert_eq!(week.zone, zone);
                    (week.days[0][0].from / 60, rule.scope)
                })
        };
        assert_eq!(windows(&[]), Some((9, Some("organisation".into()))));
        assert_eq!(
            windows(&[sales.to_string()]),
            Some((9, Some("organisation".into())))
        );
        assert_eq!(
            windows(&[night.to_string()]),
            Some((18, Some("team".into())))
        );
        assert_eq!(
            Rules::default().calling_hours_for(
                Caller {
                    role: Role::Admin,
                    team_ids: &[]
                },
                zone,
            ),
            None
        );
    }

    #[test]
    fn a_teams_disabled_callee_rule_switches_the_organisations_off() {
        let team = TeamId::new();
        let rule = |team_id, enabled| CalleeHoursRule {
            team_id,
            enabled,
            from: "09:00".into(),
            to: "20:00".into(),
        };
        let rules = Rules::parse(&DialRuleSet {
            callee_hours: vec![rule(None, true), rule(Some(team), false)],
            ..DialRuleSet::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let zones = vec![chrono_tz::UTC];
        let caller = |teams: &[String]| {
            rules
                .callee_hours_for(
                    Caller {
                        role: Role::Salesperson,
                        team_ids: teams,
                    },
                    zones.clone(),
                )
                .is_some()
        };
        assert!(caller(&[]));
        assert!(!caller(&[team.to_string()]));
    }
}
