//! A refused form's message placed next to the field the API named
//! (`ApiError::Validation { field, .. }`), or above the form when the
//! refusal names no field the form shows (a conflict, a rule).

use actix_web::http::StatusCode;

use super::error::ConsoleError;
use super::pages::admin::form::refusal;
use crate::error::ApiError;

/// Why a posted form was not saved.
#[derive(Debug, Clone)]
pub struct FormErrors {
    pub status: StatusCode,
    /// The API's field name (`numbers`, `label`, ...), when it named one.
    pub field: Option<String>,
    /// The API's own words.
    pub message: String,
    /// The fields the form shows; a refusal about another goes above it.
    pub shown: &'static [&'static str],
}

impl FormErrors {
    /// What the form says for an API refusal; not found, forbidden and
    /// internal errors stay errors (the error page).
    pub fn from_api(e: ApiError, shown: &'static [&'static str]) -> Result<Self, ConsoleError> {
        let field = match &e {
            ApiError::Validation { field, detail, .. }
            | ApiError::InvalidQuery { field, detail } => Some((field.clone(), detail.clone())),
            _ => None,
        };
        let general = refusal(e)?;
        Ok(match field {
            Some((field, detail)) if shown.iter().any(|s| covers(s, &field)) => Self {
                status: general.status,
                field: Some(field),
                message: capitalised(&detail),
                shown,
            },
            _ => Self {
                status: general.status,
                field: None,
                message: general.message,
                shown,
            },
        })
    }

    /// A refusal the page itself makes about `field` (422).
    pub fn invalid(
        field: &str,
        message: impl Into<String>,
        shown: &'static [&'static str],
    ) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: Some(field.to_owned()),
            message: message.into(),
            shown,
        }
    }

    /// The message for `field`'s control, if it is about that field.
    pub fn at(&self, field: &str) -> Option<&str> {
        self.field
            .as_deref()
            .filter(|f| covers(field, f))
            .map(|_| self.message.as_str())
    }

    /// The message shown above the form: one about no shown field.
    pub fn general(&self) -> Option<&str> {
        match &self.field {
            Some(f) if self.shown.iter().any(|s| covers(s, f)) => None,
            _ => Some(self.message.as_str()),
        }
    }
}

/// Whether the control `shown` is where the API's `field` is fixed
/// (`numbers` covers `numbers[2]`).
fn covers(shown: &str, field: &str) -> bool {
    field == shown
        || field
            .strip_prefix(shown)
            .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `Option<FormErrors>` as templates read it.
pub trait FieldMessages {
    fn at(&self, field: &str) -> Option<&str>;
    fn general(&self) -> Option<&str>;
}

impl FieldMessages for Option<FormErrors> {
    fn at(&self, field: &str) -> Option<&str> {
        self.as_ref().and_then(|e| e.at(field))
    }

    fn general(&self) -> Option<&str> {
        self.as_ref().and_then(|e| e.general())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbind_core::wire::ErrorCode;

    const SHOWN: &[&str] = &["name", "numbers"];

    fn validation(field: &str) -> ApiError {
        ApiError::Validation {
            code: ErrorCode::InvalidPhoneNumber,
            field: field.into(),
            detail: "is not a phone number".into(),
        }
    }

    #[test]
    fn a_field_refusal_goes_next_to_its_field() {
        let e = FormErrors::from_api(validation("numbers"), SHOWN).unwrap();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.at("numbers"), Some("Is not a phone number"));
        assert_eq!(e.at("name"), None);
        assert_eq!(e.general(), None);
    }

    #[test]
    fn a_refusal_about_an_unshown_field_goes_above_the_form() {
        let e = FormErrors::from_api(validation("region"), SHOWN).unwrap();
        assert_eq!(e.at("numbers"), None);
        assert_eq!(e.general(), Some("region: is not a phone number"));
    }

    #[test]
    fn not_found_stays_an_error_page() {
        assert!(FormErrors::from_api(ApiError::NotFound, SHOWN).is_err());
    }
}
