//! Which desk phones deskbind has a driver for, their models, and what each
//! can be told to do (docs/vendor-phones.md). A phone without a driver
//! speaks deskbind's own protocol (the SDK), which dials and hangs up.

use serde::{Deserialize, Serialize};

use crate::wire::str_enum::str_enum;

str_enum! {
    /// A desk phone vendor deskbind drives over the phone's HTTP interface.
    pub enum Vendor {
        Yealink => "yealink",
        Snom => "snom",
        Grandstream => "grandstream",
        Fanvil => "fanvil",
    }
}

str_enum! {
    /// Something a phone can be told to do; the app greys out the rest.
    pub enum Capability {
        Dial => "dial",
        Hangup => "hangup",
        /// Turn do-not-disturb on and off on the handset.
        Dnd => "dnd",
    }
}

/// What a phone on deskbind's own protocol (the SDK) can do.
pub const SDK_CAPABILITIES: &[Capability] = &[Capability::Dial, Capability::Hangup];

const ALL: &[Capability] = &[Capability::Dial, Capability::Hangup, Capability::Dnd];
/// Grandstream's CTI API has no do-not-disturb command.
const NO_DND: &[Capability] = &[Capability::Dial, Capability::Hangup];

impl Vendor {
    /// The vendor a phone's free-text `vendor` names, ignoring case and
    /// surrounding space.
    pub fn recognise(text: &str) -> Option<Vendor> {
        Vendor::parse(&text.trim().to_ascii_lowercase())
    }

    /// The models with a driver, as the vendor writes them.
    pub fn models(self) -> &'static [&'static str] {
        match self {
            Vendor::Yealink => &[
                "T31P", "T31G", "T33G", "T42S", "T42U", "T43U", "T46S", "T46U", "T48S", "T48U",
                "T53", "T53W", "T54W", "T57W", "T58W",
            ],
            Vendor::Snom => &[
                "D120", "D140", "D315", "D335", "D385", "D713", "D717", "D735", "D785", "D862",
                "D865",
            ],
            Vendor::Grandstream => &[
                "GRP2601", "GRP2602", "GRP2603", "GRP2604", "GRP2612", "GRP2613", "GRP2614",
                "GRP2615", "GRP2616", "GXP2130", "GXP2135", "GXP2140", "GXP2160", "GXP2170",
            ],
            Vendor::Fanvil => &[
                "X1SG", "X3S", "X3U", "X4U", "X5U", "X6U", "X7", "X7C", "X210", "X303",
            ],
        }
    }

    /// The model `text` names, as the vendor writes it (case and space
    /// ignored), or `None` when this vendor's driver does not know it.
    pub fn model(self, text: &str) -> Option<&'static str> {
        let wanted = text.trim();
        self.models()
            .iter()
            .copied()
            .find(|m| m.eq_ignore_ascii_case(wanted))
    }

    /// What every phone of this vendor can do through its driver.
    pub fn capabilities(self) -> &'static [Capability] {
        match self {
            Vendor::Grandstream => NO_DND,
            Vendor::Yealink | Vendor::Snom | Vendor::Fanvil => ALL,
        }
    }

    /// The vendor's own name, for people.
    pub fn display_name(self) -> &'static str {
        match self {
            Vendor::Yealink => "Yealink",
            Vendor::Snom => "Snom",
            Vendor::Grandstream => "Grandstream",
            Vendor::Fanvil => "Fanvil",
        }
    }
}

/// How a phone is driven, from its stored `driver`: through a vendor
/// driver, or deskbind's own protocol (a Yealink running the SDK is still
/// an SDK phone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Driving {
    pub driver: Option<Vendor>,
}

impl Driving {
    pub fn of(driver: Option<&str>) -> Self {
        Self {
            driver: driver.and_then(Vendor::parse),
        }
    }

    pub fn capabilities(self) -> &'static [Capability] {
        self.driver.map_or(SDK_CAPABILITIES, Vendor::capabilities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_are_recognised_whatever_the_case() {
        assert_eq!(Vendor::recognise(" Yealink "), Some(Vendor::Yealink));
        assert_eq!(Vendor::recognise("SNOM"), Some(Vendor::Snom));
        assert_eq!(Vendor::recognise("Poly"), None);
        assert_eq!(Vendor::recognise(""), None);
    }

    #[test]
    fn models_come_back_as_the_vendor_writes_them() {
        assert_eq!(Vendor::Yealink.model("t54w"), Some("T54W"));
        assert_eq!(Vendor::Grandstream.model(" grp2614 "), Some("GRP2614"));
        assert_eq!(Vendor::Yealink.model("GRP2614"), None);
    }

    #[test]
    fn every_model_is_unique_and_upper_case() {
        for vendor in Vendor::ALL {
            let models = vendor.models();
            for (i, m) in models.iter().enumerate() {
                assert_eq!(m.to_ascii_uppercase(), *m, "{vendor} {m}");
                assert!(!models[i + 1..].contains(m), "{vendor} {m} twice");
            }
        }
    }

    #[test]
    fn capabilities_follow_the_driver() {
        assert_eq!(Driving::of(None).capabilities(), SDK_CAPABILITIES);
        assert_eq!(Driving::of(Some("acme")).capabilities(), SDK_CAPABILITIES);
        assert!(
            Driving::of(Some("yealink"))
                .capabilities()
                .contains(&Capability::Dnd)
        );
        assert!(
            !Driving::of(Some("grandstream"))
                .capabilities()
                .contains(&Capability::Dnd)
        );
    }
}
