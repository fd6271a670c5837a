//! Call-list tasks as CSV (`POST /v1/call-lists/{id}/tasks` with
//! `Content-Type: text/csv`, and the console's upload): a header row naming
//! the columns, then one task per row. The known columns fill the JSON
//! row's fields; any other column goes into `payload` as a string.
//!
//! A file whose shape is wrong (a quote never closed, a row with another
//! number of cells than the header, no `number` column, a column named
//! twice) is refused whole (422 `invalid_csv`), as the contacts import
//! refuses its files. A cell that cannot be read (a priority that is not a
//! number, a date that is not RFC 3339) rejects only its row, in place.

use deskbind_core::domain::FieldError;
use deskbind_core::domain::call_lists::MAX_IMPORT_ROWS;
use deskbind_core::ids::UserId;
use deskbind_core::wire::{ErrorCode, ImportCallTask, TimeWindow};

use crate::error::{ApiError, ApiResult};

/// The columns with a meaning of their own; any other is payload.
const KNOWN: [&str; 10] = [
    "number",
    "external_id",
    "name",
    "priority",
    "window_from",
    "window_to",
    "due_at",
    "assignee_id",
    "assignee_email",
    "region",
];

/// One row as read: the task, and the assignee's address when the file
/// names them by e-mail (the caller resolves it to a user in reach).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTask {
    pub task: ImportCallTask,
    pub assignee_email: Option<String>,
}

fn invalid(detail: String) -> ApiError {
    ApiError::Validation {
        code: ErrorCode::InvalidCsv,
        field: "body".into(),
        detail,
    }
}

