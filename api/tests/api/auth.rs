use std::sync::Arc;

use deskbind_core::repo::sessions;
use deskbind_core::wire::Role;
use deskbind_mobile::{AppClient, ClientError};

use crate::helpers::{PASSWORD, code, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_with_wrong_password_or_unknown_email_is_the_same_401() {
    let app = spawn_app().await;
    let client = app.client();
    let wrong = client
        .login(&app.admin_email, "not-the-password")
        .await
        .unwrap_err();
    let unknown = client
        .login("nobody@acme.test", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(code(&wrong), (401, "invalid_credentials".into()));
    assert_eq!(code(&unknown), (401, "invalid_credentials".into()));
    let tokens = client
        .login(&app.admin_email.to_uppercase(), PASSWORD)
        .await
        .expect("email is case-insensitive");
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 900);
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let app = spawn_app().await;
    let (user, client) = app.user("sam@acme.test", Role::Salesperson).await;
    let (_, first_refresh) = client.tokens().await.unwrap();

    let rotated = client.refresh().await.expect("first refresh");
    assert_ne!(rotated.refresh_token, first_refresh, "refresh must rotate");
    client.me().await.expect("new access token works");

    // An attacker replays the first (already rotated) refresh token.
    let thief = AppClient::new(&app.base).unwrap();
    thief.set_tokens("x", &first_refresh).await;
    let replay = thief.refresh().await.unwrap_err();
    assert_eq!(code(&replay), (401, "refresh_token_reused".into()));

    // The whole family is dead: the legitimate refresh token and access token too.
    assert_eq!(
        code(&client.refresh().await.unwrap_err()),
        (401, "invalid_refresh_token".into())
    );
    assert_eq!(
        code(&client.me().await.unwrap_err()),
        (401, "invalid_token".into())
    );
    let live = app
        .db
        .run(move |c| sessions::live_count(c, user.id))
        .await
        .unwrap();
    assert_eq!(live, 0);
}

#[tokio::test]
async fn concurrent_refreshes_leave_at_most_one_live_family() {
    let app = spawn_app().await;
    let (user, client) = app.user("race@acme.test", Role::Salesperson).await;
    for round in 0..5 {
        // A fresh family each round: the last round's was revoked by its replay.
        if round > 0 {
            client.login("race@acme.test", PASSWORD).await.unwrap();
        }
        let (access, refresh) = client.tokens().await.unwrap();
        let clients: Vec<Arc<AppClient>> = (0..8).map(|_| Arc::new(app.client())).collect();
        for c in &clients {
            c.set_tokens(&access, &refresh).await;
        }
        let results = futures_util::future::join_all(clients.iter().map(|c| c.refresh())).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert!(
            won <= 1,
            "round {round}: {won} refreshes of one token succeeded"
        );
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(r, ClientError::Api { .. }), "{r}");
        }
        let live = app
            .db
            .run(move |c| sessions::live_count(c, user.id))
            .await
            .unwrap();
        assert!(live <= 1, "round {round}: {live} live families");
        if round == 0 {
            // The single token was replayed by the losers: the family is revoked.
            assert_eq!(live, 0, "a concurrent replay must revoke the family");
        }
    }
}

#[tokio::test]
async fn logout_ends_access_and_refresh_tokens() {
    let app = spawn_app().await;
    let (_, client) = app.user("leaver@acme.test", Role::Manager).await;
    let (access, refresh) = client.tokens().await.unwrap();
    client.logout().await.unwrap();
    let stale = app.client();
    stale.set_tokens(&access, &refresh).await;
    assert_eq!(
        code(&stale.me().await.unwrap_err()),
        (401, "invalid_token".into())
    );
    assert_eq!(
        code(&stale.refresh().await.unwrap_err()),
        (401, "invalid_refresh_token".into())
    );
}

#[tokio::test]
async fn login_is_rate_limited_with_retry_after() {
    let app = spawn_app_with(|s| s.login_rate_per_minute = 3).await;
    let client = app.client();
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            client
                .login("victim@acme.test", "guess-guess-guess")
                .await
                .unwrap_err(),
        );
    }
    assert_eq!(code(&last.unwrap()), (401, "invalid_credentials".into()));
    let limited = client
        .login("victim@acme.test", "guess-guess-guess")
        .await
        .unwrap_err();
    assert_eq!(code(&limited), (429, "rate_limited".into()));
    match limited {
        ClientError::Api { problem } => assert!(problem.retry_after.unwrap_or(0) >= 1),
        other => panic!("{other}"),
    }
    // Another account from the same address still gets its own budget.
    client
        .login(&app.admin_email, PASSWORD)
        .await
        .expect("other email not limited");
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_blocks_login() {
    let app = spawn_app().await;
    let (user, client) = app.user("gone@acme.test", Role::Salesperson).await;
    app.disable_user(user.id).await.unwrap();
    assert_eq!(
        code(&client.me().await.unwrap_err()),
        (401, "invalid_token".into())
    );
    assert_eq!(
        code(&client.refresh().await.unwrap_err()),
        (401, "invalid_refresh_token".into())
    );
    assert_eq!(
        code(
            &app.client()
                .login("gone@acme.test", PASSWORD)
                .await
                .unwrap_err()
        ),
        (401, "invalid_credentials".into())
    );
}

#[tokio::test]
async fn parallel_calls_with_an_expired_token_refresh_once_and_keep_the_session() {
    use deskbind_core::auth::jwt::KeyRing;
    let app = spawn_app().await;
    let (user, client) = app.user("busy@acme.test", Role::Salesperson).await;
    let (access, refresh) = client.tokens().await.unwrap();
    let ring = KeyRing::load_or_create(&app.settings.token_keys_dir()).unwrap();
    let mut claims = ring.verify(&access).unwrap();
    claims.exp = chrono::Utc::now().timestamp() - 60;
    let expired = ring.sign(&claims).unwrap();

    let shared = Arc::new(app.client());
    shared.set_tokens(&expired, &refresh).await;
    let calls = (0..8).map(|_| {
        let c = shared.clone();
        tokio::spawn(async move { c.me().await })
    });
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(
            result
                .unwrap()
                .expect("every call succeeds after one shared refresh")
                .id,
            user.id
        );
    }
    let live = app
        .db
        .run(move |c| sessions::live_count(c, user.id))
        .await
        .unwrap();
    assert_eq!(
        live, 1,
        "a second refresh with the same token would have revoked the session"
    );
    let (_, rotated) = shared.tokens().await.unwrap();
    assert_ne!(rotated, refresh);
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(app.url("/v1/auth/login"))
        .json(&serde_json::json!({ "email": app.admin_email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
}
