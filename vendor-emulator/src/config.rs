//! Reads the configuration an admin pastes into a phone (deskbind's
//! snippet) the way each vendor's firmware reads its own format.

use std::collections::HashMap;

use deskbind_core::vendor::Vendor;

/// Setting name → value, as the phone stores them.
pub fn parse(vendor: Vendor, text: &str) -> HashMap<String, String> {
    let mut settings = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("<!--")
            || line.starts_with('<') && !line.contains("</")
        {
            continue;
        }
        let parsed = match vendor {
            Vendor::Yealink => line
                .split_once(" = ")
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            Vendor::Grandstream => line
                .split_once(": ")
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            Vendor::Fanvil => line
                .split_once(" :")
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())),
            Vendor::Snom => snom_setting(line),
        };
        if let Some((k, v)) = parsed {
            settings.insert(k, v);
        }
    }
    settings
}

/// `<name perm="R">value</name>`, XML-escaped.
fn snom_setting(line: &str) -> Option<(String, String)> {
    let name = line.strip_prefix('<')?.split([' ', '>']).next()?.to_owned();
    let value = line.split_once('>')?.1.rsplit_once("</")?.0;
    let value = value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    Some((name, value))
}
