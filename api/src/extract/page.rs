//! `?cursor=&limit=` of list endpoints, validated with the parameter named.
//! Most lists page by id (`PageParams`); the audit log by its sequence
//! number (`SeqPageParams`). Both leave other parameters to `Query`.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::wire::MAX_PAGE_LIMIT;
use std::collections::HashMap;
use std::future::{Ready, ready};

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct PageParams(pub PageRequest);

impl FromRequest for PageParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string(), id_cursor).map(PageParams))
    }
}

/// A page whose cursor is a sequence number (kept as its decimal text).
#[derive(Debug, Clone)]
pub struct SeqPageParams(pub PageRequest);

impl FromRequest for SeqPageParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string(), seq_cursor).map(SeqPageParams))
    }
}

/// A page whose cursor is a month (`YYYY-MM`), for lists newest first.
#[derive(Debug, Clone)]
pub struct MonthPageParams(pub PageRequest);

impl FromRequest for MonthPageParams {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string(), month_cursor).map(MonthPageParams))
    }
}

fn month_cursor(raw: &str) -> Option<String> {
    deskbind_core::wire::is_archive_month(raw).then(|| raw.to_owned())
}

fn id_cursor(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

fn seq_cursor(raw: &str) -> Option<String> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(|n| n.to_string())
}

fn parse(query: &str, cursor: fn(&str) -> Option<String>) -> Result<PageRequest, ApiError> {
    let params = web::Query::<HashMap<String, String>>::from_query(query).map_err(|e| {
        ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        }
    })?;
    let limit = match params.get("limit") {
        None => None,
        Some(raw) => Some(
            raw.parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_LIMIT).contains(n))
                .ok_or_else(|| ApiError::InvalidQuery {
                    field: "limit".into(),
                    detail: format!("must be a whole number from 1 to {MAX_PAGE_LIMIT}"),
                })?,
        ),
    };
    let after = match params.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(cursor(raw).ok_or_else(|| ApiError::InvalidQuery {
            field: "cursor".into(),
            detail: "not a cursor this API returned".into(),
        })?),
    };
    Ok(PageRequest::new(after, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_limit_and_cursor() {
        assert_eq!(parse("", id_cursor).map(|p| p.limit).ok(), Some(50));
        assert_eq!(parse("limit=3", id_cursor).map(|p| p.limit).ok(), Some(3));
        for bad in ["limit=0", "limit=201", "limit=x", "cursor=nope"] {
            assert!(
                matches!(parse(bad, id_cursor), Err(ApiError::InvalidQuery { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            parse("cursor=42", seq_cursor).map(|p| p.after).ok(),
            Some(Some("42".into()))
        );
        assert!(parse("cursor=-1", seq_cursor).is_err());
    }
}
