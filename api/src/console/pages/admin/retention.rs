//! `/admin/retention`: how long the organisation keeps call records,
//! recordings and export files (blank follows the operator's default, shown beside it) and
//! its legal holds: place one on a user, a contact or a call, release it
//! (docs/retention.md); and the archived months, each a download link.
//! Admins only; the checks and use cases are
//! `/v1/retention`'s and `/v1/legal-holds`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::LegalHoldId;
use deskbind_core::repo::call_archives;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::{legal_holds, retention};
use deskbind_core::wire::{MAX_PAGE_LIMIT, PlaceLegalHold, Retention, SetRetention};
use serde::Deserialize;

use super::form::{NoticeQuery, local_time, notice, page_with};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::path_id;
use crate::state::AppState;

const DAYS_SHOWN: &[&str] = &["call_record_days", "recording_days", "export_days"];
const HOLD_SHOWN: &[&str] = &["subject_type", "subject_id", "reason"];

/// The days form: blank follows the default.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DaysDraft {
    #[serde(default)]
    pub call_record_days: String,
    #[serde(default)]
    pub recording_days: String,
    /// Absent (a form from before the field): unchanged.
    #[serde(default)]
    pub export_days: Option<String>,
}

/// The new-hold form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HoldDraft {
    #[serde(default)]
    pub subject_type: String,
    #[serde(default)]
    pub subject_id: String,
    #[serde(default)]
    pub reason: String,
}

/// One archived month as the archive table shows it.
struct ArchiveLine {
    month: String,
    records: i64,
    size: String,
    written: String,
}

/// Archived months shown; older ones are listed by the API.
const ARCHIVE_MONTHS_SHOWN: i64 = 24;

/// One hold as the table shows it.
struct HoldLine {
    id: LegalHoldId,
    subject_type: &'static str,
    subject_id: String,
    /// The user's name, or the call's or contact's console page.
    subject_label: String,
    subject_href: Option<String>,
    reason: String,
    placed: String,
}

#[derive(Template)]
#[template(path = "admin_retention.html")]
struct RetentionPage {
    chrome: Chrome,
    days: DaysDraft,
    days_errors: Option<FormErrors>,
    default_records: String,
    default_recordings: String,
    effective_records: String,
    effective_recordings: String,
    default_exports: String,
    effective_exports: String,
    holds: Vec<HoldLine>,
    more: bool,
    hold: HoldDraft,
    hold_errors: Option<FormErrors>,
    notice: Option<&'static str>,
    archiving: bool,
    archives: Vec<ArchiveLine>,
    more_archives: bool,
}

fn shown_days(days: Option<i64>) -> String {
    days.map_or_else(|| "forever".into(), |d| format!("{d} days"))
}

fn field_days(days: Option<i64>) -> String {
    days.map(|d| d.to_string()).unwrap_or_default()
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "user" => "User",
        "contact" => "Contact",
        _ => "Call",
    }
}

struct Drafts {
    days: Option<DaysDraft>,
    days_errors: Option<FormErrors>,
    hold: HoldDraft,
    hold_errors: Option<FormErrors>,
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    drafts: Drafts,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let org = user.auth.org_id;
    let current: Retention = retention::get(&state.db, org, state.settings.retention_defaults())
        .await
        .map_err(ApiError::from)?;
    // Holds past the first page are listed by the API.
    let page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    let holds = legal_holds::list(&state.db, org, false, page)
        .await
        .map_err(ApiError::from)?;
    let people = state
        .db
        .run(move |conn| super::names::users_of(conn, org))
        .await
        .map_err(ApiError::from)?;
    let mut months = state
        .db
        .run(move |conn| call_archives::months(conn, org, None, ARCHIVE_MONTHS_SHOWN + 1))
        .await
        .map_err(ApiError::from)?;
    let more_archives = months.len() as i64 > ARCHIVE_MONTHS_SHOWN;
    months.truncate(ARCHIVE_MONTHS_SHOWN as usize);
    let tz = user.time_zone.as_str();
    let status = drafts
        .days_errors
        .as_ref()
        .or(drafts.hold_errors.as_ref())
        .map(|e| e.status)
        .unwrap_or(StatusCode::OK);
    let page = RetentionPage {
        chrome: Chrome::admin(user, AdminSection::Retention),
        days: drafts.days.unwrap_or_else(|| DaysDraft {
            call_record_days: field_days(current.chosen.call_record_days),
            recording_days: field_days(current.chosen.recording_days),
            export_days: Some(field_days(current.chosen.export_days)),
        }),
        days_errors: drafts.days_errors,
        default_records: shown_days(current.defaults.call_record_days),
        default_recordings: shown_days(current.defaults.recording_days),
        effective_records: shown_days(current.effective.call_record_days),
        effective_recordings: shown_days(current.effective.recording_days),
        default_exports: shown_days(current.defaults.export_days),
        effective_exports: shown_days(current.effective.export_days),
        holds: holds
            .items
            .iter()
            .map(|h| {
                let (subject_label, subject_href) = match h.subject_type.as_str() {
                    "user" => (
                        people
                            .iter()
                            .find(|p| p.id == h.subject_id)
                            .map_or_else(|| h.subject_id.clone(), |p| p.label.clone()),
                        None,
                    ),
                    "contact" => (
                        h.subject_id.clone(),
                        Some(format!("/contacts/{}", h.subject_id)),
                    ),
                    _ => (
                        h.subject_id.clone(),
                        Some(format!("/calls/{}", h.subject_id)),
                    ),
                };
                HoldLine {
                    id: h.id,
                    subject_type: kind_label(h.subject_type.as_str()),
                    subject_id: h.subject_id.clone(),
                    subject_label,
                    subject_href,
                    reason: h.reason.clone(),
                    placed: local_time(h.created_at.timestamp_micros(), tz),
                }
            })
            .collect(),
        more: holds.next_cursor.is_some(),
        hold: drafts.hold,
        hold_errors: drafts.hold_errors,
        notice: notice(notice_key),
        archiving: state.settings.retention_archive,
        archives: months
            .into_iter()
            .map(|m| ArchiveLine {
                records: m.records,
                size: size_label(m.size_bytes),
                written: local_time(m.updated_at.timestamp_micros(), tz),
                month: m.month,
            })
            .collect(),
        more_archives,
    };
    page_with(status, &page)
}

