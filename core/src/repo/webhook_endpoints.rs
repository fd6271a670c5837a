//! The `webhook_endpoints` table: where an organisation's webhooks go.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::webhook_endpoints;
use crate::ids::{OrgId, WebhookEndpointId};
use crate::time::{Micros, to_datetime};
use crate::wire::{Page, WebhookEndpoint, WebhookEventType};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
#[diesel(treat_none_as_null = true)]
pub struct EndpointRow {
    pub id: String,
    pub org_id: String,
    pub url: String,
    pub description: Option<String>,
    pub event_types: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl EndpointRow {
    pub fn event_type_list(&self) -> Result<Vec<WebhookEventType>, RepoError> {
        self.event_types
            .split_whitespace()
            .map(|t| {
                WebhookEventType::parse(t)
                    .ok_or_else(|| RepoError::Corrupt(format!("webhook event type {t:?}")))
            })
            .collect()
    }

    pub fn subscribes_to(&self, event: WebhookEventType) -> bool {
        self.event_types
            .split_whitespace()
            .any(|t| t == event.as_str())
    }

    /// The secrets that sign a delivery at `now`: the current one, and the
    /// previous one while its overlap lasts.
    pub fn signing_secrets(&self, now: Micros) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }

    pub fn to_wire(&self) -> Result<WebhookEndpoint, RepoError> {
        Ok(WebhookEndpoint {
            id: stored_id(&self.id)?,
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: self.event_type_list()?,
            disabled: self.disabled_at.is_some(),
            disabled_reason: self.disabled_reason.clone(),
            previous_secret_until: self.previous_secret_until.map(to_datetime),
            created_at: to_datetime(self.created_at),
            created_by: stored_id(&self.created_by)?,
            updated_at: to_datetime(self.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &EndpointRow) -> Result<(), RepoError> {
    diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConn, row: &EndpointRow) -> Result<(), RepoError> {
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(&row.id))
            .filter(webhook_endpoints::org_id.eq(&row.org_id)),
    )
    .set(row)
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

pub fn count(conn: &mut DbConn, org: OrgId) -> Result<i64, RepoError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(org.to_string()))
        .count()
        .get_result(conn)?)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: WebhookEndpointId) -> Result<EndpointRow, RepoError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(org.to_string()))
        .filter(webhook_endpoints::id.eq(id.to_string()))
        .select(EndpointRow::as_select())
        .first(conn)?)
}

/// Endpoints by id, whatever their organisation (the sender's read).
pub fn by_ids(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<EndpointRow>, RepoError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(ids))
        .select(EndpointRow::as_select())
        .load(conn)?)
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    page: &PageRequest,
) -> Result<Page<EndpointRow>, RepoError> {
    let mut query = webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(org.to_string()))
        .select(EndpointRow::as_select())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(webhook_endpoints::id.gt(after.clone()));
    }
    let rows = query
        .order(webhook_endpoints::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// The organisation's enabled endpoints (at most `MAX_WEBHOOK_ENDPOINTS`):
/// the outbox picks those subscribed to an event among them.
pub fn enabled(conn: &mut DbConn, org_id: &str) -> Result<Vec<EndpointRow>, RepoError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(org_id))
        .filter(webhook_endpoints::disabled_at.is_null())
        .select(EndpointRow::as_select())
        .load(conn)?)
}

pub fn delete(conn: &mut DbConn, org: OrgId, id: WebhookEndpointId) -> Result<(), RepoError> {
    let n = diesel::delete(
        webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(org.to_string()))
            .filter(webhook_endpoints::id.eq(id.to_string())),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

/// Disables an endpoint that is enabled; whether this call did it.
pub fn disable(conn: &mut DbConn, id: &str, reason: &str, now: Micros) -> Result<bool, RepoError> {
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(id))
            .filter(webhook_endpoints::disabled_at.is_null()),
    )
    .set((
        webhook_endpoints::disabled_at.eq(now),
        webhook_endpoints::disabled_reason.eq(reason),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
