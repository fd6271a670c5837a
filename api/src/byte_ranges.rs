//! Which part of a representation a GET asks for (RFC 9110 §14): the
//! `Range` header read against the representation's length, and
//! `If-Range` deciding whether the range still applies.
//!
//! Choices the RFC leaves to the server: a syntactically invalid Range, or
//! a unit other than bytes, is ignored (the whole, 200); several ranges are
//! answered as one part when they overlap or touch, otherwise with the
//! whole (no multipart/byteranges: audio players ask for one range).

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with every byte.
    Whole,
    /// 206 with bytes `first..=last` and `Content-Range: bytes first-last/len`.
    Part { first: u64, last: u64 },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The validators of what is stored, to compare `If-Range` with.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// A strong entity tag, quoted (`"..."`).
    pub etag: &'a str,
    /// `Last-Modified` as sent (an IMF-fixdate).
    pub last_modified: &'a str,
}

/// The answer for a GET of `len` bytes with these `Range` and `If-Range`
/// header values.
pub fn answer(
    range: Option<&str>,
    if_range: Option<&str>,
    len: u64,
    validators: Validators<'_>,
) -> Answer {
    let Some(range) = range else {
        return Answer::Whole;
    };
    if let Some(condition) = if_range
        && !if_range_holds(condition.trim(), validators)
    {
        // The client's copy is stale: it needs the whole new one.
        return Answer::Whole;
    }
    let Some(specs) = parse(range) else {
        return Answer::Whole;
    };
    let mut parts: Vec<(u64, u64)> = specs.iter().filter_map(|s| s.resolve(len)).collect();
    if parts.is_empty() {
        return Answer::Unsatisfiable;
    }
    parts.sort_unstable();
    let (first, mut last) = parts[0];
    for &(start, end) in &parts[1..] {
        if start > last.saturating_add(1) {
            return Answer::Whole;
        }
        last = last.max(end);
    }
    Answer::Part { first, last }
}

/// RFC 9110 §13.1.5: an entity tag matches only strongly (a weak one never
/// does); a date only when it is exactly the Last-Modified sent.
fn if_range_holds(condition: &str, validators: Validators<'_>) -> bool {
    if condition.starts_with('"') || condition.starts_with("W/") {
        return condition == validators.etag;
    }
    match (
        condition.parse::<actix_web::http::header::HttpDate>(),
        validators
            .last_modified
            .parse::<actix_web::http::header::HttpDate>(),
    ) {
        (Ok(asked), Ok(stored)) => asked == stored,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-` (`last` absent).
    From { first: u64, last: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl Spec {
    /// The satisfiable byte span of this spec for `len` bytes, clamped to
    /// the end (RFC 9110 §14.1.2).
    fn resolve(self, len: u64) -> Option<(u64, u64)> {
        let end = len.checked_sub(1)?;
        match self {
            Self::From { first, last } if first <= end => {
                Some((first, last.map_or(end, |l| l.min(end))))
            }
            Self::From { .. } | Self::Suffix(0) => None,
            Self::Suffix(n) => Some((len - n.min(len), end)),
        }
    }
}

/// The specs of a `bytes=` range set, or `None` when it is not valid
/// syntax (then the header is ignored).
fn parse(value: &str) -> Option<Vec<Spec>> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let specs: Vec<Spec> = set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_spec)
        .collect::<Option<_>>()?;
    (!specs.is_empty()).then_some(specs)
}

fn parse_spec(spec: &str) -> Option<Spec> {
    let (first, last) = spec.split_once('-')?;
    if first.is_empty() {
        return Some(Spec::Suffix(digits(last)?));
    }
    let first = digits(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(digits(last)?)
    };
    if last.is_some_and(|l| l < first) {
        return None;
    }
    Some(Spec::From { first, last })
}

/// A run of ASCII digits; a number past u64 counts as u64::MAX (it is past
/// any end anyway).
fn digits(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(raw.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: u64 = 1000;
    const V: Validators<'static> = Validators {
        etag: "\"abc\"",
        last_modified: "Tue, 01 Dec 2026 10:00:00 GMT",
    };

    fn range(value: &str) -> Answer {
        answer(Some(value), None, LEN, V)
    }

    #[test]
    fn single_ranges_are_clamped_to_the_end() {
        assert_eq!(range("bytes=0-99"), Answer::Part { first: 0, last: 99 });
        assert_eq!(
            range("bytes=0-5000"),
            Answer::Part {
                first: 0,
                last: 999
            }
        );
        assert_eq!(
            range("bytes=0-99999999999999999999999"),
            Answer::Part {
                first: 0,
                last: 999
            }
        );
        assert_eq!(
            range("bytes=990-"),
            Answer::Part {
                first: 990,
                last: 999
            }
        );
        assert_eq!(
            range("bytes=-10"),
            Answer::Part {
                first: 990,
                last: 999
            }
        );
        assert_eq!(
            range("bytes=-5000"),
            Answer::Part {
                first: 0,
                last: 999
            }
        );
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(range("bytes=1000-"), Answer::Unsatisfiable);
        assert_eq!(range("bytes=1000-2000"), Answer::Unsatisfiable);
        assert_eq!(range("bytes=-0"), Answer::Unsatisfiable);
        assert_eq!(range("bytes=5000-6000, 7000-"), Answer::Unsatisfiable);
    }

    #[test]
    fn several_ranges_make_one_part_only_when_they_join() {
        assert_eq!(
            range("bytes=0-99, 100-199"),
            Answer::Part {
                first: 0,
                last: 199
            }
        );
        assert_eq!(
            range("bytes=50-150,0-99"),
            Answer::Part {
                first: 0,
                last: 150
            }
        );
        assert_eq!(range("bytes=0-9, 500-509"), Answer::Whole);
        // The unsatisfiable member is dropped.
        assert_eq!(
            range("bytes=0-9, 5000-"),
            Answer::Part { first: 0, last: 9 }
        );
    }

    #[test]
    fn invalid_ranges_are_ignored() {
        for value in [
            "bytes=abc",
            "items=0-1",
            "bytes=9-1",
            "bytes=",
            "bytes=1-2-3",
            "0-1",
        ] {
            assert_eq!(range(value), Answer::Whole, "{value}");
        }
    }

    #[test]
    fn a_stale_if_range_asks_for_the_whole() {
        let with = |if_range| answer(Some("bytes=0-9"), Some(if_range), LEN, V);
        let part = Answer::Part { first: 0, last: 9 };
        assert_eq!(with("\"abc\""), part);
        assert_eq!(with("Tue, 01 Dec 2026 10:00:00 GMT"), part);
        assert_eq!(with("\"old\""), Answer::Whole);
        assert_eq!(with("W/\"abc\""), Answer::Whole, "weak tags never match");
        assert_eq!(with("Mon, 30 Nov 2026 10:00:00 GMT"), Answer::Whole);
        assert_eq!(with("not a date"), Answer::Whole);
        // If-Range without Range changes nothing.
        assert_eq!(answer(None, Some("\"old\""), LEN, V), Answer::Whole);
    }
}
