//! The list page's forms, each through the JSON API's use case: a state
//! move with the version the page was read at (a stale version says so
//! and shows the list as it is now), a CSV file of tasks (one result per
//! row, as the contacts import shows them), and moving a person's
//! unfinished tasks to a person, a team or the pool. A refusal re-renders
//! the page with its reason and saves nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use deskbind_core::ids::CallListId;
use deskbind_core::usecases::call_list_reassign::{self, ReassignError};
use deskbind_core::usecases::call_lists::{self, ListError};
use deskbind_core::wire::{
    CallTaskImportStatus, ErrorCode, MAX_RECORD_BATCH_BYTES, ReassignCallTasks, ReassignTarget,
    UpdateCallList,
};
use serde::Deserialize;

use super::detail::{Outcome, ReassignDraft, ShowParams, UploadView, render};
use super::manager;
use crate::console::chrome::see_other;
use crate::console::csrf::{ConsoleForm, IMPORT_FORM_BYTES};
use crate::console::error::ConsoleResult;
use crate::console::field_errors::FormErrors;
use crate::console::pages::admin::form::refusal;
use crate::console::pages::imports::{ResultLine, summary};
use crate::error::ApiError;
use crate::extract::path_id;
use crate::routes::call_lists::{import_csv, list_refusal};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct StateForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    state: String,
}

/// `POST /call-lists/{id}/state`
pub async fn change_state(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<StateForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    let by = manager(&user)?;
    let id: CallListId = path_id(&id)?;
    let body = UpdateCallList {
        version: form.version.trim().parse().unwrap_or(0),
        name: None,
        state: Some(form.state.clone()),
    };
    let message = match call_lists::update(&state.services(), by, id, body, state.clock.now()).await
    {
        Ok(list) => {
            state.relay.wake_org(by.org).await;
            tracing::info!(list = %id, state = %list.state, by = %user.auth.user_id, "call list state changed (console)");
            return Ok(see_other(format!("/call-lists/{id}?notice={}", list.state)));
        }
        Err(ListError::Changed) => (
            StatusCode::CONFLICT,
            "This list was changed by someone else since you opened the page. It is shown \
                 as it is now: check its state and try again."
                .to_owned(),
        ),
        Err(e) => {
            let r = refusal(list_refusal(e))?;
            (r.status, r.message)
        }
    };
    let outcome = Outcome {
        status: Some(message.0),
        message: Some(message.1),
        ..Outcome::default()
    };
    render(&state, &user, id, ShowParams::default(), outcome).await
}

#[derive(Debug, Default, Deserialize)]
pub struct UploadForm {
    #[serde(default)]
    csv: String,
}

/// `POST /call-lists/{id}/tasks`: the file chosen (console.js reads it into
/// the text field) or pasted, imported as `POST /v1/call-lists/{id}/tasks`
/// imports `text/csv`.
pub async fn upload(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<UploadForm, IMPORT_FORM_BYTES>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    let by = manager(&user)?;
    let id: CallListId = path_id(&id)?;
    // The API's limit for the same file.
    let imported = if form.csv.len() > MAX_RECORD_BATCH_BYTES {
        Err(ApiError::PayloadTooLarge {
            limit: MAX_RECORD_BATCH_BYTES,
        })
    } else {
        import_csv(&state, by, id, form.csv.as_bytes()).await
    };
    let upload = match imported {
        Ok(done) => {
            let results: Vec<ResultLine> = done
                .results
                .into_iter()
                .map(|r| ResultLine {
                    row: u32::try_from(r.index + 1).unwrap_or(u32::MAX),
                    outcome: r.status.as_str().to_owned(),
                    href: None,
                    detail: match (r.status, r.field, r.detail, r.code) {
                        (CallTaskImportStatus::Rejected, Some(f), Some(d), _) => {
                            format!("{f}: {d}")
                        }
                        (_, _, Some(d), _) => d,
                        (_, _, None, Some(code)) => code,
                        _ => String::new(),
                    },
                })
                .collect();
            UploadView {
                csv: String::new(),
                summary: summary(&results),
                results,
                message: None,
            }
        }
        Err(ApiError::PayloadTooLarge { limit }) => UploadView {
            csv: String::new(),
            message: Some(format!(
                "The file is larger than {} KiB: split it into smaller files.",
                limit / 1024
            )),
            ..UploadView::default()
        },
        Err(e) => {
            let r = refusal(e)?;
            let outcome = Outcome {
                status: Some(r.status),
                upload: UploadView {
                    csv: form.csv,
                    message: Some(r.message),
                    ..UploadView::default()
                },
                ..Outcome::default()
            };
            return render(&state, &user, id, ShowParams::default(), outcome).await;
        }
    };
    let status = if upload.message.is_some() {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::OK
    };
    let outcome = Outcome {
        status: Some(status),
        upload,
        ..Outcome::default()
    };
    render(&state, &user, id, ShowParams::default(), outcome).await
}

