//! Direct mode's token on a driven phone's page (docs/vendor-phones.md,
//! "Direct mode"): issue one, optionally bound to the handset's MAC, or
//! revoke it. Issuing answers with the page itself, holding the token and
//! the snippet that carries it: deskbind keeps only the token's hash, so
//! this response is its only showing (never a redirect: a token must not
//! travel in a URL). The same functions as `POST` and `DELETE
//! /v1/phones/{id}/vendor-token`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::repo::RepoError;
use deskbind_core::usecases::vendor_links;
use serde::Deserialize;

use super::actions::{NoFields, refused};
use super::detail::{Extras, render};
use super::vendor_config::VendorExtras;
use super::{phone_id, phone_path};
use crate::console::chrome::see_other;
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::FormErrors;
use crate::error::ApiError;
use crate::routes::vendor_phones;
use crate::state::AppState;

/// The token form's one field.
const TOKEN_FIELDS: &[&str] = &["mac"];

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    /// The handset's MAC address; "" binds the token to the first event's.
    #[serde(default)]
    mac: String,
}

/// Issues the phone a new direct-mode token (the old one stops working).
pub async fn issue_vendor_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, form }: ConsoleForm<TokenForm>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let issued = vendor_phones::issue(&req, &state, &user.auth, id, Some(&form.mac)).await;
    let (vendor, status) = match issued {
        Ok(token) => {
            let shown = VendorExtras {
                issued: Some(token),
                ..VendorExtras::default()
            };
            (shown, StatusCode::OK)
        }
        // A bad MAC goes next to its field; "no driver" above the page.
        Err(e @ ApiError::Validation { .. }) => {
            let errors = FormErrors::from_api(e, TOKEN_FIELDS)?;
            let status = errors.status;
            let again = VendorExtras {
                mac: form.mac,
                token_errors: Some(errors),
                ..VendorExtras::default()
            };
            (again, status)
        }
        Err(e) => return refused(&req, &state, &user, id, e).await,
    };
    let extras = Extras {
        vendor,
        ..Extras::default()
    };
    render(&req, &state, &user, id, extras, status).await
}

/// Ends the phone's direct mode: its token stops working and the calls it
/// has open are closed and stored.
pub async fn revoke_vendor_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, .. }: ConsoleForm<NoFields>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    match vendor_links::revoke(&state.db, user.auth.org_id, id, user.auth.user_id).await {
        Ok(()) => {
            tracing::info!(phone = %id, by = %user.auth.user_id, "vendor event token revoked in the console");
            Ok(see_other(format!(
                "{}?done=vendor-token-revoked",
                phone_path(id)
            )))
        }
        // No token (or revoked meanwhile): the page says so; another
        // organisation's phone stays the 404 page, as rendering reads it.
        Err(RepoError::NotFound) => {
            let extras = Extras {
                message: Some("This phone has no direct-mode token to revoke.".into()),
                ..Extras::default()
            };
            render(&req, &state, &user, id, extras, StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}
