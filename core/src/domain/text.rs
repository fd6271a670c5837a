use super::FieldError;
use crate::wire::ErrorCode;

/// Trimmed text that is not empty and at most `max` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonBlank(String);

impl NonBlank {
    pub fn parse(field: &'static str, raw: &str, max: usize) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(
                field,
                ErrorCode::Blank,
                "must not be empty",
            ));
        }
        if trimmed.chars().count() > max {
            return Err(FieldError::new(
                field,
                ErrorCode::TooLong,
                format!("must be at most {max} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                ErrorCode::InvalidCharacters,
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password that meets the length policy (NIST SP 800-63B: at least 10
/// characters here, no composition rules, a cap so hashing stays bounded).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(****)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                ErrorCode::WeakPassword,
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                ErrorCode::TooLong,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name known to the tz database, e.g. `Europe/Berlin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| {
                FieldError::new(
                    field,
                    ErrorCode::InvalidTimeZone,
                    "must be an IANA time zone such as Europe/Berlin",
                )
            })
    }

    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    /// The zone itself (a parsed name always resolves).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0.parse().unwrap_or(chrono_tz::UTC)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}
