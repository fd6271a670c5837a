//! Console (browser) sessions: the deadlines with a controllable clock, the
//! cookie's flags, sign-in CSRF, and that a console cookie and an API token
//! never stand in for each other.

use deskbind_core::auth::secrets;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::console_sessions::{self, Lifetimes, NewConsoleSession};
use deskbind_core::usecases::housekeeping;
use deskbind_core::wire::Role;
use reqwest::redirect::Policy;

use super::helpers::{PASSWORD, TestApp, spawn_app};

const LIFETIMES: Lifetimes = Lifetimes {
    idle_secs: 1800,
    max_secs: 12 * 3600,
};

async fn start_at(app: &TestApp, email: &str, now: i64) -> String {
    let secret = secrets::new_secret("dbc_").unwrap();
    let lookup = email.to_owned();
    let row = app
        .db
        .run(move |conn| deskbind_core::repo::users::find_by_email(conn, &lookup))
        .await
        .unwrap()
        .unwrap();
    console_sessions::start(
        &app.db,
        NewConsoleSession {
            org: row.org().unwrap(),
            user: row.user_id().unwrap(),
            token_hash: secrets::hash_secret(&secret),
            csrf_token: "csrf".into(),
        },
        LIFETIMES,
        now,
    )
    .await
    .unwrap();
    secrets::hash_secret(&secret)
}

