//! What came of a call, on its page (docs/call-outcomes.md): notes, tags,
//! disposition, callback time and the private flag, edited with the
//! checks and use case of `PATCH /v1/calls/{id}` (`usecases::call_outcomes`),
//! and the edit history of `GET /v1/calls/{id}/history`. Another user's
//! private call shows neither: a manager reads it redacted. The form
//! carries the version it was read at, so an edit made meanwhile by
//! someone else is refused (409) rather than overwritten.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use deskbind_core::db::DbConn;
use deskbind_core::domain::call_outcomes::{call_notes, call_tags};
use deskbind_core::ids::{CallRecordId, DispositionId};
use deskbind_core::repo::{call_annotation_edits, call_settings, dispositions, users};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::call_outcomes::{self, CallChange, Editor};
use deskbind_core::wire::{CallEdit, CallRecord};
use serde::Deserialize;

use super::super::admin::form::Choice;
use super::super::admin::names::Named;
use super::super::contacts::owner_name;
use super::detail::{call_id, render};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::FormErrors;
use crate::console::session::ConsoleUser;
use crate::console::time::local_time;
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::calls::unredacted_row;
use crate::routes::users::visibility;
use crate::state::AppState;

const SHOWN: &[&str] = &["notes", "tags", "disposition_id", "callback_at", "private"];

/// The outcome form as typed (or as stored, on a fresh page).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutcomeDraft {
    #[serde(default)]
    pub notes: String,
    /// Comma-separated.
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub disposition_id: String,
    /// `YYYY-MM-DD HH:MM` in the viewer's zone.
    #[serde(default)]
    pub callback_at: String,
    /// The checkbox, present when ticked.
    pub private: Option<String>,
    /// Set when the form showed the private checkbox.
    pub private_shown: Option<String>,
    #[serde(default)]
    pub version: String,
}

impl OutcomeDraft {
    fn of(call: &CallRecord, tz: Tz) -> Self {
        Self {
            notes: call.notes.clone().unwrap_or_default(),
            tags: call.tags.join(", "),
            disposition_id: call
                .disposition
                .as_ref()
                .map(|d| d.id.to_string())
                .unwrap_or_default(),
            callback_at: call
                .callback_at
                .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            private: call.private.then(|| "1".to_owned()),
            private_shown: None,
            version: call.annotation_version.to_string(),
        }
    }
}

/// One edit of the history, as read.
#[derive(Debug)]
pub struct EditLine {
    pub version: i64,
    pub editor: String,
    pub at: String,
    /// "field: before → after" per changed field.
    pub changes: Vec<String>,
}

/// The outcome section of the call page.
#[derive(Debug)]
pub struct OutcomeView {
    /// Another user's private call: nothing of it is shown.
    pub redacted: bool,
    pub draft: OutcomeDraft,
    pub dispositions: Vec<Choice>,
    /// The viewer is the call's user and the organisation allows it.
    pub may_mark_private: bool,
    pub private: bool,
    pub history: Vec<EditLine>,
    pub errors: Option<FormErrors>,
}

impl OutcomeView {
    pub fn private_checked(&self) -> bool {
        self.draft.private.is_some()
    }
}

/// A field's value as a person reads it: dispositions by label, lists
/// comma-separated, nothing as a dash.
fn json_text(v: &serde_json::Value, labels: &[Named]) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => labels
            .iter()
            .find(|d| d.id == *s)
            .map(|d| d.label.clone())
            .unwrap_or_else(|| s.clone()),
        serde_json::Value::Array(items) if items.is_empty() => "—".into(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| json_text(i, labels))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn edit_line(e: &CallEdit, names: &[Named], labels: &[Named], tz: Tz) -> EditLine {
    EditLine {
        version: e.version,
        editor: owner_name(names, Some(e.editor_id.to_string())),
        at: local_time(e.edited_at, tz),
        changes: e
            .changes
            .iter()
            .map(|(field, c)| {
                format!(
                    "{field}: {} → {}",
                    json_text(&c.before, labels),
                    json_text(&c.after, labels)
                )
            })
            .collect(),
    }
}

