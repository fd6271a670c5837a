//! Whether the number a phone reports is the number deskbind asked it to
//! dial. Phones rewrite numbers through their dial plans (an added `0` for
//! an outside line, `00` for `+`, a national form), so the match compares
//! digits from the end.

/// The fewest trailing digits two different forms must share.
const MIN_SHARED_DIGITS: usize = 6;

fn significant_digits(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').to_owned()
}

/// `true` when `reported` is `dialled` as the phone rewrote it.
pub fn same_number(dialled: &str, reported: &str) -> bool {
    let a = significant_digits(dialled);
    let b = significant_digits(reported);
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short.len() >= MIN_SHARED_DIGITS && long.ends_with(short.as_str())
}

#[cfg(test)]
mod tests {
    use super::same_number;

    #[test]
    fn dial_plan_rewrites_still_match() {
        assert!(same_number("+4930123456", "+4930123456"));
        assert!(same_number("+4930123456", "004930123456"));
        assert!(same_number("+4930123456", "030123456"));
        assert!(same_number("+4930123456", "0030123456"));
        assert!(same_number("+4930123456", "sip-ish 49 30 123 456"));
    }

    #[test]
    fn different_numbers_do_not() {
        assert!(!same_number("+4930123456", "+4930123457"));
        assert!(!same_number("+4930123456", "456"));
        assert!(!same_number("+4930123456", ""));
        assert!(!same_number("", ""));
    }
}
