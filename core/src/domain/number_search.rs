//! Searching call records by number (docs/decisions/0014-number-search.md).
//! A record keeps the digits of its remote number, as reported and in
//! E.164, in one search column that a trigram index serves; a search is the
//! digits of the query, and matches when they occur in either form.

/// The fewest digits a number search takes: below this a trigram index
/// cannot narrow the search, and a handful of digits matches a good part
/// of any call log anyway.
pub const MIN_SEARCH_DIGITS: usize = 3;

/// Why a search text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchRefusal {
    /// Fewer than [`MIN_SEARCH_DIGITS`] digits (`found` of them).
    TooFewDigits { found: usize },
}

/// The ASCII digits of `text`, in order.
pub fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The digits a search for `query` looks for: every character that is not a
/// digit is dropped (`+49 (30) 123` searches `4930123`).
pub fn search_digits(query: &str) -> Result<String, SearchRefusal> {
    let digits = digits_of(query);
    if digits.len() < MIN_SEARCH_DIGITS {
        return Err(SearchRefusal::TooFewDigits {
            found: digits.len(),
        });
    }
    Ok(digits)
}

/// The search column of a record: the digits of the remote number as
/// reported and of its E.164 form, separated by a space so that no search
/// matches across the two; one form alone when its digits contain the
/// other's (then the other adds no match). The migration that added the
/// column computes the same in SQL for the rows before it.
pub fn stored_digits(remote_number: &str, remote_e164: Option<&str>) -> String {
    let raw = digits_of(remote_number);
    let e164 = remote_e164.map(digits_of).unwrap_or_default();
    if e164.contains(&raw) {
        e164
    } else if raw.contains(&e164) {
        raw
    } else {
        format!("{raw} {e164}")
    }
}

/// Whether a record with `stored` (its [`stored_digits`]) matches a search
/// for `digits`: the brute-force meaning the indexes must agree with.
pub fn matches(stored: &str, digits: &str) -> bool {
    stored.split(' ').any(|form| form.contains(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_keep_only_digits_and_need_enough_of_them() {
        assert_eq!(search_digits("+49 (30) 123-4").unwrap(), "49301234");
        assert_eq!(search_digits(" 030 ").unwrap(), "030");
        assert_eq!(
            search_digits("+4 9"),
            Err(SearchRefusal::TooFewDigits { found: 2 })
        );
        assert_eq!(
            search_digits("abc"),
            Err(SearchRefusal::TooFewDigits { found: 0 })
        );
    }

    #[test]
    fn the_column_holds_each_form_once() {
        assert_eq!(
            stored_digits("+49 30 1234567", Some("+49301234567")),
            "49301234567"
        );
        assert_eq!(
            stored_digits("030 1234567", Some("+49301234567")),
            "0301234567 49301234567"
        );
        assert_eq!(stored_digits("anonymous", None), "");
        assert_eq!(stored_digits("Büro 12a", None), "12");
        assert_eq!(stored_digits("201", Some("+49201")), "49201");
    }

    #[test]
    fn a_search_matches_within_one_form_only() {
        let stored = stored_digits("030 1234567", Some("+49301234567"));
        assert!(matches(&stored, "0301"));
        assert!(matches(&stored, "4930"));
        assert!(!matches(&stored, "67 49"));
        assert!(!matches(&stored, "6749"));
    }
}
