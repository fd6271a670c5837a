//! The contact forms: `GET /contacts/new` and `POST /contacts` create,
//! `GET /contacts/{id}/edit` and `POST /contacts/{id}` change. They build
//! the JSON API's bodies (`CreateContact`, `UpdateContact`) and call the
//! same checks and use case, so a form refuses what the API refuses, with
//! its words next to the field; nothing is saved then.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::domain::contacts::ContactFields;
use deskbind_core::ids::UserId;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::contacts as write;
use deskbind_core::wire::{Contact, CreateContact, Role, UpdateContact};
use serde::Deserialize;

use super::super::admin::form::page_with;
use super::super::admin::names::{Named, users_of};
use super::detail::{may_edit, readable_contact};
use crate::console::chrome::{Chrome, Section, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::routes::contacts::{actor, contact_error};
use crate::state::AppState;

/// The fields the form shows, by the API's names.
const SHOWN: &[&str] = &[
    "name",
    "company",
    "email",
    "numbers",
    "region",
    "tags",
    "custom_fields",
    "owner_id",
    "notes",
    "external_id",
];

/// The form as typed (urlencoded).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContactDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub email: String,
    /// One number a line.
    #[serde(default)]
    pub numbers: String,
    #[serde(default)]
    pub region: String,
    /// Comma-separated.
    #[serde(default)]
    pub tags: String,
    /// `name=value`, one a line.
    #[serde(default)]
    pub custom_fields: String,
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub external_id: String,
}

