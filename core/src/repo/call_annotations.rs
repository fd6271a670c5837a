//! The `call_annotations` table: what people wrote about a call (notes,
//! tags, disposition, callback time, privacy), one row per call. Record
//! ingest never writes here, so a re-uploaded record keeps its annotation.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::call_annotations;
use crate::ids::OrgId;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = call_annotations)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct AnnotationRow {
    pub call_record_id: String,
    pub org_id: String,
    pub notes: Option<String>,
    /// A JSON array of strings.
    pub tags: String,
    pub disposition_id: Option<String>,
    pub callback_at: Option<i64>,
    pub private: i64,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

impl AnnotationRow {
    /// The annotation of a call nobody annotated yet (version 0).
    pub fn empty(call_record_id: &str, org_id: &str, by: &str, now: i64) -> Self {
        Self {
            call_record_id: call_record_id.to_owned(),
            org_id: org_id.to_owned(),
            notes: None,
            tags: "[]".into(),
            disposition_id: None,
            callback_at: None,
            private: 0,
            version: 0,
            updated_by: by.to_owned(),
            updated_at: now,
        }
    }

    pub fn is_private(&self) -> bool {
        self.private != 0
    }

    pub fn tag_list(&self) -> Result<Vec<String>, RepoError> {
        serde_json::from_str(&self.tags)
            .map_err(|e| RepoError::Corrupt(format!("tags of call {}: {e}", self.call_record_id)))
    }
}

/// The call's annotation, if it has one.
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    call_record_id: &str,
) -> Result<Option<AnnotationRow>, RepoError> {
    Ok(call_annotations::table
        .filter(call_annotations::org_id.eq(org.to_string()))
        .filter(call_annotations::call_record_id.eq(call_record_id))
        .select(AnnotationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The annotations of these calls, by call id.
pub fn by_record_ids(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<HashMap<String, AnnotationRow>, RepoError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<AnnotationRow> = call_annotations::table
        .filter(call_annotations::call_record_id.eq_any(ids))
        .select(AnnotationRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.call_record_id.clone(), r))
        .collect())
}

/// Whether any call has this disposition (then it is archived, not deleted).
pub fn uses_disposition(conn: &mut DbConn, disposition_id: &str) -> Result<bool, RepoError> {
    Ok(diesel::select(diesel::dsl::exists(
        call_annotations::table.filter(call_annotations::disposition_id.eq(disposition_id)),
    ))
    .get_result(conn)?)
}

/// Stores the first version of a call's annotation.
pub fn insert(conn: &mut DbConn, row: &AnnotationRow) -> Result<(), RepoError> {
    diesel::insert_into(call_annotations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Replaces version `row.version - 1` with `row`; `false` when another
/// edit committed first (the stored version moved on).
pub fn update_from(conn: &mut DbConn, row: &AnnotationRow) -> Result<bool, RepoError> {
    let changed = diesel::update(
        call_annotations::table
            .filter(call_annotations::call_record_id.eq(row.call_record_id.clone()))
            .filter(call_annotations::version.eq(row.version - 1)),
    )
    .set(row)
    .execute(conn)?;
    Ok(changed == 1)
}

/// Of `dial_ids`, the dials whose call was marked private: their number
/// is the private call's number, so only the dial's own user sees it.
pub fn private_dial_ids(
    conn: &mut DbConn,
    org: OrgId,
    dial_ids: &[String],
) -> Result<std::collections::HashSet<String>, RepoError> {
    use crate::db::schema::call_records;
    if dial_ids.is_empty() {
        return Ok(Default::default());
    }
    let private_calls = call_annotations::table
        .filter(call_annotations::org_id.eq(org.to_string()))
        .filter(call_annotations::private.ne(0))
        .select(call_annotations::call_record_id);
    let found: Vec<Option<String>> = call_records::table
        .filter(call_records::org_id.eq(org.to_string()))
        .filter(call_records::dial_id.eq_any(dial_ids))
        .filter(call_records::id.eq_any(private_calls))
        .select(call_records::dial_id)
        .load(conn)?;
    Ok(found.into_iter().flatten().collect())
}
