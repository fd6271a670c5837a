//! The phone page's forms. Each is a CSRF-checked [`ConsoleForm`], calls
//! the use case the JSON API calls, and answers with a redirect to the
//! phone's page (`?done=` says what happened) or the page again with why
//! it was refused (the refusal's status, nothing written). The new
//! provisioning code is the exception: it is rendered on the response
//! itself, since it is never stored readable.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use deskbind_core::ids::{BindingId, PhoneId, TeamId, UserId};
use deskbind_core::repo::binding_events::By;
use deskbind_core::repo::phones::PhoneChanges;
use deskbind_core::repo::users::Visibility;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::bindings::{self as binding_changes, BindRequest, Holder, Target};
use deskbind_core::usecases::grants as grant_changes;
use deskbind_core::usecases::phones as phone_changes;
use deskbind_core::wire::{BindingVia, ErrorCode, PhoneGrants};
use serde::Deserialize;

use super::detail::{Extras, IssuedCode, render};
use super::{phone_id, phone_path, qr};
use crate::console::chrome::see_other;
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, viewer_zone};
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// A form with no fields but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

fn done(id: PhoneId, what: &str) -> HttpResponse {
    see_other(format!("{}?done={what}", phone_path(id)))
}

/// A refusal the admin can act on is the page again with its reason and
/// status; anything else (not found, a server fault) is the error page.
pub(super) async fn refused(
    req: &HttpRequest,
    state: &AppState,
    user: &ConsoleUser,
    id: PhoneId,
    err: ApiError,
) -> ConsoleResult<HttpResponse> {
    let status = err.status_code();
    if !status.is_client_error() || status == StatusCode::NOT_FOUND {
        return Err(err.into());
    }
    let message = err.problem().detail.unwrap_or_else(|| err.to_string());
    let extras = Extras {
        message: Some(message),
        ..Extras::default()
    };
    render(req, state, user, id, extras, status).await
}

