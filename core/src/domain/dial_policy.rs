//! The organisation's dial policy: blocked E.164 prefixes and a do-not-call
//! list. Checked before a dial command is stored.

use crate::wire::ErrorCode;
use std::collections::BTreeSet;

use super::{E164, FieldError};
use crate::wire::PutDialPolicy;

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

/// Why the policy refuses a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BlockedPrefix(String),
    DoNotCall,
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

    pub fn check(&self, number: &E164) -> Result<(), Refusal> {
        let number = number.as_str();
        if self.do_not_call.contains(number) {
            return Err(Refusal::DoNotCall);
        }
        match self
            .blocked_prefixes
            .iter()
            .find(|prefix| number.starts_with(prefix.as_str()))
        {
            Some(prefix) => Err(Refusal::BlockedPrefix(prefix.clone())),
            None => Ok(()),
        }
    }
}

fn parse_prefix(raw: &str) -> Result<String, FieldError> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            "blocked_prefixes",
            ErrorCode::InvalidPrefix,
            format!("{raw:?} is not an E.164 prefix: `+` and 1 to 15 digits, such as +1900"),
        ));
    }
    Ok(compact)
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

    fn number(raw: &str) -> E164 {
        E164::parse_international("number", raw).unwrap()
    }

    #[test]
    fn prefixes_and_listed_numbers_are_refused() {
        let rules = rules(&["+1 900", "+49 (0)"], &["+1 650 253 0000"]);
        assert_eq!(
            rules.check(&number("+19005550100")),
            Err(Refusal::BlockedPrefix("+1900".into()))
        );
        assert_eq!(
            rules.check(&number("+16502530000")),
            Err(Refusal::DoNotCall)
        );
        assert_eq!(rules.check(&number("+16502530001")), Ok(()));
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
}
