//! What the administration forms share: reading a posted form with
//! repeated fields, turning the API's refusal into a message shown on the
//! form (with the API's status), a success notice after the redirect, and
//! times shown in the viewer's zone.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use deskbind_core::time::{Micros, to_datetime};
use deskbind_core::wire::Role;
use serde::Deserialize;

use crate::console::error::{ConsoleError, ConsoleResult};
use crate::error::ApiError;

/// A urlencoded form as its pairs, in order, so a field may repeat
/// (`team_ids=a&team_ids=b`), which serde_urlencoded cannot put in a Vec.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `key`, or "".
    pub fn one(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A refusal the form shows above itself.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }
}

/// The words a person reads for the API's field names.
fn field_label(field: &str) -> &str {
    match field {
        "display_name" => "Name",
        "email" => "Email",
        "password" => "Password",
        "role" => "Role",
        "disabled" => "Status",
        "time_zone" => "Time zone",
        "team_ids" => "Teams",
        "name" => "Name",
        "takeover" => "Takeover",
        "duration" => "Binding lasts",
        "duration_hours" => "Hours",
        "workday_end" => "Workday ends",
        "max_phones_per_user" => "Phones per user",
        "blocked_prefixes" => "Blocked prefixes",
        "do_not_call" => "Do-not-call numbers",
        "daily_at" => "Daily at",
        "every_minutes" => "Every (minutes)",
        other => other,
    }
}

/// What the form says for an API error it can show (a bad field, a rule
/// such as "last admin", a taken name); any other error ends the request
/// as an error page (not found, forbidden, internal).
pub fn refusal(e: ApiError) -> Result<Refusal, ConsoleError> {
    let status = actix_web::ResponseError::status_code(&e);
    let message = match &e {
        ApiError::Validation { field, detail, .. } | ApiError::InvalidQuery { field, detail } => {
            format!("{}: {}", field_label(field), detail)
        }
        ApiError::Conflict { detail, .. }
        | ApiError::BadRequest { detail, .. }
        | ApiError::Denied { detail, .. } => capitalised(detail),
        _ => return Err(e.into()),
    };
    Ok(Refusal { status, message })
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A page with a status other than 200 (a form re-shown with its refusal).
pub fn page_with(status: StatusCode, template: &impl Template) -> ConsoleResult<HttpResponse> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}

/// The notice a redirect after a change asks for (`?notice=`); only
/// these fixed words are ever shown, never the query's text.
pub fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "created" => "Created.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "disabled" => "The user is disabled: their sessions and bindings have ended.",
        "enabled" => "The user is enabled again.",
        "password" => "The password is changed; the user's sessions have ended.",
        "added" => "Member added.",
        "removed" => "Member removed.",
        "ended" => "The binding has ended; the phone is free.",
        "revoked" => "The key is revoked: it no longer works.",
        "rotated" => "The secret is rotated.",
        "test_queued" => "A test event is queued; its delivery is in the log below.",
        "replayed" => "The delivery is queued again.",
        "hold_placed" => "The legal hold is placed: what it names is kept past retention.",
        "hold_released" => "The legal hold is released: what it kept is purged once past its days.",
        _ => return None,
    })
}

/// `?notice=` of a page.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// A stored time as the viewer reads it: their zone, to the minute.
pub fn local_time(at: Micros, zone: &str) -> String {
    to_datetime(at)
        .with_timezone(&crate::console::time::zone_named(zone))
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::Manager => "Manager",
        Role::Salesperson => "Salesperson",
    }
}

/// A choice in a `<select>` or a checkbox list.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The role choices, `current` selected.
pub fn role_choices(current: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_owned(),
            label: role_label(*r).to_owned(),
            selected: r.as_str() == current,
        })
        .collect()
}

/// A role from a form; a refusal naming the field otherwise.
pub fn parse_role(raw: &str) -> Result<Role, Refusal> {
    Role::parse(raw).ok_or_else(|| Refusal::invalid("Role: choose admin, manager or salesperson"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbind_core::wire::ErrorCode;

    #[test]
    fn a_refusal_names_the_field_in_words_and_keeps_the_status() {
        let r = refusal(ApiError::Validation {
            code: ErrorCode::WeakPassword,
            field: "password".into(),
            detail: "must be at least 10 characters".into(),
        })
        .unwrap();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.message, "Password: must be at least 10 characters");
        let r = refusal(ApiError::Conflict {
            code: ErrorCode::LastAdmin,
            detail: "this is the organisation's last active admin".into(),
        })
        .unwrap();
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.message, "This is the organisation's last active admin");
        // Not a form's business: the error page.
        assert!(refusal(ApiError::NotFound).is_err());
        assert!(refusal(ApiError::forbidden()).is_err());
    }

    #[test]
    fn only_fixed_notices_are_shown() {
        assert_eq!(notice(Some("saved")), Some("Saved."));
        assert_eq!(notice(Some("<b>pwned</b>")), None);
        assert_eq!(notice(None), None);
    }

    #[test]
    fn fields_keep_repeated_values_in_order() {
        let f: Fields = serde_urlencoded::from_str("a=1&t=x&t=y&a=2").unwrap();
        assert_eq!(f.one("a"), "1");
        assert_eq!(f.all("t").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(f.one("missing"), "");
    }

    #[test]
    fn times_are_in_the_viewers_zone() {
        // 2026-07-01T12:00:00Z
        let at = 1_782_907_200_000_000;
        assert_eq!(local_time(at, "Europe/Berlin"), "2026-07-01 14:00 CEST");
        assert_eq!(local_time(at, "not/a-zone"), "2026-07-01 12:00 UTC");
    }
}
