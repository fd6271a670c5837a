//! The rules of what came of a call, without the database: disposition
//! codes and labels, notes and tags within their bounds, a callback time
//! that lies ahead, the organisation's default catalogue, and which fields
//! an edit changed (for the history).

use std::collections::BTreeMap;

use super::{FieldError, NonBlank};
use crate::time::Micros;
use crate::wire::{
    ErrorCode, FieldChange, MAX_CALL_NOTES, MAX_CALL_TAG, MAX_CALL_TAGS, MAX_DISPOSITION_CODE,
    MAX_DISPOSITION_LABEL,
};

/// A disposition code: 1 to [`MAX_DISPOSITION_CODE`] of `a-z`, `0-9`, `_`.
pub fn disposition_code(raw: &str) -> Result<String, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(
            "code",
            ErrorCode::Blank,
            "must not be empty",
        ));
    }
    if raw.chars().count() > MAX_DISPOSITION_CODE {
        return Err(FieldError::new(
            "code",
            ErrorCode::TooLong,
            format!("must be at most {MAX_DISPOSITION_CODE} characters"),
        ));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(FieldError::new(
            "code",
            ErrorCode::InvalidCharacters,
            "may contain only a-z, 0-9 and _",
        ));
    }
    Ok(raw.to_owned())
}

pub fn disposition_label(raw: &str) -> Result<String, FieldError> {
    Ok(NonBlank::parse("label", raw, MAX_DISPOSITION_LABEL)?.into_inner())
}

/// Notes: trimmed, at most [`MAX_CALL_NOTES`] characters; empty clears
/// them. Line breaks and tabs are allowed, other control characters not.
pub fn call_notes(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_CALL_NOTES {
        return Err(FieldError::new(
            "notes",
            ErrorCode::TooLong,
            format!("must be at most {MAX_CALL_NOTES} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(
            "notes",
            ErrorCode::InvalidCharacters,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(Some(text.to_owned()))
}

/// Tags: each trimmed and non-blank, at most [`MAX_CALL_TAG`] characters,
/// at most [`MAX_CALL_TAGS`] of them; duplicates are dropped, order kept.
pub fn call_tags(raw: &[String]) -> Result<Vec<String>, FieldError> {
    if raw.len() > MAX_CALL_TAGS {
        return Err(FieldError::new(
            "tags",
            ErrorCode::TooMany,
            format!("at most {MAX_CALL_TAGS} tags"),
        ));
    }
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for tag in raw {
        let tag = NonBlank::parse("tags", tag, MAX_CALL_TAG)?.into_inner();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// A callback time must lie after `now`.
pub fn callback_time(at: Micros, now: Micros) -> Result<Micros, FieldError> {
    if at <= now {
        return Err(FieldError::new(
            "callback_at",
            ErrorCode::CallbackInPast,
            "must be in the future",
        ));
    }
    Ok(at)
}

/// One entry of the catalogue a new organisation starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDisposition {
    pub code: &'static str,
    pub label: &'static str,
    pub reached: bool,
    pub sale: bool,
    pub do_not_call: bool,
    pub callback: bool,
}

const fn entry(
    code: &'static str,
    label: &'static str,
    [reached, sale, do_not_call, callback]: [bool; 4],
) -> DefaultDisposition {
    DefaultDisposition {
        code,
        label,
        reached,
        sale,
        do_not_call,
        callback,
    }
}

/// A new organisation's catalogue (docs/call-outcomes.md), in sort order.
/// Flags: reached, sale, do_not_call, callback.
pub const DEFAULT_DISPOSITIONS: [DefaultDisposition; 7] = [
    entry("sale", "Sale", [true, true, false, false]),
    entry("interested", "Interested", [true, false, false, false]),
    entry("callback", "Call back", [true, false, false, true]),
    entry(
        "not_interested",
        "Not interested",
        [true, false, false, false],
    ),
    entry("do_not_call", "Do not call", [true, false, true, false]),
    entry("no_answer", "No answer", [false, false, false, false]),
    entry("wrong_number", "Wrong number", [false, false, false, false]),
];

/// The fields of `before` and `after` (JSON objects of the annotation)
/// whose values differ, for the edit history.
pub fn changed_fields(
    before: &serde_json::Map<String, serde_json::Value>,
    after: &serde_json::Map<String, serde_json::Value>,
) -> BTreeMap<String, FieldChange> {
    after
        .iter()
        .filter_map(|(field, new)| {
            let old = before
                .get(field)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            (old != *new).then(|| {
                (
                    field.clone(),
                    FieldChange {
                        before: old,
                        after: new.clone(),
                    },
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_slugs() {
        assert_eq!(disposition_code("call_back2").unwrap(), "call_back2");
        assert_eq!(disposition_code("").unwrap_err().code, ErrorCode::Blank);
        assert_eq!(
            disposition_code("Call back").unwrap_err().code,
            ErrorCode::InvalidCharacters
        );
        assert_eq!(
            disposition_code(&"a".repeat(MAX_DISPOSITION_CODE + 1))
                .unwrap_err()
                .code,
            ErrorCode::TooLong
        );
    }

    #[test]
    fn notes_and_tags_are_bounded() {
        assert_eq!(call_notes(Some("  \n ")).unwrap(), None);
        assert_eq!(call_notes(Some(" a\nb ")).unwrap().as_deref(), Some("a\nb"));
        assert_eq!(
            call_notes(Some(&"x".repeat(MAX_CALL_NOTES + 1)))
                .unwrap_err()
                .code,
            ErrorCode::TooLong
        );
        assert_eq!(
            call_notes(Some("a\u{7}")).unwrap_err().code,
            ErrorCode::InvalidCharacters
        );
        let tags = call_tags(&["a".into(), " b ".into(), "a".into()]).unwrap();
        assert_eq!(tags, ["a", "b"]);
        let many: Vec<String> = (0..=MAX_CALL_TAGS).map(|i| i.to_string()).collect();
        assert_eq!(call_tags(&many).unwrap_err().code, ErrorCode::TooMany);
        assert_eq!(call_tags(&[" ".into()]).unwrap_err().code, ErrorCode::Blank);
    }

    #[test]
    fn callbacks_lie_ahead() {
        assert_eq!(callback_time(11, 10).unwrap(), 11);
        assert_eq!(
            callback_time(10, 10).unwrap_err().code,
            ErrorCode::CallbackInPast
        );
    }

    #[test]
    fn only_changed_fields_are_listed() {
        let before = serde_json::json!({"notes": "a", "tags": []});
        let after = serde_json::json!({"notes": "b", "tags": []});
        let changes = changed_fields(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes["notes"].before, "a");
        assert_eq!(changes["notes"].after, "b");
    }
}
