//! Fields of a partial update where `null` means "clear" and absence means
//! "leave as it is": `Option<Option<T>>` with `#[serde(default,
//! deserialize_with = "present", skip_serializing_if = "Option::is_none")]`.
//! serde alone reads `null` as absent; and a client's untouched field is
//! left out, not sent as a `null` that would clear it.

use serde::{Deserialize, Deserializer};

/// A field that was sent, `null` included, becomes `Some(value)`; an absent
/// one stays `None` (by `default`).
pub(super) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::present;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Change {
        #[serde(default, deserialize_with = "present")]
        days: Option<Option<i64>>,
    }

    #[test]
    fn absent_null_and_a_value_are_told_apart() {
        let read = |json: &str| serde_json::from_str::<Change>(json).unwrap().days;
        assert_eq!(read("{}"), None);
        assert_eq!(read(r#"{"days":null}"#), Some(None));
        assert_eq!(read(r#"{"days":3}"#), Some(Some(3)));
        assert!(serde_json::from_str::<Change>(r#"{"days":"3"}"#).is_err());
    }
}
