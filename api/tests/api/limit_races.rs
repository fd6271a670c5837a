//! "At most N" rules raced for real: counting and inserting under a lock,
//! so concurrent requests cannot all count below the limit and all insert.
//! (The phones-per-user limit and one holder per phone are raced in
//! binding_races.rs; one redemption per provisioning code in phones.rs, per
//! NFC token in nfc.rs.) One push schedule per user is a key, but its
//! first insert is raced here too: it must not fail. Run on both backends by scripts/test; PostgreSQL is
//! where an unlocked count-then-insert overshoots.

use std::sync::Arc;

use deskbind_core::wire::{MAX_PUSH_DEVICES_PER_USER, PushPlatform, PushScheduleRule, Role};

use crate::helpers::{code, spawn_app};

#[tokio::test]
async fn twenty_concurrent_push_registrations_by_one_user_end_with_exactly_ten() {
    let app = spawn_app().await;
    let (ann, client) = app.user("ann@acme.test", Role::Salesperson).await;
    let client = Arc::new(client);
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let (client, start) = (client.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                client
                    .register_push_device(PushPlatform::Android, &format!("fcm-race-{i:02}"))
                    .await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => {
                assert_eq!(code(&e), (409, "push_device_limit".into()));
                refused += 1;
            }
        }
    }
    assert_eq!(
        (created, refused),
        (MAX_PUSH_DEVICES_PER_USER, 20 - MAX_PUSH_DEVICES_PER_USER)
    );
    let stored = app
        .scalar(format!(
            "SELECT COUNT(*) AS n FROM push_devices WHERE user_id = '{}'",
            ann.id
        ))
        .await;
    assert_eq!(stored, MAX_PUSH_DEVICES_PER_USER as i64);
    assert_eq!(client.list_push_devices().await.unwrap().len(), 10);
}

#[tokio::test]
async fn a_users_first_schedule_requests_at_once_all_succeed_with_one_schedule() {
    let app = spawn_app().await;
    let (ann, client) = app.user("ann@acme.test", Role::Salesperson).await;
    let client = Arc::new(client);
    let start = Arc::new(tokio::sync::Barrier::new(10));
    let attempts: Vec<_> = (0..10)
        .map(|i| {
            let (client, start) = (client.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let rule = PushScheduleRule {
                    daily_at: None,
                    every_minutes: Some(60 + i),
                    on_missed_call: false,
                    on_new_records: false,
                };
                client.set_push_schedule(&rule).await
            })
        })
        .collect();
    for attempt in attempts {
        // Without the lock, PostgreSQL answered some of these 409 `conflict`.
        attempt.await.unwrap().unwrap();
    }
    let schedules = app
        .scalar(format!(
            "SELECT COUNT(*) AS n FROM push_schedules WHERE user_id = '{}'",
            ann.id
        ))
        .await;
    assert_eq!(schedules, 1);
}

#[tokio::test]
async fn twenty_concurrent_provisioning_codes_for_one_phone_leave_one_live() {
    let app = spawn_app().await;
    let phone = app.phone("+4930903101").await;
    let admin = Arc::new(app.client());
    admin
        .login(&app.admin_email, crate::helpers::PASSWORD)
        .await
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (admin, start) = (admin.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                admin.create_provisioning_code(phone.id).await
            })
        })
        .collect();
    for attempt in attempts {
        attempt.await.unwrap().unwrap();
    }
    let live = app
        .scalar(format!(
            "SELECT COUNT(*) AS n FROM phone_provisioning_codes \
             WHERE phone_id = '{}' AND used_at IS NULL",
            phone.id
        ))
        .await;
    assert_eq!(live, 1, "a phone has one live provisioning code");
}

#[tokio::test]
async fn twenty_concurrent_nfc_tokens_for_one_phone_leave_one_live() {
    let app = spawn_app().await;
    let (_, phone) = app.provisioned_phone("+4930903102").await;
    let phone = Arc::new(phone);
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (phone, start) = (phone.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                phone.binding_token().await
            })
        })
        .collect();
    for attempt in attempts {
        attempt.await.unwrap().unwrap();
    }
    let live = app
        .scalar("SELECT COUNT(*) AS n FROM binding_tokens WHERE used_at IS NULL".into())
        .await;
    assert_eq!(live, 1, "a phone offers one live binding token");
}
