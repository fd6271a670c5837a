//! Desk phones: admins register, edit, disable them and issue provisioning
//! codes; every member of the organisation can list them (to pick one to
//! bind).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::auth::secrets;
use deskbind_core::db::DbConn;
use deskbind_core::domain::phone_models::{self, KindChange, PhoneKind};
use deskbind_core::domain::{E164, FieldError, NonBlank};
use deskbind_core::ids::PhoneId;
use deskbind_core::repo::binding_events::By;
use deskbind_core::repo::bindings;
use deskbind_core::repo::phones::{self, PhoneChanges, PhoneRow};
use deskbind_core::time::{now_micros, seconds, to_datetime};
use deskbind_core::usecases::phones as phone_changes;
use deskbind_core::usecases::phones::PhoneChangeError;
use deskbind_core::usecases::provisioning::{self, IssueError};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{CreatePhone, Page, Phone, ProvisioningCode, UpdatePhone};

use crate::error::{ApiError, ApiResult, conflict_as};
use crate::extract::{AuthUser, Json, PageParams, path_id};
use crate::state::AppState;

const NUMBER_TAKEN: (ErrorCode, &str) = (
    ErrorCode::PhoneNumberTaken,
    "a phone with this number and extension exists",
);

pub(crate) fn extension(raw: &str) -> Result<String, FieldError> {
    let ext = raw.trim();
    if ext.len() > 16
        || !ext
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return Err(FieldError::new(
            "extension",
            ErrorCode::InvalidExtension,
            "must be at most 16 digits, * or #",
        ));
    }
    Ok(ext.to_owned())
}

