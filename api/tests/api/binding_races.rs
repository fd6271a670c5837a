//! Concurrency claims, raced for real: one holder per phone however many
//! permitted users ask at once.

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
