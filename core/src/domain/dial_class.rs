//! Destination classes (docs/dialing.md, "Dial authorisation"): what kind
//! of number a dial goes to, computed from the number and the dialling
//! phone's own number with the phone-number metadata (number type and
//! region). Emergency and extension numbers are short codes, not E.164:
//! [`short_code`] recognises them before a national number is read.

use phonenumber::Type;
use phonenumber::metadata::DATABASE;

use super::E164;
use super::phone_number::{Region, region_of};

/// The class of a destination; rules allow classes per scope and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DestinationClass {
    /// A number of the dialling phone's own country (fixed line, toll-free,
    /// shared cost, VoIP, personal, pager, universal access).
    Domestic,
    /// A mobile number of the dialling phone's own country.
    Mobile,
    /// Any number of another country (or of no country, e.g. `+800`).
    International,
    /// A premium-rate number, of any country.
    PremiumRate,
    /// An emergency short code of the phone's country; never refused by
    /// class or hours rules.
    Emergency,
    /// An internal extension: a short code of 3 to 6 digits that is
    /// neither an emergency code nor a valid national number.
    Internal,
}

impl DestinationClass {
    pub const ALL: [Self; 6] = [
        Self::Domestic,
        Self::Mobile,
        Self::International,
        Self::PremiumRate,
        Self::Emergency,
        Self::Internal,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Domestic => "domestic",
            Self::Mobile => "mobile",
            Self::International => "international",
            Self::PremiumRate => "premium_rate",
            Self::Emergency => "emergency",
            Self::Internal => "internal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The class of a valid E.164 `number` dialled from a phone whose own
/// number is `phone_e164`: premium rate anywhere; otherwise international
/// when the number's region differs from the phone's (including NANP
/// neighbours: +1 Canada from a +1 US phone), mobile or domestic when they
/// share it. `FixedLineOrMobile` (e.g. the US) counts as domestic.
pub fn classify(number: &E164, phone_e164: &str) -> DestinationClass {
    let Ok(parsed) = phonenumber::parse(None, number.as_str()) else {
        return DestinationClass::International;
    };
    let kind = parsed.number_type(&DATABASE);
    if kind == Type::PremiumRate {
        return DestinationClass::PremiumRate;
    }
    let home = region_of(phone_e164);
    let region = parsed.country().id();
    if home.is_none() || region != home {
        return DestinationClass::International;
    }
    match kind {
        Type::Mobile => DestinationClass::Mobile,
        _ => DestinationClass::Domestic,
    }
}

/// Emergency short codes every phone may dial: 112 and 911 are routed to
/// emergency services by GSM networks everywhere, and most countries keep
/// one of them on fixed lines too.
const EVERYWHERE: [&str; 2] = ["112", "911"];

/// Further emergency codes by country (police, fire, ambulance).
const BY_COUNTRY: &[(&str, &[&str])] = &[
    ("AT", &["122", "133", "144"]),
    ("AU", &["000"]),
    ("BE", &["100", "101"]),
    ("CH", &["117", "118", "144"]),
    ("CN", &["110", "119", "120"]),
    ("DE", &["110"]),
    ("DK", &["114"]),
    ("ES", &["061", "062", "080", "091", "092"]),
    ("FR", &["114"]),
    ("GB", &["999"]),
    ("HK", &["999"]),
    ("IE", &["999"]),
    ("IN", &["100", "101", "102", "108"]),
    ("IT", &["113", "115", "118"]),
    ("JP", &["110", "118", "119"]),
    ("KR", &["119"]),
    ("MY", &["999"]),
    ("NL", &["0900"]),
    ("NZ", &["111"]),
    ("PL", &["997", "998", "999"]),
    ("SG", &["995", "999"]),
    ("ZA", &["10111", "10177"]),
];

/// A number dialled as a short code rather than a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShortCode {
    Emergency(String),
    Extension(String),
}

impl ShortCode {
    pub fn class(&self) -> DestinationClass {
        match self {
            Self::Emergency(_) => DestinationClass::Emergency,
            Self::Extension(_) => DestinationClass::Internal,
        }
    }

