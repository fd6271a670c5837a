//! Whether a user may dial a number now (docs/dialing.md, "Dial
//! authorisation"): the one decision `usecases::dials::place` makes before
//! it stores a command and `POST /v1/dials/check` reports without storing
//! anything, so the two cannot disagree.
//!
//! In order: the phone the dial goes to (a binding the user holds), the
//! number read in that phone's country (or a short code: an emergency
//! number, always allowed from here on; an extension), the destination
//! class against the rules of the user's team and role (an `allow` entry
//! of the blocklist that applies to the user bypasses them), the caller's
//! calling hours, the callee's local time, and last the blocklist's
//! `block` entries.

use chrono_tz::Tz;

use super::blocklist_check;
use super::dials::DialError;
use crate::db::DbConn;
use crate::domain::calling_hours::{AnyOf, TimeRule, next_allowed};
use crate::domain::country_zones::zones_of_number;
use crate::domain::dial_class::{DestinationClass, ShortCode, classify, short_code};
use crate::domain::dial_policy::choose_held;
use crate::domain::dial_rules::{Caller, Rules};
use crate::domain::{DialNumber, region_of};
use crate::ids::{OrgId, PhoneId, UserId};
use crate::repo::bindings::{self, BindingRow};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, dial_rule_sets, phones, stored_id};
use crate::time::Micros;
use crate::wire::{BlocklistKind, DialRuleRef, ErrorCode};

/// Where an authorised dial goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// What the phone dials: E.164, or a short code's digits.
    pub number: String,
    pub class: DestinationClass,
}

/// Which hours rule refused a dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursRule {
    /// The caller's calling hours (their zone).
    Caller,
    /// The callee's local time.
    Callee,
}

impl HoursRule {
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Caller => ErrorCode::OutsideCallingHours,
            Self::Callee => ErrorCode::OutsideCalleeHours,
        }
    }
}

/// The binding of the phone a dial by `user` goes to: the one of `asked`,
/// else the only one the user holds.
pub fn choose_binding(
    conn: &mut DbConn,
    user: UserId,
    asked: Option<PhoneId>,
    now: Micros,
) -> Result<BindingRow, DialError> {
    let held = bindings::held_by(conn, &user.to_string(), now)?;
    let asked = asked.map(|p| p.to_string());
    Ok(choose_held(held, asked.as_deref(), |b| {
        b.phone_id.as_str()
    })?)
}

/// What `POST /v1/dials/check` answers: the same checks as a dial, on a
/// read-only connection.
pub fn check_in(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    phone: Option<PhoneId>,
    number: &DialNumber,
    now: Micros,
) -> Result<Destination, DialError> {
    let binding = choose_binding(conn, user, phone, now)?;
    authorise_in(conn, org, user, &binding, number, now)
}

