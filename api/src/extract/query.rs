//! `Query<T>`: query-string filters parsed by serde, failures as
//! `invalid_query` naming the parameter when serde does.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use std::future::{Ready, ready};

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            web::Query::<T>::from_query(req.query_string())
                .map(|q| Query(q.into_inner()))
                .map_err(|e| ApiError::InvalidQuery {
                    field: "query".into(),
                    detail: e.to_string(),
                }),
        )
    }
}

/// Parses an optional id filter such as `phone_id`; an id that is not a UUID
/// is an invalid query, not an empty result.
pub fn id_param<T: std::str::FromStr>(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<T>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            r.parse().map_err(|_| ApiError::InvalidQuery {
                field: field.into(),
                detail: "must be an id".into(),
            })
        })
        .transpose()
}

/// Parses an optional RFC 3339 time filter into microseconds.
pub fn time_param(field: &str, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r)
                .map(|t| t.timestamp_micros())
                .map_err(|_| ApiError::InvalidQuery {
                    field: field.into(),
                    detail: "must be an RFC 3339 time such as 2026-11-21T09:00:00Z".into(),
                })
        })
        .transpose()
}