/// The section's data for `call`, read in `conn`.
pub fn load(
    conn: &mut DbConn,
    auth: &AuthUser,
    call: &CallRecord,
    names: &[Named],
    tz: Tz,
    draft: Option<OutcomeDraft>,
    errors: Option<FormErrors>,
) -> Result<OutcomeView, ApiError> {
    if call.redacted {
        return Ok(OutcomeView {
            redacted: true,
            draft: OutcomeDraft::default(),
            dispositions: Vec::new(),
            may_mark_private: false,
            private: true,
            history: Vec::new(),
            errors: None,
        });
    }
    let draft = draft.unwrap_or_else(|| OutcomeDraft::of(call, tz));
    let current = call.disposition.as_ref().map(|d| d.id);
    // Archived entries cannot be chosen, but the call's own stays listed.
    let catalogue = dispositions::list(conn, auth.org_id)?
        .iter()
        .map(|r| r.to_wire())
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<Named> = catalogue
        .iter()
        .map(|d| Named {
            id: d.id.to_string(),
            label: d.label.clone(),
        })
        .collect();
    let dispositions = catalogue
        .into_iter()
        .filter(|d| !d.archived || Some(d.id) == current)
        .map(|d| Choice {
            selected: d.id.to_string() == draft.disposition_id,
            label: if d.callback {
                format!("{} (needs a callback time)", d.label)
            } else {
                d.label
            },
            value: d.id.to_string(),
        })
        .collect();
    let allow_private = call_settings::allow_private(conn, auth.org_id)?;
    let row = unredacted_row(conn, auth, call.id)?;
    let history = call_annotation_edits::of_call(conn, auth.org_id, &row.id)?
        .iter()
        .map(|r| r.to_wire())
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(|e| edit_line(e, names, &labels, tz))
        .collect();
    Ok(OutcomeView {
        redacted: false,
        may_mark_private: call.user_id == Some(auth.user_id) && (allow_private || call.private),
        private: call.private,
        draft,
        dispositions,
        history,
        errors,
    })
}

/// A time typed in the viewer's zone.
fn local_instant(raw: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, FormErrors> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let refused = || {
        FormErrors::invalid(
            "callback_at",
            "Give a date and time, or leave it empty",
            SHOWN,
        )
    };
    let local = crate::console::time::parse_local_minute(raw).ok_or_else(refused)?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(refused)
}

/// The checked change the form asks for: every shown field replaces the
/// stored one, against the version the form was read at.
fn change(d: &OutcomeDraft, tz: Tz) -> Result<CallChange, FormErrors> {
    let field = |e: deskbind_core::domain::FieldError| {
        FormErrors::from_api(e.into(), SHOWN)
            .unwrap_or_else(|_| FormErrors::invalid("notes", "This value cannot be saved", SHOWN))
    };
    let tags: Vec<String> = d
        .tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let disposition_id = match d.disposition_id.trim() {
        "" => None,
        id => Some(id.parse::<DispositionId>().map_err(|_| {
            FormErrors::invalid(
                "disposition_id",
                "Choose a disposition from the list",
                SHOWN,
            )
        })?),
    };
    Ok(CallChange {
        notes: Some(call_notes(Some(&d.notes)).map_err(field)?),
        tags: Some(call_tags(&tags).map_err(field)?),
        disposition_id: Some(disposition_id),
        callback_at: Some(local_instant(&d.callback_at, tz)?.map(|t| t.timestamp_micros())),
        private: d.private_shown.as_ref().map(|_| d.private.is_some()),
        version: d.version.trim().parse().ok(),
    })
}

/// `POST /calls/{id}/outcome`
pub async fn save(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<OutcomeDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let id: CallRecordId = call_id(&id)?;
    let tz = crate::console::time::viewer_zone(&user);
    let errors = match change(&draft, tz) {
        Err(e) => e,
        Ok(change) => match annotate(&state, &user, id, change).await {
            Ok(()) => {
                return Ok(crate::console::chrome::see_other(format!(
                    "/calls/{id}?notice=saved"
                )));
            }
            Err(e) => FormErrors::from_api(e, SHOWN)?,
        },
    };
    render(&state, &user, id, Some(draft), Some(errors), None).await
}

async fn annotate(
    state: &AppState,
    user: &ConsoleUser,
    id: CallRecordId,
    change: CallChange,
) -> Result<(), ApiError> {
    let auth = user.auth;
    let scope = state
        .db
        .run(move |conn| users::visible_ids(conn, visibility(&auth)))
        .await?;
    let editor = Editor {
        org: user.auth.org_id,
        user: user.auth.user_id,
        scope,
    };
    call_outcomes::annotate(&state.services(), editor, id, change, now_micros()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_flag_is_sent_only_when_the_form_showed_it() {
        let tz: Tz = "UTC".parse().unwrap();
        let hidden = OutcomeDraft::default();
        assert_eq!(change(&hidden, tz).unwrap().private, None);
        let unticked = OutcomeDraft {
            private_shown: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(change(&unticked, tz).unwrap().private, Some(false));
    }

    #[test]
    fn a_callback_time_is_read_in_the_viewers_zone() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = OutcomeDraft {
            callback_at: "2026-07-01T09:30".into(),
            version: "3".into(),
            ..Default::default()
        };
        let c = change(&d, tz).unwrap();
        assert_eq!(c.callback_at, Some(Some(1_782_891_000_000_000)));
        assert_eq!(c.version, Some(3));
        let bad = OutcomeDraft {
            callback_at: "soon".into(),
            ..Default::default()
        };
        assert!(change(&bad, tz).unwrap_err().at("callback_at").is_some());
    }
}
