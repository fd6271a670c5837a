use crate::wire::ErrorCode;
use std::str::FromStr;

use super::FieldError;

/// A syntactically valid email address, lower-cased so lookups and the unique
/// index treat `Ann@X.com` and `ann@x.com` as one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.len() > 254 {
            return Err(FieldError::new(
                field,
                ErrorCode::InvalidEmail,
                "must be at most 254 characters",
            ));
        }
        email_address::EmailAddress::from_str(trimmed)
            .map(|_| Self(trimmed.to_lowercase()))
            .map_err(|e| {
                FieldError::new(
                    field,
                    ErrorCode::InvalidEmail,
                    format!("not a valid email address: {e}"),
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_rejects_garbage() {
        assert_eq!(
            Email::parse("email", " Ann@Example.COM ").map(Email::into_inner),
            Ok("ann@example.com".into())
        );
        let err = Email::parse("email", "not-an-email").err();
        assert_eq!(
            err.map(|e| (e.field, e.code.as_str())),
            Some(("email", "invalid_email"))
        );
    }
}