    /// The digits the phone dials (and the dial stores as its number).
    pub fn digits(&self) -> &str {
        match self {
            Self::Emergency(d) | Self::Extension(d) => d,
        }
    }
}

/// Whether `raw` (a national dial number, no `+`) is a short code for a
/// phone of `region`: an emergency code of that country (or 112/911), or
/// an extension of 3 to 6 digits that is not a valid national number.
/// Separators are ignored. `None`: read it as a national number.
pub fn short_code(raw: &str, region: Option<Region>) -> Option<ShortCode> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if is_emergency(&digits, region) {
        return Some(ShortCode::Emergency(digits));
    }
    if !(3..=6).contains(&digits.len()) {
        return None;
    }
    let national = region.and_then(|r| phonenumber::parse(Some(r), &digits).ok());
    match national {
        Some(n) if phonenumber::is_valid(&n) => None,
        _ => Some(ShortCode::Extension(digits)),
    }
}

fn is_emergency(digits: &str, region: Option<Region>) -> bool {
    if EVERYWHERE.contains(&digits) {
        return true;
    }
    let Some(region) = region else {
        return false;
    };
    let code = region.as_ref();
    BY_COUNTRY
        .iter()
        .find(|(c, _)| *c == code)
        .is_some_and(|(_, codes)| codes.contains(&digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN_PHONE: &str = "+4930901820";

    fn class(number: &str, phone: &str) -> DestinationClass {
        let number = E164::parse_international("number", number).unwrap_or_else(|e| panic!("{e}"));
        classify(&number, phone)
    }

    #[test]
    fn numbers_are_classed_by_type_and_country() {
        use DestinationClass as C;
        assert_eq!(class("+4940123456", BERLIN_PHONE), C::Domestic);
        assert_eq!(class("+4915123456789", BERLIN_PHONE), C::Mobile);
        assert_eq!(class("+442079460000", BERLIN_PHONE), C::International);
        assert_eq!(class("+447911123456", BERLIN_PHONE), C::International);
        assert_eq!(class("+499001234567", BERLIN_PHONE), C::PremiumRate);
        // Toll-free at home is domestic.
        assert_eq!(class("+498001234567", BERLIN_PHONE), C::Domestic);
        // US numbers cannot tell fixed from mobile: domestic.
        assert_eq!(class("+16502530000", "+12125550100"), C::Domestic);
        // Canada from a US phone is another country.
        assert_eq!(class("+14165550123", "+12125550100"), C::International);
        // A phone of no country sees everything as international.
        assert_eq!(class("+4940123456", "+80012345678"), C::International);
    }

    #[test]
    fn short_codes_are_emergency_or_extensions() {
        let de = region_of(BERLIN_PHONE);
        let gb = region_of("+442079460000");
        let au = region_of("+61291234567");
        assert_eq!(
            short_code("112", de),
            Some(ShortCode::Emergency("112".into()))
        );
        assert_eq!(
            short_code("110", de),
            Some(ShortCode::Emergency("110".into()))
        );
        assert_eq!(
            short_code("999", gb),
            Some(ShortCode::Emergency("999".into()))
        );
        assert_eq!(
            short_code("000", au),
            Some(ShortCode::Emergency("000".into()))
        );
        assert_eq!(
            short_code("911", au),
            Some(ShortCode::Emergency("911".into()))
        );
        // 999 is no emergency code in Germany: an extension there.
        assert_eq!(
            short_code("999", de),
            Some(ShortCode::Extension("999".into()))
        );
        assert_eq!(
            short_code("20-41", de),
            Some(ShortCode::Extension("2041".into()))
        );
        // A valid national number is not a short code.
        assert_eq!(short_code("030 901820", de), None);
        assert_eq!(short_code("1234567", de), None);
        assert_eq!(
            short_code("112", de).map(|c| c.class()),
            Some(DestinationClass::Emergency)
        );
    }

    #[test]
    fn classes_round_trip_their_names() {
        for class in DestinationClass::ALL {
            assert_eq!(DestinationClass::parse(class.as_str()), Some(class));
        }
        assert_eq!(DestinationClass::parse("premium"), None);
    }
}
