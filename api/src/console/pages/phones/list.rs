//! The phone list (label, number, online, holder, credential, driver and
//! capabilities) and the registration form, with the driver and model.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::domain::{E164, FieldError, NonBlank};
use deskbind_core::ids::PhoneId;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::phones::{self, PhoneRow};
use deskbind_core::repo::{RepoError, bindings};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::phones as phone_changes;
use serde::Deserialize;

use super::driver_choice::{DriverChoices, capability_names, chosen, driver_name};
use super::phone_path;
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::routes::phones::{extension, new_phone_kind};
use crate::state::AppState;

/// Phones per page of the list.
const PAGE_SIZE: u32 = 100;

/// The registration form's fields that show their own refusal; one about
/// another (a bad number, a taken one) goes above the form.
const KIND_FIELDS: &[&str] = &["driver", "model"];

/// One row of the list.
#[derive(Debug)]
pub struct PhoneLine {
    pub id: String,
    pub label: String,
    pub number: String,
    pub extension: String,
    pub online: bool,
    pub holder: Option<String>,
    pub credential: &'static str,
    pub disabled: bool,
    pub driver: &'static str,
    pub capabilities: String,
}

/// What the registration form shows again after a refusal.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub extension: String,
    /// A `Vendor` id, or "" for none.
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub model: String,
}

#[derive(Template)]
#[template(path = "admin_phones.html")]
struct PhonesPage {
    chrome: Chrome,
    phones: Vec<PhoneLine>,
    next: Option<String>,
    form: RegisterForm,
    choices: DriverChoices,
    kind_errors: Option<FormErrors>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    after: Option<String>,
}

/// What the credential column says.
pub fn credential_state(disabled: bool, provisioned: bool) -> &'static str {
    match (disabled, provisioned) {
        (true, _) => "Disabled",
        (false, true) => "Provisioned",
        (false, false) => "Not provisioned",
    }
}

async fn lines(
    state: &AppState,
    user: &ConsoleUser,
    after: Option<String>,
) -> ConsoleResult<(Vec<PhoneLine>, Option<String>)> {
    let org = user.auth.org_id;
    let (rows, provisioned, mut holders) = state
        .db
        .run(move |conn| {
            let page = phones::list(conn, org, &PageRequest::new(after, Some(PAGE_SIZE)))?;
            let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
            let provisioned = phones::provisioned_among(conn, &ids)?;
            let holders = bindings::holders(conn, &ids)?;
            Ok::<_, RepoError>((page, provisioned, holders))
        })
        .await?;
    let ids: Vec<PhoneId> = rows
        .items
        .iter()
        .map(PhoneRow::phone_id)
        .collect::<Result<_, _>>()?;
    let online = state.relay.online_among(&ids).await;
    let lines = rows
        .items
        .into_iter()
        .zip(ids)
        .map(|(row, id)| PhoneLine {
            online: online.contains(&id),
            holder: holders.remove(&row.id).map(|h| h.display_name),
            credential: credential_state(row.disabled_at.is_some(), provisioned.contains(&row.id)),
            disabled: row.disabled_at.is_some(),
            driver: driver_name(row.driver.as_deref()),
            capabilities: capability_names(row.driver.as_deref()),
            id: row.id,
            label: row.label,
            number: row.number_e164,
            extension: row.extension,
        })
        .collect();
    Ok((lines, rows.next_cursor))
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    after: Option<String>,
    form: RegisterForm,
    kind_errors: Option<FormErrors>,
) -> ConsoleResult<HttpResponse> {
    let (phones, next) = lines(state, user, after).await?;
    let status = kind_errors.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = PhonesPage {
        chrome: Chrome::admin(user, AdminSection::Phones),
        phones,
        next,
        choices: DriverChoices::new(&form.driver, &form.model),
        form,
        kind_errors,
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

pub async fn index(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(query): web::Query<ListQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse::<PhoneId>()
                .map_err(|_| ConsoleError::invalid("after", "not a phone id from this list"))?
                .to_string(),
        ),
    };
    render(&state, &user, after, RegisterForm::default(), None).await
}

/// The form's values as a phone row, or the first problem with them.
fn parse(org: &str, form: &RegisterForm) -> Result<PhoneRow, FieldError> {
    let region = Some(form.region.trim()).filter(|r| !r.is_empty());
    let number = E164::parse("number", &form.number, region)?;
    let kind = new_phone_kind(chosen(&form.driver), None, chosen(&form.model))?;
    let now = now_micros();
    Ok(PhoneRow {
        id: PhoneId::new().to_string(),
        org_id: org.to_owned(),
        number_e164: number.into_inner(),
        extension: extension(&form.extension)?,
        label: NonBlank::parse("label", &form.label, 100)?.into_inner(),
        vendor: kind.vendor,
        model: kind.model,
        disabled_at: None,
        created_at: now,
        updated_at: now,
        driver: kind.driver,
    })
}

/// Registers a phone, then opens its page (where its code is issued).
pub async fn register(
    state: web::Data<AppState>,
    ConsoleForm { user, form }: ConsoleForm<RegisterForm>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let refused = |errors: FormErrors, form: RegisterForm| {
        let state = state.clone();
        let user = user.clone();
        async move { render(&state, &user, None, form, Some(errors)).await }
    };
    let row = match parse(&user.auth.org_id.to_string(), &form) {
        Ok(row) => row,
        Err(e) => return refused(FormErrors::from_api(e.into(), KIND_FIELDS)?, form).await,
    };
    match phone_changes::register(&state.services(), row).await {
        Ok(row) => {
            tracing::info!(phone = %row.id, by = %user.auth.user_id, "phone registered in the console");
            Ok(see_other(format!(
                "{}?done=registered",
                phone_path(row.phone_id()?)
            )))
        }
        Err(RepoError::Conflict) => {
            let taken = FormErrors {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                field: None,
                message: "A phone with this number and extension is registered already.".into(),
                shown: KIND_FIELDS,
            };
            refused(taken, form).await
        }
        Err(e) => Err(e.into()),
    }
}
