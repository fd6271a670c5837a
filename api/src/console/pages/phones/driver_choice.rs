//! The driver and model a phone form offers (docs/vendor-phones.md), and
//! how a phone's driver and capabilities read on its pages. The form only
//! offers; the API's own check (`routes::phones::kind_change`, then
//! `domain::phone_models::settle`) decides, so a model of another vendor's
//! list is refused there, as it is for the JSON API.

use deskbind_core::vendor::{Capability, Driving, Vendor};

/// One option of the driver select.
#[derive(Debug)]
pub struct DriverOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// One vendor's models, an `<optgroup>` of the model select.
#[derive(Debug)]
pub struct ModelGroup {
    pub vendor: &'static str,
    pub models: Vec<ModelOption>,
}

#[derive(Debug)]
pub struct ModelOption {
    pub value: &'static str,
    pub selected: bool,
}

/// The driver and model selects, with what was chosen (or is stored)
/// selected.
#[derive(Debug)]
pub struct DriverChoices {
    pub drivers: Vec<DriverOption>,
    pub models: Vec<ModelGroup>,
    /// A model no driver knows (free text of a phone on deskbind's
    /// protocol): offered as it is, so saving the form keeps it.
    pub other_model: Option<String>,
    /// "No model" is offered while none is chosen: a stored model can be
    /// replaced but not taken away (as with `PATCH /v1/phones/{id}`).
    pub no_model: bool,
}

/// What the driver select says for a phone without a driver.
const NO_DRIVER: &str = "None (deskbind app)";

impl DriverChoices {
    /// `driver` is a driver id or ""; `model` a model or "".
    pub fn new(driver: &str, model: &str) -> Self {
        let mut drivers = vec![DriverOption {
            value: "",
            label: NO_DRIVER,
            selected: driver.is_empty(),
        }];
        drivers.extend(Vendor::ALL.iter().map(|v| DriverOption {
            value: v.as_str(),
            label: v.display_name(),
            selected: v.as_str() == driver,
        }));
        let models = Vendor::ALL
            .iter()
            .map(|v| ModelGroup {
                vendor: v.display_name(),
                models: v
                    .models()
                    .iter()
                    .map(|m| ModelOption {
                        value: m,
                        selected: *m == model,
                    })
                    .collect(),
            })
            .collect();
        let known = Vendor::ALL.iter().any(|v| v.models().contains(&model));
        Self {
            drivers,
            models,
            other_model: (!model.is_empty() && !known).then(|| model.to_owned()),
            no_model: model.is_empty(),
        }
    }
}

/// A select left at its "none" option sends "": nothing chosen.
pub fn chosen(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|v| !v.is_empty())
}

/// A stored driver as people read it.
pub fn driver_name(driver: Option<&str>) -> &'static str {
    Driving::of(driver)
        .driver
        .map_or(NO_DRIVER, Vendor::display_name)
}

/// What the phone can be told to do, in words.
pub fn capability_names(driver: Option<&str>) -> String {
    Driving::of(driver)
        .capabilities()
        .iter()
        .map(|c| match c {
            Capability::Dial => "dial",
            Capability::Hangup => "hang up",
            Capability::Dnd => "do not disturb",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_driver_and_model_are_selected() {
        let choices = DriverChoices::new("yealink", "T54W");
        let selected: Vec<_> = choices.drivers.iter().filter(|d| d.selected).collect();
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].label, "Yealink");
        let models: Vec<_> = choices
            .models
            .iter()
            .flat_map(|g| &g.models)
            .filter(|m| m.selected)
            .map(|m| m.value)
            .collect();
        assert_eq!(models, ["T54W"]);
        assert!(!choices.no_model && choices.other_model.is_none());
    }

    #[test]
    fn a_free_text_model_is_offered_as_it_is() {
        let choices = DriverChoices::new("", "Desk One");
        assert_eq!(choices.other_model.as_deref(), Some("Desk One"));
        assert!(choices.drivers[0].selected && !choices.no_model);
        assert!(DriverChoices::new("", "").no_model);
    }

    #[test]
    fn drivers_and_capabilities_read_as_words() {
        assert_eq!(driver_name(Some("snom")), "Snom");
        assert_eq!(driver_name(None), NO_DRIVER);
        assert_eq!(capability_names(None), "dial, hang up");
        assert_eq!(
            capability_names(Some("fanvil")),
            "dial, hang up, do not disturb"
        );
        assert_eq!(capability_names(Some("grandstream")), "dial, hang up");
    }
}