impl ContactDraft {
    fn of(c: &Contact) -> Self {
        Self {
            name: c.name.clone(),
            company: c.company.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            numbers: c
                .numbers
                .iter()
                .map(|n| n.e164.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            region: String::new(),
            tags: c.tags.join(", "),
            custom_fields: c
                .custom_fields
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            owner_id: c.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
            external_id: c.external_id.clone().unwrap_or_default(),
        }
    }

    fn numbers(&self) -> Vec<String> {
        lines(&self.numbers).map(str::to_owned).collect()
    }

    fn tags(&self) -> Vec<String> {
        self.tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn custom_fields(&self) -> Result<BTreeMap<String, String>, FormErrors> {
        let mut out = BTreeMap::new();
        for (n, line) in lines(&self.custom_fields).enumerate() {
            let Some((key, value)) = line.split_once('=') else {
                return Err(FormErrors::invalid(
                    "custom_fields",
                    format!("Line {}: write name=value", n + 1),
                    SHOWN,
                ));
            };
            out.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        Ok(out)
    }

    fn owner(&self) -> Result<Option<UserId>, FormErrors> {
        match self.owner_id.trim() {
            "" => Ok(None),
            id => id.parse().map(Some).map_err(|_| {
                FormErrors::invalid("owner_id", "Choose an owner from the list", SHOWN)
            }),
        }
    }

    fn region(&self) -> Option<String> {
        text(&self.region).map(|r| r.to_uppercase())
    }
}

fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// An optional text field: empty is "none".
fn text(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[derive(Template)]
#[template(path = "contact_form.html")]
struct ContactFormPage {
    chrome: Chrome,
    heading: String,
    action: String,
    /// Where "Cancel" goes.
    back: String,
    draft: ContactDraft,
    /// Admins and managers pick the owner; a salesperson's contacts are
    /// their own.
    pick_owner: bool,
    owners: Vec<Named>,
    errors: Option<FormErrors>,
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    editing: Option<&Contact>,
    draft: ContactDraft,
    errors: Option<FormErrors>,
) -> ConsoleResult<HttpResponse> {
    let org = user.auth.org_id;
    let owners = state.db.run(move |conn| users_of(conn, org)).await?;
    let status = errors
        .as_ref()
        .map(|e| e.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    let (heading, action, back) = match editing {
        Some(c) => (
            format!("Edit {}", display_name(c)),
            format!("/contacts/{}", c.id),
            format!("/contacts/{}", c.id),
        ),
        None => (
            "New contact".to_owned(),
            "/contacts".to_owned(),
            "/contacts".to_owned(),
        ),
    };
    let page = ContactFormPage {
        chrome: Chrome::new(user, Section::Contacts),
        heading,
        action,
        back,
        draft,
        pick_owner: user.auth.role != Role::Salesperson,
        owners,
        errors,
    };
    page_with(status, &page)
}

/// A contact's name, or its first number when it has none.
pub fn display_name(c: &Contact) -> String {
    if !c.name.is_empty() {
        return c.name.clone();
    }
    c.numbers
        .first()
        .map(|n| n.e164.clone())
        .unwrap_or_else(|| "contact".into())
}

/// `GET /contacts/new`
pub async fn new_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
) -> ConsoleResult<HttpResponse> {
    render(&state, &user, None, ContactDraft::default(), None).await
}

/// `POST /contacts`
pub async fn create(
    state: web::Data<AppState>,
    form: ConsoleForm<ContactDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let body = match create_body(&user, &draft) {
        Ok(b) => b,
        Err(e) => return render(&state, &user, None, draft, Some(e)).await,
    };
    let saved = match ContactFields::from_create(&body) {
        Ok(fields) => write::create(
            &state.db,
            user.auth.org_id,
            actor(&user.auth),
            fields,
            body.owner_id,
            now_micros(),
        )
        .await
        .map_err(contact_error),
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(c) => Ok(see_other(format!("/contacts/{}?notice=created", c.id))),
        Err(e) => {
            let errors = FormErrors::from_api(e, SHOWN)?;
            render(&state, &user, None, draft, Some(errors)).await
        }
    }
}

fn create_body(user: &ConsoleUser, d: &ContactDraft) -> Result<CreateContact, FormErrors> {
    Ok(CreateContact {
        name: text(&d.name),
        company: text(&d.company),
        notes: text(&d.notes),
        email: text(&d.email),
        numbers: d.numbers(),
        tags: d.tags(),
        external_id: text(&d.external_id),
        // A salesperson's new contact is theirs (the API's default).
        owner_id: if user.auth.role == Role::Salesperson {
            None
        } else {
            d.owner()?
        },
        custom_fields: d.custom_fields()?,
        region: d.region(),
    })
}

/// `GET /contacts/{id}/edit`
pub async fn edit_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
) -> ConsoleResult<HttpResponse> {
    let contact = readable_contact(&state, &user, &id).await?;
    if !may_edit(&user, &contact) {
        return Err(ConsoleError::forbidden());
    }
    let draft = ContactDraft::of(&contact);
    render(&state, &user, Some(&contact), draft, None).await
}

/// `POST /contacts/{id}`: every field of the form replaces the stored one.
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<ContactDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let contact = readable_contact(&state, &user, &id).await?;
    let body = match update_body(&user, &draft) {
        Ok(b) => b,
        Err(e) => return render(&state, &user, Some(&contact), draft, Some(e)).await,
    };
    let saved = write::update(
        &state.db,
        user.auth.org_id,
        actor(&user.auth),
        contact.id,
        body,
        now_micros(),
    )
    .await
    .map_err(contact_error);
    match saved {
        Ok(c) => Ok(see_other(format!("/contacts/{}?notice=saved", c.id))),
        Err(e) => {
            let errors = FormErrors::from_api(e, SHOWN)?;
            render(&state, &user, Some(&contact), draft, Some(errors)).await
        }
    }
}

fn update_body(user: &ConsoleUser, d: &ContactDraft) -> Result<UpdateContact, FormErrors> {
    Ok(UpdateContact {
        name: Some(d.name.trim().to_owned()),
        company: Some(text(&d.company)),
        notes: Some(text(&d.notes)),
        email: Some(text(&d.email)),
        numbers: Some(d.numbers()),
        tags: Some(d.tags()),
        external_id: Some(text(&d.external_id)),
        // Salespeople do not see the owner field: the owner stays.
        owner_id: if user.auth.role == Role::Salesperson {
            None
        } else {
            Some(d.owner()?)
        },
        custom_fields: Some(d.custom_fields()?),
        region: d.region(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_fields_are_name_value_lines() {
        let d = ContactDraft {
            custom_fields: "plan = gold\n\nseats=12\n".into(),
            ..Default::default()
        };
        let map = d.custom_fields().unwrap();
        assert_eq!(map.get("plan").map(String::as_str), Some("gold"));
        assert_eq!(map.get("seats").map(String::as_str), Some("12"));
        let bad = ContactDraft {
            custom_fields: "plan=gold\nno equals".into(),
            ..Default::default()
        };
        let e = bad.custom_fields().unwrap_err();
        assert_eq!(e.at("custom_fields"), Some("Line 2: write name=value"));
    }

    #[test]
    fn tags_are_comma_separated_and_numbers_one_a_line() {
        let d = ContactDraft {
            tags: " vip, ,lead ".into(),
            numbers: "+4930123\n\n 030 456 \n".into(),
            ..Default::default()
        };
        assert_eq!(d.tags(), ["vip", "lead"]);
        assert_eq!(d.numbers(), ["+4930123", "030 456"]);
    }
}
