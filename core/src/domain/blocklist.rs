//! Which blocklist entry decides a number for a user, without the
//! database (docs/blocklist.md, decision 0019).
//!
//! The entries that apply to a call of `user` to or from `number` at `now`
//! are those of the organisation, of the user's teams and of the user, not
//! expired, whose value is the number (pattern `number`) or a prefix of it
//! (pattern `prefix`). Among them an `allow` wins over every `block`,
//! whatever their scopes and lengths. Within the winning kind the most
//! specific entry is the one reported: a whole number before any prefix, a
//! longer prefix before a shorter one, then user before team before
//! organisation scope, then the oldest id.

use std::cmp::Reverse;

use super::{E164, FieldError};
use crate::ids::OrgId;
use crate::time::Micros;
use crate::wire::{
    BlocklistKind, BlocklistPattern, BlocklistScope, CreateBlocklistEntry, ErrorCode,
};

/// At most this many entries per organisation, every scope together
/// (counted under the organisation's lock).
pub const MAX_ENTRIES_PER_ORG: i64 = 20_000;
/// Rows per CSV import.
pub const MAX_IMPORT_ROWS: usize = 1_000;
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_REASON_CHARS: usize = 1_000;
/// The longest prefix: `+` and 15 digits (E.164's longest number).
const MAX_DIGITS: usize = 15;

/// A checked new entry. `scope_id` is the organisation's id for scope
/// `organisation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: BlocklistKind,
    pub scope: BlocklistScope,
    pub scope_id: String,
    pub pattern: BlocklistPattern,
    pub value: String,
    pub label: String,
    pub reason: String,
    pub expires_at: Option<Micros>,
}

impl NewEntry {
    /// Checks a request: the scope names its team or user (and only
    /// that), the value fits its pattern, the texts their bounds, the
    /// expiry lies ahead of `now`.
    pub fn parse(org: OrgId, body: &CreateBlocklistEntry, now: Micros) -> Result<Self, FieldError> {
        let scope_id = match (body.scope, body.team_id, body.user_id) {
            (BlocklistScope::Organisation, None, None) => org.to_string(),
            (BlocklistScope::Team, Some(team), None) => team.to_string(),
            (BlocklistScope::User, None, Some(user)) => user.to_string(),
            (BlocklistScope::Team, None, _) => return Err(missing("team_id")),
            (BlocklistScope::User, _, None) => return Err(missing("user_id")),
            (_, Some(_), _) => return Err(not_for_scope("team_id")),
            (_, _, Some(_)) => return Err(not_for_scope("user_id")),
        };
        let expires_at = body.expires_at.map(|t| t.timestamp_micros());
        check_expiry(expires_at, now)?;
        Ok(Self {
            kind: body.kind,
            scope: body.scope,
            scope_id,
            pattern: body.pattern,
            value: parse_value(body.pattern, &body.value)?,
            label: parse_text("label", &body.label, MAX_LABEL_CHARS)?,
            reason: parse_text("reason", &body.reason, MAX_REASON_CHARS)?,
            expires_at,
        })
    }

    /// The refusal when the scope's team or user is not the organisation's.
    pub fn unknown_target(&self) -> FieldError {
        match self.scope {
            BlocklistScope::Team => {
                FieldError::new("team_id", ErrorCode::UnknownTeam, "no such team")
            }
            _ => FieldError::new("user_id", ErrorCode::UnknownUser, "no such user"),
        }
    }
}

fn missing(field: &'static str) -> FieldError {
    FieldError::new(field, ErrorCode::MissingField, "required by this scope")
}

fn not_for_scope(field: &'static str) -> FieldError {
    FieldError::new(
        field,
        ErrorCode::InvalidField,
        "not allowed with this scope",
    )
}

/// An entry as matching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub kind: BlocklistKind,
    pub scope: BlocklistScope,
    /// The organisation's, the team's or the user's id, as `scope` says.
    pub scope_id: String,
    pub pattern: BlocklistPattern,
    pub value: String,
    pub expires_at: Option<Micros>,
}

/// Whose call it is: the user (none for a call nobody held the phone
/// for: then only organisation entries apply) and their teams.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user_id: Option<&'a str>,
    pub team_ids: &'a [String],
}

/// What the entries say about a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// No entry applies.
    Open,
    Allowed(&'a Candidate),
    Blocked(&'a Candidate),
}

impl<'a> Verdict<'a> {
    pub fn blocked(self) -> Option<&'a Candidate> {
        match self {
            Self::Blocked(entry) => Some(entry),
            _ => None,
        }
    }
}

