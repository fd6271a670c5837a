//! Access-token validation: only our own, unexpired, correctly addressed
//! HS256 access tokens pass; phone credentials and user tokens never cross.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deskbind_core::auth::jwt::{ACCESS_TYPE, AUDIENCE, AccessClaims, ISSUER, KeyRing};
use deskbind_core::ids::SessionId;
use deskbind_core::wire::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::helpers::{TestApp, spawn_app};

async fn status_of(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

struct Forge {
    ring: KeyRing,
    claims: AccessClaims,
}

async fn forge(app: &TestApp) -> Forge {
    let (user, client) = app.user("forge@acme.test", Role::Salesperson).await;
    let (access, _) = client.tokens().await.unwrap();
    let ring = KeyRing::load_or_create(&app.settings.token_keys_dir()).unwrap();
    let claims = ring.verify(&access).expect("real token verifies");
    assert_eq!(claims.sub, user.id);
    Forge { ring, claims }
}

#[tokio::test]
async fn every_kind_of_bad_token_is_rejected() {
    let app = spawn_app().await;
    let f = forge(&app).await;
    let good = f.ring.sign(&f.claims).unwrap();
    assert_eq!(
        status_of(&app, "/v1/me", &good).await.0,
        200,
        "control: a correct token passes"
    );

    let with = |edit: &dyn Fn(&mut AccessClaims)| {
        let mut c = f.claims.clone();
        edit(&mut c);
        f.ring.sign(&c).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let expired = with(&|c| c.exp = now - 120);
    let wrong_aud = with(&|c| c.aud = "someone-else".into());
    let wrong_iss = with(&|c| c.iss = "evil".into());
    let wrong_type = with(&|c| c.typ = "refresh".into());
    let unknown_session = with(&|c| c.sid = SessionId::new());

    let kid = f.ring.active_kid().to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.clone());
    let forged =
        jsonwebtoken::encode(&header, &f.claims, &EncodingKey::from_secret(&[9u8; 32])).unwrap();
    let mut hs512 = Header::new(Algorithm::HS512);
    hs512.kid = Some(kid.clone());
    // Same key, other algorithm: the pinned algorithm must refuse it.
    let keys_file = app.settings.token_keys_dir().join(format!("{kid}.key"));
    let secret = URL_SAFE_NO_PAD
        .decode(std::fs::read_to_string(keys_file).unwrap().trim())
        .unwrap();
    let other_alg =
        jsonwebtoken::encode(&hs512, &f.claims, &EncodingKey::from_secret(&secret)).unwrap();
    let none_header =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
    let none_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&f.claims).unwrap());
    let alg_none = format!("{none_header}.{none_payload}.");
    let missing_aud = {
        #[derive(serde::Serialize)]
        struct NoAud<'a> {
            iss: &'a str,
            sub: String,
            org: String,
            sid: String,
            typ: &'a str,
            exp: i64,
        }
        let c = &f.claims;
        let body = NoAud {
            iss: ISSUER,
            sub: c.sub.to_string(),
            org: c.org.to_string(),
            sid: c.sid.to_string(),
            typ: ACCESS_TYPE,
            exp: now + 60,
        };
        jsonwebtoken::encode(&header, &body, &EncodingKey::from_secret(&secret)).unwrap()
    };
    let (_, refresh) = app.admin.tokens().await.unwrap();

    let cases = [
        ("expired", expired, "token_expired"),
        ("wrong aud", wrong_aud, "invalid_token"),
        ("wrong iss", wrong_iss, "invalid_token"),
        ("wrong type", wrong_type, "invalid_token"),
        ("revoked/unknown session", unknown_session, "invalid_token"),
        ("forged signature", forged, "invalid_token"),
        ("other algorithm", other_alg, "invalid_token"),
        ("alg none", alg_none, "invalid_token"),
        ("missing aud", missing_aud, "invalid_token"),
        ("refresh token as access", refresh, "invalid_token"),
        ("garbage", "not.a.jwt".to_owned(), "invalid_token"),
    ];
    for (name, token, expected) in cases {
        assert_eq!(
            status_of(&app, "/v1/me", &token).await,
            (401, expected.to_owned()),
            "{name}"
        );
    }
    assert_eq!(AUDIENCE, "deskbind-api");
}

#[tokio::test]
async fn user_tokens_and_phone_credentials_never_cross() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930901820").await;
    assert_eq!(device.me().await.unwrap().id, phone.id);

    let user_token = app.access_token().await;
    assert_eq!(
        status_of(&app, "/v1/phone/me", &user_token).await,
        (401, "invalid_token".into())
    );
    for path in ["/v1/me", "/v1/phones", "/v1/users"] {
        assert_eq!(
            status_of(&app, path, device.credential()).await,
            (401, "invalid_token".into()),
            "{path}"
        );
    }
    let missing = reqwest::get(app.url("/v1/phone/me")).await.unwrap();
    assert_eq!(missing.status().as_u16(), 401);
    assert_eq!(missing.headers().get("www-authenticate").unwrap(), "Bearer");
}
