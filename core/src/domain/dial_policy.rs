//! What may be dialed, decided without the database: the organisation's
//! dial policy (blocked E.164 prefixes and a do-not-call list: since
//! decision 0019 a view over the organisation-scope block entries of the
//! blocklist, which `domain::blocklist` decides), which of the caller's
//! phones a dial goes to, and whether a command may still be handed to the
//! phone over NFC.

use crate::wire::ErrorCode;
use std::collections::BTreeSet;

use super::{E164, FieldError};
use crate::wire::{DialState, PutDialPolicy};

pub const MAX_BLOCKED_PREFIXES: usize = 1_000;
/// Bounded so the whole policy fits the default request body limit
/// (`max_json_bytes`, 64 KiB) and is replaced in one short transaction.
pub const MAX_DO_NOT_CALL: usize = 2_000;

/// A validated policy: prefixes are `+` and 1 to 15 digits, numbers valid
/// E.164; both sorted and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialRules {
    pub blocked_prefixes: BTreeSet<String>,
    pub do_not_call: BTreeSet<String>,
}

impl DialRules {
    pub fn parse(body: &PutDialPolicy) -> Result<Self, FieldError> {
        if body.blocked_prefixes.len() > MAX_BLOCKED_PREFIXES {
            return Err(FieldError::new(
                "blocked_prefixes",
                ErrorCode::TooMany,
                format!("at most {MAX_BLOCKED_PREFIXES} prefixes"),
            ));
        }
        if body.do_not_call.len() > MAX_DO_NOT_CALL {
            return Err(FieldError::new(
                "do_not_call",
                ErrorCode::TooMany,
                format!("at most {MAX_DO_NOT_CALL} numbers"),
            ));
        }
        let mut blocked_prefixes = BTreeSet::new();
        for raw in &body.blocked_prefixes {
            blocked_prefixes.insert(parse_prefix(raw)?);
        }
        let mut do_not_call = BTreeSet::new();
        for raw in &body.do_not_call {
            do_not_call.insert(E164::parse_international("do_not_call", raw)?.into_inner());
        }
        Ok(Self {
            blocked_prefixes,
            do_not_call,
        })
    }
}

fn parse_prefix(raw: &str) -> Result<String, FieldError> {
    super::blocklist::parse_prefix("blocked_prefixes", raw)
}

/// Why a dial has no phone to go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneChoiceRefusal {
    /// The caller holds no phone.
    NoBinding,
    /// The caller named a phone they do not hold.
    NotHeld,
    /// The caller holds several phones and named none.
    PhoneRequired,
}

/// Which of the caller's `held` bindings a dial goes through: the one of
/// the phone `asked` for, else the only one. `phone_of` gives a binding's
/// phone id.
pub fn choose_held<T>(
    held: Vec<T>,
    asked: Option<&str>,
    phone_of: impl Fn(&T) -> &str,
) -> Result<T, PhoneChoiceRefusal> {
    match asked {
        Some(phone) => held
            .into_iter()
            .find(|b| phone_of(b) == phone)
            .ok_or(PhoneChoiceRefusal::NotHeld),
        None => {
            let mut held = held.into_iter();
            match (held.next(), held.next()) {
                (None, _) => Err(PhoneChoiceRefusal::NoBinding),
                (Some(one), None) => Ok(one),
                (Some(_), Some(_)) => Err(PhoneChoiceRefusal::PhoneRequired),
            }
        }
    }
}

/// Why a command cannot be handed to the phone over NFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoutRefusal {
    /// Finished, or queued past its expiry: it can no longer be dialed.
    Finished(DialState),
    /// The phone already has it (delivered or further).
    Delivered(DialState),
    /// The binding it was placed under has ended.
    BindingEnded,
}

/// Whether a command in `state` may be handed to its phone: it must be
/// queued and unexpired (`expired`), and its binding must still hold
/// (`sendable`, which also says queued and unexpired).
pub fn may_hand_out(state: DialState, expired: bool, sendable: bool) -> Result<(), HandoutRefusal> {
    if state.is_final() || (state == DialState::Queued && expired) {
        return Err(HandoutRefusal::Finished(state));
    }
    if state != DialState::Queued {
        return Err(HandoutRefusal::Delivered(state));
    }
    if !sendable {
        return Err(HandoutRefusal::BindingEnded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(prefixes: &[&str], dnc: &[&str]) -> DialRules {
        DialRules::parse(&PutDialPolicy {
            blocked_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            do_not_call: dnc.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn entries_are_normalised_and_deduplicated() {
        let rules = rules(&["+1 900", "+1900", "+49 (0)"], &["+1 650 253 0000"]);
        assert_eq!(
            rules.blocked_prefixes.iter().collect::<Vec<_>>(),
            ["+1900", "+490"]
        );
        assert_eq!(
            rules.do_not_call.iter().collect::<Vec<_>>(),
            ["+16502530000"]
        );
    }

    #[test]
    fn bad_entries_name_their_field() {
        let bad = DialRules::parse(&PutDialPolicy {
            blocked_prefixes: vec!["1900".into()],
            do_not_call: vec![],
        });
        assert_eq!(bad.unwrap_err().code, "invalid_prefix");
        let bad = DialRules::parse(&PutDialPolicy {
            blocked_prefixes: vec![],
            do_not_call: vec!["+1".into()],
        });
        assert_eq!(bad.unwrap_err().field, "do_not_call");
    }

    fn choose(held: &[&str], asked: Option<&str>) -> Result<String, PhoneChoiceRefusal> {
        let held = held.iter().map(|p| p.to_string()).collect();
        choose_held(held, asked, |b: &String| b.as_str())
    }

    #[test]
    fn a_dial_goes_to_the_named_phone_or_the_only_one() {
        assert_eq!(choose(&["p1", "p2"], Some("p2")), Ok("p2".into()));
        assert_eq!(choose(&["p1"], None), Ok("p1".into()));
        assert_eq!(
            choose(&["p1"], Some("p9")),
            Err(PhoneChoiceRefusal::NotHeld)
        );
        assert_eq!(choose(&[], None), Err(PhoneChoiceRefusal::NoBinding));
        assert_eq!(
            choose(&["p1", "p2"], None),
            Err(PhoneChoiceRefusal::PhoneRequired)
        );
    }

    #[test]
    fn only_a_queued_live_command_is_handed_out() {
        use DialState as S;
        assert_eq!(may_hand_out(S::Queued, false, true), Ok(()));
        assert_eq!(
            may_hand_out(S::Queued, true, false),
            Err(HandoutRefusal::Finished(S::Queued))
        );
        assert_eq!(
            may_hand_out(S::Cancelled, false, false),
            Err(HandoutRefusal::Finished(S::Cancelled))
        );
        assert_eq!(
            may_hand_out(S::Ringing, false, false),
            Err(HandoutRefusal::Delivered(S::Ringing))
        );
        assert_eq!(
            may_hand_out(S::Queued, false, false),
            Err(HandoutRefusal::BindingEnded)
        );
    }
}
