//! What the filter selects offer, limited to what the viewer may see: the
//! users of their scope, their teams (all teams for an admin), the
//! organisation's phones. Also names the users and phones in the table.

use std::collections::HashMap;

use deskbind_core::db::DbConn;
use deskbind_core::ids::OrgId;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::teams::{self, TeamVisibility};
use deskbind_core::repo::{RepoError, phones, users};
use deskbind_core::wire::{MAX_PAGE_LIMIT, Role};

use crate::extract::AuthUser;
use crate::routes::users::visibility;

/// At most this many entries per select; an organisation larger than that
/// filters by the id in the URL (the JSON API's way) instead.
const MAX_CHOICES: usize = 2000;

#[derive(Debug, Clone)]
pub struct Choice {
    pub id: String,
    pub label: String,
    /// What a table cell shows (the label without details).
    pub short: String,
}

#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub users: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub phones: Vec<Choice>,
}

impl Choices {
    pub fn load(conn: &mut DbConn, auth: &AuthUser) -> Result<Self, RepoError> {
        let users = all_pages(|page| users::list(conn, auth.org_id, visibility(auth), page))?
            .into_iter()
            .map(|u| Choice {
                label: format!("{} ({})", u.display_name, u.email),
                short: u.display_name,
                id: u.id,
            })
            .collect();
        let team_visibility = match auth.role {
            Role::Admin => TeamVisibility::Org,
            Role::Manager | Role::Salesperson => TeamVisibility::MemberOf(auth.user_id),
        };
        let teams = all_pages(|page| teams::list(conn, auth.org_id, team_visibility, page))?
            .into_iter()
            .map(|t| Choice {
                id: t.id,
                short: t.name.clone(),
                label: t.name,
            })
            .collect();
        let phones = all_pages(|page| phones::list(conn, auth.org_id, page))?
            .into_iter()
            .map(|p| Choice {
                label: phone_label(&p.label, &p.number_e164, &p.extension),
                short: p.label.clone(),
                id: p.id,
            })
            .collect();
        Ok(Self {
            users: sorted(users),
            teams: sorted(teams),
            phones: sorted(phones),
        })
    }

    /// Display names by user id.
    pub fn user_names(&self) -> HashMap<String, String> {
        self.users
            .iter()
            .map(|c| (c.id.clone(), c.short.clone()))
            .collect()
    }

    pub fn phone_names(&self) -> HashMap<String, String> {
        self.phones
            .iter()
            .map(|c| (c.id.clone(), c.label.clone()))
            .collect()
    }
}

/// The names one call page shows: its user's and its phone's, read by id
/// (two small queries) rather than by loading every choice.
pub fn names_of_call(
    conn: &mut DbConn,
    org: OrgId,
    user: Option<String>,
    phone: String,
) -> Result<(Option<String>, String), RepoError> {
    let user_name = match user {
        Some(id) => {
            let mut names = users::display_names(conn, org, std::slice::from_ref(&id))?;
            Some(names.remove(&id).unwrap_or(id))
        }
        None => None,
    };
    let phone_name = phones::by_ids(conn, org, std::slice::from_ref(&phone))?
        .first()
        .map(|p| phone_label(&p.label, &p.number_e164, &p.extension))
        .unwrap_or(phone);
    Ok((user_name, phone_name))
}

fn phone_label(label: &str, number: &str, extension: &str) -> String {
    match (label.trim(), extension.trim()) {
        ("", "") => number.to_owned(),
        ("", ext) => format!("{number} ext. {ext}"),
        (name, _) => format!("{name} ({number})"),
    }
}

fn sorted(mut choices: Vec<Choice>) -> Vec<Choice> {
    choices.sort_by_cached_key(|c| c.label.to_lowercase());
    choices
}

/// Every row of a keyset-paged list, up to [`MAX_CHOICES`].
fn all_pages<R>(
    mut fetch: impl FnMut(&PageRequest) -> Result<deskbind_core::wire::Page<R>, RepoError>,
) -> Result<Vec<R>, RepoError> {
    let mut out = Vec::new();
    let mut page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    loop {
        let got = fetch(&page)?;
        out.extend(got.items);
        match got.next_cursor {
            Some(next) if out.len() < MAX_CHOICES => page.after = Some(next),
            _ => break,
        }
    }
    out.truncate(MAX_CHOICES);
    Ok(out)
}
