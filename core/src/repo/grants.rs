//! Per-phone grants: who besides admins may bind a phone. `usecases::grants`
//! swaps the whole set in one transaction; `permits` answers for one user.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{phone_grants, team_members};
use crate::ids::{GrantId, OrgId, PhoneId, TeamId, UserId};
use crate::time::now_micros;
use crate::wire::PhoneGrants;

pub fn get(conn: &mut DbConn, phone: PhoneId) -> Result<PhoneGrants, RepoError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = phone_grants::table
        .filter(phone_grants::phone_id.eq(phone.to_string()))
        .order(phone_grants::id.asc())
        .select((
            phone_grants::grantee_kind,
            phone_grants::user_id,
            phone_grants::team_id,
        ))
        .load(conn)?;
    let mut grants = PhoneGrants::default();
    for (kind, user, team) in rows {
        match (kind.as_str(), user, team) {
            ("everyone", _, _) => grants.everyone = true,
            ("user", Some(u), _) => grants.user_ids.push(stored_id(&u)?),
            ("team", _, Some(t)) => grants.team_ids.push(stored_id(&t)?),
            _ => return Err(RepoError::Corrupt(format!("phone grant kind {kind:?}"))),
        }
    }
    Ok(grants)
}

/// Deletes every grant of the phone.
pub fn delete_for_phone(conn: &mut DbConn, phone: PhoneId) -> Result<usize, RepoError> {
    Ok(
        diesel::delete(phone_grants::table.filter(phone_grants::phone_id.eq(phone.to_string())))
            .execute(conn)?,
    )
}

/// Stores the grants (duplicates collapse); call after [`delete_for_phone`]
/// in one transaction to replace the phone's set.
pub fn insert(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    grants: &PhoneGrants,
) -> Result<(), RepoError> {
    let now = now_micros();
    let row = |kind: &str, user: Option<UserId>, team: Option<TeamId>| {
        (
            phone_grants::id.eq(GrantId::new().to_string()),
            phone_grants::phone_id.eq(phone.to_string()),
            phone_grants::org_id.eq(org.to_string()),
            phone_grants::grantee_kind.eq(kind.to_owned()),
            phone_grants::user_id.eq(user.map(|u| u.to_string())),
            phone_grants::team_id.eq(team.map(|t| t.to_string())),
            phone_grants::created_at.eq(now),
        )
    };
    let mut rows = Vec::new();
    if grants.everyone {
        rows.push(row("everyone", None, None));
    }
    let mut seen_users = std::collections::HashSet::new();
    for user in grants.user_ids.iter().filter(|u| seen_users.insert(**u)) {
        rows.push(row("user", Some(*user), None));
    }
    let mut seen_teams = std::collections::HashSet::new();
    for team in grants.team_ids.iter().filter(|t| seen_teams.insert(**t)) {
        rows.push(row("team", None, Some(*team)));
    }
    // One row per statement: MultiConnection has no portable batch insert.
    for r in rows {
        diesel::insert_into(phone_grants::table)
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}

/// Whether a grant lets `user` bind `phone`: free seating, a grant to the
/// user, or one to a team the user belongs to.
pub fn permits(conn: &mut DbConn, phone: PhoneId, user: UserId) -> Result<bool, RepoError> {
    let my_teams = team_members::table
        .filter(team_members::user_id.eq(user.to_string()))
        .select(team_members::team_id.nullable());
    let hit: Option<String> = phone_grants::table
        .filter(phone_grants::phone_id.eq(phone.to_string()))
        .filter(
            phone_grants::grantee_kind
                .eq("everyone")
                .or(phone_grants::user_id.eq(user.to_string()))
                .or(phone_grants::team_id.eq_any(my_teams)),
        )
        .select(phone_grants::id)
        .first(conn)
        .optional()?;
    Ok(hit.is_some())
}
