use std::sync::Arc;

use deskbind_core::wire::{CreatePhone, UpdatePhone};
use deskbind_mobile::PhoneClient;

use crate::helpers::{code, spawn_app};

fn phone(number: &str, region: Option<&str>) -> CreatePhone {
    CreatePhone {
        number: number.into(),
        region: region.map(Into::into),
        extension: Some("204".into()),
        label: "Front desk".into(),
        vendor: None,
        model: None,
        driver: None,
    }
}

#[tokio::test]
async fn numbers_are_stored_as_e164_and_bad_ones_name_the_field() {
    let app = spawn_app().await;
    let created = app
        .admin
        .create_phone(&phone("030 901820", Some("DE")))
        .await
        .unwrap();
    assert_eq!(
        (
            created.number.as_str(),
            created.extension.as_str(),
            created.provisioned
        ),
        ("+4930901820", "204", false)
    );
    let dup = app
        .admin
        .create_phone(&phone("+49 30 901820", None))
        .await
        .unwrap_err();
    assert_eq!(code(&dup), (409, "phone_number_taken".into()));

    let before = app.count("phones").await;
    for (body, expected, field) in [
        (phone("030 901820", None), "invalid_phone_number", "number"),
        (phone("+99912", None), "invalid_phone_number", "number"),
        (phone("123", Some("Narnia")), "invalid_region", "region"),
        (
            CreatePhone {
                extension: Some("12a".into()),
                ..phone("+4930901899", None)
            },
            "invalid_extension",
            "extension",
        ),
        (
            CreatePhone {
                label: "".into(),
                ..phone("+4930901899", None)
            },
            "blank",
            "label",
        ),
    ] {
        let err = app.admin.create_phone(&body).await.unwrap_err();
        assert_eq!(
            (code(&err), err.field()),
            ((422, expected.into()), Some(field))
        );
    }
    assert_eq!(app.count("phones").await, before);

    let edited = app
        .admin
        .update_phone(
            created.id,
            &UpdatePhone {
                label: Some("Back office".into()),
                model: Some("T46U".into()),
                driver: None,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            edited.label.as_str(),
            edited.model.as_deref(),
            edited.number.as_str()
        ),
        ("Back office", Some("T46U"), "+4930901820")
    );
}

#[tokio::test]
async fn provisioning_code_is_redeemed_exactly_once_under_100_concurrent_requests() {
    let app = spawn_app().await;
    let created = app.phone("+4930901830").await;
    let code_value = app
        .admin
        .create_provisioning_code(created.id)
        .await
        .unwrap()
        .code;
    let base = Arc::new(app.base.clone());
    let attempts = (0..100).map(|i| {
        let base = base.clone();
        // Half type it the way people do: lower case, no dashes.
        let typed = if i % 2 == 0 {
            code_value.clone()
        } else {
            code_value.to_lowercase().replace('-', "")
        };
        tokio::spawn(async move { PhoneClient::provision(&base, &typed).await })
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut winners = Vec::new();
    for result in results {
        match result.unwrap() {
            Ok((client, provisioned)) => winners.push((client, provisioned)),
            Err(e) => assert_eq!(code(&e), (400, "invalid_provisioning_code".into())),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption may succeed");
    assert_eq!(app.count("phone_credentials").await, 1);
    let (client, provisioned) = winners.pop().unwrap();
    assert_eq!(provisioned.phone_id, created.id);
    assert!(client.me().await.unwrap().provisioned);
}

#[tokio::test]
async fn expired_replaced_and_revoked_codes_and_credentials_fail() {
    let app = spawn_app().await;
    let created = app.phone("+4930901840").await;

    let expired = app
        .admin
        .create_provisioning_code(created.id)
        .await
        .unwrap();
    app.execute("UPDATE phone_provisioning_codes SET expires_at = expires_at - 3600000000".into())
        .await;
    assert_eq!(
        code(
            &PhoneClient::provision(&app.base, &expired.code)
                .await
                .unwrap_err()
        ),
        (400, "invalid_provisioning_code".into())
    );

    let replaced = app
        .admin
        .create_provisioning_code(created.id)
        .await
        .unwrap();
    let current = app
        .admin
        .create_provisioning_code(created.id)
        .await
        .unwrap();
    assert_eq!(
        code(
            &PhoneClient::provision(&app.base, &replaced.code)
                .await
                .unwrap_err()
        )
        .1,
        "invalid_provisioning_code"
    );
    let (device, _) = PhoneClient::provision(&app.base, &current.code)
        .await
        .unwrap();
    device.me().await.unwrap();

    // Re-provisioning replaces the credential; the old one stops working.
    let again = app
        .admin
        .create_provisioning_code(created.id)
        .await
        .unwrap();
    let (device2, _) = PhoneClient::provision(&app.base, &again.code)
        .await
        .unwrap();
    assert_eq!(
        code(&device.me().await.unwrap_err()),
        (401, "invalid_token".into())
    );
    device2.me().await.unwrap();

    app.admin.revoke_phone_credential(created.id).await.unwrap();
    assert_eq!(
        code(&device2.me().await.unwrap_err()),
        (401, "invalid_token".into())
    );
    assert!(!app.admin.get_phone(created.id).await.unwrap().provisioned);
}

#[tokio::test]
async fn disabling_a_phone_locks_it_out_and_blocks_provisioning() {
    let app = spawn_app().await;
    let (created, device) = app.provisioned_phone("+4930901850").await;
    let pending = app
        .admin
        .create_provisioning_code(created.id)
        .await
        .unwrap();

    let disabled = app.disable_phone(created.id).await.unwrap();
    assert!(disabled.disabled && !disabled.provisioned);
    assert_eq!(
        code(&device.me().await.unwrap_err()),
        (401, "invalid_token".into())
    );
    assert_eq!(
        code(
            &PhoneClient::provision(&app.base, &pending.code)
                .await
                .unwrap_err()
        )
        .1,
        "invalid_provisioning_code"
    );
    assert_eq!(
        code(
            &app.admin
                .create_provisioning_code(created.id)
                .await
                .unwrap_err()
        ),
        // One status per code (issue 16): 403, as binding a disabled phone.
        (403, "phone_disabled".into())
    );
}
