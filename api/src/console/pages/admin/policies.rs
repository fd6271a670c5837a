//! `/admin/policies`: the binding policy (`/v1/binding-policy`) and the
//! dial policy (`/v1/dial-policy`). Both forms are checked by the API's
//! own parsers and stored by its use cases (`routes::binding_policy::
//! replace`, `routes::dial_policy::replace`); the dial lists are one entry
//! a line, and every bad line is named, not just the first.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::domain::binding_policy::{MAX_DURATION_HOURS, MAX_PHONES_PER_USER, Policy};
use deskbind_core::domain::dial_policy::{DialRules, MAX_BLOCKED_PREFIXES, MAX_DO_NOT_CALL};
use deskbind_core::repo::binding_policy as policy_rows;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::dial_policy as dial_rows;
use deskbind_core::wire::{BindingDuration, PutBindingPolicy, PutDialPolicy, TakeoverRule};
use serde::Deserialize;

use super::form::{Choice, NoticeQuery, Refusal, local_time, notice, page_with, refusal};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::{binding_policy, dial_policy};
use crate::state::AppState;

/// The binding policy form's values, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BindingPolicyForm {
    #[serde(default)]
    takeover: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    duration_hours: String,
    #[serde(default)]
    workday_end: String,
    #[serde(default)]
    max_phones_per_user: String,
}

impl BindingPolicyForm {
    fn of(policy: &Policy) -> Self {
        let wire = policy.to_wire(None);
        Self {
            takeover: wire.takeover.as_str().into(),
            duration: wire.duration.as_str().into(),
            duration_hours: wire
                .duration_hours
                .map(|h| h.to_string())
                .unwrap_or_default(),
            workday_end: wire.workday_end,
            max_phones_per_user: wire.max_phones_per_user.to_string(),
        }
    }

    /// The API's request body; a refusal naming a field that is not even
    /// of the right kind (the API's parser checks the rest).
    fn to_put(&self) -> Result<PutBindingPolicy, Refusal> {
        let number = |label: &str, raw: &str| {
            raw.trim()
                .parse::<u32>()
                .map_err(|_| Refusal::invalid(format!("{label}: must be a whole number")))
        };
        Ok(PutBindingPolicy {
            takeover: TakeoverRule::parse(&self.takeover)
                .ok_or_else(|| Refusal::invalid("Takeover: choose one of the list"))?,
            duration: BindingDuration::parse(&self.duration)
                .ok_or_else(|| Refusal::invalid("Binding lasts: choose one of the list"))?,
            duration_hours: Some(self.duration_hours.trim())
                .filter(|h| !h.is_empty())
                .map(|h| number("Hours", h))
                .transpose()?,
            workday_end: Some(self.workday_end.trim().to_owned()).filter(|w| !w.is_empty()),
            max_phones_per_user: number("Phones per user", &self.max_phones_per_user)?,
        })
    }
}

/// The dial policy form's values, as typed: one entry a line.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DialPolicyForm {
    #[serde(default)]
    blocked_prefixes: String,
    #[serde(default)]
    do_not_call: String,
}

impl DialPolicyForm {
    fn of(rules: &DialRules) -> Self {
        let lines = |set: &std::collections::BTreeSet<String>| {
            set.iter().cloned().collect::<Vec<_>>().join("\n")
        };
        Self {
            blocked_prefixes: lines(&rules.blocked_prefixes),
            do_not_call: lines(&rules.do_not_call),
        }
    }

    fn entries(text: &str) -> Vec<(usize, &str)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty())
            .collect()
    }

    /// The API's request body, and a message for every line the API's
    /// parser refuses (each line checked on its own by that parser).
    fn to_put(&self) -> (PutDialPolicy, Vec<String>) {
        let prefixes = Self::entries(&self.blocked_prefixes);
        let numbers = Self::entries(&self.do_not_call);
        let mut errors = Vec::new();
        // Over the limit, the whole-list check below says so once.
        if prefixes.len() <= MAX_BLOCKED_PREFIXES && numbers.len() <= MAX_DO_NOT_CALL {
            for (line, raw) in &prefixes {
                let one = PutDialPolicy {
                    blocked_prefixes: vec![(*raw).to_owned()],
                    do_not_call: Vec::new(),
                };
                if let Err(e) = DialRules::parse(&one) {
                    errors.push(format!("Blocked prefixes, line {line}: {}", e.message));
                }
            }
            for (line, raw) in &numbers {
                let one = PutDialPolicy {
                    blocked_prefixes: Vec::new(),
                    do_not_call: vec![(*raw).to_owned()],
                };
                if let Err(e) = DialRules::parse(&one) {
                    errors.push(format!(
                        "Do-not-call numbers, line {line} ({raw}): {}",
                        e.message
                    ));
                }
            }
        }
        let put = PutDialPolicy {
            blocked_prefixes: prefixes.iter().map(|(_, l)| (*l).to_owned()).collect(),
            do_not_call: numbers.iter().map(|(_, l)| (*l).to_owned()).collect(),
        };
        (put, errors)
    }
}

#[derive(Template)]
#[template(path = "admin_policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    binding: BindingPolicyForm,
    binding_updated: Option<String>,
    binding_message: Option<String>,
    takeovers: Vec<Choice>,
    durations: Vec<Choice>,
    max_duration_hours: u32,
    max_phones: u32,
    dial: DialPolicyForm,
    dial_updated: Option<String>,
    dial_errors: Vec<String>,
    max_prefixes: usize,
    max_numbers: usize,
    notice: Option<&'static str>,
}

fn takeover_label(t: TakeoverRule) -> &'static str {
    match t {
        TakeoverRule::Nobody => "Nobody: the phone must be unbound first",
        TakeoverRule::Admins => "Admins",
        TakeoverRule::Managers => "Managers and admins",
        TakeoverRule::Anyone => "Anyone allowed to bind the phone",
    }
}

