//! The `call_annotation_edits` table: every accepted change of a call's
//! annotation, with who made it, when, and each changed field's before and
//! after (a JSON object). Append-only.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::call_annotation_edits;
use crate::ids::OrgId;
use crate::time::to_datetime;
use crate::wire::CallEdit;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = call_annotation_edits)]
pub struct EditRow {
    pub id: String,
    pub call_record_id: String,
    pub org_id: String,
    pub editor_id: String,
    pub version: i64,
    /// `{field: {"before": ..., "after": ...}}`.
    pub changes: String,
    pub edited_at: i64,
}

impl EditRow {
    pub fn to_wire(&self) -> Result<CallEdit, RepoError> {
        Ok(CallEdit {
            version: self.version,
            editor_id: stored_id(&self.editor_id)?,
            edited_at: to_datetime(self.edited_at),
            changes: serde_json::from_str(&self.changes)
                .map_err(|e| RepoError::Corrupt(format!("edit {}: {e}", self.id)))?,
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &EditRow) -> Result<(), RepoError> {
    diesel::insert_into(call_annotation_edits::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The call's edits, oldest first.
pub fn of_call(
    conn: &mut DbConn,
    org: OrgId,
    call_record_id: &str,
) -> Result<Vec<EditRow>, RepoError> {
    Ok(call_annotation_edits::table
        .filter(call_annotation_edits::org_id.eq(org.to_string()))
        .filter(call_annotation_edits::call_record_id.eq(call_record_id))
        .order(call_annotation_edits::version.asc())
        .select(EditRow::as_select())
        .load(conn)?)
}
