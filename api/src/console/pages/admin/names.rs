//! Names for the ids a page shows (users, phones, teams): the
//! organisation's first [`MAX_PAGE_LIMIT`] of each in one query, which
//! also fill the pages' filter and picker lists, and a lookup by id for
//! the rare one beyond them.

use std::collections::HashMap;

use deskbind_core::db::DbConn;
use deskbind_core::ids::{OrgId, PhoneId, UserId};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::teams::{self, TeamVisibility};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::repo::{RepoError, phones};
use deskbind_core::wire::MAX_PAGE_LIMIT;

use super::form::Choice;

/// One entry of a list: id and what a person reads.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub label: String,
}

fn first_page() -> PageRequest {
    PageRequest::new(None, Some(MAX_PAGE_LIMIT))
}

/// The organisation's users, by name.
pub fn users_of(conn: &mut DbConn, org: OrgId) -> Result<Vec<Named>, RepoError> {
    let mut out: Vec<Named> = users::list(conn, org, Visibility::Org, &first_page())?
        .items
        .into_iter()
        .map(|u| Named {
            label: format!("{} <{}>", u.display_name, u.email),
            id: u.id,
        })
        .collect();
    out.sort_by_key(|a| a.label.to_lowercase());
    Ok(out)
}

/// The organisation's phones, by label.
pub fn phones_of(conn: &mut DbConn, org: OrgId) -> Result<Vec<Named>, RepoError> {
    let mut out: Vec<Named> = phones::list(conn, org, &first_page())?
        .items
        .into_iter()
        .map(|p| Named {
            label: phone_label(&p),
            id: p.id,
        })
        .collect();
    out.sort_by_key(|a| a.label.to_lowercase());
    Ok(out)
}

/// The organisation's teams, by name.
pub fn teams_of(conn: &mut DbConn, org: OrgId) -> Result<Vec<Named>, RepoError> {
    let mut out: Vec<Named> = teams::list(conn, org, TeamVisibility::Org, &first_page())?
        .items
        .into_iter()
        .map(|t| Named {
            id: t.id,
            label: t.name,
        })
        .collect();
    out.sort_by_key(|a| a.label.to_lowercase());
    Ok(out)
}

fn phone_label(p: &phones::PhoneRow) -> String {
    if p.label.trim().is_empty() {
        p.number_e164.clone()
    } else {
        format!("{} ({})", p.label, p.number_e164)
    }
}

/// Choices for a `<select>`, `selected` marked.
pub fn choices(list: &[Named], selected: Option<&str>) -> Vec<Choice> {
    list.iter()
        .map(|n| Choice {
            value: n.id.clone(),
            label: n.label.clone(),
            selected: Some(n.id.as_str()) == selected,
        })
        .collect()
}

/// Names by id for a page's rows: from the lists, then one lookup per id
/// the lists did not have.
#[derive(Debug, Default)]
pub struct Directory {
    users: HashMap<String, String>,
    phones: HashMap<String, String>,
}

impl Directory {
    pub fn new(users: &[Named], phones: &[Named]) -> Self {
        Self {
            users: users
                .iter()
                .map(|n| (n.id.clone(), n.label.clone()))
                .collect(),
            phones: phones
                .iter()
                .map(|n| (n.id.clone(), n.label.clone()))
                .collect(),
        }
    }

    /// Looks up the ids the lists lacked.
    pub fn complete<'a>(
        &mut self,
        conn: &mut DbConn,
        org: OrgId,
        user_ids: impl IntoIterator<Item = &'a str>,
        phone_ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), RepoError> {
        for id in user_ids {
            if self.users.contains_key(id) {
                continue;
            }
            let Ok(uid) = id.parse::<UserId>() else {
                continue;
            };
            match users::get(conn, org, uid, Visibility::Org) {
                Ok(u) => {
                    let label = format!("{} <{}>", u.display_name, u.email);
                    self.users.insert(id.to_owned(), label);
                }
                Err(RepoError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        for id in phone_ids {
            if self.phones.contains_key(id) {
                continue;
            }
            let Ok(pid) = id.parse::<PhoneId>() else {
                continue;
            };
            match phones::get(conn, org, pid) {
                Ok(p) => {
                    self.phones.insert(id.to_owned(), phone_label(&p));
                }
                Err(RepoError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn user(&self, id: &str) -> String {
        self.users.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    pub fn phone(&self, id: &str) -> String {
        self.phones
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}
