//! Reading calls: the review list `GET /v1/calls` (filters, newest first,
//! keyset cursor), one call, and the app's incremental feed
//! `GET /v1/sync/calls`. Salespeople see their own calls, managers their
//! teams' and their own, admins the organisation's; anything else is not
//! found.

use actix_web::web;
use deskbind_core::db::DbConn;
use deskbind_core::domain::number_search::{MIN_SEARCH_DIGITS, SearchRefusal, search_digits};
use deskbind_core::ids::{CallRecordId, ContactId, DispositionId, PhoneId, TeamId, UserId};
use deskbind_core::repo::call_records::{self, CallFilter, ListCursor, Scope};
use deskbind_core::repo::{RepoError, teams, users};
use deskbind_core::usecases::{contact_links, record_reads};
use deskbind_core::wire::{
    CallDirection, CallRecord, CallResult, DEFAULT_PAGE_LIMIT, ErrorCode, MAX_PAGE_LIMIT, Page,
    SyncPage,
};
use serde::Deserialize;

use super::users::visibility;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, CallsRead, Query, Scoped, id_param, path_id, time_param};
use crate::state::AppState;

/// The most changes one sync page carries.
pub const MAX_SYNC_LIMIT: u32 = 500;
const DEFAULT_SYNC_LIMIT: u32 = 100;
/// The longest number search accepted.
pub const MAX_NUMBER_SEARCH: usize = 32;
/// The largest duration bound accepted (a week, in seconds).
pub const MAX_DURATION_BOUND: i64 = 7 * 24 * 3600;

/// The filters shared by the list, the export and the statistics (the
/// console's call log builds one from its form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FilterQuery {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub phone_id: Option<String>,
    pub direction: Option<String>,
    pub result: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
    pub number: Option<String>,
    /// `true`: only calls with a recording; `false`: only calls without.
    pub has_recording: Option<String>,
    /// Seconds; calls without a duration never match a bound.
    pub min_duration_secs: Option<String>,
    pub max_duration_secs: Option<String>,
    /// Only calls with this disposition (docs/call-outcomes.md).
    pub disposition_id: Option<String>,
    /// Only calls linked to this contact (docs/contacts.md).
    pub contact_id: Option<String>,
}

/// The filters, checked, before any database work.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    user: Option<UserId>,
    team: Option<TeamId>,
    contact: Option<ContactId>,
    pub base: CallFilter,
}

impl FilterQuery {
    /// Only a person and a team, as raw query values (the console's
    /// statistics page filters on nothing else).
    pub fn people(user_id: Option<String>, team_id: Option<String>) -> Self {
        Self {
            user_id,
            team_id,
            ..Self::default()
        }
    }

    pub fn parse(&self) -> ApiResult<Filters> {
        let direction = non_empty(self.direction.as_deref())
            .map(|d| {
                CallDirection::parse(d).ok_or_else(|| ApiError::InvalidQuery {
                    field: "direction".into(),
                    detail: "must be outbound, inbound or missed".into(),
                })
            })
            .transpose()?;
        let result = non_empty(self.result.as_deref())
            .map(|r| {
                CallResult::parse(r).ok_or_else(|| ApiError::InvalidQuery {
                    field: "result".into(),
                    detail: "must be answered, busy, no_answer, rejected, failed or cancelled"
                        .into(),
                })
            })
            .transpose()?;
        let number = self
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| {
                if n.chars().count() > MAX_NUMBER_SEARCH || n.chars().any(char::is_control) {
                    Err(ApiError::InvalidQuery {
                        field: "number".into(),
                        detail: format!("must be at most {MAX_NUMBER_SEARCH} characters"),
                    })
                } else {
                    search_digits(n).map_err(|SearchRefusal::TooFewDigits { .. }| {
                        ApiError::Validation {
                            code: ErrorCode::NumberSearchTooShort,
                            field: "number".into(),
                            detail: format!(
                                "must contain at least {MIN_SEARCH_DIGITS} digits (other characters are ignored)"
                            ),
                        }
                    })
                }
            })
            .transpose()?;
        let from = time_param("from", self.from.as_deref())?;
        let until = time_param("until", self.until.as_deref())?;
        if let (Some(f), Some(u)) = (from, until)
            && u <= f
        {
            return Err(ApiError::InvalidQuery {
                field: "until".into(),
                detail: "must be after from".into(),
            });
        }
        let has_recording = non_empty(self.has_recording.as_deref())
            .map(|h| match h {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::InvalidQuery {
                    field: "has_recording".into(),
                    detail: "must be true or false".into(),
                }),
            })
            .transpose()?;
        let min_duration = duration_bound("min_duration_secs", self.min_duration_secs.as_deref())?;
        let max_duration = duration_bound("max_duration_secs", self.max_duration_secs.as_deref())?;
        if let (Some(min), Some(max)) = (min_duration, max_duration)
            && max < min
        {
            return Err(ApiError::InvalidQuery {
                field: "max_duration_secs".into(),
                detail: "must not be less than min_duration_secs".into(),
            });
        }
        Ok(Filters {
            user: id_param("user_id", self.user_id.as_deref())?,
            team: id_param("team_id", self.team_id.as_deref())?,
            base: CallFilter {
                users: None,
                phone_id: id_param::<PhoneId>("phone_id", self.phone_id.as_deref())?,
                direction,
                result,
                from,
                until,
                number,
                has_recording,
                min_duration_secs: min_duration,
                max_duration_secs: max_duration,
                searcher: None,
                disposition_id: id_param::<DispositionId>(
                    "disposition_id",
                    self.disposition_id.as_deref(),
                )?
                .map(|d| d.to_string()),
                contact_id: None,
            },
            contact: id_param("contact_id", self.contact_id.as_deref())?,
        })
    }
}

