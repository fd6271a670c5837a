//! Keeps the statistics rollups (docs/retention.md "Rollups") equal to
//! what the stored calls sum to, in the transaction of every change to a
//! call's rolled-up columns, and turns a statistics filter into a rollup
//! read where the rollup key carries every filter.

use crate::db::DbConn;
use crate::domain::call_rollup::{RolledCall, RollupDeltas};
use crate::repo::RepoError;
use crate::repo::call_annotations::{self, AnnotationRow};
use crate::repo::call_records::{CallFilter, CallRecordRow, Scope};
use crate::repo::call_rollups::{self, RollupFilter};
use crate::time::Micros;

fn rolled<'a>(row: &'a CallRecordRow, annotation: Option<&'a AnnotationRow>) -> RolledCall<'a> {
    RolledCall {
        org_id: &row.org_id,
        user_id: row.user_id.as_deref(),
        phone_id: &row.phone_id,
        started_at: row.started_at,
        direction: &row.direction,
        result: row.result.as_deref(),
        answered_at: row.answered_at,
        duration_secs: row.duration_secs,
        disposition_id: annotation.and_then(|a| a.disposition_id.as_deref()),
        private: annotation.is_some_and(AnnotationRow::is_private),
    }
}

/// Adds new calls and moves changed ones (`(stored, written)`), in the
/// ingest transaction. A new call has no annotation yet; a changed one
/// keeps its own, read only when the change moves something.
pub(crate) fn record_changes(
    conn: &mut DbConn,
    created: &[CallRecordRow],
    updated: &[(CallRecordRow, CallRecordRow)],
) -> Result<(), RepoError> {
    let mut deltas = RollupDeltas::default();
    for row in created {
        deltas.add(&rolled(row, None));
    }
    let moved: Vec<&(CallRecordRow, CallRecordRow)> = updated
        .iter()
        .filter(|(before, after)| {
            rolled(before, None).contribution() != rolled(after, None).contribution()
        })
        .collect();
    if !moved.is_empty() {
        let ids: Vec<&str> = moved.iter().map(|(_, after)| after.id.as_str()).collect();
        let annotations = call_annotations::by_record_ids(conn, &ids)?;
        for (before, after) in moved {
            let annotation = annotations.get(&after.id);
            deltas.replace(&rolled(before, annotation), &rolled(after, annotation));
        }
    }
    call_rollups::add(conn, &deltas.into_changes())
}

/// Moves a call whose disposition or privacy changed, in the edit's
/// transaction.
pub(crate) fn annotation_changed(
    conn: &mut DbConn,
    record: &CallRecordRow,
    before: &AnnotationRow,
    after: &AnnotationRow,
) -> Result<(), RepoError> {
    let mut deltas = RollupDeltas::default();
    deltas.replace(&rolled(record, Some(before)), &rolled(record, Some(after)));
    call_rollups::add(conn, &deltas.into_changes())
}

/// The rollup read for `filter` over the quarter hours `from..until`
/// (aligned); `None` when the filter needs a column the rollups do not
/// keep (number, recording, duration, contact), so only stored calls can
/// answer it.
pub fn rollup_filter(
    scope: &Scope,
    filter: &CallFilter,
    from: Micros,
    until: Micros,
) -> Option<RollupFilter> {
    if filter.number.is_some()
        || filter.has_recording.is_some()
        || filter.min_duration_secs.is_some()
        || filter.max_duration_secs.is_some()
        || filter.contact_id.is_some()
    {
        return None;
    }
    Some(RollupFilter {
        scope: scope.clone(),
        users: filter.users.clone(),
        phone_id: filter.phone_id.map(|p| p.to_string()),
        direction: filter.direction.map(|d| d.as_str().to_owned()),
        result: filter.result.map(|r| r.as_str().to_owned()),
        disposition: filter
            .disposition_id
            .clone()
            .map(|d| (d, filter.searcher.clone().unwrap_or_default())),
        from,
        until,
    })
}
