use super::FieldError;
use crate::wire::ErrorCode;

/// A valid phone number in E.164 form (`+` and digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164(String);

/// What a caller without a `+` should do; each message names only what the
/// caller's request can carry.
const E164_ONLY: &str = "give the number in E.164 form: + and the country code, e.g. +4930901820";

impl E164 {
    /// Parses `raw` as E.164, or as a national number of `region` (the
    /// request's ISO 3166-1 alpha-2 `region` field) when it does not start
    /// with `+`. For routes that have a `region` field.
    pub fn parse(field: &'static str, raw: &str, region: Option<&str>) -> Result<Self, FieldError> {
        let raw = check_length(field, raw)?;
        let region = match region {
            None => None,
            Some(code) => Some(
                code.trim()
                    .to_uppercase()
                    .parse::<phonenumber::country::Id>()
                    .map_err(|_| {
                        FieldError::new(
                            "region",
                            ErrorCode::InvalidRegion,
                            "must be an ISO 3166-1 alpha-2 region code such as DE or US",
                        )
                    })?,
            ),
        };
        if !raw.starts_with('+') && region.is_none() {
            return Err(FieldError::new(
                field,
                ErrorCode::InvalidPhoneNumber,
                "give the number in E.164 form (+ and country code, e.g. +4930901820), \
                 or a national number together with region (e.g. DE)",
            ));
        }
        parse_in(field, raw, region)
    }

    /// Parses `raw` as E.164 only (for requests with no country to read a
    /// national number in).
    pub fn parse_international(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let raw = check_length(field, raw)?;
        if !raw.starts_with('+') {
            return Err(FieldError::new(
                field,
                ErrorCode::InvalidPhoneNumber,
                E164_ONLY,
            ));
        }
        parse_in(field, raw, None)
    }

    /// Parses `raw` as E.164, or as a national number of `region` when it
    /// does not start with `+` (a dial read in the country of the phone that
    /// dials it, as call records are).
    pub fn parse_national(
        field: &'static str,
        raw: &str,
        region: Region,
    ) -> Result<Self, FieldError> {
        let raw = check_length(field, raw)?;
        parse_in(field, raw, Some(region))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn check_length<'a>(field: &'static str, raw: &'a str) -> Result<&'a str, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 40 {
        return Err(FieldError::new(
            field,
            ErrorCode::InvalidPhoneNumber,
            "must be a phone number of at most 40 characters",
        ));
    }
    Ok(raw)
}

fn parse_in(field: &'static str, raw: &str, region: Option<Region>) -> Result<E164, FieldError> {
    let parsed = phonenumber::parse(region, raw).map_err(|e| {
        FieldError::new(
            field,
            ErrorCode::InvalidPhoneNumber,
            format!("not a phone number: {e}"),
        )
    })?;
    if !phonenumber::is_valid(&parsed) {
        return Err(FieldError::new(
            field,
            ErrorCode::InvalidPhoneNumber,
            "not a valid number for its country",
        ));
    }
    Ok(E164(
        parsed.format().mode(phonenumber::Mode::E164).to_string(),
    ))
}

/// A number as a salesperson typed it: E.164, or a national number, read
/// only once the phone that dials it is known, in the country of that
/// phone's own number (as its call records are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialNumber {
    International(E164),
    National(String),
}