pub(crate) fn optional_text(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<String>, FieldError> {
    raw.map(|v| NonBlank::parse(field, v, 100).map(NonBlank::into_inner))
        .transpose()
}

/// A change of driver, vendor and model as sent: `driver: Some(None)`
/// takes the driver away, `None` leaves a field alone (shared with the
/// console's phone forms).
pub(crate) fn kind_change(
    driver: Option<Option<&str>>,
    vendor: Option<&str>,
    model: Option<&str>,
) -> Result<KindChange, FieldError> {
    Ok(KindChange {
        driver: driver.map(|d| optional_text("driver", d)).transpose()?,
        vendor: optional_text("vendor", vendor)?,
        model: optional_text("model", model)?,
    })
}

/// The driver, vendor and model of a phone being registered, checked
/// together (shared with the console's registration form).
pub(crate) fn new_phone_kind(
    driver: Option<&str>,
    vendor: Option<&str>,
    model: Option<&str>,
) -> Result<PhoneKind, FieldError> {
    let change = kind_change(driver.map(Some), vendor, model)?;
    phone_models::settle(&PhoneKind::default(), change)
}

/// A refused phone change as the API answers it (shared with the console).
pub(crate) fn change_refused(e: PhoneChangeError) -> ApiError {
    match e {
        PhoneChangeError::Invalid(field) => field.into(),
        PhoneChangeError::Repo(e) => conflict_as(NUMBER_TAKEN.0, NUMBER_TAKEN.1)(e),
    }
}

/// Phones with whether each is provisioned and who holds it: two queries
/// for the whole page.
fn to_wire_page(conn: &mut DbConn, rows: Page<PhoneRow>) -> ApiResult<Page<Phone>> {
    let ids: Vec<String> = rows.items.iter().map(|r| r.id.clone()).collect();
    let live = phones::provisioned_among(conn, &ids)?;
    let mut holders = bindings::holders(conn, &ids)?;
    Ok(rows.try_map(|r| r.to_wire(live.contains(&r.id), holders.remove(&r.id)))?)
}

fn to_wire(conn: &mut DbConn, row: PhoneRow) -> ApiResult<Phone> {
    let page = to_wire_page(
        conn,
        Page {
            items: vec![row],
            next_cursor: None,
        },
    )?;
    page.items
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("phone vanished from its own page")))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<Phone>>> {
    let page = state
        .db
        .run(move |conn| {
            let rows = phones::list(conn, auth.org_id, &page)?;
            to_wire_page(conn, rows)
        })
        .await?;
    Ok(web::Json(page))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreatePhone>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let number = E164::parse("number", &body.number, body.region.as_deref())?;
    let now = now_micros();
    let row = PhoneRow {
        id: PhoneId::new().to_string(),
        org_id: auth.org_id.to_string(),
        number_e164: number.into_inner(),
        extension: body
            .extension
            .as_deref()
            .map(extension)
            .transpose()?
            .unwrap_or_default(),
        label: NonBlank::parse("label", &body.label, 100)?.into_inner(),
        vendor: None,
        model: None,
        disabled_at: None,
        created_at: now,
        updated_at: now,
        driver: None,
    };
    let settled = new_phone_kind(
        body.driver.as_deref(),
        body.vendor.as_deref(),
        body.model.as_deref(),
    )?;
    let row = PhoneRow {
        driver: settled.driver,
        vendor: settled.vendor,
        model: settled.model,
        ..row
    };
    let phone = phone_changes::register(&state.services(), row)
        .await
        .map_err(conflict_as(NUMBER_TAKEN.0, NUMBER_TAKEN.1))?
        .to_wire(false, None)?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/phones/{}", phone.id)))
        .json(phone))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Phone>> {
    let id: PhoneId = path_id(&id)?;
    let phone = state
        .db
        .run(move |conn| {
            let row = phones::get(conn, auth.org_id, id)?;
            to_wire(conn, row)
        })
        .await?;
    Ok(web::Json(phone))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdatePhone>,
) -> ApiResult<web::Json<Phone>> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    if body.region.is_some() && body.number.is_none() {
        return Err(FieldError::new(
            "region",
            ErrorCode::InvalidRegion,
            "region only applies together with number",
        )
        .into());
    }
    let changes = PhoneChanges {
        number_e164: body
            .number
            .as_deref()
            .map(|n| E164::parse("number", n, body.region.as_deref()))
            .transpose()?
            .map(E164::into_inner),
        extension: body.extension.as_deref().map(extension).transpose()?,
        label: body
            .label
            .as_deref()
            .map(|l| NonBlank::parse("label", l, 100))
            .transpose()?
            .map(NonBlank::into_inner),
        vendor: None,
        model: None,
        disabled_at: body.disabled.map(|d| d.then(now_micros)),
        updated_at: None,
        driver: None,
    };
    let kind = kind_change(
        body.driver.as_ref().map(|d| d.as_deref()),
        body.vendor.as_deref(),
        body.model.as_deref(),
    )?;
    // Disabling also ends the binding and closes the phone's connection.
    let by = By::User(auth.user_id);
    let row = phone_changes::update(&state.services(), auth.org_id, id, changes, kind, by)
        .await
        .map_err(change_refused)?;
    let phone = state.db.run(move |conn| to_wire(conn, row)).await?;
    Ok(web::Json(phone))
}

/// A new one-time code for the phone; earlier unused codes stop working.
pub async fn provisioning_code(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    let issued = issue_code(&state, &auth, id).await?;
    Ok(super::secret_json(HttpResponse::Created(), &issued))
}

/// Issues the phone a new one-time provisioning code (the caller checked
/// the role); shared with the console's phone page.
pub(crate) async fn issue_code(
    state: &AppState,
    auth: &AuthUser,
    id: PhoneId,
) -> ApiResult<ProvisioningCode> {
    let code = secrets::new_provisioning_code().map_err(ApiError::internal)?;
    let code_hash = secrets::hash_secret(&secrets::normalise_code(&code));
    let expires_at = now_micros() + seconds(state.settings.provisioning_code_ttl_secs as i64);
    provisioning::issue(
        &state.services(),
        auth.org_id,
        id,
        auth.user_id,
        code_hash,
        expires_at,
    )
    .await
    .map_err(|e| match e {
        IssueError::PhoneDisabled => ApiError::Denied {
            code: ErrorCode::PhoneDisabled,
            detail: "enable the phone before provisioning it".into(),
        },
        IssueError::Repo(e) => e.into(),
    })?;
    Ok(ProvisioningCode {
        code,
        expires_at: to_datetime(expires_at),
    })
}

/// Revokes the phone's credential: it must be provisioned again, and its
/// binding ends.
pub async fn revoke_credential(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    // Its live connection closes too, on whichever node holds it.
    phone_changes::revoke(&state.services(), auth.org_id, id, By::User(auth.user_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