impl Candidate {
    /// Whether the entry applies to `caller`'s call with `number` at `now`.
    pub fn applies(&self, caller: Caller<'_>, number: &str, now: Micros) -> bool {
        let live = self.expires_at.is_none_or(|at| now < at);
        let matches = match self.pattern {
            BlocklistPattern::Number => self.value == number,
            BlocklistPattern::Prefix => number.starts_with(&self.value),
        };
        let reaches = match self.scope {
            BlocklistScope::Organisation => true,
            BlocklistScope::Team => caller.team_ids.contains(&self.scope_id),
            BlocklistScope::User => caller.user_id == Some(self.scope_id.as_str()),
        };
        live && matches && reaches
    }

    /// Sorts before a less specific entry (the module's order).
    fn specificity(&self) -> impl Ord + '_ {
        let whole = self.pattern == BlocklistPattern::Number;
        let scope = match self.scope {
            BlocklistScope::User => 0,
            BlocklistScope::Team => 1,
            BlocklistScope::Organisation => 2,
        };
        (
            Reverse(whole),
            Reverse(self.value.len()),
            scope,
            self.id.as_str(),
        )
    }
}

/// Decides `number` for `caller` from `candidates` (any superset of the
/// entries that may apply: the repository loads the organisation's entries
/// whose value is the number or one of its prefixes).
pub fn decide<'a>(
    candidates: &'a [Candidate],
    caller: Caller<'_>,
    number: &str,
    now: Micros,
) -> Verdict<'a> {
    let best = |kind: BlocklistKind| {
        candidates
            .iter()
            .filter(|c| c.kind == kind && c.applies(caller, number, now))
            .min_by(|a, b| a.specificity().cmp(&b.specificity()))
    };
    if let Some(allow) = best(BlocklistKind::Allow) {
        return Verdict::Allowed(allow);
    }
    best(BlocklistKind::Block).map_or(Verdict::Open, Verdict::Blocked)
}

/// The values an entry matching `number` (an E.164 number) can have: the
/// number itself and each of its prefixes (`+1`, `+16`, ...), at most 15
/// in all.
pub fn match_keys(number: &str) -> Vec<String> {
    if !number.is_ascii() {
        return Vec::new();
    }
    (2..=number.len())
        .map(|end| number[..end].to_owned())
        .collect()
}

/// Checks an entry's value for its pattern; the stored form (a number in
/// E.164, a prefix without separators).
pub fn parse_value(pattern: BlocklistPattern, raw: &str) -> Result<String, FieldError> {
    match pattern {
        BlocklistPattern::Number => Ok(E164::parse_international("value", raw)?.into_inner()),
        BlocklistPattern::Prefix => parse_prefix("value", raw),
    }
}

/// `+` and 1 to 15 digits, separators (space, `-`, `(`, `)`, `.`) dropped.
pub fn parse_prefix(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(FieldError::new(
            field,
            ErrorCode::InvalidPrefix,
            format!("{raw:?} is not an E.164 prefix: `+` and 1 to 15 digits, such as +1900"),
        ));
    }
    Ok(compact)
}

/// A label or reason: trimmed, at most `max` characters, may be empty.
pub fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            ErrorCode::TooLong,
            format!("at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            ErrorCode::InvalidCharacters,
            "no control characters",
        ));
    }
    Ok(text.to_owned())
}

