//! Presence rules (docs/presence.md), without I/O: what a user may choose,
//! the effective state from the choice and the live facts at a given time,
//! and who gets handed-out work first.

use super::FieldError;
use crate::ids::UserId;
use crate::time::{Micros, seconds};
use crate::wire::{ChosenPresence, ErrorCode, LineState, PresenceState, PutPresence};

/// Longest status text, in characters.
pub const MAX_STATUS_TEXT: usize = 100;

/// A parsed `PUT /v1/me/presence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub chosen: ChosenPresence,
    pub status_text: Option<String>,
    pub until: Option<Micros>,
}

impl Choice {
    /// `busy` and `offline` are derived, never chosen; `until` only with a
    /// DND, and after `now`.
    pub fn parse(body: PutPresence, now: Micros) -> Result<Self, FieldError> {
        let chosen = match body.state.as_str() {
            "busy" | "offline" => {
                return Err(FieldError::new(
                    "state",
                    ErrorCode::PresenceStateDerived,
                    "busy and offline follow from the phone and the connections; choose available, away or dnd",
                ));
            }
            other => ChosenPresence::parse(other).ok_or_else(|| {
                FieldError::new(
                    "state",
                    ErrorCode::InvalidField,
                    "must be available, away or dnd",
                )
            })?,
        };
        let until = match body.until {
            None => None,
            Some(_) if chosen != ChosenPresence::Dnd => {
                return Err(FieldError::new(
                    "until",
                    ErrorCode::UntilWithoutDnd,
                    "only a dnd ends by itself",
                ));
            }
            Some(at) => {
                let at = at.timestamp_micros();
                if at <= now {
                    return Err(FieldError::new(
                        "until",
                        ErrorCode::UntilInPast,
                        "must be after now",
                    ));
                }
                Some(at)
            }
        };
        let status_text = match body.status_text.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) if text.chars().count() > MAX_STATUS_TEXT => {
                return Err(FieldError::new(
                    "status_text",
                    ErrorCode::TooLong,
                    format!("at most {MAX_STATUS_TEXT} characters"),
                ));
            }
            Some(text) if text.chars().any(char::is_control) => {
                return Err(FieldError::new(
                    "status_text",
                    ErrorCode::InvalidCharacters,
                    "no control characters",
                ));
            }
            Some(text) => Some(text.to_owned()),
        };
        Ok(Self {
            chosen,
            status_text,
            until,
        })
    }
}

/// What is stored of a user's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub chosen: ChosenPresence,
    pub until: Option<Micros>,
    pub last_active_at: Micros,
}

impl Stored {
    /// The choice in force at `now`: a timed DND whose end has passed is
    /// `available` again.
    pub fn chosen_at(&self, now: Micros) -> ChosenPresence {
        match (self.chosen, self.until) {
            (ChosenPresence::Dnd, Some(until)) if until <= now => ChosenPresence::Available,
            (chosen, _) => chosen,
        }
    }

    /// The end of the DND, while one is in force at `now`.
    pub fn dnd_until(&self, now: Micros) -> Option<Micros> {
        (self.chosen_at(now) == ChosenPresence::Dnd)
            .then_some(self.until)
            .flatten()
    }
}

/// What the server knows live about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Live {
    pub app_connected: bool,
    pub phone_online: bool,
    /// The line of the phone the user holds, when it is online.
    pub line: Option<LineState>,
}

/// The effective state: dnd (in force) > busy (the held phone's line is
/// not idle) > offline (neither app nor phone connected) > away (chosen,
/// or no activity for `auto_away_after_secs`) > available.
pub fn effective(
    stored: Option<&Stored>,
    live: Live,
    auto_away_after_secs: Option<u32>,
    now: Micros,
) -> PresenceState {
    let chosen = stored.map_or(ChosenPresence::Available, |s| s.chosen_at(now));
    if chosen == ChosenPresence::Dnd {
        return PresenceState::Dnd;
    }
    if live.phone_online && live.line.is_some_and(LineState::in_call) {
        return PresenceState::Busy;
    }
    if !live.app_connected && !live.phone_online {
        return PresenceState::Offline;
    }
    if chosen == ChosenPresence::Away {
        return PresenceState::Away;
    }
    let idle = match (stored, auto_away_after_secs) {
        (Some(s), Some(after)) => now - s.last_active_at >= seconds(i64::from(after)),
        _ => false,
    };
    if idle {
        PresenceState::Away
    } else {
        PresenceState::Available
    }
}

/// The order in which handed-out work (call-list tasks, callback
/// reminders) offers itself to candidates: available users first, then
/// away ones, each group in the given order; busy, dnd and offline users
/// never.
pub fn work_order(candidates: &[(UserId, PresenceState)]) -> Vec<UserId> {
    let of = |wanted: PresenceState| {
        candidates
            .iter()
            .filter(move |(_, state)| *state == wanted)
            .map(|(user, _)| *user)
    };
    of(PresenceState::Available)
        .chain(of(PresenceState::Away))
        .collect()
}