/// A duration bound in whole seconds, 0 to [`MAX_DURATION_BOUND`].
fn duration_bound(field: &str, raw: Option<&str>) -> ApiResult<Option<i64>> {
    non_empty(raw.map(str::trim))
        .map(|r| {
            r.parse::<i64>()
                .ok()
                .filter(|n| (0..=MAX_DURATION_BOUND).contains(n))
                .ok_or_else(|| ApiError::InvalidQuery {
                    field: field.into(),
                    detail: format!(
                        "must be a whole number of seconds from 0 to {MAX_DURATION_BOUND}"
                    ),
                })
        })
        .transpose()
}

impl Filters {
    pub fn user(&self) -> Option<UserId> {
        self.user
    }

    pub fn team(&self) -> Option<TeamId> {
        self.team
    }

    /// The caller's scope and the filter with user and team turned into
    /// the user ids they stand for.
    pub fn resolve(
        &self,
        conn: &mut DbConn,
        auth: &AuthUser,
    ) -> Result<(Scope, CallFilter), RepoError> {
        let scope = users::visible_ids(conn, visibility(auth))?;
        let mut filter = self.base.clone();
        let mut users: Option<Vec<String>> = self.user.map(|u| vec![u.to_string()]);
        if let Some(team) = self.team {
            let members = teams::member_ids(conn, auth.org_id, team)?;
            users = Some(match users {
                Some(only) => only.into_iter().filter(|u| members.contains(u)).collect(),
                None => members,
            });
        }
        if let Some(contact) = self.contact {
            filter.contact_id = Some(contact.to_string());
            // A contact the caller may not see (another organisation's, or
            // another's under the `own` visibility) selects no call, as an
            // unknown id in the other filters does.
            if contact_links::refs_for(conn, auth.org_id, auth.user_id, &[contact])?.is_empty() {
                users = Some(Vec::new());
            }
        }
        filter.users = users;
        filter.searcher = Some(auth.user_id.to_string());
        Ok((scope, filter))
    }
}

fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.filter(|r| !r.is_empty())
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    filters: FilterQuery,
    cursor: Option<String>,
    limit: Option<String>,
}

/// A page size from 1 to `max`, `default` when absent.
pub fn limit_param(raw: Option<&str>, default: u32, max: u32) -> ApiResult<u32> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            r.parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::InvalidQuery {
                    field: "limit".into(),
                    detail: format!("must be a whole number from 1 to {max}"),
                })
        })
        .transpose()
        .map(|l| l.unwrap_or(default))
}

