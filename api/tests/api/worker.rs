use std::time::Duration;

use deskbind_core::relay::Relay;
use deskbind_core::wire::{AppEvent, BindingAction, BindingEndReason, Role};
use deskbind_mobile::PhoneCommand;
use tokio_util::sync::CancellationToken;

use crate::dialing::{fast_reconnect, within};
use crate::helpers::{redis_url, spawn_app, spawn_app_with};

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

/// The expiry sweep ends a binding as an unbind does: the phone is sent its
/// `binding` frame (nobody) and the holder's stream its event at once. The
/// sweep runs as a `deskbind-worker` process would, with a relay of its own
/// that reaches the API node's phone and streams through Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_binding_tells_the_phone_and_the_holders_stream() {
    let redis = redis_url();
    let app = spawn_app_with(|s| s.redis_url = Some(redis.clone().into())).await;
    let (user, client, phone, phone_client) =
        app.bound_salesperson("ines@acme.test", "+4930901872").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    match within(link.next()).await.unwrap() {
        PhoneCommand::Binding { user: Some(holder) } => assert_eq!(holder.id, user.id),
        other => panic!("expected the greeting with its holder, got {other:?}"),
    }
    let mut events = client.events(None).await.unwrap();
    assert_eq!(within(events.next()).await.unwrap().event, AppEvent::Resync);

    app.execute("UPDATE bindings SET expires_at = 1 WHERE ended_at IS NULL".into())
        .await;
    let cancel = CancellationToken::new();
    let worker_relay = Relay::from_settings(&app.settings, cancel.clone())
        .await
        .unwrap();
    assert_eq!(
        deskbind_worker::run_binding_expiry_once(&app.db, &worker_relay)
            .await
            .unwrap(),
        1
    );

    match within(link.next()).await.unwrap() {
        PhoneCommand::Binding { user: None } => {}
        other => panic!("expected the phone to hear it is free, got {other:?}"),
    }
    // Sooner than the stream's keep-alive re-read (15 s): it was woken.
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("the stream was not woken")
        .unwrap();
    match event.event {
        AppEvent::Binding {
            phone_id,
            action,
            reason,
            ..
        } => assert_eq!(
            (phone_id, action, reason),
            (
                phone.id,
                BindingAction::Ended,
                Some(BindingEndReason::Expired)
            )
        ),
        other => panic!("expected the binding's end, got {other:?}"),
    }
    link.close().await;
    cancel.cancel();
}
