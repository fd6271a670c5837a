//! Concurrency claims, raced for real: one holder per phone however many
//! permitted users ask at once; a user's phone limit holds however many
//! phones they ask for at once; a bind racing a disable never leaves the
//! disabled phone or user bound. Run on both backends by scripts/test.

use deskbind_core::wire::Role;
use deskbind_mobile::BindingQuery;

use crate::helpers::{code, spawn_app};

#[tokio::test]
async fn fifty_concurrent_binds_on_one_phone_have_exactly_one_winner() {
    let app = spawn_app().await;
    let phone = app.phone("+4930903001").await;
    app.open_to_everyone(phone.id).await;
    let emails: Vec<String> = (0..50).map(|i| format!("rep{i}@acme.test")).collect();
    let users =
        futures_util::future::join_all(emails.iter().map(|e| app.user(e, Role::Salesperson))).await;

    let start = std::sync::Arc::new(tokio::sync::Barrier::new(users.len()));
    let attempts: Vec<_> = users
        .into_iter()
        .map(|(_, client)| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                client.bind_phone(phone.id, false).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(binding) => winners.push(binding),
            Err(e) => assert_eq!(code(&e), (403, "phone_bound_to_other".into())),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:#?}");
    let active = app
        .admin
        .list_bindings(&BindingQuery::default())
        .await
        .unwrap();
    assert_eq!(
        active.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![winners[0].id]
    );
    assert_eq!(app.count("bindings").await, 1);
    assert_eq!(app.count("binding_events").await, 1);
}

#[tokio::test]
async fn one_user_asking_for_ten_phones_at_once_gets_exactly_the_limit() {
    let app = spawn_app().await;
    let mut phones = Vec::new();
    for i in 0..10 {
        let phone = app.phone(&format!("+49309030{:02}", 10 + i)).await;
        app.open_to_everyone(phone.id).await;
        phones.push(phone.id);
    }
    let (_, client) = app.user("rep@acme.test", Role::Salesperson).await;
    let client = std::sync::Arc::new(client);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(phones.len()));
    let attempts: Vec<_> = phones
        .iter()
        .map(|phone| {
            let (client, start, phone) = (client.clone(), start.clone(), *phone);
            tokio::spawn(async move {
                start.wait().await;
                client.bind_phone(phone, false).await
            })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(code(&e), (403, "limit_reached".into())),
        }
    }
    assert_eq!(won, 1, "the default policy allows one phone per user");
    assert_eq!(app.count("bindings").await, 1);
}

/// Active bindings of disabled phones or users: must stay zero.
async fn bound_while_disabled(app: &crate::helpers::TestApp) -> i64 {
    app.scalar(
        "SELECT COUNT(*) AS n FROM bindings b \
         JOIN phones p ON p.id = b.phone_id JOIN users u ON u.id = b.user_id \
         WHERE b.ended_at IS NULL \
         AND (p.disabled_at IS NOT NULL OR u.disabled_at IS NOT NULL)"
            .into(),
    )
    .await
}

#[tokio::test]
async fn a_bind_racing_a_disable_never_leaves_the_disabled_bound() {
    let app = spawn_app().await;
    for round in 0..10 {
        let phone = app.phone(&format!("+49309031{round:02}")).await;
        app.open_to_everyone(phone.id).await;
        let (user, client) = app
            .user(&format!("rep{round}@acme.test"), Role::Salesperson)
            .await;
        let disable_phone = round % 2 == 0;
        let bind = client.bind_phone(phone.id, false);
        let disable = async {
            if disable_phone {
                app.disable_phone(phone.id).await.map(drop)
            } else {
                app.disable_user(user.id).await.map(drop)
            }
        };
        let (bound, disabled) = tokio::join!(bind, disable);
        disabled.unwrap();
        // Either order is fine: bound then ended by the disable, or refused.
        // A disabled user's session ends at once, so the bind may not even
        // get past authentication.
        if let Err(e) = bound {
            let expected: &[&str] = if disable_phone {
                &["phone_disabled"]
            } else {
                &["user_disabled", "invalid_token"]
            };
            assert!(
                expected.contains(&code(&e).1.as_str()),
                "round {round}: {e}"
            );
        }
        assert_eq!(bound_while_disabled(&app).await, 0, "round {round}");
    }
}