/// An expiry must lie ahead: an entry that never applied is a mistake.
pub fn check_expiry(expires_at: Option<Micros>, now: Micros) -> Result<(), FieldError> {
    match expires_at {
        Some(at) if at <= now => Err(FieldError::new(
            "expires_at",
            ErrorCode::InvalidTime,
            "must lie in the future",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BlocklistKind::{Allow, Block};
    use BlocklistPattern::{Number, Prefix};
    use BlocklistScope::{Organisation, Team, User};

    const NOW: Micros = 1_000_000;

    fn entry(
        id: &str,
        kind: BlocklistKind,
        scope: BlocklistScope,
        scope_id: &str,
        pattern: BlocklistPattern,
        value: &str,
    ) -> Candidate {
        Candidate {
            id: id.into(),
            kind,
            scope,
            scope_id: scope_id.into(),
            pattern,
            value: value.into(),
            expires_at: None,
        }
    }

    fn alice() -> Caller<'static> {
        static TEAMS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["t1".to_owned()]);
        Caller {
            user_id: Some("alice"),
            team_ids: &TEAMS,
        }
    }

    fn verdict_id(v: Verdict<'_>) -> Option<(&'static str, String)> {
        match v {
            Verdict::Open => None,
            Verdict::Allowed(c) => Some(("allow", c.id.clone())),
            Verdict::Blocked(c) => Some(("block", c.id.clone())),
        }
    }

    #[test]
    fn an_allow_wins_over_any_block() {
        let entries = [
            entry("b", Block, User, "alice", Number, "+4930901820"),
            entry("a", Allow, Organisation, "org", Prefix, "+49"),
        ];
        let v = decide(&entries, alice(), "+4930901820", NOW);
        assert_eq!(verdict_id(v), Some(("allow", "a".into())));
    }

    #[test]
    fn the_most_specific_block_is_reported() {
        let entries = [
            entry("1", Block, Organisation, "org", Prefix, "+1"),
            entry("2", Block, Organisation, "org", Prefix, "+1900"),
            entry("3", Block, Team, "t1", Prefix, "+1900"),
        ];
        let v = decide(&entries, alice(), "+19005550100", NOW);
        assert_eq!(verdict_id(v), Some(("block", "3".into())));
        let mut with_number = entries.to_vec();
        with_number.push(entry(
            "4",
            Block,
            Organisation,
            "org",
            Number,
            "+19005550100",
        ));
        let v = decide(&with_number, alice(), "+19005550100", NOW);
        assert_eq!(verdict_id(v), Some(("block", "4".into())));
    }

    #[test]
    fn scopes_reach_only_their_users() {
        let entries = [
            entry("t", Block, Team, "t2", Prefix, "+44"),
            entry("u", Block, User, "bob", Prefix, "+44"),
        ];
        assert_eq!(
            decide(&entries, alice(), "+442071838750", NOW),
            Verdict::Open
        );
        let nobody = Caller {
            user_id: None,
            team_ids: &[],
        };
        let org = [entry("o", Block, Organisation, "org", Prefix, "+44")];
        assert_eq!(
            verdict_id(decide(&org, nobody, "+442071838750", NOW)),
            Some(("block", "o".into()))
        );
        assert_eq!(
            decide(&entries, nobody, "+442071838750", NOW),
            Verdict::Open
        );
    }

    #[test]
    fn a_prefix_matches_only_numbers_it_starts() {
        let entries = [entry("p", Block, Organisation, "org", Prefix, "+4930")];
        assert!(
            decide(&entries, alice(), "+4930901820", NOW)
                .blocked()
                .is_some()
        );
        assert_eq!(decide(&entries, alice(), "+4940901820", NOW), Verdict::Open);
        let number = [entry(
            "n",
            Block,
            Organisation,
            "org",
            Number,
            "+4930901820",
        )];
        assert_eq!(decide(&number, alice(), "+49309018201", NOW), Verdict::Open);
    }

    #[test]
    fn an_expired_entry_does_not_apply() {
        let mut allow = entry("a", Allow, User, "alice", Number, "+4930901820");
        allow.expires_at = Some(NOW);
        let entries = [allow, entry("b", Block, Organisation, "org", Prefix, "+49")];
        assert_eq!(
            verdict_id(decide(&entries, alice(), "+4930901820", NOW)),
            Some(("block", "b".into()))
        );
        assert_eq!(
            verdict_id(decide(&entries, alice(), "+4930901820", NOW - 1)),
            Some(("allow", "a".into()))
        );
    }

    #[test]
    fn match_keys_are_every_prefix_and_the_number() {
        let keys = match_keys("+4930901820");
        assert_eq!(keys.first().map(String::as_str), Some("+4"));
        assert_eq!(keys.last().map(String::as_str), Some("+4930901820"));
        assert_eq!(keys.len(), 10);
        assert!(keys.len() <= MAX_DIGITS);
    }

    #[test]
    fn values_are_checked_for_their_pattern() {
        assert_eq!(parse_value(Prefix, "+1 (900)").unwrap(), "+1900");
        assert_eq!(
            parse_value(Prefix, "1900").unwrap_err().code,
            ErrorCode::InvalidPrefix
        );
        assert_eq!(
            parse_value(Prefix, "+1234567890123456").unwrap_err().code,
            ErrorCode::InvalidPrefix
        );
        assert_eq!(
            parse_value(Number, "+1 650 253 0000").unwrap(),
            "+16502530000"
        );
        assert!(parse_value(Number, "+1").is_err());
        assert_eq!(
            parse_text("label", &"x".repeat(201), 200).unwrap_err().code,
            ErrorCode::TooLong
        );
        assert!(check_expiry(Some(NOW), NOW).is_err());
        assert!(check_expiry(Some(NOW + 1), NOW).is_ok());
    }
}
