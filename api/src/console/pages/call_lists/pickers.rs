//! The people and teams a manager may name on the list pages (a pool, a
//! reassignment): admins the organisation's, managers their teams' and
//! their own teams, as the use cases check.

use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::teams::{self, TeamVisibility};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::usecases::call_lists::Manager;
use deskbind_core::wire::{MAX_PAGE_LIMIT, Role};

use crate::console::error::ConsoleResult;
use crate::console::pages::admin::names::Named;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Default)]
pub struct Pickers {
    pub users: Vec<Named>,
    pub teams: Vec<Named>,
}

impl Pickers {
    /// A user's name as listed, or the id for one not listed.
    pub fn user_name(&self, id: &str) -> String {
        self.users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| id.to_owned(), |u| u.label.clone())
    }
}

pub async fn load(state: &AppState, by: Manager) -> ConsoleResult<Pickers> {
    let found = state
        .db
        .run(move |conn| {
            let first = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
            let mut users: Vec<Named> =
                users::list(conn, by.org, Visibility::of(by.role, by.user), &first)?
                    .items
                    .into_iter()
                    .map(|u| Named {
                        label: format!("{} <{}>", u.display_name, u.email),
                        id: u.id,
                    })
                    .collect();
            users.sort_by_key(|u| u.label.to_lowercase());
            let visibility = match by.role {
                Role::Admin => TeamVisibility::Org,
                _ => TeamVisibility::MemberOf(by.user),
            };
            let mut teams: Vec<Named> = teams::list(conn, by.org, visibility, &first)?
                .items
                .into_iter()
                .map(|t| Named {
                    id: t.id,
                    label: t.name,
                })
                .collect();
            teams.sort_by_key(|t| t.label.to_lowercase());
            Ok::<_, ApiError>(Pickers { users, teams })
        })
        .await?;
    Ok(found)
}
