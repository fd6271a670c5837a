//! `GET /calls/{id}`: one call, every field, with an inline player whose
//! source is `GET /calls/{id}/recording` (cookie auth, the JSON API's
//! download code: Range, conditional requests, S3 redirect). A call the
//! viewer may not see, or another organisation's, is the 404 page.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::ids::CallRecordId;
use deskbind_core::wire::CallRecord;
use serde::Deserialize;

use super::super::admin::form::{NoticeQuery, notice, page_with};
use super::super::admin::names::users_of;
use super::choices::names_of_call;
use super::outcome::{self, OutcomeDraft, OutcomeView};
use super::view;
use crate::console::chrome::{Chrome, Section};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::calls::get_one;
use crate::routes::recording_download::{self, Disposition};
use crate::state::AppState;

/// A label and its value, in the order the page lists them.
#[derive(Debug)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    /// Set for instants: the `<time datetime>` value.
    pub iso: Option<String>,
}

#[derive(Debug)]
pub struct RecordingView {
    pub src: String,
    pub download: String,
    pub facts: Vec<Fact>,
}

#[derive(Debug, Template)]
#[template(path = "call_detail.html")]
pub struct CallDetailPage {
    pub chrome: Chrome,
    pub heading: String,
    pub facts: Vec<Fact>,
    pub recording: Option<RecordingView>,
    pub time_zone: String,
    /// Notes, tags, disposition, callback, privacy and their history.
    pub outcome: OutcomeView,
    pub notice: Option<&'static str>,
    pub call_id: String,
}

pub(crate) fn call_id(raw: &str) -> ConsoleResult<CallRecordId> {
    // A malformed id names no call: the same 404 page as an unseen one.
    raw.parse().map_err(|_| ConsoleError::not_found())
}

pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let id = call_id(&id)?;
    render(&state, &user, id, None, None, q.notice.as_deref()).await
}

/// The call's page; with a refused outcome form, that form as typed and
/// the refusal's status.
pub(crate) async fn render(
    state: &AppState,
    user: &ConsoleUser,
    id: CallRecordId,
    draft: Option<OutcomeDraft>,
    errors: Option<FormErrors>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let auth = user.auth;
    let tz = view::viewer_zone(user);
    let status = errors
        .as_ref()
        .map(|e| e.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    let (call, names, outcome) = state
        .db
        .run(move |conn| {
            let call = get_one(conn, &auth, id)?;
            let names = names_of_call(
                conn,
                auth.org_id,
                call.user_id.map(|u| u.to_string()),
                call.phone_id.to_string(),
            )?;
            let people = users_of(conn, auth.org_id)?;
            let outcome = outcome::load(conn, &auth, &call, &people, tz, draft, errors)?;
            Ok::<_, ApiError>((call, names, outcome))
        })
        .await?;
    let mut page_data = detail_page(user, &call, names, outcome);
    page_data.notice = notice(notice_key);
    page_with(status, &page_data)
}

fn detail_page(
    user: &ConsoleUser,
    call: &CallRecord,
    (user_name, phone_name): (Option<String>, String),
    outcome: OutcomeView,
) -> CallDetailPage {
    let tz = view::viewer_zone(user);
    let at = |label, t: Option<chrono::DateTime<chrono::Utc>>| Fact {
        label,
        value: t.map(|t| view::local_time(t, tz)).unwrap_or_default(),
        iso: t.map(view::iso),
    };
    let plain = |label, value: String| Fact {
        label,
        value,
        iso: None,
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let reported_by = match (call.reported_by_phone, call.reported_by_app) {
        (true, true) => "The phone and the app",
        (true, false) => "The phone",
        _ => "The app",
    };
    let number = view::number_label(call);
    let facts = vec![
        at("Started", Some(call.started_at)),
        at("Answered", call.answered_at),
        at("Ended", call.ended_at),
        plain("Direction", view::direction_label(call.direction).into()),
        plain("Result", view::result_label(call.result).into()),
        plain("Duration", view::duration(call.duration_secs)),
        plain("User", user_name.unwrap_or_default()),
        plain("Phone", phone_name),
        plain("Remote number", call.remote_number.clone()),
        plain("Remote number (E.164)", opt(&call.remote_number_e164)),
        plain("Local number", opt(&call.local_number)),
        plain("Local number (E.164)", opt(&call.local_number_e164)),
        plain("Phone's call id", call.call_id.clone()),
        plain(
            "Dial",
            call.dial_id
                .map(|d| d.to_string())
                .unwrap_or_else(|| "Not dialled through deskbind".into()),
        ),
        plain("Reported by", reported_by.into()),
        at("First reported", Some(call.created_at)),
        at("Last changed", Some(call.updated_at)),
        plain("Call record id", call.id.to_string()),
        // What came of the call; empty for another user's private call.
        plain("Private", if call.private { "Yes" } else { "No" }.into()),
        plain(
            "Disposition",
            call.disposition
                .as_ref()
                .map(|d| d.label.clone())
                .unwrap_or_default(),
        ),
        at("Callback", call.callback_at),
        plain("Tags", call.tags.join(", ")),
        plain("Notes", opt(&call.notes)),
    ];
    let recording = call.recording.as_ref().map(|r| RecordingView {
        src: format!("/calls/{}/recording", call.id),
        download: format!("/calls/{}/recording?download=1", call.id),
        facts: vec![
            plain("Format", r.format.as_str().to_uppercase()),
            plain("Size", view::size(r.size_bytes)),
            plain(
                "Length",
                r.duration_ms
                    .map(|ms| view::duration(Some((ms as i64 + 500) / 1000)))
                    .unwrap_or_default(),
            ),
            at("Uploaded", Some(r.uploaded_at)),
            plain("SHA-256", r.sha256.clone()),
        ],
    });
    CallDetailPage {
        chrome: Chrome::new(user, Section::Calls),
        heading: format!(
            "{} call, {}, {}",
            view::direction_label(call.direction),
            number,
            view::local_time(call.started_at, tz)
        ),
        facts,
        recording,
        time_zone: tz.name().to_owned(),
        outcome,
        notice: None,
        call_id: call.id.to_string(),
    }
}

#[derive(Debug, Deserialize)]
pub struct RecordingQuery {
    download: Option<String>,
}

/// `GET /calls/{id}/recording`: the JSON API's download for a console
/// session; `?download=1` asks the browser to save it.
pub async fn recording(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    let id = call_id(&id)?;
    // Anything but a clear "download" plays inline (the harmless default).
    let query: RecordingQuery =
        serde_urlencoded::from_str(req.query_string()).unwrap_or(RecordingQuery { download: None });
    let disposition = match query.download.as_deref() {
        Some("1" | "true") => Disposition::Attachment,
        _ => Disposition::Inline,
    };
    Ok(recording_download::serve(&state, user.auth, id, &req, disposition).await?)
}