fn size_label(bytes: i64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / (KIB * KIB))
    }
}

/// `GET /admin/archives/{month}`: the month's archive, as the API serves it.
pub async fn download_archive(
    state: web::Data<AppState>,
    user: ConsoleUser,
    month: web::Path<String>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    Ok(crate::routes::archives::serve_month(
        &state,
        user.auth.org_id,
        user.auth.user_id,
        month.into_inner(),
    )
    .await?)
}

/// `GET /admin/retention`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let drafts = Drafts {
        days: None,
        days_errors: None,
        hold: HoldDraft::default(),
        hold_errors: None,
    };
    render(&state, &user, drafts, q.notice.as_deref()).await
}

/// A day count from the form: blank follows the default.
fn parse_days(field: &str, raw: &str) -> Result<Option<i64>, FormErrors> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>().map(Some).map_err(|_| {
        FormErrors::invalid(
            field,
            "A whole number of days, or blank to follow the default.",
            DAYS_SHOWN,
        )
    })
}

/// `POST /admin/retention`
pub async fn save(
    state: web::Data<AppState>,
    form: ConsoleForm<DaysDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let parsed = parse_days("call_record_days", &draft.call_record_days).and_then(|records| {
        let recordings = parse_days("recording_days", &draft.recording_days)?;
        let exports = draft
            .export_days
            .as_deref()
            .map(|raw| parse_days("export_days", raw))
            .transpose()?;
        Ok((records, recordings, exports))
    });
    let refused = match parsed {
        Err(errors) => errors,
        Ok((call_record_days, recording_days, export_days)) => {
            let input = SetRetention {
                call_record_days,
                recording_days,
                export_days,
            };
            match retention::set(
                &state.db,
                user.auth.org_id,
                user.auth.user_id,
                input,
                state.settings.retention_defaults(),
                now_micros(),
            )
            .await
            {
                Ok(_) => return Ok(see_other("/admin/retention?notice=saved")),
                Err(e) => FormErrors::from_api(e.into(), DAYS_SHOWN)?,
            }
        }
    };
    let drafts = Drafts {
        days: Some(draft),
        days_errors: Some(refused),
        hold: HoldDraft::default(),
        hold_errors: None,
    };
    render(&state, &user, drafts, None).await
}

/// `POST /admin/legal-holds`
pub async fn place(
    state: web::Data<AppState>,
    form: ConsoleForm<HoldDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let input = PlaceLegalHold {
        subject_type: draft.subject_type.clone(),
        subject_id: draft.subject_id.clone(),
        reason: draft.reason.clone(),
    };
    match legal_holds::place(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        input,
        now_micros(),
    )
    .await
    {
        Ok(_) => Ok(see_other("/admin/retention?notice=hold_placed")),
        Err(e) => {
            let drafts = Drafts {
                days: None,
                days_errors: None,
                hold: draft,
                hold_errors: Some(FormErrors::from_api(e.into(), HOLD_SHOWN)?),
            };
            render(&state, &user, drafts, None).await
        }
    }
}

/// `POST /admin/legal-holds/{id}/release`
pub async fn release(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: LegalHoldId = path_id(&id)?;
    legal_holds::release(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        id,
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(see_other("/admin/retention?notice=hold_released"))
}