/// Reads `number` for the phone of `binding` and decides it for `user` at
/// `now`: the destination, or the refusal `POST /v1/dials` answers.
pub fn authorise_in(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    binding: &BindingRow,
    number: &DialNumber,
    now: Micros,
) -> Result<Destination, DialError> {
    let phone = phones::get(conn, org, stored_id(&binding.phone_id)?)?;
    let home = &phone.number_e164;
    let stored = dial_rule_sets::current(conn, org)?;
    let rules = match &stored {
        Some(stored) => Rules::parse(&stored.set)
            .map_err(|e| RepoError::Corrupt(format!("dial rules of {org}: {e}")))?,
        None => Rules::default(),
    };
    let me = users::get(conn, org, user, Visibility::Org)?;
    let teams: Vec<String> = users::team_ids_of(conn, std::slice::from_ref(&me.id))?
        .remove(&me.id)
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    let caller = Caller {
        role: me.role()?,
        team_ids: &teams,
    };
    let class_rule = rules.classes_for(caller);

    // A short code: an emergency number (never refused from here on), or
    // an extension when the caller's class rules say what `internal` is.
    let short = match number {
        DialNumber::National(raw) => short_code(raw, region_of(home)),
        DialNumber::International(_) => None,
    };
    let (destination, e164) = match short {
        Some(ShortCode::Emergency(digits)) => {
            return Ok(Destination {
                number: digits,
                class: DestinationClass::Emergency,
            });
        }
        Some(ShortCode::Extension(digits)) if class_rule.is_some() => (
            Destination {
                number: digits,
                class: DestinationClass::Internal,
            },
            None,
        ),
        _ => {
            let e164 = number.resolve("number", home).map_err(DialError::Number)?;
            let class = classify(&e164, home);
            (
                Destination {
                    number: e164.as_str().to_owned(),
                    class,
                },
                Some(e164),
            )
        }
    };

    let listed = match &e164 {
        Some(e164) => blocklist_check::check_in(conn, org, Some(user), e164, now)?,
        None => None,
    };
    let allowed_by_list = matches!(listed, Some((BlocklistKind::Allow, _)));
    if let Some(verdict) = class_rule
        && !allowed_by_list
        && !verdict.allowed.contains(&destination.class)
    {
        return Err(DialError::ClassNotAllowed {
            class: destination.class,
            rule: verdict.rule,
        });
    }

    // The blocklist before the hours: an hours refusal's `retry_at` is a
    // time the dial would then pass, which a blocked number never does.
    if let Some((BlocklistKind::Block, entry)) = listed {
        return Err(DialError::Blocked(entry.blocked_by()));
    }

    let caller_zone: Tz = me.time_zone.parse().unwrap_or(rules.zone);
    let callee_zones = match &e164 {
        Some(e164) => zones_of_number(e164.as_str()),
        None => Vec::new(),
    };
    let callee_zones = if callee_zones.is_empty() {
        vec![rules.zone]
    } else {
        callee_zones
    };
    let calling = rules.calling_hours_for(caller, caller_zone);
    let callee = rules.callee_hours_for(caller, callee_zones);
    let calling_rules: Vec<&dyn TimeRule> = calling
        .iter()
        .flat_map(|(weeks, _)| weeks.iter().map(|w| w as &dyn TimeRule))
        .collect();
    let callee_rules: Vec<&dyn TimeRule> = callee
        .iter()
        .flat_map(|(zones, _)| zones.iter().map(|w| w as &dyn TimeRule))
        .collect();
    let calling_any = AnyOf(calling_rules);
    let callee_any = AnyOf(callee_rules);
    let mut time_rules: Vec<&dyn TimeRule> = Vec::new();
    if calling.is_some() {
        time_rules.push(&calling_any);
    }
    if callee.is_some() {
        time_rules.push(&callee_any);
    }
    let refused = if calling.is_some() && !calling_any.allows(now) {
        calling.as_ref().map(|(_, rule)| (HoursRule::Caller, rule))
    } else if callee.is_some() && !callee_any.allows(now) {
        callee.as_ref().map(|(_, rule)| (HoursRule::Callee, rule))
    } else {
        None
    };
    if let Some((which, rule)) = refused {
        return Err(DialError::OutsideHours {
            which,
            rule: rule.clone(),
            retry_at: next_allowed(&time_rules, now),
            now,
        });
    }

    Ok(destination)
}

/// The rule of a refusal, for `rule` in the check's answer.
pub fn rule_of(err: &DialError) -> Option<DialRuleRef> {
    let kind = |k: &str| DialRuleRef {
        kind: k.into(),
        scope: None,
        team_id: None,
        role: None,
    };
    match err {
        DialError::ClassNotAllowed { rule, .. } | DialError::OutsideHours { rule, .. } => {
            Some(rule.clone())
        }
        DialError::Blocked(by) => Some(DialRuleRef {
            scope: Some(by.scope.as_str().into()),
            ..kind("blocklist")
        }),
        DialError::NoBinding | DialError::NotHeld | DialError::PhoneRequired => {
            Some(kind("binding"))
        }
        DialError::Number(_) => Some(kind("number")),
        DialError::KeyReused | DialError::Repo(_) => None,
    }
}
