//! The administration pages (admins only; docs/console.md,
//! "Administration"): users, teams, bindings and their audit log, the
//! binding and dial policies, dial rules (classes and calling hours), push defaults, dispositions, score rules,
//! contact and call settings, API keys, webhooks, retention and legal holds.
//! Every write goes through the
//! JSON API's own checks and use cases (`crate::routes::*::{create_user,
//! update_user, replace, ...}`), so a form refuses exactly what the API
//! refuses, with the same words.

pub mod api_keys;
pub mod bindings;
pub mod dial_rule_edits;
pub mod dial_rules;
pub mod dispositions;
pub mod form;
pub mod names;
pub mod policies;
pub mod push;
pub mod retention;
pub mod score_rule_edits;
pub mod score_rules;
pub mod settings;
pub mod teams;
pub mod user_page;
pub mod users;
pub mod webhook_page;
pub mod webhooks;

use actix_web::HttpResponse;

use crate::console::chrome::see_other;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;

/// `GET /admin`: the users page.
pub async fn index(user: ConsoleUser) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    Ok(see_other("/admin/users"))
}
