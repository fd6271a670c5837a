//! A phone's driver, vendor and model (docs/vendor-phones.md). Without a
//! driver (deskbind's own protocol) vendor and model are free text. With
//! one, the vendor is the driver's, written its way, and the model is one
//! its driver knows (or none).

use super::FieldError;
use crate::vendor::Vendor;
use crate::wire::ErrorCode;

/// A phone's driver (a `Vendor` id), vendor and model as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneKind {
    pub driver: Option<String>,
    pub vendor: Option<String>,
    pub model: Option<String>,
}

/// What a request changes: `None` leaves a field alone; `driver:
/// Some(None)` takes the driver away. Texts are already trimmed and
/// non-blank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindChange {
    pub driver: Option<Option<String>>,
    pub vendor: Option<String>,
    pub model: Option<String>,
}

impl KindChange {
    pub fn is_empty(&self) -> bool {
        self.driver.is_none() && self.vendor.is_none() && self.model.is_none()
    }
}

/// The driver, vendor and model after `change`, checked together (a phone
/// stored before these checks keeps what it has until one of them changes).
pub fn settle(current: &PhoneKind, change: KindChange) -> Result<PhoneKind, FieldError> {
    if change.is_empty() {
        return Ok(current.clone());
    }
    let driver = change
        .driver
        .clone()
        .unwrap_or_else(|| current.driver.clone());
    let vendor = change.vendor.clone().or_else(|| current.vendor.clone());
    let model = change.model.clone().or_else(|| current.model.clone());
    let Some(driver) = driver else {
        return Ok(PhoneKind {
            driver: None,
            vendor,
            model,
        });
    };
    let driver = Vendor::parse(&driver).ok_or_else(|| {
        FieldError::new(
            "driver",
            ErrorCode::InvalidField,
            format!(
                "{driver:?} is not a driver; one of: {}",
                Vendor::ALL
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    // A vendor sent with the change must name the driver's; one stored
    // (from before the driver) is simply replaced by it.
    if let Some(sent) = &change.vendor
        && Vendor::recognise(sent) != Some(driver)
    {
        return Err(FieldError::new(
            "vendor",
            ErrorCode::InvalidField,
            format!(
                "a phone with the {} driver is a {} phone",
                driver.as_str(),
                driver.display_name()
            ),
        ));
    }
    let model = model
        .map(|text| {
            driver
                .model(&text)
                .map(str::to_owned)
                .ok_or_else(|| unknown_model(driver, &text))
        })
        .transpose()?;
    Ok(PhoneKind {
        driver: Some(driver.as_str().to_owned()),
        vendor: Some(driver.display_name().to_owned()),
        model,
    })
}

fn unknown_model(vendor: Vendor, text: &str) -> FieldError {
    FieldError::new(
        "model",
        ErrorCode::UnknownPhoneModel,
        format!(
            "{:?} is not a {} model deskbind can drive; one of: {} (or leave the model out)",
            text,
            vendor.display_name(),
            vendor.models().join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(driver: Option<&str>, vendor: Option<&str>, model: Option<&str>) -> PhoneKind {
        PhoneKind {
            driver: driver.map(str::to_owned),
            vendor: vendor.map(str::to_owned),
            model: model.map(str::to_owned),
        }
    }

    fn change(
        current: &PhoneKind,
        driver: Option<Option<&str>>,
        vendor: Option<&str>,
        model: Option<&str>,
    ) -> Result<PhoneKind, (&'static str, ErrorCode)> {
        let change = KindChange {
            driver: driver.map(|d| d.map(str::to_owned)),
            vendor: vendor.map(str::to_owned),
            model: model.map(str::to_owned),
        };
        settle(current, change).map_err(|e| (e.field, e.code))
    }

    #[test]
    fn without_a_driver_vendor_and_model_are_free_text() {
        let none = PhoneKind::default();
        assert_eq!(
            change(&none, None, Some("Yealink"), Some("T58A")),
            Ok(kind(None, Some("Yealink"), Some("T58A")))
        );
        assert_eq!(
            change(&none, None, Some("Acme"), None),
            Ok(kind(None, Some("Acme"), None))
        );
    }

    #[test]
    fn a_driver_brings_its_vendor_and_takes_only_its_models() {
        let none = PhoneKind::default();
        assert_eq!(
            change(&none, Some(Some("yealink")), None, Some("t54w")),
            Ok(kind(Some("yealink"), Some("Yealink"), Some("T54W")))
        );
        assert_eq!(
            change(&none, Some(Some("yealink")), None, Some("T99")),
            Err(("model", ErrorCode::UnknownPhoneModel))
        );
        assert_eq!(
            change(&none, Some(Some("poly")), None, None),
            Err(("driver", ErrorCode::InvalidField))
        );
        // Driver names are exact, as the API's enum says.
        assert_eq!(
            change(&none, Some(Some("Yealink")), None, None),
            Err(("driver", ErrorCode::InvalidField))
        );
        assert_eq!(
            change(&none, Some(Some("snom")), Some("Yealink"), None),
            Err(("vendor", ErrorCode::InvalidField))
        );
    }

    #[test]
    fn a_change_of_one_is_checked_against_the_others_as_stored() {
        let sdk = kind(None, Some("Yealink"), Some("T54W"));
        // The SDK phone gets the driver: its vendor and model fit.
        assert_eq!(
            change(&sdk, Some(Some("yealink")), None, None),
            Ok(kind(Some("yealink"), Some("Yealink"), Some("T54W")))
        );
        // Its model does not fit a Snom driver.
        assert_eq!(
            change(&sdk, Some(Some("snom")), None, None),
            Err(("model", ErrorCode::UnknownPhoneModel))
        );
        let driven = kind(Some("yealink"), Some("Yealink"), Some("T54W"));
        assert_eq!(
            change(&driven, None, None, Some("GRP2614")),
            Err(("model", ErrorCode::UnknownPhoneModel))
        );
        // Taking the driver away leaves free text.
        assert_eq!(
            change(&driven, Some(None), None, Some("Anything")),
            Ok(kind(None, Some("Yealink"), Some("Anything")))
        );
        // An unchanged legacy phone keeps what it has.
        let legacy = kind(Some("yealink"), Some("Yealink"), Some("T99"));
        assert_eq!(change(&legacy, None, None, None), Ok(legacy.clone()));
    }
}
