//! Signing in and out. The sign-in form is protected from login CSRF by a
//! double-submit token (a short-lived SameSite=Strict cookie and the same
//! value in the form) and the Origin check; the password check, the rate
//! limit and the refusal of disabled users are the JSON API's.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::auth::secrets;
use deskbind_core::domain::Email;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::console_sessions::{self, NewConsoleSession};
use serde::Deserialize;

use crate::console::chrome::see_other;
use crate::console::csrf::{ConsoleForm, same_origin, tokens_match};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::{
    CONSOLE_SECRET_PREFIX, ConsoleUser, SESSION_COOKIE, cleared_session_cookie, lifetimes,
    over_tls, session_cookie,
};
use crate::error::ApiError;
use crate::extract::peer_ip;
use crate::routes::auth::verify_password;
use crate::state::AppState;

/// The pre-session cookie of the double-submit check.
const SIGN_IN_COOKIE: &str = "deskbind_sign_in";

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    csrf_token: String,
    next: String,
    email: String,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a path on this server is a place to come back to (no open
/// redirect to `//evil.example` or `https://...`).
pub fn safe_next(raw: Option<&str>) -> String {
    match raw {
        // Only visible ASCII: browsers drop tabs and newlines from a URL,
        // so `/\t/evil.example` would become `//evil.example`.
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_owned()
        }
        _ => "/".into(),
    }
}

fn sign_in_page(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    next: String,
    email: String,
    message: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let token = secrets::new_secret("").map_err(ApiError::internal)?;
    let cookie = Cookie::build(SIGN_IN_COOKIE, token.clone())
        .path("/sign-in")
        .http_only(true)
        .secure(over_tls(req))
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::hours(1))
        .finish();
    let body = SignInPage {
        csrf_token: token,
        next,
        email,
        message,
    }
    .render()?;
    Ok(HttpResponse::build(status)
        .cookie(cookie)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

pub async fn form(
    req: HttpRequest,
    web::Query(query): web::Query<NextQuery>,
) -> ConsoleResult<HttpResponse> {
    sign_in_page(
        &req,
        actix_web::http::StatusCode::OK,
        safe_next(query.next.as_deref()),
        String::new(),
        None,
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    web::Form(form): web::Form<SignInForm>,
) -> ConsoleResult<HttpResponse> {
    let expected = req.cookie(SIGN_IN_COOKIE).map(|c| c.value().to_owned());
    if !same_origin(&req) || !expected.is_some_and(|e| tokens_match(&e, &form.csrf)) {
        return Err(ConsoleError::CsrfRejected);
    }
    let next = safe_next(form.next.as_deref());
    let refused_with = |status, message: &str| {
        sign_in_page(
            &req,
            status,
            next.clone(),
            form.email.clone(),
            Some(message.to_owned()),
        )
    };
    let refused = |message: &str| refused_with(StatusCode::UNAUTHORIZED, message);
    let Ok(email) = Email::parse("email", &form.email) else {
        return refused("Enter the email address you sign in with.");
    };
    if let Err(ApiError::RateLimited { .. }) = state.limits.login(&peer_ip(&req), email.as_str()) {
        return refused_with(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts. Wait a minute and try again.",
        );
    }
    if form.password.is_empty() || form.password.len() > 1024 {
        return refused("That email and password do not match an active account.");
    }
    let verified = verify_password(&state, &email, form.password.clone()).await?;
    let Some(user) = verified else {
        return refused("That email and password do not match an active account.");
    };
    end_previous_session(&state, &req).await?;
    let secret = secrets::new_secret(CONSOLE_SECRET_PREFIX).map_err(ApiError::internal)?;
    let csrf_token = secrets::new_secret("").map_err(ApiError::internal)?;
    let session = console_sessions::start(
        &state.db,
        NewConsoleSession {
            org: user.org()?,
            user: user.user_id()?,
            token_hash: secrets::hash_secret(&secret),
            csrf_token,
        },
        lifetimes(&state),
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(user = %user.id, %session, "console sign-in");
    let mut spent = Cookie::build(SIGN_IN_COOKIE, "").path("/sign-in").finish();
    spent.make_removal();
    let mut res = see_other(next);
    res.add_cookie(&session_cookie(
        &req,
        secret,
        state.settings.console_session_max_secs,
    ))
    .map_err(ApiError::internal)?;
    res.add_cookie(&spent).map_err(ApiError::internal)?;
    Ok(res)
}

/// Signing in again in a browser that still holds a live session ends
/// that session: one browser, one session.
async fn end_previous_session(state: &AppState, req: &HttpRequest) -> ConsoleResult<()> {
    let Some(old) = req.cookie(SESSION_COOKIE) else {
        return Ok(());
    };
    let hash = secrets::hash_secret(old.value());
    let live = console_sessions::resolve(&state.db, hash, lifetimes(state), now_micros())
        .await
        .map_err(ApiError::from)?;
    if let Some(previous) = live {
        console_sessions::end(&state.db, previous.session)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {}

/// Ends the session server-side, then clears the cookie.
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: ConsoleForm<SignOutForm>,
) -> ConsoleResult<HttpResponse> {
    let user: ConsoleUser = form.user;
    console_sessions::end(&state.db, user.session())
        .await
        .map_err(ApiError::from)?;
    tracing::info!(user = %user.auth.user_id, session = %user.session(), "console sign-out");
    let mut res = see_other("/sign-in");
    res.add_cookie(&cleared_session_cookie(&req))
        .map_err(ApiError::internal)?;
    Ok(res)
}

/// `/`: the call log for everyone signed in; the sign-in page otherwise.
pub async fn home(_user: ConsoleUser) -> HttpResponse {
    see_other("/calls")
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_a_path_on_this_server_is_a_place_to_return_to() {
        assert_eq!(safe_next(Some("/calls?team_id=x")), "/calls?team_id=x");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "https://evil.example",
            "calls",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
