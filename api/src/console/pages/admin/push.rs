//! `/admin/push`: the organisation's default digest schedule
//! (`/v1/push/default-schedule`), checked and stored by the API's own
//! `routes::push::replace_default` (which also moves everyone who follows
//! the default onto it).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::repo::push_schedules;
use deskbind_core::wire::{MAX_EVERY_MINUTES, MIN_EVERY_MINUTES, PushScheduleRule};
use serde::Deserialize;

use super::form::{NoticeQuery, Refusal, notice, page_with, refusal};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::push::replace_default;
use crate::state::AppState;

/// The form's values, as typed; a checkbox is sent only when ticked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    daily_at: String,
    #[serde(default)]
    every_minutes: String,
    on_missed_call: Option<String>,
    on_new_records: Option<String>,
}

impl ScheduleForm {
    fn of(rule: &PushScheduleRule) -> Self {
        let ticked = |b: bool| b.then(|| "on".to_owned());
        Self {
            daily_at: rule.daily_at.clone().unwrap_or_default(),
            every_minutes: rule
                .every_minutes
                .map(|n| n.to_string())
                .unwrap_or_default(),
            on_missed_call: ticked(rule.on_missed_call),
            on_new_records: ticked(rule.on_new_records),
        }
    }

    fn to_rule(&self) -> Result<PushScheduleRule, Refusal> {
        Ok(PushScheduleRule {
            daily_at: Some(self.daily_at.trim().to_owned()).filter(|d| !d.is_empty()),
            every_minutes: Some(self.every_minutes.trim())
                .filter(|n| !n.is_empty())
                .map(|n| {
                    n.parse::<u32>()
                        .map_err(|_| Refusal::invalid("Every (minutes): must be a whole number"))
                })
                .transpose()?,
            on_missed_call: self.on_missed_call.is_some(),
            on_new_records: self.on_new_records.is_some(),
        })
    }
}

#[derive(Template)]
#[template(path = "admin_push.html")]
struct PushPage {
    chrome: Chrome,
    form: ScheduleForm,
    min_minutes: u32,
    max_minutes: u32,
    message: Option<String>,
    notice: Option<&'static str>,
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    draft: Option<(ScheduleForm, Refusal)>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let (form, status, message) = match draft {
        Some((form, r)) => (form, r.status, Some(r.message)),
        None => {
            let org = user.auth.org_id;
            let rule = state
                .db
                .run(move |conn| push_schedules::org_default(conn, org).map_err(ApiError::from))
                .await?;
            (ScheduleForm::of(&rule.to_wire()), StatusCode::OK, None)
        }
    };
    let page = PushPage {
        chrome: Chrome::admin(user, AdminSection::Push),
        form,
        min_minutes: MIN_EVERY_MINUTES,
        max_minutes: MAX_EVERY_MINUTES,
        message,
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/push`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    render(&state, &user, None, q.notice.as_deref()).await
}

/// `POST /admin/push`: `PUT /v1/push/default-schedule`.
pub async fn save(
    state: web::Data<AppState>,
    form: ConsoleForm<ScheduleForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let outcome = match form.to_rule() {
        Ok(rule) => replace_default(&state, &user.auth, &rule)
            .await
            .map(|_| ())
            .map_err(refusal),
        Err(r) => Err(Ok(r)),
    };
    match outcome {
        Ok(()) => Ok(see_other("/admin/push?notice=saved")),
        Err(refused) => render(&state, &user, Some((form, refused?)), None).await,
    }
}