/// Whether pushes to a user wait (a DND in force). The user's own
/// digests and their own dials are never held back (docs/presence.md).
pub fn holds_pushes(stored: Option<&Stored>, now: Micros) -> bool {
    stored.is_some_and(|s| s.chosen_at(now) == ChosenPresence::Dnd)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    const NOW: Micros = 1_000_000_000_000;

    fn stored(chosen: ChosenPresence, until: Option<Micros>) -> Stored {
        Stored {
            chosen,
            until,
            last_active_at: NOW,
        }
    }

    fn online(line: Option<LineState>) -> Live {
        Live {
            app_connected: true,
            phone_online: true,
            line,
        }
    }

    fn put(state: &str, until: Option<Micros>) -> PutPresence {
        PutPresence {
            state: state.into(),
            status_text: None,
            until: until.and_then(|u| Utc.timestamp_micros(u).single()),
        }
    }

    #[test]
    fn dnd_beats_a_call_and_a_call_beats_away() {
        let dnd = stored(ChosenPresence::Dnd, None);
        let away = stored(ChosenPresence::Away, None);
        let talking = online(Some(LineState::Talking));
        assert_eq!(
            effective(Some(&dnd), talking, None, NOW),
            PresenceState::Dnd
        );
        assert_eq!(
            effective(Some(&away), talking, None, NOW),
            PresenceState::Busy
        );
        assert_eq!(
            effective(Some(&away), online(Some(LineState::Idle)), None, NOW),
            PresenceState::Away
        );
        assert_eq!(
            effective(None, online(None), None, NOW),
            PresenceState::Available
        );
    }

    #[test]
    fn every_line_state_but_idle_is_busy() {
        for line in LineState::ALL {
            let expected = if *line == LineState::Idle {
                PresenceState::Available
            } else {
                PresenceState::Busy
            };
            assert_eq!(effective(None, online(Some(*line)), None, NOW), expected);
        }
    }

    #[test]
    fn offline_needs_both_app_and_phone_gone() {
        let app_only = Live {
            app_connected: true,
            ..Live::default()
        };
        let phone_only = Live {
            phone_online: true,
            ..Live::default()
        };
        assert_eq!(
            effective(None, Live::default(), None, NOW),
            PresenceState::Offline
        );
        assert_eq!(
            effective(None, app_only, None, NOW),
            PresenceState::Available
        );
        assert_eq!(
            effective(None, phone_only, None, NOW),
            PresenceState::Available
        );
        // A stale line of a phone that is gone does not make anyone busy.
        let stale = Live {
            line: Some(LineState::Talking),
            ..Live::default()
        };
        assert_eq!(effective(None, stale, None, NOW), PresenceState::Offline);
    }

    #[test]
    fn a_timed_dnd_ends_by_itself() {
        let until = NOW + seconds(60);
        let dnd = stored(ChosenPresence::Dnd, Some(until));
        assert_eq!(
            effective(Some(&dnd), online(None), None, until - 1),
            PresenceState::Dnd
        );
        assert_eq!(
            effective(Some(&dnd), online(None), None, until),
            PresenceState::Available
        );
        assert_eq!(dnd.dnd_until(until - 1), Some(until));
        assert_eq!(dnd.dnd_until(until), None);
        assert!(holds_pushes(Some(&dnd), until - 1));
        assert!(!holds_pushes(Some(&dnd), until));
    }

    #[test]
    fn auto_away_after_the_idle_time() {
        let available = stored(ChosenPresence::Available, None);
        let later = NOW + seconds(300);
        assert_eq!(
            effective(Some(&available), online(None), Some(300), later - 1),
            PresenceState::Available
        );
        assert_eq!(
            effective(Some(&available), online(None), Some(300), later),
            PresenceState::Away
        );
        assert_eq!(
            effective(Some(&available), online(None), None, later * 2),
            PresenceState::Available
        );
    }

    #[test]
    fn only_available_away_and_dnd_can_be_chosen() {
        for derived in ["busy", "offline"] {
            let err = Choice::parse(put(derived, None), NOW).unwrap_err();
            assert_eq!(err.code, ErrorCode::PresenceStateDerived);
        }
        assert_eq!(
            Choice::parse(put("asleep", None), NOW).unwrap_err().code,
            ErrorCode::InvalidField
        );
        assert_eq!(
            Choice::parse(put("away", Some(NOW + 1)), NOW)
                .unwrap_err()
                .code,
            ErrorCode::UntilWithoutDnd
        );
        assert_eq!(
            Choice::parse(put("dnd", Some(NOW)), NOW).unwrap_err().code,
            ErrorCode::UntilInPast
        );
        let ok = Choice::parse(put("dnd", Some(NOW + 1)), NOW).unwrap();
        assert_eq!((ok.chosen, ok.until), (ChosenPresence::Dnd, Some(NOW + 1)));
    }

    #[test]
    fn status_text_is_trimmed_and_bounded() {
        let mut body = put("away", None);
        body.status_text = Some("  lunch  ".into());
        assert_eq!(
            Choice::parse(body.clone(), NOW)
                .unwrap()
                .status_text
                .as_deref(),
            Some("lunch")
        );
        body.status_text = Some("   ".into());
        assert_eq!(Choice::parse(body.clone(), NOW).unwrap().status_text, None);
        body.status_text = Some("x".repeat(MAX_STATUS_TEXT + 1));
        assert_eq!(
            Choice::parse(body, NOW).unwrap_err().code,
            ErrorCode::TooLong
        );
    }

    #[test]
    fn work_goes_to_available_then_away_never_to_the_others() {
        let users: Vec<UserId> = (0..6).map(|_| UserId::new()).collect();
        let candidates = [
            (users[0], PresenceState::Away),
            (users[1], PresenceState::Dnd),
            (users[2], PresenceState::Available),
            (users[3], PresenceState::Offline),
            (users[4], PresenceState::Busy),
            (users[5], PresenceState::Available),
        ];
        assert_eq!(work_order(&candidates), vec![users[2], users[5], users[0]]);
        assert!(work_order(&candidates[1..2]).is_empty());
    }
}
