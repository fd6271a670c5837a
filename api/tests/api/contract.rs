//! openapi.yaml and the route table must list the same (method, path) pairs.

use std::collections::BTreeSet;

use deskbind_api::routes::route_signatures;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

#[test]
fn openapi_and_routes_agree() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("openapi.yaml at the repository root");
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML");
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true),
        "OpenAPI 3.1 expected"
    );

    let mut documented = BTreeSet::new();
    let paths = spec["paths"].as_mapping().expect("paths");
    for (path, item) in paths {
        let path = path.as_str().expect("path key");
        for (method, operation) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("method key");
            if METHODS.contains(&method) {
                assert!(
                    operation["responses"]
                        .as_mapping()
                        .is_some_and(|r| !r.is_empty()),
                    "{method} {path} has no responses"
                );
                documented.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = route_signatures()
        .into_iter()
        .map(|(m, p)| (m, p.to_owned()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}\nin openapi.yaml but not served: {unserved:?}"
    );
}

/// The enums the wire types define and openapi.yaml's schemas of the same
/// name must list the same values (schemathesis found `dial_rules.replaced`
/// in responses before the schema had it).
#[test]
fn openapi_enums_list_every_wire_value() {
    use deskbind_core::wire::{AuditAction, PresenceState, Role};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("openapi.yaml at the repository root");
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("openapi.yaml is YAML");
    let documented = |name: &str| -> BTreeSet<String> {
        spec["components"]["schemas"][name]["enum"]
            .as_sequence()
            .unwrap_or_else(|| panic!("openapi.yaml has no enum schema {name}"))
            .iter()
            .map(|v| v.as_str().expect("enum values are strings").to_owned())
            .collect()
    };
    fn values<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> BTreeSet<String> {
        all.iter().map(|v| as_str(*v).to_owned()).collect()
    }
    let cases = [
        ("AuditAction", values(AuditAction::ALL, AuditAction::as_str)),
        ("Role", values(Role::ALL, Role::as_str)),
        (
            "PresenceState",
            values(PresenceState::ALL, PresenceState::as_str),
        ),
    ];
    for (name, served) in cases {
        assert_eq!(documented(name), served, "openapi.yaml's {name} enum");
    }
}
