//! `/admin/settings`: the organisation's contact visibility (whether
//! salespeople see every contact or only their own; `/v1/contact-settings`)
//! whether calls may be marked private (`/v1/call-settings`), and presence
//! (`/v1/presence-settings`: status texts hidden from salespeople,
//! auto-away). Admins only; the same use cases and checks as the API.

use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::repo::{call_settings, contact_settings};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::call_settings as calls;
use deskbind_core::usecases::{contacts, presence};
use deskbind_core::wire::{ContactVisibility, PresenceSettings};
use serde::Deserialize;

use super::form::{NoticeQuery, Refusal, notice, page_with};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    own_only: bool,
    allow_private: bool,
    presence: PresenceSettings,
    message: Option<String>,
    notice: Option<&'static str>,
}

impl SettingsPage {
    /// Whole minutes as the form shows them (seconds set through the API
    /// round up).
    fn auto_away_minutes(&self) -> String {
        self.presence
            .auto_away_after_secs
            .map(|s| s.div_ceil(60).to_string())
            .unwrap_or_default()
    }
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let org = user.auth.org_id;
    let (visibility, allow_private) = state
        .db
        .run(move |conn| {
            Ok::<_, ApiError>((
                contact_settings::get(conn, org)?.0,
                call_settings::allow_private(conn, org)?,
            ))
        })
        .await?;
    let presence = presence::settings(&state.services(), org).await?;
    let status = refused
        .as_ref()
        .map(|r| r.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    let page = SettingsPage {
        chrome: Chrome::admin(user, AdminSection::Settings),
        own_only: visibility == ContactVisibility::Own,
        allow_private,
        presence,
        message: refused.map(|r| r.message),
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/settings`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    render(&state, &user, None, q.notice.as_deref()).await
}

#[derive(Debug, Deserialize)]
pub struct VisibilityForm {
    #[serde(default)]
    visibility: String,
}

/// `POST /admin/settings/contacts`
pub async fn save_contacts(
    state: web::Data<AppState>,
    form: ConsoleForm<VisibilityForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let Some(visibility) = ContactVisibility::parse(&form.visibility) else {
        let refused = Refusal::invalid("Contact visibility: choose one of the listed values");
        return render(&state, &user, Some(refused), None).await;
    };
    contacts::set_visibility(
        &state.db,
        user.auth.org_id,
        visibility,
        user.auth.user_id,
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(by = %user.auth.user_id, %visibility, "contact visibility changed (console)");
    Ok(see_other("/admin/settings?notice=saved"))
}

#[derive(Debug, Deserialize)]
pub struct PrivateForm {
    allow_private: Option<String>,
}

/// `POST /admin/settings/calls`
pub async fn save_calls(
    state: web::Data<AppState>,
    form: ConsoleForm<PrivateForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let allow = form.allow_private.is_some();
    calls::set_allow_private(&state.services(), user.auth.org_id, allow, now_micros())
        .await
        .map_err(ApiError::from)?;
    Ok(see_other("/admin/settings?notice=saved"))
}

#[derive(Debug, Deserialize)]
pub struct PresenceForm {
    hide_status_text: Option<String>,
    /// Minutes; empty is never.
    #[serde(default)]
    auto_away_minutes: String,
}

/// `POST /admin/settings/presence`
pub async fn save_presence(
    state: web::Data<AppState>,
    form: ConsoleForm<PresenceForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let minutes = form.auto_away_minutes.trim();
    let auto_away_after_secs = match minutes {
        "" => None,
        raw => match raw.parse::<u32>().ok().and_then(|m| m.checked_mul(60)) {
            Some(secs) => Some(secs),
            None => {
                let refused =
                    Refusal::invalid("Away after: a whole number of minutes, or empty for never");
                return render(&state, &user, Some(refused), None).await;
            }
        },
    };
    let settings = PresenceSettings {
        hide_status_text: form.hide_status_text.is_some(),
        auto_away_after_secs,
    };
    if let Err(e) = crate::routes::presence::check_settings(&settings) {
        let refused = Refusal::invalid(format!("Away after: {}", e.message));
        return render(&state, &user, Some(refused), None).await;
    }
    presence::put_settings(
        &state.services(),
        user.auth.org_id,
        settings,
        user.auth.user_id,
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(by = %user.auth.user_id, "presence settings changed (console)");
    Ok(see_other("/admin/settings?notice=saved"))
}
