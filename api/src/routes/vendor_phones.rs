//! Vendor desk phones (docs/vendor-phones.md): the configuration an admin
//! pastes into a phone, direct mode's event token, and the Action URL
//! events themselves (`GET /v1/vendor-events/{token}`).

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::ids::{OrgId, PhoneId};
use deskbind_core::repo::{phones, vendor_links};
use deskbind_core::time::to_datetime;
use deskbind_core::usecases::vendor_links::{self as links, VendorLinkError};
use deskbind_core::vendor::Vendor;
use deskbind_core::vendor::action_urls::{Mode, snippet};
use deskbind_core::wire::{
    DirectModeState, ErrorCode, IssueVendorToken, VendorConfig, VendorMode, VendorToken,
};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, Query, path_id};
use crate::state::AppState;

/// Where the token goes in a direct-mode URL that does not show it.
const TOKEN_PLACEHOLDER: &str = "<token>";

impl From<VendorLinkError> for ApiError {
    fn from(e: VendorLinkError) -> Self {
        match e {
            VendorLinkError::NoDriver => no_driver(),
            VendorLinkError::Invalid(field) => field.into(),
            VendorLinkError::Random(e) => ApiError::internal(e),
            VendorLinkError::Repo(e) => e.into(),
        }
    }
}

fn no_driver() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::NoVendorDriver,
        detail:
            "the phone has no vendor driver; set its driver to yealink, snom, grandstream or fanvil"
                .into(),
    }
}

/// `https://host/v1/vendor-events/{token}`: at `public_url` when the
/// operator set it, else as this request reached us.
fn direct_events_url(req: &HttpRequest, state: &AppState, token: &str) -> String {
    match &state.settings.public_url {
        Some(base) => format!("{}/v1/vendor-events/{token}", base.trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!(
                "{}://{}/v1/vendor-events/{token}",
                info.scheme(),
                info.host()
            )
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigQuery {
    mode: Option<String>,
    relay_url: Option<String>,
}

/// The relay's base URL, and the address the phone must let commands come
/// from (a phone's allow-list takes addresses, not names).
fn relay_base(raw: Option<&str>) -> Result<(String, IpAddr), ApiError> {
    let invalid = |detail: &str| ApiError::InvalidQuery {
        field: "relay_url".into(),
        detail: detail.into(),
    };
    let raw = raw
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            invalid(
                "relay mode needs relay_url, the relay's LAN address, e.g. http://10.0.0.5:8089",
            )
        })?;
    let url = url::Url::parse(raw)
        .map_err(|_| invalid("must be an http URL such as http://10.0.0.5:8089"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(invalid("must be an http or https URL"));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => {
            return Err(invalid(
                "the host must be an IP address: phones allow commands by address",
            ));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("the relay's URL takes no user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(invalid(
            "give the relay's base URL only, without a path or query",
        ));
    }
    // The parsed form, not what was typed: no stray characters reach the
    // snippet.
    Ok((url.as_str().trim_end_matches('/').to_owned(), ip))
}

/// `GET /v1/phones/{id}/vendor-config` (admin).
pub async fn config(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Query(query): Query<ConfigQuery>,
) -> ApiResult<web::Json<VendorConfig>> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    let mode = VendorMode::parse(query.mode.as_deref().unwrap_or("direct")).ok_or_else(|| {
        ApiError::InvalidQuery {
            field: "mode".into(),
            detail: "must be relay or direct".into(),
        }
    })?;
    let config = vendor_config(
        &req,
        &state,
        auth.org_id,
        id,
        mode,
        query.relay_url.as_deref(),
    )
    .await?;
    Ok(web::Json(config))
}

/// The configuration to paste into phone `id` in `mode`, and direct mode's
/// state (the caller checked the role); shared with the console's phone
/// page. `NotFound` for another organisation's phone, `no_vendor_driver`
/// for a phone without a driver.
pub(crate) async fn vendor_config(
    req: &HttpRequest,
    state: &AppState,
    org: OrgId,
    id: PhoneId,
    mode: VendorMode,
    relay_url: Option<&str>,
) -> ApiResult<VendorConfig> {
    let (phone, link) = state
        .db
        .run(move |conn| {
            Ok::<_, ApiError>((
                phones::get(conn, org, id)?,
                vendor_links::of_phone(conn, org, id)?,
            ))
        })
        .await?;
    let vendor = phone
        .driver
        .as_deref()
        .and_then(Vendor::parse)
        .ok_or_else(no_driver)?;
    let (events_url, shape) = match mode {
        VendorMode::Relay => {
            let (base, relay_ip) = relay_base(relay_url)?;
            (
                format!("{base}/phones/{id}/events"),
                Mode::Relay { relay_ip },
            )
        }
        VendorMode::Direct => (
            direct_events_url(req, state, TOKEN_PLACEHOLDER),
            Mode::Direct,
        ),
    };
    let direct = link.map(|l| DirectModeState {
        mac: l.mac,
        events_accepted: l.events_accepted,
        last_event_at: l.last_event_at.map(to_datetime),
        open_calls: l.open_calls,
        issued_at: to_datetime(l.created_at),
    });
    Ok(VendorConfig {
        vendor,
        mode,
        snippet: snippet(vendor, &events_url, shape),
        events_url,
        direct,
    })
}

/// `POST /v1/phones/{id}/vendor-token` (admin): a new direct-mode token,
/// shown once.
pub async fn issue_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<IssueVendorToken>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    let body = issue(&req, &state, &auth, id, body.mac.as_deref()).await?;
    let mut created = HttpResponse::Created();
    created.insert_header((header::LOCATION, format!("/v1/phones/{id}/vendor-config")));
    Ok(super::secret_json(created, &body))
}

/// Issues phone `id` a new direct-mode token, bound to `mac` when given
/// (the caller checked the role); shared with the console's phone page.
/// The answer holds the token: show it once, never store it.
pub(crate) async fn issue(
    req: &HttpRequest,
    state: &AppState,
    auth: &AuthUser,
    id: PhoneId,
    mac: Option<&str>,
) -> ApiResult<VendorToken> {
    let mac = links::parse_mac(mac)?;
    let issued = links::issue(&state.db, auth.org_id, id, mac, auth.user_id).await?;
    let events_url = direct_events_url(req, state, &issued.token);
    tracing::info!(phone = %id, vendor = %issued.vendor, by = %auth.user_id, "vendor event token issued");
    Ok(VendorToken {
        snippet: snippet(issued.vendor, &events_url, Mode::Direct),
        events_url,
        token: issued.token,
        vendor: issued.vendor,
        mac: issued.mac,
    })
}

/// `DELETE /v1/phones/{id}/vendor-token` (admin): ends direct mode.
pub async fn revoke_token(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    links::revoke(&state.db, auth.org_id, id, auth.user_id).await?;
    tracing::info!(phone = %id, by = %auth.user_id, "vendor event token revoked");
    Ok(HttpResponse::NoContent().finish())
}
