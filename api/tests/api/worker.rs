use deskbind_core::wire::Role;

use crate::helpers::spawn_app;

#[tokio::test]
async fn housekeeping_purges_only_long_dead_credentials() {
    let app = spawn_app().await;
    let (_, client) = app.user("old@acme.test", Role::Salesperson).await;
    client.refresh().await.unwrap();
    let phone = app.phone("+4930901870").await;
    app.admin.create_provisioning_code(phone.id).await.unwrap();
    let (tokens, codes) = (
        app.count("refresh_tokens").await,
        app.count("phone_provisioning_codes").await,
    );

    assert_eq!(
        deskbind_worker::run_maintenance_once(&app.db)
            .await
            .unwrap(),
        Default::default(),
        "nothing is old enough yet"
    );
    assert_eq!(app.count("refresh_tokens").await, tokens);

    // Age everything past expiry plus the retention window.
    let eight_days = 8 * 24 * 3600 * 1_000_000i64;
    let past_expiry = 31 * 24 * 3600 * 1_000_000i64 + eight_days;
    app.execute(format!(
        "UPDATE refresh_tokens SET expires_at = expires_at - {past_expiry}"
    ))
    .await;
    app.execute(format!(
        "UPDATE phone_provisioning_codes SET expires_at = expires_at - {eight_days}"
    ))
    .await;
    let report = deskbind_worker::run_maintenance_once(&app.db)
        .await
        .unwrap();
    assert_eq!(report.provisioning_codes as i64, codes);
    assert!(report.sessions_and_tokens as i64 >= tokens, "{report:?}");
    assert_eq!(
        (
            app.count("refresh_tokens").await,
            app.count("phone_provisioning_codes").await
        ),
        (0, 0)
    );
}