/// A new one-time code; earlier unused codes stop working.
pub async fn issue_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, .. }: ConsoleForm<NoFields>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let issued = match routes::phones::issue_code(&state, &user.auth, id).await {
        Ok(issued) => issued,
        Err(err @ ApiError::Denied { .. }) => return refused(&req, &state, &user, id, err).await,
        Err(e) => return Err(e.into()),
    };
    tracing::info!(phone = %id, by = %user.auth.user_id, "provisioning code issued in the console");
    let extras = Extras {
        code: Some(IssuedCode {
            qr_svg: qr::svg_of(&issued.code, "QR code of the provisioning code")?,
            expires: local_time(issued.expires_at, viewer_zone(&user)),
            code: issued.code,
        }),
        ..Extras::default()
    };
    render(&req, &state, &user, id, extras, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct BindForm {
    /// Chosen from the list ...
    #[serde(default)]
    user_id: String,
    /// ... or, in an organisation too large to list, typed.
    #[serde(default)]
    email: String,
    #[serde(default)]
    takeover: Option<String>,
}

/// Binds the phone to a user of the organisation: the same use case, locks,
/// policy (grants, takeover, phones per user) and audit entry as a bind by
/// the app, recorded as done by this admin.
pub async fn bind(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, form }: ConsoleForm<BindForm>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let holder = match (form.user_id.trim(), form.email.trim()) {
        (raw, _) if !raw.is_empty() => Holder::Id(
            raw.parse::<UserId>()
                .map_err(|_| ConsoleError::invalid("user_id", "not a user of this list"))?,
        ),
        ("", email) if !email.is_empty() && email.len() <= 320 => {
            Holder::Email(email.to_lowercase())
        }
        _ => {
            let err = ApiError::Validation {
                code: ErrorCode::MissingField,
                field: "user_id".into(),
                detail: "choose the user to bind the phone to".into(),
            };
            return refused(&req, &state, &user, id, err).await;
        }
    };
    let request = BindRequest {
        org: user.auth.org_id,
        target: Target::Phone(id),
        holder,
        via: BindingVia::App,
        by: By::User(user.auth.user_id),
        takeover: form.takeover.is_some(),
        phone_credential: None,
    };
    match binding_changes::bind(&state.services(), request).await {
        Ok(outcome) => {
            if let binding_changes::BindOutcome::Created(row) = &outcome {
                tracing::info!(binding = %row.id, phone = %row.phone_id, user = %row.user_id, by = %user.auth.user_id, "phone bound in the console");
            }
            Ok(done(id, "bound"))
        }
        Err(binding_changes::BindError::UserNotFound) => {
            let err = ApiError::Validation {
                code: ErrorCode::InvalidField,
                field: "user_id".into(),
                detail: "no active user of this organisation has that id or email".into(),
            };
            refused(&req, &state, &user, id, err).await
        }
        Err(e) => refused(&req, &state, &user, id, e.into()).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct UnbindForm {
    binding_id: String,
}

/// Ends the phone's current binding.
pub async fn unbind(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, form }: ConsoleForm<UnbindForm>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let binding: BindingId = form
        .binding_id
        .parse()
        .map_err(|_| ConsoleError::not_found())?;
    let by = By::User(user.auth.user_id);
    let ended = binding_changes::unbind(
        &state.services(),
        user.auth.org_id,
        binding,
        Visibility::Org,
        by,
    )
    .await;
    match ended {
        Ok(_) => Ok(done(id, "unbound")),
        Err(e) => refused(&req, &state, &user, id, e.into()).await,
    }
}

/// Replaces who may bind the phone. The form sends `everyone`, and a
/// `user` and `team` pair per ticked box.
pub async fn set_grants(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, form }: ConsoleForm<Vec<(String, String)>>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let mut wanted = PhoneGrants::default();
    for (key, value) in &form {
        match key.as_str() {
            "everyone" => wanted.everyone = true,
            "user" => wanted.user_ids.push(
                value
                    .parse()
                    .map_err(|_| ConsoleError::invalid("user", "not a user of this list"))?,
            ),
            "team" => wanted.team_ids.push(
                value
                    .parse::<TeamId>()
                    .map_err(|_| ConsoleError::invalid("team", "not a team of this list"))?,
            ),
            _ => {}
        }
    }
    if let Err(err) = routes::grants::check_counts(&wanted) {
        return refused(&req, &state, &user, id, err).await;
    }
    let by = user.auth.user_id;
    match grant_changes::replace(&state.services(), user.auth.org_id, id, wanted, by).await {
        Ok(grants) => {
            tracing::info!(phone = %id, by = %user.auth.user_id, ?grants, "phone grants replaced in the console");
            Ok(done(id, "grants"))
        }
        Err(e) => refused(&req, &state, &user, id, e.into()).await,
    }
}

/// Revokes the phone's credential: its binding ends and its connection
/// closes, on whichever node holds it.
pub async fn revoke(
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, .. }: ConsoleForm<NoFields>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    phone_changes::revoke(
        &state.services(),
        user.auth.org_id,
        id,
        By::User(user.auth.user_id),
    )
    .await?;
    tracing::info!(phone = %id, by = %user.auth.user_id, "phone credential revoked in the console");
    Ok(done(id, "revoked"))
}

#[derive(Debug, Deserialize)]
pub struct EnabledForm {
    /// `true` to disable, `false` to enable.
    disabled: String,
}

/// Disables (ends the binding, revokes the credential, closes the
/// connection) or enables the phone.
pub async fn set_enabled(
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, form }: ConsoleForm<EnabledForm>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let disable = match form.disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(ConsoleError::invalid("disabled", "must be true or false")),
    };
    let changes = PhoneChanges {
        disabled_at: Some(disable.then(now_micros)),
        ..PhoneChanges::default()
    };
    let by = By::User(user.auth.user_id);
    phone_changes::update(
        &state.services(),
        user.auth.org_id,
        id,
        changes,
        Default::default(),
        by,
    )
    .await
    .map_err(crate::routes::phones::change_refused)?;
    tracing::info!(phone = %id, by = %user.auth.user_id, disable, "phone enabled state changed in the console");
    Ok(done(id, if disable { "disabled" } else { "enabled" }))
}
