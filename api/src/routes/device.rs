//! Routes a desk phone calls with its own credential (`/v1/phone/...`).

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use deskbind_core::auth::jwt::BindingClaims;
use deskbind_core::auth::secrets;
use deskbind_core::domain::Email;
use deskbind_core::ids::{BindingTokenId, UserId};
use deskbind_core::repo::binding_events::By;
use deskbind_core::repo::{RepoError, bindings};
use deskbind_core::time::{now_micros, seconds, to_datetime};
use deskbind_core::usecases::binding_tokens::{self, NewToken};
use deskbind_core::usecases::bindings::{self as binding_changes, BindRequest, Holder, Target};
use deskbind_core::usecases::provisioning;
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{
    BindingToken, BindingVia, DialKeyWire, DialKeys, Phone, PhoneBindingRequest, ProvisionRequest,
    Provisioned,
};

use super::bindings::{bind_response, log_outcome};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPhone, Json, peer_ip};
use crate::state::AppState;

const CODE_CHARS: usize = 12;

fn invalid_code() -> ApiError {
    ApiError::BadRequest {
        code: ErrorCode::InvalidProvisioningCode,
        detail: "the code is unknown, used or expired; ask an admin for a new one".into(),
    }
}

/// Exchanges a one-time code for the phone's credential (exactly once).
pub async fn provision(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<ProvisionRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.provision(&peer_ip(&req))?;
    let code = secrets::normalise_code(&body.code);
    if code.len() != CODE_CHARS {
        return Err(invalid_code());
    }
    let code_hash = secrets::hash_secret(&code);
    let credential =
        secrets::new_secret(secrets::PHONE_CREDENTIAL_PREFIX).map_err(ApiError::internal)?;
    let credential_hash = secrets::hash_secret(&credential);
    // The connection made with the previous credential is closed.
    let phone = provisioning::redeem(&state.services(), code_hash, credential_hash)
        .await?
        .ok_or_else(invalid_code)?;
    let phone_id = phone.phone_id()?;
    tracing::info!(phone = %phone_id, "phone provisioned");
    Ok(super::secret_json(
        HttpResponse::Ok(),
        &Provisioned {
            phone_id,
            credential,
        },
    ))
}

/// The calling phone's own record, with its current holder.
pub async fn me(state: web::Data<AppState>, phone: AuthPhone) -> ApiResult<web::Json<Phone>> {
    let id = phone.row.id.clone();
    let mut holders = state
        .db
        .run(move |conn| bindings::holders(conn, std::slice::from_ref(&id)))
        .await?;
    let holder = holders.remove(&phone.row.id);
    Ok(web::Json(phone.row.to_wire(true, holder)?))
}

/// The phone asks to bind a user (named by email or id), under the same
/// policy as when the user asks.
pub async fn bind_user(
    state: web::Data<AppState>,
    phone: AuthPhone,
    Json(body): Json<PhoneBindingRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.phone_binding(&phone.phone_id.to_string())?;
    let holder = match body.user.trim().parse::<UserId>() {
        Ok(id) => Holder::Id(id),
        Err(_) => Holder::Email(Email::parse("user", &body.user)?.into_inner()),
    };
    let request = BindRequest {
        org: phone.org_id,
        target: Target::Phone(phone.phone_id),
        holder,
        via: BindingVia::Phone,
        by: By::Phone(phone.phone_id),
        takeover: body.takeover,
        phone_credential: Some(phone.credential_hash),
    };
    let outcome = binding_changes::bind(&state.services(), request).await?;
    log_outcome(&outcome, "phone");
    bind_response(outcome, false)
}

/// A fresh single-use NFC binding token with its NDEF bytes and numeric
/// code; the phone's earlier unspent token stops working.
pub async fn binding_token(
    state: web::Data<AppState>,
    phone: AuthPhone,
) -> ApiResult<HttpResponse> {
    state.limits.phone_binding(&phone.phone_id.to_string())?;
    let ttl = state.settings.binding_token_ttl_secs;
    let now = now_micros();
    let expires_at = now + seconds(ttl as i64);
    let id = BindingTokenId::new();
    let claims = BindingClaims::new(
        phone.phone_id,
        phone.org_id,
        id,
        now / 1_000_000,
        expires_at / 1_000_000,
    );
    let token = state
        .keys
        .sign_binding(&claims)
        .map_err(ApiError::internal)?;
    let ndef = deskbind_core::nfc::encode_binding_token(&token)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("NDEF encoding: {e}")))?;
    // A fresh code on the rare collision with a live code of the organisation.
    let mut attempts = 0;
    let code = loop {
        attempts += 1;
        let code = secrets::new_binding_code().map_err(ApiError::internal)?;
        let token = NewToken {
            id,
            code_hash: secrets::hash_secret(&code),
            expires_at,
        };
        let credential = phone.credential_hash.clone();
        let issued = binding_tokens::issue(
            &state.services(),
            phone.org_id,
            phone.phone_id,
            credential,
            token,
        )
        .await;
        match issued {
            Ok(()) => break code,
            Err(RepoError::Conflict) if attempts < 5 => continue,
            // The credential was revoked while the request ran.
            Err(RepoError::NotFound) => return Err(ApiError::invalid_token()),
            Err(e) => return Err(e.into()),
        }
    };
    Ok(super::secret_json(
        HttpResponse::Created(),
        &BindingToken {
            token,
            ndef: STANDARD.encode(ndef),
            code,
            expires_at: to_datetime(expires_at),
            expires_in: u32::try_from(ttl).unwrap_or(u32::MAX),
        },
    ))
}

/// The public keys phones verify NFC dial payloads with (one per server
/// signing key, see docs/security.md).
pub async fn dial_keys(state: web::Data<AppState>, phone: AuthPhone) -> web::Json<DialKeys> {
    let keys = state
        .keys
        .dial_keys()
        .into_iter()
        .map(|key| DialKeyWire {
            kid: key.kid,
            alg: deskbind_core::dial_payload::ALGORITHM_NAME.into(),
            public_key: URL_SAFE_NO_PAD.encode(key.public_key),
        })
        .collect();
    web::Json(DialKeys {
        phone_id: phone.phone_id,
        keys,
    })
}