const REASSIGN_SHOWN: &[&str] = &["from_user_id", "to.user_id", "to.team_id"];

/// An id picked from a list; empty or garbled: "Choose ...".
fn pick<T: std::str::FromStr>(field: &str, raw: &str, what: &str) -> Result<T, FormErrors> {
    raw.trim()
        .parse()
        .map_err(|_| FormErrors::invalid(field, format!("Choose {what}"), REASSIGN_SHOWN))
}

fn reassign_body(d: &ReassignDraft) -> Result<ReassignCallTasks, FormErrors> {
    let from_user_id = pick("from_user_id", &d.from_user_id, "whose tasks to move")?;
    let to = match d.to.as_str() {
        "user" => ReassignTarget {
            user_id: Some(pick(
                "to.user_id",
                &d.to_user_id,
                "the person to move them to",
            )?),
            ..ReassignTarget::default()
        },
        "team" => ReassignTarget {
            team_id: Some(pick(
                "to.team_id",
                &d.to_team_id,
                "the team to move them to",
            )?),
            ..ReassignTarget::default()
        },
        _ => ReassignTarget {
            pool: Some(true),
            ..ReassignTarget::default()
        },
    };
    Ok(ReassignCallTasks { from_user_id, to })
}

/// `POST /call-lists/{id}/reassign`
pub async fn reassign(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<ReassignDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let by = manager(&user)?;
    let id: CallListId = path_id(&id)?;
    let errors = match reassign_body(&draft) {
        Err(e) => e,
        Ok(body) => {
            let moved =
                call_list_reassign::reassign(&state.services(), by, id, body, state.clock.now())
                    .await;
            match moved {
                Ok(done) => {
                    state.relay.wake_org(by.org).await;
                    tracing::info!(list = %id, moved = done.moved, by = %user.auth.user_id, "call-list tasks reassigned (console)");
                    return Ok(see_other(format!(
                        "/call-lists/{id}?notice=reassigned&moved={}",
                        done.moved
                    )));
                }
                Err(ReassignError::List(e)) => {
                    FormErrors::from_api(list_refusal(e), REASSIGN_SHOWN)?
                }
                Err(ReassignError::Closed) => FormErrors::from_api(
                    ApiError::Conflict {
                        code: ErrorCode::CallListClosed,
                        detail: "the call list is archived: its tasks stay as they are".into(),
                    },
                    REASSIGN_SHOWN,
                )?,
            }
        }
    };
    let outcome = Outcome {
        status: Some(errors.status),
        reassign: draft,
        reassign_errors: Some(errors),
        ..Outcome::default()
    };
    render(&state, &user, id, ShowParams::default(), outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(from: &str, to: &str, user: &str) -> ReassignDraft {
        ReassignDraft {
            from_user_id: from.into(),
            to: to.into(),
            to_user_id: user.into(),
            to_team_id: String::new(),
        }
    }

    #[test]
    fn a_reassignment_needs_its_people_chosen() {
        let someone = deskbind_core::ids::UserId::new().to_string();
        let e = reassign_body(&draft("", "pool", "")).unwrap_err();
        assert_eq!(e.at("from_user_id"), Some("Choose whose tasks to move"));
        let e = reassign_body(&draft(&someone, "user", "")).unwrap_err();
        assert!(e.at("to.user_id").is_some());
        let body = reassign_body(&draft(&someone, "pool", "")).unwrap();
        assert_eq!(body.to.pool, Some(true));
        let body = reassign_body(&draft(&someone, "user", &someone)).unwrap();
        assert_eq!(body.to.user_id.map(|u| u.to_string()), Some(someone));
    }
}
