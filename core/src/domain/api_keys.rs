//! What an API key may be created with: a name and a set of known scopes.

use super::FieldError;
use super::NonBlank;
use crate::wire::{ApiKeyScope, ErrorCode, MAX_API_KEY_NAME_CHARS};

/// A key's name: trimmed, not blank, at most
/// [`MAX_API_KEY_NAME_CHARS`] characters.
pub fn key_name(raw: &str) -> Result<String, FieldError> {
    Ok(NonBlank::parse("name", raw, MAX_API_KEY_NAME_CHARS)?.into_inner())
}

/// The scopes named, each once, in the order of [`ApiKeyScope::ALL`]; at
/// least one, and every name known.
pub fn scopes(raw: &[String]) -> Result<Vec<ApiKeyScope>, FieldError> {
    let mut chosen = Vec::new();
    for name in raw {
        let scope = ApiKeyScope::parse(name.trim()).ok_or_else(|| {
            FieldError::new(
                "scopes",
                ErrorCode::UnknownScope,
                format!("unknown scope {name:?}; known: {}", known()),
            )
        })?;
        chosen.push(scope);
    }
    let ordered: Vec<ApiKeyScope> = ApiKeyScope::ALL
        .iter()
        .copied()
        .filter(|s| chosen.contains(s))
        .collect();
    if ordered.is_empty() {
        return Err(FieldError::new(
            "scopes",
            ErrorCode::InvalidField,
            format!("name at least one scope: {}", known()),
        ));
    }
    Ok(ordered)
}

/// The stored form: names separated by spaces.
pub fn stored_scopes(scopes: &[ApiKeyScope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn known() -> String {
    ApiKeyScope::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_are_deduplicated_and_put_in_a_fixed_order() {
        let parsed = scopes(&names(&["contacts:write", "calls:read", "contacts:write"])).unwrap();
        assert_eq!(
            parsed,
            vec![ApiKeyScope::CallsRead, ApiKeyScope::ContactsWrite]
        );
        assert_eq!(stored_scopes(&parsed), "calls:read contacts:write");
    }

    #[test]
    fn unknown_and_missing_scopes_are_refused() {
        assert_eq!(
            scopes(&names(&["calls:read", "calls:write"]))
                .unwrap_err()
                .code,
            ErrorCode::UnknownScope
        );
        assert_eq!(scopes(&[]).unwrap_err().code, ErrorCode::InvalidField);
    }

    #[test]
    fn a_name_is_trimmed_and_bounded() {
        assert_eq!(key_name("  HubSpot ").unwrap(), "HubSpot");
        assert_eq!(key_name("  ").unwrap_err().code, ErrorCode::Blank);
        assert!(key_name(&"x".repeat(MAX_API_KEY_NAME_CHARS + 1)).is_err());
    }
}
