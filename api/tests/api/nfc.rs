//! The NFC proximity path: the phone obtains a signed single-use token (with
//! its NDEF bytes and a numeric code), the app redeems it. Exactly one
//! redemption wins; expired, tampered, replayed and foreign tokens are
//! rejected with nothing written.

use base64::Engine as _;
use deskbind_core::wire::{BindingVia, Role};
use deskbind_mobile::nfc;

use crate::helpers::{code, foreign_phone, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_token_read_over_nfc_binds_once() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930904001").await;
    app.open_to_everyone(phone.id).await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (_, bob_app) = app.user("bob@acme.test", Role::Salesperson).await;

    let offer = device.binding_token().await.unwrap();
    assert_eq!(offer.code.len(), 9);
    assert!(offer.expires_in <= 120);
    let ndef = base64::engine::general_purpose::STANDARD
        .decode(&offer.ndef)
        .unwrap();
    assert_eq!(nfc::decode_binding_token(&ndef).unwrap(), offer.token);

    let binding = ann_app.bind_with_ndef(&ndef, false).await.unwrap();
    assert_eq!(
        (binding.phone_id, binding.user_id, binding.via),
        (phone.id, ann.id, BindingVia::Nfc)
    );
    // Replayed, by anyone, by token or by its code: spent.
    let err = bob_app
        .bind_with_token(&offer.token, true)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (409, "binding_token_used".into()));
    let err = bob_app.bind_with_code(&offer.code, true).await.unwrap_err();
    assert_eq!(code(&err), (400, "binding_code_invalid".into()));
    assert_eq!(app.count("bindings").await, 1);
}

#[tokio::test]
async fn the_numeric_code_binds_and_wrong_codes_write_nothing() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930904002").await;
    app.open_to_everyone(phone.id).await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;

    let offer = device.binding_token().await.unwrap();
    let wrong = if offer.code == "000000000" {
        "000000001"
    } else {
        "000000000"
    };
    for bad in [wrong, "12345", "abcdefghi"] {
        let err = ann_app.bind_with_code(bad, false).await.unwrap_err();
        assert_eq!(code(&err), (400, "binding_code_invalid".into()), "{bad}");
    }
    assert_eq!(app.count("bindings").await, 0);
    let typed = format!(
        "{}-{} {}",
        &offer.code[..3],
        &offer.code[3..6],
        &offer.code[6..]
    );
    let binding = ann_app.bind_with_code(&typed, false).await.unwrap();
    assert_eq!((binding.user_id, binding.via), (ann.id, BindingVia::Nfc));
}

#[tokio::test]
async fn expired_tampered_superseded_and_foreign_tokens_are_rejected() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930904003").await;
    app.open_to_everyone(phone.id).await;
    let (_, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;

    // Tampered: one character of the signature changed.
    let offer = device.binding_token().await.unwrap();
    let mut tampered = offer.token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let err = ann_app
        .bind_with_token(&String::from_utf8(tampered).unwrap(), false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_token_invalid".into()));
    let err = ann_app
        .bind_with_token("not-a-token", false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_token_invalid".into()));

    // Superseded: a newer token replaces the phone's unspent one.
    let newer = device.binding_token().await.unwrap();
    let err = ann_app
        .bind_with_token(&offer.token, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_token_invalid".into()));

    // Revoked with the phone's credential (re-provisioning does the same).
    let (revoked_phone, revoked_device) = app.provisioned_phone("+4930904013").await;
    app.open_to_everyone(revoked_phone.id).await;
    let doomed = revoked_device.binding_token().await.unwrap();
    app.admin
        .revoke_phone_credential(revoked_phone.id)
        .await
        .unwrap();
    let err = ann_app
        .bind_with_token(&doomed.token, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_token_invalid".into()));

    // Expired: the signature is still good, the server's record says no.
    app.execute("UPDATE binding_tokens SET expires_at = 1".into())
        .await;
    let err = ann_app
        .bind_with_token(&newer.token, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_token_expired".into()));
    let err = ann_app
        .bind_with_code(&newer.code, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_code_invalid".into()));

    // Another organisation's token and code are as unknown as forged ones.
    let foreign_admin = app.other_org_admin().await;
    let foreign_phone = foreign_phone(&foreign_admin, "+4930904099").await;
    let foreign_device = app.provision(&foreign_admin, foreign_phone.id).await;
    let foreign_offer = foreign_device.binding_token().await.unwrap();
    let err = ann_app
        .bind_with_token(&foreign_offer.token, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_token_invalid".into()));
    let err = ann_app
        .bind_with_code(&foreign_offer.code, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (400, "binding_code_invalid".into()));
    assert_eq!(app.count("bindings").await, 0);
    assert_eq!(app.count("binding_events").await, 0);
}

#[tokio::test]
async fn a_refused_redemption_leaves_the_token_for_someone_permitted() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930904004").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (_, eve_app) = app.user("eve@acme.test", Role::Salesperson).await;
    app.grant(phone.id, &[ann.id]).await;

    let offer = device.binding_token().await.unwrap();
    let err = eve_app
        .bind_with_token(&offer.token, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "not_granted".into()));
    let binding = ann_app.bind_with_token(&offer.token, false).await.unwrap();
    assert_eq!(binding.user_id, ann.id);
}

#[tokio::test]
async fn one_hundred_concurrent_redemptions_of_one_token_have_exactly_one_success() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930904005").await;
    app.open_to_everyone(phone.id).await;
    // Twenty users, five attempts each, all at once.
    let emails: Vec<String> = (0..20).map(|i| format!("rep{i}@acme.test")).collect();
    let users =
        futures_util::future::join_all(emails.iter().map(|e| app.user(e, Role::Salesperson))).await;
    let clients: Vec<_> = users
        .into_iter()
        .map(|(_, c)| std::sync::Arc::new(c))
        .collect();
    let offer = device.binding_token().await.unwrap();

    let start = std::sync::Arc::new(tokio::sync::Barrier::new(100));
    let attempts: Vec<_> = (0..100)
        .map(|i| {
            let (client, start, token) =
                (clients[i % 20].clone(), start.clone(), offer.token.clone());
            tokio::spawn(async move {
                start.wait().await;
                client.bind_with_token(&token, false).await
            })
        })
        .collect();
    let mut successes = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => successes += 1,
            Err(e) => assert_eq!(code(&e), (409, "binding_token_used".into())),
        }
    }
    assert_eq!(successes, 1);
    assert_eq!(app.count("bindings").await, 1);
    assert_eq!(app.count("binding_events").await, 1);
}

#[tokio::test]
async fn redemptions_are_rate_limited_per_user() {
    let app = spawn_app_with(|s| s.binding_redeem_rate_per_minute = 2).await;
    let (_, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    for _ in 0..2 {
        let err = ann_app
            .bind_with_code("000000000", false)
            .await
            .unwrap_err();
        assert_eq!(code(&err).0, 400);
    }
    let err = ann_app
        .bind_with_code("000000000", false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (429, "rate_limited".into()));
}
