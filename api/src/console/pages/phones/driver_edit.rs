//! The phone page's "Driver and model" form: the same change and checks
//! as `PATCH /v1/phones/{id}` with `driver` and `model`
//! (`usecases::phones::update`). A refusal (a model its driver does not
//! know: `unknown_phone_model`) is the page again with the message at the
//! field and nothing written. A new driver ends direct mode.

use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::repo::binding_events::By;
use deskbind_core::repo::phones::PhoneChanges;
use deskbind_core::usecases::phones as phone_changes;
use serde::Deserialize;

use super::detail::{Extras, render};
use super::driver_choice::chosen;
use super::{phone_id, phone_path};
use crate::console::chrome::see_other;
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::FormErrors;
use crate::routes::phones::{change_refused, kind_change};
use crate::state::AppState;

/// The form's fields that show their own refusal.
pub const KIND_FIELDS: &[&str] = &["driver", "model"];

#[derive(Debug, Default, Deserialize)]
pub struct DriverForm {
    /// A `Vendor` id, or "" for none.
    #[serde(default)]
    pub driver: String,
    /// A model, or "" to leave the stored one.
    #[serde(default)]
    pub model: String,
}

/// A refused change: what was chosen, shown again, and why.
#[derive(Debug)]
pub struct KindRefusal {
    pub form: DriverForm,
    pub errors: FormErrors,
}

/// Sets the phone's driver (or takes it away) and model.
pub async fn set_driver(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ConsoleForm { user, form }: ConsoleForm<DriverForm>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let refused = |errors: FormErrors, form: DriverForm| {
        let status = errors.status;
        let extras = Extras {
            kind: Some(KindRefusal { form, errors }),
            ..Extras::default()
        };
        render(&req, &state, &user, id, extras, status)
    };
    let change = match kind_change(Some(chosen(&form.driver)), None, chosen(&form.model)) {
        Ok(change) => change,
        Err(e) => return refused(FormErrors::from_api(e.into(), KIND_FIELDS)?, form).await,
    };
    let by = By::User(user.auth.user_id);
    let org = user.auth.org_id;
    let services = state.services();
    match phone_changes::update(&services, org, id, PhoneChanges::default(), change, by).await {
        Ok(row) => {
            tracing::info!(phone = %id, by = %user.auth.user_id, driver = ?row.driver, model = ?row.model, "phone driver and model set in the console");
            Ok(see_other(format!("{}?done=driver", phone_path(id))))
        }
        Err(e) => {
            let errors = FormErrors::from_api(change_refused(e), KIND_FIELDS)?;
            refused(errors, form).await
        }
    }
}
