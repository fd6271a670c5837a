use deskbind_api::cli::{InitAdminOutcome, init_admin};
use deskbind_mobile::AppClient;

use crate::helpers::spawn_app;

#[tokio::test]
async fn init_admin_generates_a_working_password_and_is_safe_to_repeat() {
    let app = spawn_app().await;
    let db = app.db.clone();
    let first =
        tokio::task::spawn_blocking(move || init_admin(&db, "Initech", "root@initech.test", None))
            .await
            .unwrap()
            .unwrap();
    let InitAdminOutcome::Created {
        generated_password: Some(password),
        ..
    } = first
    else {
        panic!("{first:?}")
    };
    assert!(password.len() >= 20);
    let users_before = app.count("users").await;
    let db = app.db.clone();
    let again = tokio::task::spawn_blocking(move || {
        init_admin(
            &db,
            "Initech",
            "ROOT@initech.test",
            Some("another-password".into()),
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(again, InitAdminOutcome::AlreadyExists);
    assert_eq!(
        app.count("users").await,
        users_before,
        "the repeat changed nothing"
    );

    let client = AppClient::new(&app.base).unwrap();
    client
        .login("root@initech.test", &password)
        .await
        .expect("the generated password works");
    assert_eq!(
        client.me().await.unwrap().role,
        deskbind_core::wire::Role::Admin
    );
    let db = app.db.clone();
    let bad = tokio::task::spawn_blocking(move || init_admin(&db, "X", "not-an-email", None))
        .await
        .unwrap();
    assert!(bad.unwrap_err().to_string().contains("--email"));
}
