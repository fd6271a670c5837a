//! An organisation's binding policy as the server applies it: who may take
//! over a held phone, how long a binding lasts, how many phones one user may
//! hold. Parsed from the wire form with each field checked.

use crate::wire::ErrorCode;
use chrono::{Days, NaiveTime, TimeZone};
use chrono_tz::Tz;

use super::FieldError;
use crate::time::{Micros, seconds, to_datetime};
use crate::wire::{BindingDuration, BindingPolicy, PutBindingPolicy, Role, TakeoverRule};

pub const MAX_DURATION_HOURS: u32 = 720;
pub const MAX_PHONES_PER_USER: u32 = 100;
const DEFAULT_WORKDAY_END: &str = "18:00";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    UntilUnbound,
    /// Until `Policy::workday_end` in the holder's time zone.
    EndOfWorkday,
    Hours(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub takeover: TakeoverRule,
    pub lifetime: Lifetime,
    /// Used by `EndOfWorkday`; kept under the other lifetimes too, so
    /// switching back restores it.
    pub workday_end: NaiveTime,
    pub max_phones_per_user: u32,
}

impl Default for Policy {
    /// Managers and admins may take over; bindings last until unbound; one phone each.
    fn default() -> Self {
        Self {
            takeover: TakeoverRule::Managers,
            lifetime: Lifetime::UntilUnbound,
            workday_end: default_workday_end(),
            max_phones_per_user: 1,
        }
    }
}

fn default_workday_end() -> NaiveTime {
    parse_workday_end(DEFAULT_WORKDAY_END).unwrap_or(NaiveTime::MIN)
}

