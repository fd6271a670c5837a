//! The call log's filter form: what the query string of `/calls` (and of
//! `/calls/export.csv`) carries, turned into the JSON API's
//! [`FilterQuery`] so both check and apply filters the same way.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::window::{Preset, window};
use crate::error::ApiError;
use crate::routes::calls::FilterQuery;

/// The form's fields, as typed (checked by [`LogQuery::filter_query`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogQuery {
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub phone_id: Option<String>,
    pub direction: Option<String>,
    pub result: Option<String>,
    /// A [`Preset`] query value.
    pub window: Option<String>,
    /// `YYYY-MM-DD` in the viewer's zone, for the custom window.
    pub from_date: Option<String>,
    pub until_date: Option<String>,
    pub number: Option<String>,
    pub has_recording: Option<String>,
    pub min_duration_secs: Option<String>,
    pub max_duration_secs: Option<String>,
    /// Paging: the position after the previous page, and the page size.
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

impl LogQuery {
    pub fn parse(query_string: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(query_string).map_err(|e| ApiError::InvalidQuery {
            field: "query".into(),
            detail: e.to_string(),
        })
    }

    /// The time window chosen: the preset, or custom when only dates were
    /// given.
    pub fn preset(&self) -> Result<Preset, ApiError> {
        match text(&self.window) {
            "" if !text(&self.from_date).is_empty() || !text(&self.until_date).is_empty() => {
                Ok(Preset::Custom)
            }
            raw => Preset::parse(raw).ok_or_else(|| ApiError::InvalidQuery {
                field: "window".into(),
                detail: "must be today, yesterday, this_week, last_week or custom".into(),
            }),
        }
    }

    /// The JSON API's filters for this form, the window resolved in `tz`
    /// at `now`.
    pub fn filter_query(&self, tz: Tz, now: DateTime<Utc>) -> Result<FilterQuery, ApiError> {
        let preset = self.preset()?;
        let from_date = date_param("from_date", &self.from_date)?;
        let until_date = date_param("until_date", &self.until_date)?;
        if let (Some(f), Some(u)) = (from_date, until_date)
            && u < f
        {
            return Err(ApiError::InvalidQuery {
                field: "until_date".into(),
                detail: "must not be before the from date".into(),
            });
        }
        let bounds = window(preset, from_date, until_date, tz, now);
        let instant = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        Ok(FilterQuery {
            user_id: self.user_id.clone(),
            team_id: self.team_id.clone(),
            phone_id: self.phone_id.clone(),
            direction: self.direction.clone(),
            result: self.result.clone(),
            from: bounds.from.map(instant),
            until: bounds.until.map(instant),
            number: self.number.clone(),
            has_recording: self.has_recording.clone(),
            min_duration_secs: self.min_duration_secs.clone(),
            max_duration_secs: self.max_duration_secs.clone(),
            disposition_id: None,
            contact_id: None,
        })
    }

    /// The filters as query pairs (empty ones left out), without paging:
    /// what "Export CSV", "First page" and "Next page" carry.
    pub fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let window = match self.preset() {
            Ok(Preset::Custom) | Err(_) => text(&self.window).to_owned(),
            Ok(p) => p.as_str().to_owned(),
        };
        [
            ("user_id", text(&self.user_id).to_owned()),
            ("team_id", text(&self.team_id).to_owned()),
            ("phone_id", text(&self.phone_id).to_owned()),
            ("direction", text(&self.direction).to_owned()),
            ("result", text(&self.result).to_owned()),
            ("window", window),
            ("from_date", text(&self.from_date).to_owned()),
            ("until_date", text(&self.until_date).to_owned()),
            ("number", text(&self.number).to_owned()),
            ("has_recording", text(&self.has_recording).to_owned()),
            (
                "min_duration_secs",
                text(&self.min_duration_secs).to_owned(),
            ),
            (
                "max_duration_secs",
                text(&self.max_duration_secs).to_owned(),
            ),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect()
    }

    /// These filters as a query string (the background export's form
    /// carries it).
    pub fn filter_query_string(&self) -> String {
        serde_urlencoded::to_string(self.filter_pairs()).unwrap_or_default()
    }

    /// The CSV export of these filters.
    pub fn export_href(&self) -> String {
        with_query("/calls/export.csv", &self.filter_pairs())
    }

    /// A page of the log with these filters and page size: the first, or
    /// the one after `cursor`.
    pub fn page_href(&self, cursor: Option<&str>) -> String {
        let mut pairs = self.filter_pairs();
        if !text(&self.limit).is_empty() {
            pairs.push(("limit", text(&self.limit).to_owned()));
        }
        if let Some(c) = cursor {
            pairs.push(("cursor", c.to_owned()));
        }
        with_query("/calls", &pairs)
    }
}

fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    match serde_urlencoded::to_string(pairs).unwrap_or_default() {
        query if query.is_empty() => path.to_owned(),
        query => format!("{path}?{query}"),
    }
}

/// An optional field's text, trimmed.
pub fn text(field: &Option<String>) -> &str {
    field.as_deref().map_or("", str::trim)
}

fn date_param(field: &str, raw: &Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    match text(raw) {
        "" => Ok(None),
        value => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::InvalidQuery {
                field: field.into(),
                detail: "must be a date such as 2026-11-21".into(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn dates_alone_mean_a_custom_window() {
        let q = LogQuery::parse("from_date=2026-11-01&until_date=2026-11-30").unwrap();
        let f = q.filter_query(Tz::UTC, now()).unwrap();
        assert_eq!(f.from.as_deref(), Some("2026-11-01T00:00:00.000000Z"));
        assert_eq!(f.until.as_deref(), Some("2026-12-01T00:00:00.000000Z"));
    }

    #[test]
    fn a_preset_ignores_the_custom_dates() {
        let q = LogQuery::parse("window=today&from_date=2020-01-01").unwrap();
        let f = q.filter_query(Tz::UTC, now()).unwrap();
        assert_eq!(f.from.as_deref(), Some("2026-12-02T00:00:00.000000Z"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let field =
            |qs: &str| match LogQuery::parse(qs).and_then(|q| q.filter_query(Tz::UTC, now())) {
                Err(ApiError::InvalidQuery { field, .. }) => field,
                other => panic!("{qs}: {other:?}"),
            };
        assert_eq!(field("window=fortnight"), "window");
        assert_eq!(field("from_date=yesterday"), "from_date");
        assert_eq!(
            field("from_date=2026-11-02&until_date=2026-11-01"),
            "until_date"
        );
        assert_eq!(field("number=1&number=2"), "query");
    }

    #[test]
    fn links_carry_the_filters_but_not_empty_fields() {
        let q =
            LogQuery::parse("team_id=&number=%2B49%2030&window=today&limit=5&cursor=x").unwrap();
        assert_eq!(
            q.export_href(),
            "/calls/export.csv?window=today&number=%2B49+30"
        );
        assert_eq!(
            q.page_href(Some("1_y")),
            "/calls?window=today&number=%2B49+30&limit=5&cursor=1_y"
        );
        assert_eq!(
            q.page_href(None),
            "/calls?window=today&number=%2B49+30&limit=5"
        );
    }
}