/// Reads the file: every row in order (at most one past the batch limit,
/// which the import then refuses), or the file's refusal.
pub fn read(body: &[u8]) -> ApiResult<Vec<Result<CsvTask, FieldError>>> {
    if let Some(line) = unclosed_quote(body) {
        return Err(invalid(format!(
            "the quoted value opened on line {line} is never closed"
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    if let Some(twice) = header
        .iter()
        .enumerate()
        .find(|(i, c)| header[..*i].contains(c))
    {
        return Err(invalid(format!("the column {:?} is named twice", twice.1)));
    }
    if !header.iter().any(|c| c == "number") {
        return Err(invalid(
            "the header row has no number column (needed: number; optional: external_id, \
             name, priority, window_from, window_to, due_at, assignee_id or assignee_email, \
             region; any other column goes into the payload)"
                .into(),
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid(format!("the file cannot be read: {e}")))?;
        // A line of spaces (a pasted file's last line) is no row.
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            let line = record.position().map_or(0, |p| p.line());
            return Err(invalid(format!(
                "line {line} has {} cells for {} columns",
                record.len(),
                header.len()
            )));
        }
        rows.push(row(&header, &record));
        if rows.len() > MAX_IMPORT_ROWS {
            break;
        }
    }
    Ok(rows)
}

fn row(header: &[String], record: &csv::StringRecord) -> Result<CsvTask, FieldError> {
    let mut task = ImportCallTask::number("");
    let mut assignee_email = None;
    let mut window = (None, None);
    let mut payload = serde_json::Map::new();
    for (column, value) in header.iter().zip(record.iter()) {
        let text = (!value.is_empty()).then(|| value.to_owned());
        match column.as_str() {
            "number" => task.number = value.to_owned(),
            "external_id" => task.external_id = text,
            "name" => task.name = text,
            "region" => task.region = text,
            "priority" => {
                task.priority = text
                    .map(|v| {
                        v.parse::<i32>().map_err(|_| {
                            FieldError::new(
                                "priority",
                                ErrorCode::InvalidField,
                                "must be a whole number",
                            )
                        })
                    })
                    .transpose()?;
            }
            "window_from" => window.0 = text,
            "window_to" => window.1 = text,
            "due_at" => {
                task.due_at = text
                    .map(|v| {
                        chrono::DateTime::parse_from_rfc3339(&v)
                            .map(|t| t.to_utc())
                            .map_err(|_| {
                                FieldError::new(
                                    "due_at",
                                    ErrorCode::InvalidField,
                                    "must be an RFC 3339 time such as 2026-12-01T09:00:00Z",
                                )
                            })
                    })
                    .transpose()?;
            }
            "assignee_id" => {
                task.assignee_id = text
                    .map(|v| {
                        v.parse::<UserId>().map_err(|_| {
                            FieldError::new(
                                "assignee_id",
                                ErrorCode::InvalidField,
                                "must be a user id",
                            )
                        })
                    })
                    .transpose()?;
            }
            "assignee_email" => assignee_email = text.map(|v| v.to_lowercase()),
            other => {
                debug_assert!(!KNOWN.contains(&other));
                if let Some(v) = text {
                    payload.insert(other.to_owned(), serde_json::Value::String(v));
                }
            }
        }
    }
    if task.assignee_id.is_some() && assignee_email.is_some() {
        return Err(FieldError::new(
            "assignee_email",
            ErrorCode::InvalidField,
            "give assignee_id or assignee_email, not both",
        ));
    }
    // Half a window is the row's mistake: the import refuses it by its rule.
    task.window = match window {
        (None, None) => None,
        (from, to) => Some(TimeWindow {
            from: from.unwrap_or_default(),
            to: to.unwrap_or_default(),
        }),
    };
    task.payload = (!payload.is_empty()).then_some(serde_json::Value::Object(payload));
    Ok(CsvTask {
        task,
        assignee_email,
    })
}

/// The line of a quoted value that never closes (RFC 4180: a quote opens
/// only at a value's start, and `""` inside is one quote). The csv reader
/// would take the rest of the file as that value instead of refusing it.
fn unclosed_quote(body: &[u8]) -> Option<u64> {
    let (mut line, mut opened_on) = (1u64, 1u64);
    let (mut quoted, mut at_start) = (false, true);
    // The reader skips a UTF-8 byte order mark; so does this.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut bytes = body.iter().peekable();
    while let Some(&b) = bytes.next() {
        if quoted {
            match b {
                b'"' if bytes.peek() == Some(&&b'"') => {
                    bytes.next();
                }
                b'"' => quoted = false,
                b'\n' => line += 1,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' if at_start => {
                quoted = true;
                opened_on = line;
            }
            b',' => at_start = true,
            b'\n' => {
                line += 1;
                at_start = true;
            }
            // As the reader: a quote after a space is text, not an opening.
            b'\r' => {}
            _ => at_start = false,
        }
    }
    quoted.then_some(opened_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(body: &str) -> Vec<Result<CsvTask, FieldError>> {
        read(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_blank_line_a_bom_and_a_quote_after_a_space_read_as_the_reader_does() {
        let rows = tasks("\u{feff}number,note\n+4930901820, \"5 inch\n   \n");
        assert_eq!(rows.len(), 1);
        let row = rows[0].as_ref().unwrap();
        assert_eq!(
            row.task.payload,
            Some(serde_json::json!({"note": "\"5 inch"}))
        );
    }

    #[test]
    fn known_columns_fill_the_row_and_others_the_payload() {
        let rows = tasks(
            "number,external_id,name,priority,window_from,window_to,due_at,region,company,empty\n\
             030 901820,crm-1,Ann,5,09:00,17:00,2026-12-01T09:00:00Z,DE,Acme,\n",
        );
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.task.number, "030 901820");
        assert_eq!(row.task.external_id.as_deref(), Some("crm-1"));
        assert_eq!(row.task.priority, Some(5));
        assert_eq!(
            row.task.window.as_ref().map(|w| w.to.as_str()),
            Some("17:00")
        );
        assert_eq!(row.task.region.as_deref(), Some("DE"));
        assert_eq!(
            row.task.payload,
            Some(serde_json::json!({"company": "Acme"}))
        );
        assert!(row.task.due_at.is_some());
    }

    #[test]
    fn a_bad_cell_rejects_its_row_only() {
        let rows = tasks(
            "number,priority,assignee_email\n+4930901820,high,\n+4930901821,1,Ann@Acme.test\n",
        );
        assert_eq!(rows[0].as_ref().unwrap_err().field, "priority");
        assert_eq!(
            rows[1].as_ref().unwrap().assignee_email.as_deref(),
            Some("ann@acme.test")
        );
    }

    #[test]
    fn a_file_of_the_wrong_shape_is_refused() {
        for body in [
            "name\nAnn\n",
            "number,name\n+4930901820,Ann,extra\n",
            "number,name\n\"+4930901820,Ann\n+4930901821,Bob\n",
            "number,number\n1,2\n",
        ] {
            let err = read(body.as_bytes()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidCsv, "{body}");
        }
        // A quote inside a quoted value is two quotes; not a quote at the start is text.
        assert_eq!(
            tasks("number,name\n1,\"Ann \"\"A\"\"\"\n2,5\" screen\n").len(),
            2
        );
    }
}
