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
    let annotations = call_annotations::by_record_ids(conn, &ids)?;
    Ok(redact_with(reader, rows, &annotations))
}

/// [`redact_for`] with the rows' annotations already read: the
/// annotations of `rows` as `reader` may see them.
fn redact_with(
    reader: UserId,
    rows: &mut [CallRecordRow],
    stored: &HashMap<String, AnnotationRow>,
) -> HashMap<String, AnnotationRow> {
    let reader = reader.to_string();
    let mut seen = HashMap::with_capacity(rows.len().min(stored.len()));
    for row in rows.iter_mut() {
        let Some(annotation) = stored.get(&row.id) else {
            continue;
        };
        let annotation =
            if annotation.is_private() && row.user_id.as_deref() != Some(reader.as_str()) {
                row.redact_private();
                AnnotationRow {
                    private: 1,
                    ..AnnotationRow::empty(&row.id, &row.org_id, &annotation.updated_by, 0)
                }
            } else {
                annotation.clone()
            };
        seen.insert(row.id.clone(), annotation);
    }
    seen
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
    let mut pages = for_readers(conn, &[(reader, rows)])?;
    Ok(pages.pop().unwrap_or_default())
}

/// [`for_reader`] for several readers' rows (of one organisation) at once,
/// one list per reader in order: the annotations, recordings, contacts and
/// dispositions of all of them read once, then each reader's rows redacted
/// and composed on their own (an ingest batch shows its records to up to
/// 500 users; it read these once per user).
pub fn for_readers(
    conn: &mut DbConn,
    readers: &[(UserId, &[CallRecordRow])],
) -> Result<Vec<Vec<CallRecord>>, RepoError> {
    let ids: Vec<&str> = readers
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|r| r.id.as_str()))
        .collect();
    let stored = call_annotations::by_record_ids(conn, &ids)?;
    let seen: Vec<(UserId, Vec<CallRecordRow>, HashMap<String, AnnotationRow>)> = readers
        .iter()
        .map(|&(reader, rows)| {
            let mut rows = rows.to_vec();
            let annotations = redact_with(reader, &mut rows, &stored);
            (reader, rows, annotations)
        })
        .collect();
    let recording_ids: Vec<&str> = seen
        .iter()
        .flat_map(|(_, rows, _)| rows.iter().filter_map(|r| r.recording_id.as_deref()))
        .collect();
    let found = recordings::by_ids(conn, &recording_ids)?;
    let contacts = contacts_for_readers(conn, &seen)?;
    let disposition_ids: Vec<&str> = seen
        .iter()
        .flat_map(|(_, _, a)| a.values().filter_map(|a| a.disposition_id.as_deref()))
        .collect();
    let catalogue: HashMap<String, dispositions::DispositionRow> =
        dispositions::by_ids(conn, &disposition_ids)?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
    seen.iter()
        .zip(&contacts)
        .map(|((reader, rows, annotations), contacts)| {
            rows.iter()
                .map(|r| {
                    compose(
                        r,
                        *reader,
                        annotations.get(&r.id),
                        &found,
                        contacts,
                        &catalogue,
                    )
                })
                .collect()
        })
        .collect()
}

/// Each reader's linked contacts as they may see them (rows already
/// redacted for them), in one read for all.
fn contacts_for_readers(
    conn: &mut DbConn,
    seen: &[(UserId, Vec<CallRecordRow>, HashMap<String, AnnotationRow>)],
) -> Result<Vec<HashMap<ContactId, ContactRef>>, RepoError> {
    let Some(first) = seen.iter().find_map(|(_, rows, _)| rows.first()) else {
        return Ok(vec![HashMap::new(); seen.len()]);
    };
    if let Some(other) = seen
        .iter()
        .flat_map(|(_, rows, _)| rows)
        .find(|r| r.org_id != first.org_id)
    {
        return Err(RepoError::Corrupt(format!(
            "records of two organisations read together: {} and {}",
            first.org_id, other.org_id
        )));
    }
    let org: OrgId = stored_id(&first.org_id)?;
    let linked = seen
        .iter()
        .map(|(_, rows, _)| {
            rows.iter()
                .filter_map(|r| r.contact_id.as_deref())
                .map(stored_id)
                .collect::<Result<Vec<ContactId>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let readers: Vec<(UserId, &[ContactId])> = seen
        .iter()
        .zip(&linked)
        .map(|((reader, _, _), ids)| (*reader, ids.as_slice()))
        .collect();
    contact_links::refs_for_readers(conn, org, &readers)
}

/// One row in wire form for `reader`, with what was read for it.
fn compose(
    r: &CallRecordRow,
    reader: UserId,
    annotation: Option<&AnnotationRow>,
    recordings: &HashMap<String, recordings::RecordingRow>,
    contacts: &HashMap<ContactId, ContactRef>,
    catalogue: &HashMap<String, dispositions::DispositionRow>,
) -> Result<CallRecord, RepoError> {
    let recording = r
        .recording_id
        .as_ref()
        .and_then(|id| recordings.get(id))
        .map(|rec| rec.to_wire())
        .transpose()?;
    let mut wire = r.to_wire(recording)?;
    wire.contact = r
        .contact_id
        .as_deref()
        .map(stored_id::<ContactId>)
        .transpose()?
        .and_then(|id| contacts.get(&id).cloned());
    if let Some(a) = annotation {
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