fn duration_label(d: BindingDuration) -> &'static str {
    match d {
        BindingDuration::UntilUnbound => "Until unbound",
        BindingDuration::EndOfWorkday => "Until the end of the workday",
        BindingDuration::Hours => "A number of hours",
    }
}

/// What a re-shown form keeps: the values typed and the refusal.
#[derive(Default)]
struct Draft {
    binding: Option<(BindingPolicyForm, String)>,
    dial: Option<(DialPolicyForm, Vec<String>)>,
    status: Option<StatusCode>,
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    draft: Draft,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let org = user.auth.org_id;
    let ((policy, binding_at), (rules, dial_at)) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            Ok((
                policy_rows::get(conn, org)?,
                dial_rows::read(conn, org, now_micros())?,
            ))
        })
        .await?;
    let tz = &user.time_zone;
    let (binding, binding_message) = match draft.binding {
        Some((form, message)) => (form, Some(message)),
        None => (BindingPolicyForm::of(&policy), None),
    };
    let (dial, dial_errors) = match draft.dial {
        Some((form, errors)) => (form, errors),
        None => (DialPolicyForm::of(&rules), Vec::new()),
    };
    let page = PoliciesPage {
        chrome: Chrome::admin(user, AdminSection::Policies),
        takeovers: TakeoverRule::ALL
            .iter()
            .map(|t| Choice {
                value: t.as_str().into(),
                label: takeover_label(*t).into(),
                selected: t.as_str() == binding.takeover,
            })
            .collect(),
        durations: BindingDuration::ALL
            .iter()
            .map(|d| Choice {
                value: d.as_str().into(),
                label: duration_label(*d).into(),
                selected: d.as_str() == binding.duration,
            })
            .collect(),
        binding,
        binding_updated: binding_at.map(|t| local_time(t, tz)),
        binding_message,
        max_duration_hours: MAX_DURATION_HOURS,
        max_phones: MAX_PHONES_PER_USER,
        dial,
        dial_updated: dial_at.map(|t| local_time(t, tz)),
        dial_errors,
        max_prefixes: MAX_BLOCKED_PREFIXES,
        max_numbers: MAX_DO_NOT_CALL,
        notice: notice(notice_key),
    };
    page_with(draft.status.unwrap_or(StatusCode::OK), &page)
}

/// `GET /admin/policies`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    render(&state, &user, Draft::default(), q.notice.as_deref()).await
}

/// `POST /admin/policies/binding`: `PUT /v1/binding-policy`.
pub async fn save_binding(
    state: web::Data<AppState>,
    form: ConsoleForm<BindingPolicyForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let outcome = match form.to_put() {
        Ok(body) => binding_policy::replace(&state, &user.auth, &body)
            .await
            .map(|_| ())
            .map_err(refusal),
        Err(r) => Err(Ok(r)),
    };
    match outcome {
        Ok(()) => Ok(see_other("/admin/policies?notice=saved")),
        Err(refused) => {
            let refused = refused?;
            let draft = Draft {
                binding: Some((form, refused.message)),
                status: Some(refused.status),
                ..Draft::default()
            };
            render(&state, &user, draft, None).await
        }
    }
}

/// `POST /admin/policies/dial`: `PUT /v1/dial-policy`; nothing is stored
/// while any line is refused.
pub async fn save_dial(
    state: web::Data<AppState>,
    form: ConsoleForm<DialPolicyForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let (body, errors) = form.to_put();
    let outcome = if errors.is_empty() {
        dial_policy::replace(&state, &user.auth, &body)
            .await
            .map(|_| ())
            .map_err(|e| refusal(e).map(|r| (r.status, vec![r.message])))
    } else {
        Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)))
    };
    match outcome {
        Ok(()) => Ok(see_other("/admin/policies?notice=saved")),
        Err(refused) => {
            let (status, errors) = refused?;
            let draft = Draft {
                dial: Some((form, errors)),
                status: Some(status),
                ..Draft::default()
            };
            render(&state, &user, draft, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_dial_line_is_named_and_blank_lines_are_skipped() {
        let form = DialPolicyForm {
            blocked_prefixes: "+1900\n\n+12a\r\n +44 70 ".into(),
            do_not_call: "12345\n+4930123456".into(),
        };
        let (put, errors) = form.to_put();
        assert_eq!(put.blocked_prefixes, ["+1900", "+12a", "+44 70"]);
        assert_eq!(put.do_not_call, ["12345", "+4930123456"]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("Blocked prefixes, line 3: \"+12a\" is not an E.164 prefix"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("Do-not-call numbers, line 1 (12345): "),
            "{}",
            errors[1]
        );
        let (_, none) = DialPolicyForm {
            blocked_prefixes: "+1 900".into(),
            do_not_call: String::new(),
        }
        .to_put();
        assert!(none.is_empty());
    }

    #[test]
    fn the_binding_form_wants_numbers_where_the_api_does() {
        let mut form = BindingPolicyForm {
            takeover: "admins".into(),
            duration: "hours".into(),
            duration_hours: " 8 ".into(),
            workday_end: String::new(),
            max_phones_per_user: "2".into(),
        };
        let put = form.to_put().unwrap();
        assert_eq!(put.duration_hours, Some(8));
        assert_eq!(put.workday_end, None);
        form.max_phones_per_user = "two".into();
        assert_eq!(
            form.to_put().unwrap_err().message,
            "Phones per user: must be a whole number"
        );
        form.takeover = "everyone".into();
        assert!(form.to_put().unwrap_err().message.starts_with("Takeover"));
    }
}
