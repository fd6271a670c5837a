//! Call records as the API sends them to one reader: each with its
//! recording and its annotation (notes, tags, disposition, callback,
//! privacy), read in a few queries for a page of records. Every read of
//! call records (list, detail, sync, export, recording download, the
//! console's pages) goes through [`redact_for`], so another user's private
//! call never shows its number, dial, recording or annotation.

use std::collections::HashMap;

use super::contact_links;
use crate::db::DbConn;
use crate::ids::{ContactId, OrgId, UserId};
use crate::repo::call_annotations::{self, AnnotationRow};
use crate::repo::call_records::CallRecordRow;
use crate::repo::{RepoError, dispositions, recordings, stored_id};
use crate::wire::{CallRecord, ContactRef};

/// The rows as `reader` may see them, with the annotations they may see.
/// A private call of another user is redacted in place
/// (`CallRecordRow::redact_private`) and keeps no annotation but its
/// `private` mark. The one place that decides what a reader sees of a
/// call: a new field that identifies the other party is hidden here.
pub fn redact_for(
    conn: &mut DbConn,
    reader: UserId,
    rows: &mut [CallRecordRow],
) -> Result<HashMap<String, AnnotationRow>, RepoError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut annotations = call_annotations::by_record_ids(conn, &ids)?;
    let reader = reader.to_string();
    for row in rows.iter_mut() {
        let Some(annotation) = annotations.get_mut(&row.id) else {
            continue;
        };
        if annotation.is_private() && row.user_id.as_deref() != Some(reader.as_str()) {
            row.redact_private();
            *annotation = AnnotationRow {
                private: 1,
                ..AnnotationRow::empty(&row.id, &row.org_id, &annotation.updated_by, 0)
            };
        }
    }
    Ok(annotations)
}

/// Whether `reader` sees this row only redacted (another user's private
/// call), as [`redact_for`] decides: the recording download and the
/// history answer 404 then.
pub fn hidden_from(
    conn: &mut DbConn,
    reader: UserId,
    row: &CallRecordRow,
) -> Result<bool, RepoError> {
    let mut seen = [row.clone()];
    redact_for(conn, reader, &mut seen)?;
    // Ingest refuses a blank remote number, so redaction always changes
    // the row.
    Ok(seen[0] != *row)
}

/// Rows in wire form as `reader` may see them, with their recordings and
/// annotations.
pub fn for_reader(
    conn: &mut DbConn,
    reader: UserId,
    rows: &[CallRecordRow],
) -> Result<Vec<CallRecord>, RepoError> {
    let mut rows = rows.to_vec();
    let annotations = redact_for(conn, reader, &mut rows)?;
    let recording_ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.recording_id.as_deref())
        .collect();
    let found = recordings::by_ids(conn, &recording_ids)?;
    let contacts = linked_contacts(conn, reader, &rows)?;
    let disposition_ids: Vec<&str> = annotations
        .values()
        .filter_map(|a| a.disposition_id.as_deref())
        .collect();
    let catalogue: HashMap<String, dispositions::DispositionRow> =
        dispositions::by_ids(conn, &disposition_ids)?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
    rows.iter()
        .map(|r| {
            let recording = r
                .recording_id
                .as_ref()
                .and_then(|id| found.get(id))
                .map(|rec| rec.to_wire())
                .transpose()?;
            let mut wire = r.to_wire(recording)?;
            wire.contact = r
                .contact_id
                .as_deref()
                .map(stored_id::<ContactId>)
                .transpose()?
                .and_then(|id| contacts.get(&id).cloned());
            if let Some(a) = annotations.get(&r.id) {
                wire.notes = a.notes.clone();
                wire.tags = a.tag_list()?;
                wire.disposition = a
                    .disposition_id
                    .as_ref()
                    .and_then(|d| catalogue.get(d))
                    .map(dispositions::DispositionRow::to_ref)
                    .transpose()?;
                wire.callback_at = a.callback_at.map(crate::time::to_datetime);
                wire.private = a.is_private();
                wire.redacted = a.is_private() && wire.user_id != Some(reader);
                wire.annotation_version = a.version;
            }
            Ok(wire)
        })
        .collect()
}

/// The contacts the rows are linked to, as `reader` may see them (rows
/// already redacted for them, so another's private call names none).
pub fn linked_contacts(
    conn: &mut DbConn,
    reader: UserId,
    rows: &[CallRecordRow],
) -> Result<HashMap<ContactId, ContactRef>, RepoError> {
    let Some(first) = rows.first() else {
        return Ok(HashMap::new());
    };
    let org: OrgId = stored_id(&first.org_id)?;
    let ids = rows
        .iter()
        .filter_map(|r| r.contact_id.as_deref())
        .map(stored_id)
        .collect::<Result<Vec<ContactId>, _>>()?;
    contact_links::refs_for(conn, org, reader, &ids)
}