impl DialNumber {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let raw = check_length(field, raw)?;
        if raw.starts_with('+') {
            return E164::parse_international(field, raw).map(Self::International);
        }
        let digits = raw.chars().filter(char::is_ascii_digit).count();
        let separators_only = raw
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'));
        if !separators_only || !(3..=17).contains(&digits) {
            return Err(FieldError::new(
                field,
                ErrorCode::InvalidPhoneNumber,
                "not a phone number: give it with + and the country code (e.g. +4930901820) \
                 or as dialled in the country of your desk phone's own number (e.g. 030 901820)",
            ));
        }
        Ok(Self::National(raw.to_owned()))
    }

    /// The number as understood before the phone is known: E.164, or the
    /// national number's digits (so spacing does not make a retry differ).
    pub fn canonical(&self) -> String {
        match self {
            Self::International(e164) => e164.as_str().to_owned(),
            Self::National(raw) => raw.chars().filter(char::is_ascii_digit).collect(),
        }
    }

    /// The E.164 number the phone whose own number is `phone_e164` dials.
    pub fn resolve(&self, field: &'static str, phone_e164: &str) -> Result<E164, FieldError> {
        match self {
            Self::International(e164) => Ok(e164.clone()),
            Self::National(raw) => match region_of(phone_e164) {
                Some(region) => E164::parse_national(field, raw, region).map_err(|e| {
                    FieldError::new(
                        field,
                        e.code,
                        format!(
                            "{raw} is not a valid number in the country of your desk phone \
                             ({phone_e164}); give it with + and the country code"
                        ),
                    )
                }),
                None => Err(FieldError::new(
                    field,
                    ErrorCode::InvalidPhoneNumber,
                    format!(
                        "your desk phone's own number {phone_e164} belongs to no single country \
                         to read {raw} in; give the number with + and the country code"
                    ),
                )),
            },
        }
    }
}

/// A country whose national numbering reads numbers without a `+`.
pub type Region = phonenumber::country::Id;

/// The country a phone's own E.164 number belongs to: the region in which
/// the numbers it reports without a `+` are read.
pub fn region_of(e164: &str) -> Option<phonenumber::country::Id> {
    phonenumber::parse(None, e164).ok()?.country().id()
}

/// `raw` in E.164 when it is a valid number (national numbers read in
/// `region`); `None` for anything else, such as "anonymous" or an extension.
pub fn best_effort_e164(raw: &str, region: Option<phonenumber::country::Id>) -> Option<String> {
    let raw = raw.trim();
    // Cheap refusals first: most non-numbers never reach the parser.
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if !(4..=17).contains(&digits) || (!raw.starts_with('+') && region.is_none()) {
        return None;
    }
    let parsed = phonenumber::parse(region, raw).ok()?;
    phonenumber::is_valid(&parsed)
        .then(|| parsed.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_need_a_region() {
        assert_eq!(
            E164::parse("number", "030 901820", Some("de")).map(E164::into_inner),
            Ok("+4930901820".into())
        );
        assert_eq!(
            E164::parse("number", "+1 650-253-0000", None).map(E164::into_inner),
            Ok("+16502530000".into())
        );
        assert_eq!(
            E164::parse("number", "030 901820", None)
                .err()
                .map(|e| e.code.as_str()),
            Some("invalid_phone_number")
        );
        assert_eq!(
            E164::parse("number", "+99912", None).err().map(|e| e.field),
            Some("number")
        );
        assert_eq!(
            E164::parse("number", "123", Some("XX"))
                .err()
                .map(|e| e.code.as_str()),
            Some("invalid_region")
        );
    }

    #[test]
    fn dial_numbers_are_read_in_the_dialling_phones_country() {
        let national = DialNumber::parse("number", "030 901820").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(national.canonical(), "030901820");
        assert_eq!(
            national
                .resolve("number", "+4940123456")
                .map(E164::into_inner),
            Ok("+4930901820".into())
        );
        // A number of no country (international freephone) gives advice.
        let advice = national
            .resolve("number", "+80012345678")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(advice.contains("+ and the country code"), "{advice}");
        assert!(DialNumber::parse("number", "call me").is_err());
    }

    #[test]
    fn national_numbers_read_in_a_given_country_or_refused_with_advice() {
        let de = region_of("+4940123456").unwrap_or_else(|| panic!("DE"));
        assert_eq!(
            E164::parse_national("number", "030 901820", de).map(E164::into_inner),
            Ok("+4930901820".into())
        );
        assert_eq!(
            E164::parse_national("number", "+1 650-253-0000", de).map(E164::into_inner),
            Ok("+16502530000".into())
        );
        let refused = E164::parse_international("do_not_call", "030 901820").err();
        assert_eq!(
            refused.as_ref().map(|e| e.code.as_str()),
            Some("invalid_phone_number")
        );
        let advice = refused.map(|e| e.message).unwrap_or_default();
        assert!(!advice.contains("region"), "{advice}");
    }
}
