//! An organisation never loses its last active admin: two admins demoting
//! or disabling each other at once leave one, the last admin cannot demote
//! or disable themselves (409 `last_admin`), and a change by an admin
//! demoted after their request was authenticated is refused inside the
//! transaction. Run on both backends by scripts/test.

use std::sync::Arc;

use deskbind_core::ids::{OrgId, UserId};
use deskbind_core::repo::users::UserChanges;
use deskbind_core::usecases::users::{self, UpdateError};
use deskbind_core::wire::{Role, UpdateUser};
use deskbind_mobile::AppClient;

use crate::helpers::{PASSWORD, TestApp, code, create_admin, spawn_app};

async fn active_admins(app: &TestApp, org: OrgId) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM users WHERE org_id = '{org}' \
         AND role = 'admin' AND disabled_at IS NULL"
    ))
    .await
}

fn demote() -> UpdateUser {
    UpdateUser {
        role: Some(Role::Manager),
        ..Default::default()
    }
}

fn disable() -> UpdateUser {
    UpdateUser {
        disabled: Some(true),
        ..Default::default()
    }
}

/// Both admins send `change` for the other at the same moment; returns
/// which of them (0 or 1) succeeded, asserting that exactly one did.
async fn race(
    clients: &[Arc<AppClient>; 2],
    ids: [UserId; 2],
    change: fn() -> UpdateUser,
) -> usize {
    let start = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = (0..2)
        .map(|me| {
            let (client, start, other) = (clients[me].clone(), start.clone(), ids[1 - me]);
            tokio::spawn(async move {
                start.wait().await;
                client.update_user(other, &change()).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (me, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(_) => winners.push(me),
            // Refused under the lock (no longer an admin, or the last one),
            // or before it once the winner's disable revoked the session.
            Err(e) => assert!(
                matches!(
                    code(&e),
                    (403, c) | (409, c) | (401, c)
                        if c == "forbidden" || c == "last_admin" || c == "invalid_token"
                ),
                "{e:?}"
            ),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of two crossing changes wins");
    winners[0]
}

#[tokio::test]
async fn two_admins_demoting_or_disabling_each_other_at_once_always_leave_one() {
    let app = spawn_app().await;
    let first = app.admin.me().await.unwrap();
    let (second, second_client) = app.user("second@acme.test", Role::Admin).await;
    let first_client = app.client();
    first_client
        .login(&app.admin_email, PASSWORD)
        .await
        .unwrap();
    let clients = [Arc::new(first_client), Arc::new(second_client)];
    let ids = [first.id, second.id];
    let emails = [app.admin_email.clone(), "second@acme.test".to_owned()];

    for round in 0..30 {
        let disabling = round % 3 == 2;
        let winner = race(&clients, ids, if disabling { disable } else { demote }).await;
        assert_eq!(active_admins(&app, first.org_id).await, 1, "round {round}");
        // The winner restores the loser for the next round.
        let loser = 1 - winner;
        clients[winner]
            .update_user(
                ids[loser],
                &UpdateUser {
                    role: Some(Role::Admin),
                    disabled: Some(false),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if disabling {
            clients[loser]
                .login(&emails[loser], PASSWORD)
                .await
                .unwrap();
        }
        assert_eq!(active_admins(&app, first.org_id).await, 2);
    }
}

#[tokio::test]
async fn the_last_active_admin_cannot_demote_or_disable_themselves() {
    let app = spawn_app().await;
    let me = app.admin.me().await.unwrap();
    for change in [demote(), disable()] {
        let err = app.admin.update_user(me.id, &change).await.unwrap_err();
        assert_eq!(code(&err), (409, "last_admin".into()));
    }
    // A disabled admin does not count: with the other admin disabled, the
    // caller is still the last active one.
    let (other, _) = app.user("other@acme.test", Role::Admin).await;
    app.disable_user(other.id).await.unwrap();
    let err = app.admin.update_user(me.id, &demote()).await.unwrap_err();
    assert_eq!(code(&err), (409, "last_admin".into()));
    let me_now = app.admin.me().await.unwrap();
    assert_eq!((me_now.role, me_now.disabled), (Role::Admin, false));
    assert_eq!(active_admins(&app, me.org_id).await, 1);
}

#[tokio::test]
async fn an_admin_demoted_after_authenticating_changes_nothing() {
    let app = spawn_app().await;
    let org = app.admin.me().await.unwrap().org_id;
    let (second, _) = app.user("second@acme.test", Role::Admin).await;
    let (rep, _) = app.user("rep@acme.test", Role::Salesperson).await;
    // The second admin's request passed authentication as an admin; the
    // first admin demotes them before its transaction runs.
    app.admin.update_user(second.id, &demote()).await.unwrap();
    let attempts: [(UserChanges, &str); 3] = [
        (
            UserChanges {
                role: Some(Role::Admin.as_str().into()),
                ..Default::default()
            },
            "promote",
        ),
        (
            UserChanges {
                disabled_at: Some(Some(1)),
                ..Default::default()
            },
            "disable",
        ),
        (
            UserChanges {
                display_name: Some("Renamed".into()),
                ..Default::default()
            },
            "rename",
        ),
    ];
    for (changes, what) in attempts {
        let outcome = app
            .db
            .run(move |conn| {
                Ok::<_, deskbind_core::db::DbError>(users::update_in(
                    conn, org, rep.id, changes, second.id,
                ))
            })
            .await
            .unwrap();
        assert!(
            matches!(outcome, Err(UpdateError::ActorNotAdmin)),
            "{what}: {outcome:?}"
        );
    }
    let rep_now = app.admin.get_user(rep.id).await.unwrap();
    assert_eq!(
        (
            rep_now.role,
            rep_now.disabled,
            rep_now.display_name.as_str()
        ),
        (Role::Salesperson, false, "rep")
    );
    // Creating users re-checks the caller the same way.
    let outcome = app
        .db
        .run(move |conn| {
            Ok::<_, deskbind_core::db::DbError>(deskbind_core::db::write_tx(conn, |conn| {
                users::lock_org_as_admin(conn, org, second.id)
            }))
        })
        .await
        .unwrap();
    assert!(matches!(outcome, Err(UpdateError::ActorNotAdmin)));
}

#[tokio::test]
async fn init_admin_still_recovers_an_organisation_without_an_active_admin() {
    let app = spawn_app().await;
    let me = app.admin.me().await.unwrap();
    // Only the database itself can take the last admin away now.
    app.execute(format!(
        "UPDATE users SET disabled_at = 1 WHERE id = '{}'",
        me.id
    ))
    .await;
    assert_eq!(active_admins(&app, me.org_id).await, 0);
    create_admin(&app.db, "Acme", "rescue@acme.test").await;
    let rescue = app.client();
    rescue.login("rescue@acme.test", PASSWORD).await.unwrap();
    assert_eq!(rescue.me().await.unwrap().org_id, me.org_id);
    rescue
        .update_user(
            me.id,
            &UpdateUser {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(active_admins(&app, me.org_id).await, 2);
}
