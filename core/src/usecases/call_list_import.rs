//! Importing tasks into a call list (docs/call-lists.md, "Import"): one
//! transaction per batch, one result per row. A row seen before (same
//! external id, or same number without one) is `unchanged`; a number that
//! cannot exist is stored `dropped` with the reason; one the blocklist
//! refuses (organisation entries, and the assignee's own) is stored
//! `blocked`; a row that is itself wrong is `rejected` and not stored. No
//! row fails the batch.

use super::Services;
use super::blocklist_check;
use super::call_lists::{ListError, Manager};
use super::planner_stats;
use crate::domain::call_lists::{MAX_IMPORT_ROWS, NewTask, Row, parse_row, takes_imports};
use crate::domain::{E164, FieldError};
use crate::ids::{CallListId, CallTaskId, UserId};
use crate::repo::call_list_tasks::{self as tasks, TaskRow};
use crate::repo::call_lists as lists;
use crate::repo::users;
use crate::time::Micros;
use crate::wire::{
    BlocklistKind, BlocklistPattern, CallTaskImportRow, CallTaskImportStatus, CallTaskState,
    ErrorCode, ImportCallTask, ImportCallTasksResult,
};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    List(#[from] ListError),
    /// The list no longer takes tasks (archived).
    #[error("the call list is archived")]
    Closed,
}

impl From<crate::repo::RepoError> for ImportError {
    fn from(e: crate::repo::RepoError) -> Self {
        Self::List(e.into())
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        Self::List(e.into())
    }
}

impl From<crate::db::DbError> for ImportError {
    fn from(e: crate::db::DbError) -> Self {
        Self::List(e.into())
    }
}

fn rejected(index: usize, e: &FieldError) -> CallTaskImportRow {
    CallTaskImportRow {
        index,
        status: CallTaskImportStatus::Rejected,
        task_id: None,
        code: Some(e.code.as_str().to_owned()),
        field: Some(e.field.to_owned()),
        detail: Some(e.message.clone()),
    }
}

/// Imports `rows` into the list the manager may manage.
pub async fn import(
    svc: &Services,
    by: Manager,
    list: CallListId,
    rows: Vec<ImportCallTask>,
    now: Micros,
) -> Result<ImportCallTasksResult, ImportError> {
    import_rows(svc, by, list, rows.into_iter().map(Ok).collect(), now).await
}

/// As [`import`], with rows a reader already refused (a CSV cell that is
/// not a number, a date or a user): each is `rejected` in its place, so
/// the indexes stay those of the file.
pub async fn import_rows(
    svc: &Services,
    by: Manager,
    list: CallListId,
    rows: Vec<Result<ImportCallTask, FieldError>>,
    now: Micros,
) -> Result<ImportCallTasksResult, ImportError> {
    if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
        return Err(ListError::Invalid(FieldError::new(
            "tasks",
            ErrorCode::InvalidBatchSize,
            format!("send 1 to {MAX_IMPORT_ROWS} tasks"),
        ))
        .into());
    }
    let (imported, list_size) = svc
        .db
        .write(
            move |conn| -> Result<(ImportCallTasksResult, i64), ImportError> {
                let row = by.list_in(conn, list)?;
                lists::lock(conn, &row.id)?;
                // Read again under the lock: an archive committed meanwhile counts.
                let row = by.list_in(conn, list)?;
                if !takes_imports(row.state()?) {
                    return Err(ImportError::Closed);
                }
                let settings = row.settings()?;
                let visibility = users::Visibility::of(by.role, by.user);
                let first_seq = lists::take_seqs(conn, &row.id, rows.len() as i64)?;
                let mut results = Vec::with_capacity(rows.len());
                for (index, input) in rows.iter().enumerate() {
                    let input = match input {
                        Ok(input) => input,
                        Err(e) => {
                            results.push(rejected(index, e));
                            continue;
                        }
                    };
                    let task = match parse_row(input, settings.region.as_deref()) {
                        Row::Rejected(e) => {
                            results.push(rejected(index, &e));
                            continue;
                        }
                        Row::Task(task) => task,
                    };
                    if let Some(user) = input.assignee_id
                        && !visible(conn, by, user, visibility)?
                    {
                        let e = FieldError::new(
                            "assignee_id",
                            ErrorCode::UnknownUser,
                            format!("no user {user} in this organisation"),
                        );
                        results.push(rejected(index, &e));
                        continue;
                    }
                    if let Some(existing) = tasks::by_dedupe_key(conn, &row.id, &task.dedupe_key)? {
                        results.push(CallTaskImportRow {
                            index,
                            status: CallTaskImportStatus::Unchanged,
                            task_id: Some(crate::repo::stored_id(&existing.id)?),
                            code: None,
                            field: None,
                            detail: None,
                        });
                        continue;
                    }
                    let (state, reason, status) =
                        verdict(conn, &row.org_id, input.assignee_id, &task, now)?;
                    let id = CallTaskId::new();
                    tasks::insert(
                        conn,
                        &TaskRow {
                            id: id.to_string(),
                            list_id: row.id.clone(),
                            org_id: row.org_id.clone(),
                            seq: first_seq + index as i64,
                            dedupe_key: task.dedupe_key,
                            external_id: task.external_id,
                            number: task.number,
                            number_e164: task.number_e164,
                            name: task.name,
                            payload: task.payload,
                            priority: i64::from(task.priority),
                            window_from: task.window.map(|w| i64::from(w.from)),
                            window_to: task.window.map(|w| i64::from(w.to)),
                            assignee_id: input.assignee_id.map(|u| u.to_string()),
                            state: state.as_str().to_owned(),
                            state_reason: reason.clone(),
                            due_at: task.due_at.unwrap_or(now),
                            leased_by: None,
                            leased_until: None,
                            attempts: 0,
                            busy_retries: 0,
                            no_answer_retries: 0,
                            failed_retries: 0,
                            not_completed_retries: 0,
                            last_attempt_at: None,
                            created_at: now,
                            updated_at: now,
                            open_dial_id: None,
                            held_for: None,
                            held_until: None,
                        },
                    )?;
                    results.push(CallTaskImportRow {
                        index,
                        status,
                        task_id: Some(id),
                        code: reason,
                        field: None,
                        detail: None,
                    });
                }
                let count =
                    |s: CallTaskImportStatus| results.iter().filter(|r| r.status == s).count();
                let imported = ImportCallTasksResult {
                    created: count(CallTaskImportStatus::Created),
                    unchanged: count(CallTaskImportStatus::Unchanged),
                    dropped: count(CallTaskImportStatus::Dropped),
                    blocked: count(CallTaskImportStatus::Blocked),
                    rejected: count(CallTaskImportStatus::Rejected),
                    results,
                };
                Ok((imported, first_seq + rows.len() as i64))
            },
        )
        .await?;
    // With statistics from before a bulk import, the planner took the
    // tasks of a 100,000-row list for one and sorted all of them on every
    // lease (1 s, under the list's lock) instead of reading the list's
    // order index. The tenth keeps a large import in batches to a few
    // refreshes (about ten for 100 batches).
    if grew_by_a_tenth(imported.created, list_size) {
        planner_stats::refresh(&svc.db, "call_list_tasks").await;
    }
    Ok(imported)
}

