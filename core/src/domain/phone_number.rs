use super::FieldError;

/// A valid phone number in E.164 form (`+` and digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164(String);

impl E164 {
    /// Parses `raw` as E.164, or as a national number of `region` (ISO 3166-1
    /// alpha-2) when it does not start with `+`.
    pub fn parse(field: &'static str, raw: &str, region: Option<&str>) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 40 {
            return Err(FieldError::new(
                field,
                "invalid_phone_number",
                "must be a phone number of at most 40 characters",
            ));
        }
        let region = match region {
            None => None,
            Some(code) => Some(
                code.trim()
                    .to_uppercase()
                    .parse::<phonenumber::country::Id>()
                    .map_err(|_| {
                        FieldError::new(
                            "region",
                            "invalid_region",
                            "must be an ISO 3166-1 alpha-2 region code such as DE or US",
                        )
                    })?,
            ),
        };
        if !raw.starts_with('+') && region.is_none() {
            return Err(FieldError::new(
                field,
                "invalid_phone_number",
                "give the number in E.164 form (+ and country code) or set region",
            ));
        }
        let parsed = phonenumber::parse(region, raw).map_err(|e| {
            FieldError::new(
                field,
                "invalid_phone_number",
                format!("not a phone number: {e}"),
            )
        })?;
        if !phonenumber::is_valid(&parsed) {
            return Err(FieldError::new(
                field,
                "invalid_phone_number",
                "not a valid number for its country",
            ));
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
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
                .map(|e| e.code),
            Some("invalid_phone_number")
        );
        assert_eq!(
            E164::parse("number", "+99912", None).err().map(|e| e.field),
            Some("number")
        );
        assert_eq!(
            E164::parse("number", "123", Some("XX"))
                .err()
                .map(|e| e.code),
            Some("invalid_region")
        );
    }
}
