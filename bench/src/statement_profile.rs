//! Where a transaction's database time goes, statement by statement:
//! diesel's connection instrumentation times every statement between its
//! start and its finish (for a read, until its rows are consumed), and the
//! statements are grouped by their SQL with the bind markers blanked, so a
//! multi-row INSERT of 17 rows and one of 500 count as one kind.
//!
//! This is the profile the records benchmark prints for the ingest target:
//! a CPU profile of the process says "inside the database" and nothing
//! more, while this one names the statement.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deskbind_core::db::DbConn;
use diesel::Connection;
use diesel::connection::InstrumentationEvent;
use serde::Serialize;

/// Characters of normalised SQL that name a statement kind: enough to
/// tell the tables and the WHERE apart, short enough that IN lists of
/// different lengths fall together.
const KEY_CHARS: usize = 200;
/// Characters of a SELECT's column list kept: two reads of the same
/// columns differ in their FROM and WHERE.
const COLUMN_CHARS: usize = 40;

/// One statement kind's figures.
#[derive(Debug, Clone, Serialize)]
pub struct StatementTally {
    pub sql: String,
    pub count: u64,
    pub total_us: u64,
}

#[derive(Debug, Default)]
struct Tallies {
    by_sql: HashMap<String, (u64, Duration)>,
    /// Statements started and not yet finished (reads nest while their
    /// rows are stepped).
    open: Vec<(String, Instant)>,
}

/// The tallies of an instrumented connection.
#[derive(Debug, Clone, Default)]
pub struct StatementProfile {
    tallies: Arc<Mutex<Tallies>>,
}

impl StatementProfile {
    /// Times every statement `conn` runs from now on.
    pub fn attach(conn: &mut DbConn) -> Self {
        let profile = Self::default();
        let tallies = Arc::clone(&profile.tallies);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            on_event(&tallies, &event);
        });
        profile
    }

    /// Every kind, the costliest first.
    pub fn tallies(&self) -> Vec<StatementTally> {
        let tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
        let mut rows: Vec<StatementTally> = tallies
            .by_sql
            .iter()
            .map(|(sql, (count, total))| StatementTally {
                sql: sql.clone(),
                count: *count,
                total_us: u64::try_from(total.as_micros()).unwrap_or(u64::MAX),
            })
            .collect();
        rows.sort_by(|a, b| b.total_us.cmp(&a.total_us).then(a.sql.cmp(&b.sql)));
        rows
    }
}

fn on_event(tallies: &Mutex<Tallies>, event: &InstrumentationEvent<'_>) {
    match event {
        InstrumentationEvent::StartQuery { query, .. } => {
            // Render before the clock starts: the rendering is ours.
            let key = statement_key(&query.to_string());
            let mut t = tallies.lock().unwrap_or_else(PoisonError::into_inner);
            t.open.push((key, Instant::now()));
        }
        InstrumentationEvent::FinishQuery { .. } => {
            let finished = Instant::now();
            let mut t = tallies.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((key, started)) = t.open.pop() {
                let entry = t.by_sql.entry(key).or_default();
                entry.0 += 1;
                entry.1 += finished - started;
            }
        }
        _ => {}
    }
}

/// The statement's SQL without its binds, bind markers blanked (`$12` →
/// `$`), whitespace collapsed, a SELECT's column list cut to
/// [`COLUMN_CHARS`], the whole cut to [`KEY_CHARS`].
pub fn statement_key(rendered: &str) -> String {
    let sql = rendered.split(" -- binds:").next().unwrap_or(rendered);
    let key = normalised(sql);
    let key = match key
        .strip_prefix("SELECT ")
        .and_then(|c| c.split_once(" FROM "))
    {
        Some((list, rest)) if list.chars().count() > COLUMN_CHARS => {
            let list: String = list.chars().take(COLUMN_CHARS).collect();
            format!("SELECT {list}… FROM {rest}")
        }
        _ => key,
    };
    match key.char_indices().nth(KEY_CHARS) {
        Some((cut, _)) => format!("{}…", &key[..cut]),
        None => key,
    }
}

/// `sql` with bind markers blanked, whitespace collapsed, and lists of
/// markers (`IN (?, ?, ?)`, a multi-row INSERT's rows) folded to one.
fn normalised(sql: &str) -> String {
    let mut key = collapsed(sql);
    for (many, one) in [
        ("?, ?", "?"),
        ("$, $", "$"),
        ("(?), (?)", "(?)"),
        ("($), ($)", "($)"),
        ("WHEN ? THEN ? WHEN ? THEN ?", "WHEN ? THEN ?"),
        ("WHEN $ THEN $ WHEN $ THEN $", "WHEN $ THEN $"),
    ] {
        while key.contains(many) {
            key = key.replace(many, one);
        }
    }
    key
}

fn collapsed(sql: &str) -> String {
    let mut key = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut last_space = true;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            if !last_space {
                key.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        key.push(c);
        if c == '$' {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    key.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::statement_key;

    #[test]
    fn binds_are_cut_and_markers_blanked() {
        assert_eq!(
            statement_key(
                "SELECT \"a\"\n  FROM \"t\" WHERE \"id\" = ANY($1) AND x = $23 -- binds: [[\"p\"], 7]"
            ),
            "SELECT \"a\" FROM \"t\" WHERE \"id\" = ANY($) AND x = $"
        );
    }

    #[test]
    fn inserts_of_different_lengths_fall_together() {
        let row = |n: usize| format!("(${}, ${})", 2 * n + 1, 2 * n + 2);
        let insert = |rows: usize| {
            let values: Vec<String> = (0..rows).map(row).collect();
            format!(
                "INSERT INTO \"call_records\" (\"id\", \"org_id\") VALUES {}",
                values.join(", ")
            )
        };
        let short = statement_key(&insert(17));
        assert_eq!(short, statement_key(&insert(500)));
        assert!(short.ends_with("VALUES ($)"), "{short}");
    }

    #[test]
    fn a_case_per_row_folds_to_one_arm() {
        let arms = |n: usize| {
            let arms: Vec<String> = (0..n)
                .map(|i| format!("WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
                .collect();
            format!("UPDATE c SET s = CASE id {} ELSE s END", arms.join(" "))
        };
        assert_eq!(
            statement_key(&arms(3)),
            "UPDATE c SET s = CASE id WHEN $ THEN $ ELSE s END"
        );
        assert_eq!(statement_key(&arms(3)), statement_key(&arms(400)));
    }

    #[test]
    fn reads_of_the_same_columns_keep_their_where_apart() {
        let columns = "`t`.`id`, `t`.`remote_e164`, `t`.`direction`, `t`.`started_at`";
        let by_id = statement_key(&format!(
            "SELECT {columns} FROM `t` WHERE `t`.`id` IN (?, ?, ?)"
        ));
        let by_number = statement_key(&format!(
            "SELECT {columns} FROM `t` WHERE `t`.`remote_e164` IN (?)"
        ));
        assert_ne!(by_id, by_number);
        assert!(by_id.ends_with("WHERE `t`.`id` IN (?)"), "{by_id}");
        assert!(
            by_id.starts_with("SELECT `t`.`id`, `t`.`remote_e164`, `t`.`direct… FROM"),
            "{by_id}"
        );
    }
}
