//! `GET /v1/stats/calls`: per user and local day, calls, answered calls,
//! talk time and average duration, over the same filters and scope as the
//! call list. The window is at most 366 days; the default is the last 7.
//! Counts come from the rollups where they can (`call_tallies`), so they
//! stay right after the calls are purged.

use actix_web::web;
use chrono::{Duration, Utc};
use deskbind_core::domain::TimeZoneName;
use deskbind_core::domain::call_stats::DayTallies;
use deskbind_core::domain::periods::MAX_WINDOW_DAYS;
use deskbind_core::ids::OrgId;
use deskbind_core::repo::call_records::{self, CallFilter, CallRecordRow, ListCursor, Scope};
use deskbind_core::time::to_datetime;
use deskbind_core::wire::CallStats;
use serde::Deserialize;

use super::call_tallies::for_each_tally;
use super::calls::FilterQuery;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

const DEFAULT_WINDOW_DAYS: i64 = 7;
/// Calls read per database round trip.
const STATS_PAGE: i64 = 2000;

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    #[serde(flatten)]
    filters: FilterQuery,
    /// IANA zone whose days the rows are; default UTC.
    tz: Option<String>,
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    Query(query): Query<StatsQuery>,
) -> ApiResult<web::Json<CallStats>> {
    let org = auth.org_id;
    let mut filters = query.filters.parse()?;
    let zone = match query.tz.as_deref().filter(|t| !t.is_empty()) {
        Some(raw) => TimeZoneName::parse("tz", raw).map_err(|e| ApiError::InvalidQuery {
            field: "tz".into(),
            detail: e.message,
        })?,
        None => TimeZoneName::utc(),
    };
    let tz = zone.tz();
    let until = filters
        .base
        .until
        .unwrap_or_else(|| Utc::now().timestamp_micros());
    let from = filters.base.from.unwrap_or(
        until
            - Duration::days(DEFAULT_WINDOW_DAYS)
                .num_microseconds()
                .unwrap_or(0),
    );
    if until - from
        > Duration::days(MAX_WINDOW_DAYS)
            .num_microseconds()
            .unwrap_or(i64::MAX)
    {
        return Err(ApiError::InvalidQuery {
            field: "from".into(),
            detail: format!("the window from..until may be at most {MAX_WINDOW_DAYS} days"),
        });
    }
    filters.base.from = Some(from);
    filters.base.until = Some(until);
    let (scope, filter) = state
        .db
        .run(move |conn| filters.resolve(conn, &auth))
        .await?;
    let mut tallies = DayTallies::new(tz);
    for_each_tally(&state, org, scope, filter, |t| {
        tallies.add_counts(t.user_id, t.at, t.calls, t.answered, t.talk_secs);
    })
    .await?;
    Ok(web::Json(CallStats {
        time_zone: tz.name().to_owned(),
        from: to_datetime(from),
        until: to_datetime(until),
        items: tallies.finish(),
    }))
}

/// Hands every call of `scope` matching `filter` to `each`, newest first,
/// reading [`STATS_PAGE`] rows per round trip so memory stays bounded
/// however many calls the window holds.
pub async fn for_each_call(
    state: &AppState,
    org: OrgId,
    scope: Scope,
    filter: CallFilter,
    mut each: impl FnMut(CallRecordRow),
) -> ApiResult<()> {
    let mut cursor: Option<ListCursor> = None;
    loop {
        let (scope, filter, after) = (scope.clone(), filter.clone(), cursor.clone());
        let rows = state
            .db
            .run(move |conn| {
                call_records::list(conn, org, &scope, &filter, after.as_ref(), STATS_PAGE)
            })
            .await?;
        cursor = rows.last().map(ListCursor::of);
        let full = rows.len() as i64 == STATS_PAGE;
        rows.into_iter().for_each(&mut each);
        if !full {
            return Ok(());
        }
    }
}
