//! docs/errors.md against `ErrorCode`, the one list of codes the server sends
//! with their statuses: every code documented at its status, every
//! documented code real, and every code sent somewhere. No server or
//! database: the docs and the source are read as text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deskbind_core::wire::ErrorCode;

const DOC: &str = "docs/errors.md";
const ENUM: &str = "core/src/wire/error_code.rs";
/// Everything from this heading on is the SDK's own codes, not the server's.
const SDK_HEADING: &str = "## Codes the SDK gives itself";
const TABLE_HEADER: &str = "| code | status | when |";
/// Where codes are sent from (their definition in ENUM excluded).
const SOURCE_DIRS: [&str; 3] = ["api/src", "core/src", "worker/src"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `| code | status | when |` row above the SDK heading, as
/// code -> the statuses it is documented with (one per row naming it).
fn documented_codes() -> BTreeMap<String, Vec<u16>> {
    let text = std::fs::read_to_string(repo_root().join(DOC)).expect("docs/errors.md");
    let (server_part, _) = text.split_once(SDK_HEADING).unwrap_or_else(|| {
        panic!("{DOC} has no heading {SDK_HEADING:?}; the test reads the server's codes above it")
    });
    let mut codes: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    let mut lines = server_part.lines();
    let mut tables = 0;
    while let Some(line) = lines.next() {
        if line.trim() != TABLE_HEADER {
            continue;
        }
        tables += 1;
        lines.next(); // |---|---|---|
        for row in lines.by_ref().take_while(|l| l.starts_with('|')) {
            let (code, status) = parse_row(row);
            codes.entry(code).or_default().push(status);
        }
    }
    assert!(
        tables > 0,
        "{DOC} has no table headed {TABLE_HEADER:?} above {SDK_HEADING:?}"
    );
    codes
}

/// `` | `code` | 409 | when ... | `` -> (code, 409).
fn parse_row(row: &str) -> (String, u16) {
    let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
    let code = cells
        .first()
        .and_then(|c| c.strip_prefix('`')?.strip_suffix('`'))
        .filter(|c| !c.is_empty() && !c.contains('`'));
    let status = cells.get(1).and_then(|s| s.parse::<u16>().ok());
    match (code, status, cells.len()) {
        (Some(code), Some(status), 3..) => (code.to_owned(), status),
        _ => panic!(
            "{DOC}: cannot read the row {row:?}; write one code per row as | `code` | status | when |"
        ),
    }
}

/// The source text that can send a code: .rs files under SOURCE_DIRS, the
/// enum's own file and `#[cfg(test)] mod tests` blocks left out.
fn sending_source() -> String {
    fn walk(dir: &Path, skip: &Path, out: &mut String) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, skip, out);
            } else if path.extension().is_some_and(|e| e == "rs") && path != skip {
                let text = std::fs::read_to_string(&path).expect("source file");
                let live = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
                out.push_str(live);
                out.push('\n');
            }
        }
    }
    let root = repo_root();
    let skip = root.join(ENUM);
    let mut out = String::new();
    for dir in SOURCE_DIRS {
        walk(&root.join(dir), &skip, &mut out);
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn names(source: &str, path: &str) -> bool {
    source.match_indices(path).any(|(at, _)| {
        !source[at + path.len()..]
            .chars()
            .next()
            .is_some_and(is_ident_char)
    })
}

#[test]
fn every_error_code_is_documented_with_its_status() {
    let documented = documented_codes();
    let mut faults = Vec::new();
    for &code in ErrorCode::ALL {
        match documented.get(code.as_str()) {
            None => faults.push(format!(
                "ErrorCode::{code:?} (`{code}`, {status}) is not in {DOC}: add the row | `{code}` | {status} | when it is sent |",
                status = code.status()
            )),
            Some(statuses) if statuses.iter().any(|&s| s != code.status()) => {
                faults.push(format!(
                    "`{code}` is documented in {DOC} at {statuses:?} but ErrorCode::{code:?} answers {status}: a code has one status; fix the row, or the status in {ENUM} if the docs are right",
                    status = code.status()
                ))
            }
            Some(_) => {}
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn every_documented_code_is_an_error_code() {
    let unknown: Vec<String> = documented_codes()
        .into_keys()
        .filter(|code| ErrorCode::parse(code).is_none())
        .map(|code| format!(
            "{DOC} documents `{code}` but ErrorCode has no such code: add it to {ENUM} where the server sends it, or remove the row (codes the SDK raises itself go under {SDK_HEADING:?})"
        ))
        .collect();
    assert!(unknown.is_empty(), "{}", unknown.join("\n"));
}

#[test]
fn every_error_code_is_sent_somewhere() {
    let source = sending_source();
    let unused: Vec<String> = ErrorCode::ALL
        .iter()
        .filter(|code| !names(&source, &format!("ErrorCode::{code:?}")))
        .map(|code| format!(
            "ErrorCode::{code:?} (`{code}`) is never used in {SOURCE_DIRS:?} outside tests: send it where its rule refuses, or remove it from {ENUM} and its row from {DOC}"
        ))
        .collect();
    assert!(unused.is_empty(), "{}", unused.join("\n"));
}