async fn alive(app: &TestApp, hash: &str, now: i64) -> bool {
    console_sessions::resolve(&app.db, hash.to_owned(), LIFETIMES, now)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn an_idle_session_ends_after_the_idle_timeout_and_use_keeps_it_alive() {
    let app = spawn_app().await;
    app.user("idle@acme.test", Role::Manager).await;
    let t0 = now_micros();
    let hash = start_at(&app, "idle@acme.test", t0).await;
    assert!(alive(&app, &hash, t0 + seconds(1799)).await);
    // Used at 29:59, so the deadline moved to 59:59.
    assert!(alive(&app, &hash, t0 + seconds(3598)).await);
    // Left alone for 30 minutes and a second: gone.
    assert!(!alive(&app, &hash, t0 + seconds(3598 + 1801)).await);
}

#[tokio::test]
async fn a_busy_session_still_ends_at_its_absolute_limit() {
    let app = spawn_app().await;
    app.user("busy@acme.test", Role::Manager).await;
    let t0 = now_micros();
    let hash = start_at(&app, "busy@acme.test", t0).await;
    let mut t = t0;
    // A request every 10 minutes for 12 hours keeps it alive...
    while t + seconds(600) < t0 + seconds(LIFETIMES.max_secs) {
        t += seconds(600);
        assert!(
            alive(&app, &hash, t).await,
            "alive at +{} s",
            (t - t0) / 1_000_000
        );
    }
    // ...but not past the 12 h limit, however busy.
    assert!(!alive(&app, &hash, t0 + seconds(LIFETIMES.max_secs) + 1).await);
}

#[tokio::test]
async fn signing_out_and_disabling_end_console_sessions() {
    let app = spawn_app().await;
    let (user, _) = app.user("gone@acme.test", Role::Salesperson).await;
    let t0 = now_micros();
    let first = start_at(&app, "gone@acme.test", t0).await;
    let second = start_at(&app, "gone@acme.test", t0).await;
    let principal = console_sessions::resolve(&app.db, first.clone(), LIFETIMES, t0)
        .await
        .unwrap()
        .unwrap();
    console_sessions::end(&app.db, principal.session)
        .await
        .unwrap();
    assert!(!alive(&app, &first, t0).await, "signed out");
    assert!(alive(&app, &second, t0).await, "another browser stays");
    app.disable_user(user.id).await.unwrap();
    assert!(!alive(&app, &second, t0).await, "disabled user");
}

#[tokio::test]
async fn housekeeping_purges_expired_console_sessions_and_then_their_login_session() {
    let app = spawn_app().await;
    app.user("old@acme.test", Role::Salesperson).await;
    let t0 = now_micros();
    let live = start_at(&app, "old@acme.test", t0).await;
    let before = app.count("sessions").await;
    // A week and a day later the session's deadline is long past.
    let later = t0 + seconds(housekeeping::RETENTION_SECS + LIFETIMES.max_secs + 86_400);
    app.db
        .run(move |conn| housekeeping::purge(conn, later))
        .await
        .unwrap();
    assert_eq!(app.count("console_sessions").await, 0);
    assert!(app.count("sessions").await < before);
    assert!(!alive(&app, &live, t0).await);
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the form: GET the page for its token and cookie, POST.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    sign_in_holding(app, email, password, None).await
}

/// [`sign_in`] from a browser that still sends `held` (an earlier
/// session's cookie).
async fn sign_in_holding(
    app: &TestApp,
    email: &str,
    password: &str,
    held: Option<&str>,
) -> reqwest::Response {
    let client = browser();
    let page = client.get(app.url("/sign-in")).send().await.unwrap();
    let cookie = page
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let cookie = match held {
        Some(held) => format!("{cookie}; {held}"),
        None => cookie,
    };
    let html = page.text().await.unwrap();
    let token = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    client
        .post(app.url("/sign-in"))
        .header("cookie", cookie)
        .form(&[
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/calls"),
        ])
        .send()
        .await
        .unwrap()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("deskbind_console="))
        .map(str::to_owned)
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_and_secure_behind_tls() {
    let app = spawn_app().await;
    let res = sign_in(&app, &app.admin_email, PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/calls");
    let cookie = session_cookie(&res).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(app.count("console_sessions").await, 1);

    // Behind a TLS-terminating proxy the cookie is Secure.
    let client = browser();
    let page = client
        .get(app.url("/sign-in"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let pre = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(pre.contains("Secure"), "{pre}");
}

#[tokio::test]
async fn a_sign_in_post_without_the_form_token_is_refused_and_starts_nothing() {
    let app = spawn_app().await;
    let res = browser()
        .post(app.url("/sign-in"))
        .form(&[("email", app.admin_email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(session_cookie(&res).is_none());
    assert_eq!(app.count("console_sessions").await, 0);
}

#[tokio::test]
async fn a_wrong_password_re_shows_the_form_with_401() {
    let app = spawn_app().await;
    let res = sign_in(&app, &app.admin_email, "wrong-password").await;
    assert_eq!(res.status(), 401);
    assert!(session_cookie(&res).is_none());
    assert!(res.text().await.unwrap().contains("do not match"));
}

#[tokio::test]
async fn a_console_cookie_is_not_an_api_token_and_an_api_token_is_not_a_cookie() {
    let app = spawn_app().await;
    let res = sign_in(&app, &app.admin_email, PASSWORD).await;
    let cookie = session_cookie(&res).unwrap();
    let secret = cookie
        .trim_start_matches("deskbind_console=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let api = browser()
        .get(app.url("/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let token = app.access_token().await;
    let page = browser()
        .get(app.url("/"))
        .header("cookie", format!("deskbind_console={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
}

#[tokio::test]
async fn signing_in_again_in_the_same_browser_ends_its_earlier_session() {
    let app = spawn_app().await;
    let first = sign_in(&app, &app.admin_email, PASSWORD).await;
    let held = session_cookie(&first).unwrap();
    let held = held.split(';').next().unwrap().to_owned();
    let opens = |cookie: String| {
        let url = app.url("/");
        async move {
            browser()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .headers()["location"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(opens(held.clone()).await, "/calls");
    let second = sign_in_holding(&app, &app.admin_email, PASSWORD, Some(&held)).await;
    assert_eq!(second.status(), 303);
    let fresh = session_cookie(&second).unwrap();
    let fresh = fresh.split(';').next().unwrap().to_owned();
    assert!(
        opens(held).await.starts_with("/sign-in"),
        "the earlier session ended"
    );
    assert_eq!(opens(fresh).await, "/calls");
}
