//! One phone's page: its state and link, driver and capabilities, the
//! current holder (with "end binding"), a new provisioning code (shown
//! once, as text and QR code), "bind to a user", who may bind it (grants),
//! driver and model, the desk phone configuration of a driven phone,
//! revoke credential, disable/enable.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::ids::PhoneId;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::teams::{self, TeamVisibility};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::repo::{RepoError, bindings, grants, phones};
use deskbind_core::wire::{MAX_PAGE_LIMIT, PhoneHolder};

use super::driver_choice::{DriverChoices, capability_names, driver_name};
use super::driver_edit::KindRefusal;
use super::link_health::{self, LinkHealth};
use super::list::credential_state;
use super::phone_id;
use super::vendor_config::{self, VendorExtras, VendorSection};
use crate::console::chrome::{AdminSection, Chrome};
use crate::console::error::ConsoleResult;
use crate::console::field_errors::{FieldMessages, FormErrors};
use chrono_tz::Tz;

use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, zone_named};
use crate::state::AppState;

/// A person or team in the bind and grant forms.
#[derive(Debug)]
pub struct Choice {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

/// A code just issued: shown on this response only, never stored readable.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: String,
    pub expires: String,
    pub qr_svg: String,
}

#[derive(Debug)]
pub struct Holder {
    pub binding_id: String,
    pub name: String,
    pub since: String,
    pub expires: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_phones_detail.html")]
pub struct PhonePage {
    pub chrome: Chrome,
    pub id: String,
    pub label: String,
    pub number: String,
    pub extension: String,
    pub health: LinkHealth,
    /// The driver's vendor, or none (deskbind's own protocol).
    pub driver: &'static str,
    /// Free text without a driver; one its driver knows with one.
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub capabilities: String,
    /// The driver and model form, with what is stored (or was refused).
    pub choices: DriverChoices,
    pub kind_errors: Option<FormErrors>,
    /// A driven phone's "Desk phone configuration".
    pub vendor_config: Option<VendorSection>,
    pub disabled: bool,
    pub credential: &'static str,
    pub holder: Option<Holder>,
    pub code: Option<IssuedCode>,
    pub everyone: bool,
    pub users: Vec<Choice>,
    pub teams: Vec<Choice>,
    /// More users than one form can list: bind by email instead.
    pub users_truncated: bool,
    /// Grants of people and teams beyond the listed ones, carried as
    /// hidden fields so saving the form keeps them.
    pub unlisted_users: Vec<String>,
    pub unlisted_teams: Vec<String>,
    pub notice: Option<String>,
    pub message: Option<String>,
}

/// What a page view adds to the stored state: a fresh code, a notice of
/// what just happened, why an action was refused, a refused driver and
/// model, and the desk phone configuration's relay URL or new token.
#[derive(Debug, Default)]
pub struct Extras {
    pub code: Option<IssuedCode>,
    pub notice: Option<String>,
    pub message: Option<String>,
    pub kind: Option<KindRefusal>,
    pub vendor: VendorExtras,
}

fn holder_of(h: PhoneHolder, zone: Tz) -> Holder {
    Holder {
        binding_id: h.binding_id.to_string(),
        name: h.display_name,
        since: local_time(h.since, zone),
        expires: h.expires_at.map(|t| local_time(t, zone)),
    }
}

/// Renders the page of phone `id` (404 when not of the user's
/// organisation) with `status` (or the relay URL's refusal, 400).
pub async fn render(
    req: &HttpRequest,
    state: &AppState,
    user: &ConsoleUser,
    id: PhoneId,
    extras: Extras,
    status: StatusCode,
) -> ConsoleResult<HttpResponse> {
    let org = user.auth.org_id;
    let limit = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    let (row, provisioned, holder, granted, people, groups) = state
        .db
        .run(move |conn| {
            let row = phones::get(conn, org, id)?;
            let ids = vec![row.id.clone()];
            let provisioned = phones::provisioned_among(conn, &ids)?.contains(&row.id);
            let holder = bindings::holders(conn, &ids)?.remove(&row.id);
            let granted = grants::get(conn, id)?;
            let people = users::list(conn, org, Visibility::Org, &limit)?;
            let groups = teams::list(conn, org, TeamVisibility::Org, &limit)?;
            Ok::<_, RepoError>((row, provisioned, holder, granted, people, groups))
        })
        .await?;
    let zone = zone_named(&user.time_zone);
    let health = link_health::read(state, id, zone).await;
    let vendor_config = match row.driver {
        Some(_) => vendor_config::section(req, state, user, id, zone, extras.vendor).await?,
        None => None,
    };
    let status = match vendor_config.as_ref().and_then(|v| v.relay_errors.as_ref()) {
        Some(refused) if status == StatusCode::OK => refused.status,
        _ => status,
    };
    let (choices, kind_errors) = match extras.kind {
        Some(KindRefusal { form, errors }) => {
            (DriverChoices::new(&form.driver, &form.model), Some(errors))
        }
        None => (
            DriverChoices::new(
                row.driver.as_deref().unwrap_or_default(),
                row.model.as_deref().unwrap_or_default(),
            ),
            None,
        ),
    };
    let granted_users: HashSet<String> = granted.user_ids.iter().map(|u| u.to_string()).collect();
    let granted_teams: HashSet<String> = granted.team_ids.iter().map(|t| t.to_string()).collect();
    let users_truncated = people.next_cursor.is_some();
    // Disabled people are not offered; their grants are kept as unlisted.
    let active: Vec<_> = people
        .items
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .collect();
    let listed_users: HashSet<&str> = active.iter().map(|u| u.id.as_str()).collect();
    let listed_teams: HashSet<&str> = groups.items.iter().map(|t| t.id.as_str()).collect();
    let unlisted_users = unlisted(&granted_users, &listed_users);
    let unlisted_teams = unlisted(&granted_teams, &listed_teams);
    let page = PhonePage {
        chrome: Chrome::admin(user, AdminSection::Phones),
        credential: credential_state(row.disabled_at.is_some(), provisioned),
        disabled: row.disabled_at.is_some(),
        holder: holder.map(|h| holder_of(h, zone)),
        health,
        driver: driver_name(row.driver.as_deref()),
        capabilities: capability_names(row.driver.as_deref()),
        choices,
        kind_errors,
        vendor_config,
        everyone: granted.everyone,
        users: active
            .into_iter()
            .map(|u| Choice {
                checked: granted_users.contains(&u.id),
                label: format!("{} ({})", u.display_name, u.email),
                id: u.id,
            })
            .collect(),
        teams: groups
            .items
            .into_iter()
            .map(|t| Choice {
                checked: granted_teams.contains(&t.id),
                label: t.name,
                id: t.id,
            })
            .collect(),
        users_truncated,
        unlisted_users,
        unlisted_teams,
        id: row.id,
        label: row.label,
        number: row.number_e164,
        extension: row.extension,
        vendor: row.vendor,
        model: row.model,
        code: extras.code,
        notice: extras.notice,
        message: extras.message,
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// The granted ids the form does not list, in a stable order.
fn unlisted(granted: &HashSet<String>, listed: &HashSet<&str>) -> Vec<String> {
    let mut ids: Vec<String> = granted
        .iter()
        .filter(|id| !listed.contains(id.as_str()))
        .cloned()
        .collect();
    ids.sort();
    ids
}

/// What a redirect after an action says happened (`?done=`).
fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "registered" => "Phone registered. Issue a provisioning code to set it up.",
        "bound" => "Phone bound.",
        "unbound" => "Binding ended.",
        "grants" => "Grants saved.",
        "revoked" => "Credential revoked: the phone must be provisioned again.",
        "disabled" => "Phone disabled.",
        "enabled" => "Phone enabled.",
        "driver" => "Driver and model saved.",
        "vendor-token-revoked" => {
            "Direct-mode token revoked: the phone's events are refused from now on."
        }
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Debug, serde::Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    /// The desk phone configuration for this relay (its GET form).
    relay_url: Option<String>,
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
    web::Query(query): web::Query<ShowQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let extras = Extras {
        notice: notice(query.done.as_deref()),
        vendor: VendorExtras {
            relay_url: query.relay_url,
            ..VendorExtras::default()
        },
        ..Extras::default()
    };
    render(&req, &state, &user, id, extras, StatusCode::OK).await
}