pub fn parse_workday_end(raw: &str) -> Option<NaiveTime> {
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

impl Policy {
    pub fn parse(body: &PutBindingPolicy) -> Result<Self, FieldError> {
        let workday_end = match &body.workday_end {
            None => default_workday_end(),
            Some(raw) => parse_workday_end(raw).ok_or_else(|| {
                FieldError::new(
                    "workday_end",
                    ErrorCode::InvalidWorkdayEnd,
                    "must be a local time HH:MM, e.g. 18:00",
                )
            })?,
        };
        let lifetime = match (body.duration, body.duration_hours) {
            (BindingDuration::Hours, Some(h)) if (1..=MAX_DURATION_HOURS).contains(&h) => {
                Lifetime::Hours(h)
            }
            (BindingDuration::Hours, _) => {
                return Err(FieldError::new(
                    "duration_hours",
                    ErrorCode::InvalidDurationHours,
                    format!("duration hours needs duration_hours from 1 to {MAX_DURATION_HOURS}"),
                ));
            }
            (_, Some(_)) => {
                return Err(FieldError::new(
                    "duration_hours",
                    ErrorCode::InvalidDurationHours,
                    "duration_hours applies only when duration is hours",
                ));
            }
            (BindingDuration::UntilUnbound, None) => Lifetime::UntilUnbound,
            (BindingDuration::EndOfWorkday, None) => Lifetime::EndOfWorkday,
        };
        if !(1..=MAX_PHONES_PER_USER).contains(&body.max_phones_per_user) {
            return Err(FieldError::new(
                "max_phones_per_user",
                ErrorCode::InvalidMaxPhonesPerUser,
                format!("must be from 1 to {MAX_PHONES_PER_USER}"),
            ));
        }
        Ok(Self {
            takeover: body.takeover,
            lifetime,
            workday_end,
            max_phones_per_user: body.max_phones_per_user,
        })
    }

    pub fn duration(&self) -> (BindingDuration, Option<u32>) {
        match self.lifetime {
            Lifetime::UntilUnbound => (BindingDuration::UntilUnbound, None),
            Lifetime::EndOfWorkday => (BindingDuration::EndOfWorkday, None),
            Lifetime::Hours(h) => (BindingDuration::Hours, Some(h)),
        }
    }

    pub fn workday_end_text(&self) -> String {
        self.workday_end.format("%H:%M").to_string()
    }

    pub fn to_wire(&self, updated_at: Option<Micros>) -> BindingPolicy {
        let (duration, duration_hours) = self.duration();
        BindingPolicy {
            takeover: self.takeover,
            duration,
            duration_hours,
            workday_end: self.workday_end_text(),
            max_phones_per_user: self.max_phones_per_user,
            updated_at: updated_at.map(to_datetime),
        }
    }

    /// Whether a user of `role` may take a phone over from its holder.
    pub fn may_take_over(&self, role: Role) -> bool {
        match self.takeover {
            TakeoverRule::Nobody => false,
            TakeoverRule::Admins => role == Role::Admin,
            TakeoverRule::Managers => matches!(role, Role::Admin | Role::Manager),
            TakeoverRule::Anyone => true,
        }
    }

    /// When a binding that starts at `now` for a holder in `zone` ends.
    pub fn expires_at(&self, now: Micros, zone: Tz) -> Option<Micros> {
        match self.lifetime {
            Lifetime::UntilUnbound => None,
            Lifetime::Hours(h) => Some(now + seconds(i64::from(h) * 3600)),
            Lifetime::EndOfWorkday => Some(end_of_workday(now, zone, self.workday_end)),
        }
    }
}

/// Today's `end` in `zone` if it is still ahead; otherwise the next local
/// midnight, so a binding made after hours does not run into tomorrow.
fn end_of_workday(now: Micros, zone: Tz, end: NaiveTime) -> Micros {
    let local = to_datetime(now).with_timezone(&zone);
    let today = local.date_naive();
    if let Some(at) = local_instant(zone, today.and_time(end))
        && at > now
    {
        return at;
    }
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    local_instant(zone, tomorrow.and_time(NaiveTime::MIN))
        .filter(|at| *at > now)
        .unwrap_or(now + seconds(24 * 3600))
}

/// The instant of a local wall time; in a DST gap, the first valid minute
/// after it; when the clock repeats, the earlier of the two.
fn local_instant(zone: Tz, wall: chrono::NaiveDateTime) -> Option<Micros> {
    (0..=120)
        .find_map(|minutes| {
            zone.from_local_datetime(&(wall + chrono::Duration::minutes(minutes)))
                .earliest()
        })
        .map(|at| at.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at(rfc3339: &str) -> Micros {
        DateTime::parse_from_rfc3339(rfc3339)
            .map(|d| d.with_timezone(&Utc).timestamp_micros())
            .unwrap_or_default()
    }

    fn workday(end: &str) -> Policy {
        let end = parse_workday_end(end).unwrap_or(NaiveTime::MIN);
        Policy {
            lifetime: Lifetime::EndOfWorkday,
            workday_end: end,
            ..Policy::default()
        }
    }

    #[test]
    fn end_of_workday_is_local_to_the_holder() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap_or(Tz::UTC);
        let p = workday("18:00");
        // 09:00 Berlin (CET, UTC+1) → 18:00 Berlin = 17:00 UTC.
        assert_eq!(
            p.expires_at(at("2026-01-15T08:00:00Z"), berlin),
            Some(at("2026-01-15T17:00:00Z"))
        );
        // After hours: next local midnight.
        assert_eq!(
            p.expires_at(at("2026-01-15T19:30:00Z"), berlin),
            Some(at("2026-01-15T23:00:00Z"))
        );
    }

    #[test]
    fn end_of_workday_is_right_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap_or(Tz::UTC);
        // 2026-03-29: clocks go from 02:00 to 03:00; 18:00 is CEST (UTC+2).
        assert_eq!(
            workday("18:00").expires_at(at("2026-03-29T00:30:00Z"), berlin),
            Some(at("2026-03-29T16:00:00Z"))
        );
        // A workday end inside the gap moves to the first valid minute.
        assert_eq!(
            workday("02:30").expires_at(at("2026-03-28T23:30:00Z"), berlin),
            Some(at("2026-03-29T01:00:00Z"))
        );
        // 2026-10-25: 02:30 happens twice; the earlier one counts.
        assert_eq!(
            workday("02:30").expires_at(at("2026-10-24T22:30:00Z"), berlin),
            Some(at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn hours_and_until_unbound() {
        let now = at("2026-05-01T10:00:00Z");
        let hours = Policy {
            lifetime: Lifetime::Hours(8),
            ..Policy::default()
        };
        assert_eq!(
            hours.expires_at(now, Tz::UTC),
            Some(at("2026-05-01T18:00:00Z"))
        );
        assert_eq!(Policy::default().expires_at(now, Tz::UTC), None);
    }

    #[test]
    fn takeover_levels() {
        use Role::*;
        let allowed = |rule| {
            let p = Policy {
                takeover: rule,
                ..Policy::default()
            };
            [Admin, Manager, Salesperson].map(|r| p.may_take_over(r))
        };
        assert_eq!(allowed(TakeoverRule::Nobody), [false, false, false]);
        assert_eq!(allowed(TakeoverRule::Admins), [true, false, false]);
        assert_eq!(allowed(TakeoverRule::Managers), [true, true, false]);
        assert_eq!(allowed(TakeoverRule::Anyone), [true, true, true]);
    }

    #[test]
    fn parse_checks_each_field() {
        let base = PutBindingPolicy {
            takeover: TakeoverRule::Anyone,
            duration: BindingDuration::Hours,
            duration_hours: Some(8),
            workday_end: None,
            max_phones_per_user: 2,
        };
        assert_eq!(
            Policy::parse(&base).map(|p| (p.lifetime, p.workday_end_text())),
            Ok((Lifetime::Hours(8), DEFAULT_WORKDAY_END.to_owned()))
        );
        let field = |body: PutBindingPolicy| Policy::parse(&body).err().map(|e| e.field);
        assert_eq!(
            field(PutBindingPolicy {
                duration_hours: None,
                ..base.clone()
            }),
            Some("duration_hours")
        );
        assert_eq!(
            field(PutBindingPolicy {
                duration: BindingDuration::UntilUnbound,
                ..base.clone()
            }),
            Some("duration_hours")
        );
        assert_eq!(
            field(PutBindingPolicy {
                workday_end: Some("25:00".into()),
                ..base.clone()
            }),
            Some("workday_end")
        );
        assert_eq!(
            field(PutBindingPolicy {
                max_phones_per_user: 0,
                ..base
            }),
            Some("max_phones_per_user")
        );
        assert_eq!(parse_workday_end("9:00"), None);
        assert_eq!(parse_workday_end("09:05"), NaiveTime::from_hms_opt(9, 5, 0));
    }
}