/// Whether an import added at least a tenth of its list (`list_size`:
/// the rows the list has been sent, this import's included).
fn grew_by_a_tenth(created: usize, list_size: i64) -> bool {
    created > 0 && (created as i64).saturating_mul(10) >= list_size
}

/// The users the manager may name, by e-mail address (a CSV's
/// `assignee_email`); addresses of no user in reach are left out. The
/// import checks each id again in its own transaction.
pub async fn assignees_by_email(
    svc: &Services,
    by: Manager,
    emails: Vec<String>,
) -> Result<std::collections::HashMap<String, UserId>, crate::repo::RepoError> {
    svc.db
        .run(move |conn| {
            let visibility = users::Visibility::of(by.role, by.user);
            let mut found = std::collections::HashMap::new();
            for email in emails {
                let Some(row) = users::find_in_org_by_email(conn, by.org, &email)? else {
                    continue;
                };
                let id = row.user_id()?;
                if visible(conn, by, id, visibility)? {
                    found.insert(email, id);
                }
            }
            Ok(found)
        })
        .await
}

/// Whether the manager may name `user` (a database failure is not "no").
fn visible(
    conn: &mut crate::db::DbConn,
    by: Manager,
    user: UserId,
    visibility: users::Visibility,
) -> Result<bool, crate::repo::RepoError> {
    match users::get(conn, by.org, user, visibility) {
        Ok(_) => Ok(true),
        Err(crate::repo::RepoError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// How a new task is stored: queued, dropped (the number cannot exist)
/// or blocked (the blocklist refuses it for its assignee, or for anyone
/// when it has none).
fn verdict(
    conn: &mut crate::db::DbConn,
    org: &str,
    assignee: Option<UserId>,
    task: &NewTask,
    now: Micros,
) -> Result<(CallTaskState, Option<String>, CallTaskImportStatus), crate::repo::RepoError> {
    if let Some(e) = &task.dropped {
        return Ok((
            CallTaskState::Dropped,
            Some(e.code.as_str().to_owned()),
            CallTaskImportStatus::Dropped,
        ));
    }
    let Some(e164) = task.number_e164.as_deref() else {
        return Ok((CallTaskState::Queued, None, CallTaskImportStatus::Created));
    };
    let e164 = E164::parse_international("number", e164)
        .map_err(|e| crate::repo::RepoError::Corrupt(e.to_string()))?;
    let org = crate::repo::stored_id(org)?;
    let listed = blocklist_check::check_in(conn, org, assignee, &e164, now)?;
    Ok(match listed {
        // The codes a dial of the number would be refused with.
        Some((BlocklistKind::Block, entry)) => (
            CallTaskState::Blocked,
            Some(
                match entry.pattern {
                    BlocklistPattern::Number => ErrorCode::NumberDoNotCall,
                    BlocklistPattern::Prefix => ErrorCode::NumberBlocked,
                }
                .as_str()
                .to_owned(),
            ),
            CallTaskImportStatus::Blocked,
        ),
        _ => (CallTaskState::Queued, None, CallTaskImportStatus::Created),
    })
}

#[cfg(test)]
mod tests {
    use super::grew_by_a_tenth;

    #[test]
    fn statistics_are_refreshed_while_a_list_grows_by_a_tenth() {
        // 100 batches of 1,000: the first ten refresh, the rest do not.
        let refreshed = (1..=100_i64)
            .filter(|batch| grew_by_a_tenth(1000, batch * 1000))
            .count();
        assert_eq!(refreshed, 10);
        assert!(!grew_by_a_tenth(0, 10), "a repeat that created nothing");
        assert!(grew_by_a_tenth(1, 10));
        assert!(!grew_by_a_tenth(1, 11));
    }
}