pub async fn list(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<CallsRead>,
    Query(query): Query<ListQuery>,
) -> ApiResult<web::Json<Page<CallRecord>>> {
    let filters = query.filters.parse()?;
    let limit = limit_param(query.limit.as_deref(), DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)?;
    let cursor = cursor_param(query.cursor.as_deref())?;
    let page = state
        .db
        .run(move |conn| list_page(conn, &auth, &filters, cursor.as_ref(), limit))
        .await?;
    Ok(web::Json(page))
}

/// A `cursor` query value: one this API returned, or absent.
pub fn cursor_param(raw: Option<&str>) -> ApiResult<Option<ListCursor>> {
    raw.filter(|c| !c.is_empty())
        .map(|c| {
            ListCursor::decode(c).ok_or_else(|| ApiError::InvalidQuery {
                field: "cursor".into(),
                detail: "not a cursor this API returned".into(),
            })
        })
        .transpose()
}

/// One page of the caller's filtered calls, newest first, with their
/// recordings: `GET /v1/calls` and the console's call log.
pub fn list_page(
    conn: &mut DbConn,
    auth: &AuthUser,
    filters: &Filters,
    cursor: Option<&ListCursor>,
    limit: u32,
) -> ApiResult<Page<CallRecord>> {
    let (scope, filter) = filters.resolve(conn, auth)?;
    let mut rows = call_records::list(
        conn,
        auth.org_id,
        &scope,
        &filter,
        cursor,
        i64::from(limit) + 1,
    )?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| ListCursor::of(r).encode()))
        .flatten();
    let items = record_reads::for_reader(conn, auth.user_id, &rows)?;
    Ok(Page { items, next_cursor })
}

pub async fn get(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<CallsRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<CallRecord>> {
    let id: CallRecordId = path_id(&id)?;
    let record = state.db.run(move |conn| get_one(conn, &auth, id)).await?;
    Ok(web::Json(record))
}

/// One call the caller may see, with its recording; not found otherwise
/// (also for another organisation's id).
pub fn get_one(conn: &mut DbConn, auth: &AuthUser, id: CallRecordId) -> ApiResult<CallRecord> {
    let scope = users::visible_ids(conn, visibility(auth))?;
    let row = call_records::get(conn, auth.org_id, &scope, id)?;
    let mut wire = record_reads::for_reader(conn, auth.user_id, std::slice::from_ref(&row))?;
    wire.pop().ok_or(ApiError::NotFound)
}

/// The stored row of a call the caller may see in full: not found for a
/// call outside their scope and for another user's private call (whose
/// recording and history are hidden; `record_reads::hidden_from`).
pub fn unredacted_row(
    conn: &mut DbConn,
    auth: &AuthUser,
    id: CallRecordId,
) -> ApiResult<call_records::CallRecordRow> {
    let scope = users::visible_ids(conn, visibility(auth))?;
    let call = call_records::get(conn, auth.org_id, &scope, id)?;
    if record_reads::hidden_from(conn, auth.user_id, &call)? {
        return Err(ApiError::NotFound);
    }
    Ok(call)
}

#[derive(Debug, Deserialize)]
pub struct SyncQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// Every record visible to the caller that changed after `cursor`, oldest
/// change first. A record changed twice since the cursor appears once, as
/// it is now.
pub async fn sync(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<CallsRead>,
    Query(query): Query<SyncQuery>,
) -> ApiResult<web::Json<SyncPage>> {
    let limit = limit_param(query.limit.as_deref(), DEFAULT_SYNC_LIMIT, MAX_SYNC_LIMIT)?;
    let after =
        match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => 0,
            Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::InvalidQuery {
                    field: "cursor".into(),
                    detail: "not a cursor this API returned".into(),
                }
            })?,
        };
    let page = state
        .db
        .run(move |conn| {
            let scope = users::visible_ids(conn, visibility(&auth))?;
            let mut rows = call_records::changed_since(
                conn,
                auth.org_id,
                &scope,
                after,
                i64::from(limit) + 1,
            )?;
            let has_more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let next = match rows.last() {
                Some(last) => last.sync_seq,
                // Nothing visible changed: the cursor stays where it was,
                // so a change committed after this read is not skipped.
                None => after,
            };
            let items = record_reads::for_reader(conn, auth.user_id, &rows)?;
            Ok::<_, ApiError>(SyncPage {
                items,
                next_cursor: next.to_string(),
                has_more,
            })
        })
        .await?;
    Ok(web::Json(page))
}
