//! The call log as CSV (`GET /v1/calls/export.csv`, the console's export,
//! and `calls_csv` export jobs): one header, then a page of rows at a
//! time, newest first, each as the reader may see it (another user's
//! private call redacted), with free-text fields made inert for
//! spreadsheets.

use std::collections::HashMap;

use crate::db::DbConn;
use crate::ids::{ContactId, OrgId, UserId};
use crate::repo::call_records::{self, CallFilter, CallRecordRow, ListCursor, Scope};
use crate::repo::{RepoError, users};
use crate::time::to_datetime;
use crate::usecases::record_reads;
use crate::wire::ContactRef;

pub const COLUMNS: [&str; 19] = [
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "direction",
    "result",
    "duration_secs",
    "user_id",
    "user_email",
    "phone_id",
    "call_id",
    "local_number",
    "remote_number",
    "remote_number_e164",
    "dial_id",
    "has_recording",
    "reported_by",
    "contact_id",
    "contact_name",
];

/// One page of the file.
#[derive(Debug)]
pub struct CsvPage {
    /// The page's rows as CSV (CRLF line ends), without the header.
    pub bytes: Vec<u8>,
    pub rows: usize,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<ListCursor>,
}

/// The header row.
pub fn header() -> Result<Vec<u8>, RepoError> {
    let mut out = writer();
    out.write_record(COLUMNS).map_err(corrupt)?;
    out.into_inner().map_err(|e| corrupt(e.into_error()))
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

fn corrupt(e: impl std::fmt::Display) -> RepoError {
    RepoError::Corrupt(format!("CSV: {e}"))
}

/// Up to `limit` calls of `scope` and `filter` after `cursor`, as `reader`
/// sees them.
#[allow(clippy::too_many_arguments)]
pub fn page(
    conn: &mut DbConn,
    org: OrgId,
    reader: UserId,
    scope: &Scope,
    filter: &CallFilter,
    cursor: Option<&ListCursor>,
    limit: i64,
) -> Result<CsvPage, RepoError> {
    let mut rows = call_records::list(conn, org, scope, filter, cursor, limit)?;
    // Another user's private call: its number, dial and recording stay out
    // of the file (the cursor is unaffected: it is the start time and id).
    record_reads::redact_for(conn, reader, &mut rows)?;
    let mut ids: Vec<String> = rows.iter().filter_map(|r| r.user_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let emails = users::emails_of(conn, &ids)?;
    let contacts = record_reads::linked_contacts(conn, reader, &rows)?;
    let mut out = writer();
    for row in &rows {
        out.write_record(fields(row, &emails, &contacts))
            .map_err(corrupt)?;
    }
    let next = if (rows.len() as i64) < limit {
        None
    } else {
        rows.last().map(ListCursor::of)
    };
    Ok(CsvPage {
        bytes: out.into_inner().map_err(|e| corrupt(e.into_error()))?,
        rows: rows.len(),
        next,
    })
}

fn fields(
    row: &CallRecordRow,
    emails: &HashMap<String, String>,
    contacts: &HashMap<ContactId, ContactRef>,
) -> [String; 19] {
    let email = row
        .user_id
        .as_ref()
        .and_then(|u| emails.get(u))
        .map_or("", String::as_str);
    let contact = row
        .contact_id
        .as_deref()
        .and_then(|id| id.parse::<ContactId>().ok())
        .and_then(|id| contacts.get(&id));
    let time = |t: Option<i64>| t.map(|t| to_datetime(t).to_rfc3339()).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let reported_by = match (
        row.phone_reported_at.is_some(),
        row.app_reported_at.is_some(),
    ) {
        (true, true) => "phone+app",
        (true, false) => "phone",
        _ => "app",
    };
    [
        row.id.clone(),
        time(Some(row.started_at)),
        time(row.answered_at),
        time(row.ended_at),
        row.direction.clone(),
        text(&row.result),
        row.duration_secs.map(|d| d.to_string()).unwrap_or_default(),
        text(&row.user_id),
        inert(email),
        row.phone_id.clone(),
        inert(&row.call_id),
        inert(&text(&row.local_number)),
        inert(&row.remote_number),
        text(&row.remote_e164),
        text(&row.dial_id),
        row.recording_id.is_some().to_string(),
        reported_by.to_owned(),
        contact.map(|c| c.id.to_string()).unwrap_or_default(),
        inert(&contact.and_then(|c| c.name.clone()).unwrap_or_default()),
    ]
}

/// Phones send these fields as free text; a spreadsheet would run one that
/// starts like a formula (OWASP "CSV injection"), so such a value gets a
/// leading apostrophe. A plain phone number such as +49 30 123456 or
/// -123 (an extension) is left as it is.
pub fn inert(value: &str) -> String {
    let looks_like_a_number = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.' | '/'));
    let risky = match value.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !looks_like_a_number,
        _ => false,
    };
    if risky {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("+SUM(A1)"), "'+SUM(A1)");
        assert_eq!(inert("@cmd"), "'@cmd");
        assert_eq!(inert("+4930123456"), "+4930123456");
        assert_eq!(inert("030 123456"), "030 123456");
        assert_eq!(inert("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
        assert_eq!(inert("+1+cmd|x"), "'+1+cmd|x");
        assert_eq!(inert("+49 (30) 123-456"), "+49 (30) 123-456");
    }
}
