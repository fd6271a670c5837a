//! The `user_presence` and `presence_settings` tables: what users chose
//! (docs/presence.md) and how an organisation shows it. The live parts of
//! presence are not here (relay).

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::{bindings, presence_settings, team_members, user_presence, users};
use crate::domain::presence::{Choice, Stored};
use crate::ids::{OrgId, TeamId, UserId};
use crate::time::Micros;
use crate::wire::{ChosenPresence, PresenceSettings};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_presence)]
pub struct PresenceRow {
    pub user_id: String,
    pub org_id: String,
    pub chosen: String,
    pub status_text: Option<String>,
    pub until_at: Option<i64>,
    pub last_active_at: i64,
    pub updated_at: i64,
}

impl PresenceRow {
    pub fn stored(&self) -> Result<Stored, RepoError> {
        let chosen = ChosenPresence::parse(&self.chosen).ok_or_else(|| {
            RepoError::Corrupt(format!("user_presence.chosen = {:?}", self.chosen))
        })?;
        Ok(Stored {
            chosen,
            until: self.until_at,
            last_active_at: self.last_active_at,
        })
    }
}

/// The rows of `users` (absent: never chose anything).
pub fn of_users(conn: &mut DbConn, user_ids: &[String]) -> Result<Vec<PresenceRow>, RepoError> {
    Ok(user_presence::table
        .filter(user_presence::user_id.eq_any(user_ids))
        .select(PresenceRow::as_select())
        .load(conn)?)
}

/// Stores the user's choice; it also counts as activity. Call with the
/// user's row lock held (two first writes would both insert).
pub fn put(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    choice: &Choice,
    now: Micros,
) -> Result<(), RepoError> {
    let values = (
        user_presence::chosen.eq(choice.chosen.as_str()),
        user_presence::status_text.eq(choice.status_text.clone()),
        user_presence::until_at.eq(choice.until),
        user_presence::last_active_at.eq(now),
        user_presence::updated_at.eq(now),
    );
    let updated =
        diesel::update(user_presence::table.filter(user_presence::user_id.eq(user.to_string())))
            .set(values.clone())
            .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(user_presence::table)
            .values((
                user_presence::user_id.eq(user.to_string()),
                user_presence::org_id.eq(org.to_string()),
                values,
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Notes activity of the user at `now` (auto-away counts from it); a user
/// who never chose gets a row choosing `available`. Call with the user's
/// row lock held (two first writes would both insert).
pub fn touch(conn: &mut DbConn, org: OrgId, user: UserId, now: Micros) -> Result<(), RepoError> {
    let updated =
        diesel::update(user_presence::table.filter(user_presence::user_id.eq(user.to_string())))
            .set(user_presence::last_active_at.eq(now))
            .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(user_presence::table)
            .values((
                user_presence::user_id.eq(user.to_string()),
                user_presence::org_id.eq(org.to_string()),
                user_presence::chosen.eq("available"),
                user_presence::status_text.eq(None::<String>),
                user_presence::until_at.eq(None::<i64>),
                user_presence::last_active_at.eq(now),
                user_presence::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The organisation's settings (defaults when never set).
pub fn settings(conn: &mut DbConn, org: OrgId) -> Result<PresenceSettings, RepoError> {
    let row: Option<(bool, Option<i64>)> = presence_settings::table
        .filter(presence_settings::org_id.eq(org.to_string()))
        .select((
            presence_settings::hide_status_text,
            presence_settings::auto_away_after_secs,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((hide_status_text, after)) => PresenceSettings {
            hide_status_text,
            auto_away_after_secs: after.and_then(|s| u32::try_from(s).ok()),
        },
        None => PresenceSettings {
            hide_status_text: false,
            auto_away_after_secs: None,
        },
    })
}

/// Replaces the settings. Call inside a write transaction holding the
/// organisation's lock (two first settings at once would collide).
pub fn put_settings(
    conn: &mut DbConn,
    org: OrgId,
    settings: &PresenceSettings,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    let values = (
        presence_settings::hide_status_text.eq(settings.hide_status_text),
        presence_settings::auto_away_after_secs.eq(settings.auto_away_after_secs.map(i64::from)),
        presence_settings::updated_at.eq(now),
        presence_settings::updated_by.eq(by.to_string()),
    );
    let updated = diesel::update(
        presence_settings::table.filter(presence_settings::org_id.eq(org.to_string())),
    )
    .set(values.clone())
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(presence_settings::table)
            .values((presence_settings::org_id.eq(org.to_string()), values))
            .execute(conn)?;
    }
    Ok(())
}

/// Enabled users of the organisation among `visible` (`None`: all), in id
/// order after `after`, optionally only members of `team`: `(id, display
/// name)`.
pub fn visible_users(
    conn: &mut DbConn,
    org: OrgId,
    visible: Option<Vec<String>>,
    team: Option<TeamId>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, String)>, RepoError> {
    let mut query = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::disabled_at.is_null())
        .select((users::id, users::display_name))
        .into_boxed();
    if let Some(ids) = visible {
        query = query.filter(users::id.eq_any(ids));
    }
    if let Some(team) = team {
        query = query.filter(
            users::id.eq_any(
                team_members::table
                    .filter(team_members::team_id.eq(team.to_string()))
                    .select(team_members::user_id),
            ),
        );
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_owned()));
    }
    Ok(query.order(users::id.asc()).limit(limit).load(conn)?)
}

/// The phones each of `user_ids` holds at `now` (a binding not ended and
/// not expired): `(user, phone)` pairs.
pub fn held_phones(
    conn: &mut DbConn,
    user_ids: &[String],
    now: Micros,
) -> Result<Vec<(String, String)>, RepoError> {
    Ok(bindings::table
        .filter(bindings::user_id.eq_any(user_ids))
        .filter(bindings::ended_at.is_null())
        .filter(
            bindings::expires_at
                .is_null()
                .or(bindings::expires_at.gt(now)),
        )
        .select((bindings::user_id, bindings::phone_id))
        .load(conn)?)
}

/// Enabled users of every organisation, in id order after `after`:
/// `(id, display name, organisation)` (for the presence gauges).
pub fn all_enabled_users(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, String, String)>, RepoError> {
    let mut query = users::table
        .filter(users::disabled_at.is_null())
        .select((users::id, users::display_name, users::org_id))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_owned()));
    }
    Ok(query.order(users::id.asc()).limit(limit).load(conn)?)
}
