//! `GET /v1/stats/calls`: per user and local day, calls, answered calls,
//! talk time and average duration, over the same filters and scope as the
//! call list. The window is at most 366 days; the default is the last 7.

use actix_web::web;
use chrono::{Duration, Utc};
use deskbind_core::domain::TimeZoneName;
use deskbind_core::domain::call_stats::{CallSample, per_user_and_day};
use deskbind_core::repo::call_records;
use deskbind_core::time::to_datetime;
use deskbind_core::wire::CallStats;
use serde::Deserialize;

use super::calls::FilterQuery;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

const MAX_WINDOW_DAYS: i64 = 366;
const DEFAULT_WINDOW_DAYS: i64 = 7;

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
    let rows = state
        .db
        .run(move |conn| {
            let (scope, filter) = filters.resolve(conn, &auth)?;
            call_records::stats_rows(conn, auth.org_id, &scope, &filter)
        })
        .await?;
    let samples = rows.into_iter().filter_map(|r| {
        Some(CallSample::new(
            r.user_id?,
            r.started_at,
            r.result.as_deref(),
            r.answered_at,
            r.duration_secs,
        ))
    });
    Ok(web::Json(CallStats {
        time_zone: tz.name().to_owned(),
        from: to_datetime(from),
        until: to_datetime(until),
        items: per_user_and_day(samples, tz),
    }))
}
