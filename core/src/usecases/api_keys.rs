//! API keys for integrations (docs/integrations.md): admins create them
//! (at most `MAX_ACTIVE_API_KEYS` not revoked, counted under the
//! organisation's lock) and revoke them, both audited; a presented key is
//! checked against the stored hash on every request, so a revoked key
//! stops at once. A key belongs to the organisation, not to the admin who
//! made it: it keeps working when that admin leaves.

use crate::auth::secrets::{API_KEY_PREFIX, RandomError, hash_secret, new_secret};
use crate::db::{Database, DbError};
use crate::domain::FieldError;
use crate::domain::api_keys::{key_name, scopes, stored_scopes};
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::repo::api_keys::{self, ApiKeyRow};
use crate::repo::page::PageRequest;
use crate::repo::{RepoError, stored_id};
use crate::time::{Micros, seconds};
use crate::wire::{
    ApiKey, ApiKeyScope, AuditAction, CreateApiKey, CreatedApiKey, MAX_ACTIVE_API_KEYS, Page,
};

use super::audit::{Entry, by_user};
use super::users::{UpdateError, lock_org_as_admin};

/// How many characters of a key the list shows (`dbk_` and 8 more).
const SHOWN_PREFIX_CHARS: usize = 12;
/// A key's last use is written at most this often.
const LAST_USE_GRANULARITY_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The organisation holds `MAX_ACTIVE_API_KEYS` keys already.
    #[error("too many keys")]
    Full,
    /// The actor is no longer an enabled admin.
    #[error("not an admin")]
    NotAdmin,
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for ApiKeyError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for ApiKeyError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<UpdateError> for ApiKeyError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Repo(e) => Self::Repo(e),
            _ => Self::NotAdmin,
        }
    }
}

/// An accepted key: what it may do and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrincipal {
    pub id: ApiKeyId,
    pub org: OrgId,
    pub scopes: Vec<ApiKeyScope>,
}

impl KeyPrincipal {
    pub fn allows(&self, scope: ApiKeyScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Creates a key for `org`; the answer holds its secret, shown this once.
pub async fn create(
    db: &Database,
    org: OrgId,
    by: UserId,
    input: CreateApiKey,
    now: Micros,
) -> Result<CreatedApiKey, ApiKeyError> {
    let name = key_name(&input.name)?;
    let scopes = scopes(&input.scopes)?;
    let secret = new_secret(API_KEY_PREFIX)?;
    let row = ApiKeyRow {
        id: ApiKeyId::new().to_string(),
        org_id: org.to_string(),
        name,
        scopes: stored_scopes(&scopes),
        prefix: secret.chars().take(SHOWN_PREFIX_CHARS).collect(),
        secret_hash: hash_secret(&secret),
        created_by: by.to_string(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
    };
    let stored = db
        .write(move |conn| {
            lock_org_as_admin(conn, org, by)?;
            if api_keys::count_active(conn, org)? >= MAX_ACTIVE_API_KEYS as i64 {
                return Err(ApiKeyError::Full);
            }
            api_keys::insert(conn, &row)?;
            Entry::new(
                &row.org_id,
                AuditAction::ApiKeyCreated,
                "api_key",
                &row.id,
                by_user(by),
            )
            .detail("name", row.name.clone())
            .detail(
                "scopes",
                row.scope_list()?
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            )
            .detail("prefix", row.prefix.clone())
            .record(conn, now)?;
            Ok::<_, ApiKeyError>(row)
        })
        .await?;
    Ok(CreatedApiKey {
        key: stored.to_wire()?,
        secret,
    })
}

/// Revokes a key of `org`. Revoking a revoked key changes nothing and is
/// not an error; another organisation's id is not found.
pub async fn revoke(
    db: &Database,
    org: OrgId,
    by: UserId,
    id: ApiKeyId,
    now: Micros,
) -> Result<ApiKey, ApiKeyError> {
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let row = api_keys::get(conn, org, id)?;
        if api_keys::revoke(conn, org, id, by, now)? {
            Entry::new(
                &row.org_id,
                AuditAction::ApiKeyRevoked,
                "api_key",
                &row.id,
                by_user(by),
            )
            .detail("name", row.name.clone())
            .detail("prefix", row.prefix.clone())
            .record(conn, now)?;
        }
        Ok::<_, ApiKeyError>(api_keys::get(conn, org, id)?.to_wire()?)
    })
    .await
}

/// One page of the organisation's keys, revoked ones included.
pub async fn list(
    db: &Database,
    org: OrgId,
    page: PageRequest,
) -> Result<Page<ApiKey>, ApiKeyError> {
    db.run(move |conn| {
        let rows = api_keys::list(conn, org, &page)?;
        let items = rows
            .items
            .iter()
            .map(ApiKeyRow::to_wire)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    })
    .await
}

/// The principal of a presented key, or `None` for an unknown or revoked
/// one. Notes the use (at most once a minute per key).
pub async fn authenticate(
    db: &Database,
    presented: &str,
    now: Micros,
) -> Result<Option<KeyPrincipal>, ApiKeyError> {
    if !presented.starts_with(API_KEY_PREFIX) {
        return Ok(None);
    }
    let hash = hash_secret(presented);
    let Some(row) = db
        .run(move |conn| api_keys::active_by_hash(conn, &hash).map_err(ApiKeyError::from))
        .await?
    else {
        return Ok(None);
    };
    let principal = KeyPrincipal {
        id: stored_id(&row.id)?,
        org: stored_id(&row.org_id)?,
        scopes: row.scope_list()?,
    };
    let not_before = now - seconds(LAST_USE_GRANULARITY_SECS);
    if row.last_used_at.is_none_or(|at| at < not_before) {
        let id = principal.id;
        db.write(move |conn| api_keys::touch(conn, id, now, not_before).map_err(ApiKeyError::from))
            .await?;
    }
    Ok(Some(principal))
}
