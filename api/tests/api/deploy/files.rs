//! Finding and parsing deploy/'s files; every file must be of a kind a
//! check below reads, so nothing in deploy/ goes unchecked.

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_yaml_ng::Value;

pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

pub fn read(relative: &str) -> String {
    let path = deploy_dir().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("deploy/{relative} cannot be read ({}): {e}", path.display()))
}

/// Every document of a YAML file (`---` separated).
pub fn yaml_docs(relative: &str) -> Vec<Value> {
    let text = read(relative);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("deploy/{relative} is not valid YAML: {e}"))
        })
        .filter(|doc| !doc.is_null())
        .collect()
}

pub fn yaml(relative: &str) -> Value {
    let mut docs = yaml_docs(relative);
    assert_eq!(
        docs.len(),
        1,
        "deploy/{relative} should hold one YAML document"
    );
    docs.remove(0)
}

/// Files under deploy/, relative, sorted.
pub fn all_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("deploy/ is readable") {
            let path = entry.expect("deploy/ entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("under deploy/");
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = deploy_dir();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

/// `value[key]` as a string (numbers and booleans rendered), if present.
pub fn text(value: &Value, key: &str) -> Option<String> {
    scalar(value.get(key)?)
}

pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A mapping's string keys.
pub fn keys(value: &Value) -> Vec<String> {
    value
        .as_mapping()
        .map(|m| m.keys().filter_map(scalar).collect())
        .unwrap_or_default()
}

/// The path of nested keys, panicking with the path when one is missing.
pub fn at<'a>(value: &'a Value, path: &[&str], what: &str) -> &'a Value {
    let mut current = value;
    for (i, key) in path.iter().enumerate() {
        current = current
            .get(*key)
            .unwrap_or_else(|| panic!("{what}: missing `{}`", path[..=i].join(".")));
    }
    current
}

/// A duration such as `90s`, `2m`, `3600` (seconds).
pub fn seconds(text: &str) -> u64 {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a duration"));
    match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "ms" => n / 1000,
        other => panic!("`{text}`: unknown duration unit `{other}`"),
    }
}

#[test]
fn every_file_in_deploy_is_of_a_checked_kind_and_parses() {
    let files = all_files();
    assert!(!files.is_empty(), "deploy/ is empty");
    for file in &files {
        match file.as_str() {
            "Dockerfile" | "Dockerfile.dockerignore" => assert!(!read(file).trim().is_empty()),
            f if f.starts_with("nginx/") && f.ends_with(".conf") => {
                super::nginx::parse(&read(f));
            }
            f if f.ends_with(".yaml") => {
                assert!(!yaml_docs(f).is_empty(), "deploy/{f} has no YAML document");
            }
            other => panic!(
                "deploy/{other} is of a kind no test reads; add its checks to api/tests/api/deploy/"
            ),
        }
    }
    for needed in [
        "Dockerfile",
        "Dockerfile.dockerignore",
        "compose.yaml",
        "nginx/nginx.conf",
        "k8s/kustomization.yaml",
    ] {
        assert!(
            files.iter().any(|f| f == needed),
            "deploy/{needed} is missing"
        );
    }
}

#[test]
fn durations_read_as_seconds() {
    assert_eq!(seconds("90s"), 90);
    assert_eq!(seconds("3600"), 3600);
    assert_eq!(seconds("2m"), 120);
}
