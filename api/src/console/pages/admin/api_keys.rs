//! `/admin/api-keys`: the organisation's API keys for integrations
//! (docs/integrations.md), admins only: create one (its secret is shown on
//! the answer to the form, once, never again), see each key's scopes and
//! last use, revoke it. The checks and use case are `/v1/api-keys`'s
//! (`usecases::api_keys`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::ApiKeyId;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::api_keys;
use deskbind_core::wire::{ApiKeyScope, CreateApiKey, MAX_PAGE_LIMIT};
use serde::Deserialize;

use super::form::{NoticeQuery, local_time, notice, page_with};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::extract::path_id;
use crate::state::AppState;

const SHOWN: &[&str] = &["name", "scopes"];

/// The new-key form: a name and one checkbox per scope (present when
/// ticked).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyDraft {
    #[serde(default)]
    pub name: String,
    pub calls_read: Option<String>,
    pub recordings_read: Option<String>,
    pub contacts_read: Option<String>,
    pub contacts_write: Option<String>,
}

impl KeyDraft {
    fn scopes(&self) -> Vec<String> {
        [
            (&self.calls_read, ApiKeyScope::CallsRead),
            (&self.recordings_read, ApiKeyScope::RecordingsRead),
            (&self.contacts_read, ApiKeyScope::ContactsRead),
            (&self.contacts_write, ApiKeyScope::ContactsWrite),
        ]
        .into_iter()
        .filter(|(ticked, _)| ticked.is_some())
        .map(|(_, scope)| scope.as_str().to_owned())
        .collect()
    }
}

/// One key as the table shows it.
struct KeyLine {
    id: ApiKeyId,
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

/// A key just created: its secret, shown this once.
struct Created {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "admin_api_keys.html")]
struct ApiKeysPage {
    chrome: Chrome,
    rows: Vec<KeyLine>,
    more: bool,
    draft: KeyDraft,
    errors: Option<FormErrors>,
    created: Option<Created>,
    notice: Option<&'static str>,
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    draft: KeyDraft,
    errors: Option<FormErrors>,
    created: Option<Created>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    // Keys past the first page are rare (at most 50 live ones): the page
    // says so rather than paging.
    let page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    let keys = api_keys::list(&state.db, user.auth.org_id, page)
        .await
        .map_err(crate::error::ApiError::from)?;
    let tz = user.time_zone.as_str();
    let rows = keys
        .items
        .iter()
        .map(|k| KeyLine {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: local_time(k.created_at.timestamp_micros(), tz),
            last_used: k
                .last_used_at
                .map(|t| local_time(t.timestamp_micros(), tz))
                .unwrap_or_else(|| "never".into()),
            revoked: k.revoked_at.map(|t| local_time(t.timestamp_micros(), tz)),
        })
        .collect();
    let status = errors.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = ApiKeysPage {
        chrome: Chrome::admin(user, AdminSection::ApiKeys),
        rows,
        more: keys.next_cursor.is_some(),
        draft,
        errors,
        created,
        notice: notice(notice_key),
    };
    let mut response = page_with(status, &page)?;
    // The page may hold a secret: never kept by a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `GET /admin/api-keys`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    render(
        &state,
        &user,
        KeyDraft::default(),
        None,
        None,
        q.notice.as_deref(),
    )
    .await
}

/// `POST /admin/api-keys`: answers with the page showing the new secret
/// (not a redirect: the secret must not travel in a URL).
pub async fn create(
    state: web::Data<AppState>,
    form: ConsoleForm<KeyDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let body = CreateApiKey {
        name: draft.name.clone(),
        scopes: draft.scopes(),
    };
    match api_keys::create(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        body,
        now_micros(),
    )
    .await
    {
        Ok(created) => {
            let shown = Created {
                name: created.key.name,
                secret: created.secret,
            };
            render(&state, &user, KeyDraft::default(), None, Some(shown), None).await
        }
        Err(e) => {
            let errors = FormErrors::from_api(e.into(), SHOWN)?;
            render(&state, &user, draft, Some(errors), None, None).await
        }
    }
}

/// `POST /admin/api-keys/{id}/revoke`
pub async fn revoke(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: ApiKeyId = path_id(&id)?;
    api_keys::revoke(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        id,
        now_micros(),
    )
    .await
    .map_err(crate::error::ApiError::from)?;
    Ok(see_other("/admin/api-keys?notice=revoked"))
}
