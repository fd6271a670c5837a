use deskbind_core::wire::{CreatePhone, CreateUser, Role, UpdateUser};
use deskbind_mobile::PageQuery;

use crate::helpers::{PASSWORD, code, spawn_app};

fn new_user(email: &str, role: Role) -> CreateUser {
    CreateUser {
        email: email.into(),
        display_name: "X".into(),
        role,
        password: PASSWORD.into(),
        time_zone: None,
        team_ids: vec![],
    }
}

#[tokio::test]
async fn admins_create_users_with_teams_and_duplicates_conflict() {
    let app = spawn_app().await;
    let team = app.admin.create_team("Field Sales").await.unwrap();
    let mut body = new_user("Ann@Acme.test", Role::Salesperson);
    body.team_ids = vec![team.id];
    body.time_zone = Some("Europe/Berlin".into());
    let ann = app.admin.create_user(&body).await.unwrap();
    assert_eq!(
        (
            ann.email.as_str(),
            ann.team_ids.clone(),
            ann.time_zone.as_str()
        ),
        ("ann@acme.test", vec![team.id], "Europe/Berlin")
    );
    let again = app
        .admin
        .create_user(&new_user("ANN@acme.test", Role::Manager))
        .await
        .unwrap_err();
    assert_eq!(code(&again), (409, "email_taken".into()));
}

#[tokio::test]
async fn invalid_user_input_is_rejected_with_the_field_and_nothing_written() {
    let app = spawn_app().await;
    let team = app.admin.create_team("T").await.unwrap();
    let before = (app.count("users").await, app.count("team_members").await);
    let cases: Vec<(CreateUser, &str, &str)> = vec![
        (
            new_user("not-an-email", Role::Salesperson),
            "invalid_email",
            "email",
        ),
        (
            CreateUser {
                password: "short".into(),
                ..new_user("a@acme.test", Role::Salesperson)
            },
            "weak_password",
            "password",
        ),
        (
            CreateUser {
                display_name: "  ".into(),
                ..new_user("b@acme.test", Role::Salesperson)
            },
            "blank",
            "display_name",
        ),
        (
            CreateUser {
                time_zone: Some("Mars/Olympus".into()),
                ..new_user("c@acme.test", Role::Salesperson)
            },
            "invalid_time_zone",
            "time_zone",
        ),
        (
            CreateUser {
                team_ids: vec![team.id, deskbind_core::ids::TeamId::new()],
                ..new_user("d@acme.test", Role::Salesperson)
            },
            "unknown_team",
            "team_ids",
        ),
    ];
    for (body, expected_code, field) in cases {
        let err = app.admin.create_user(&body).await.unwrap_err();
        assert_eq!(code(&err), (422, expected_code.into()), "{field}");
        assert_eq!(err.field(), Some(field));
    }
    assert_eq!(
        (app.count("users").await, app.count("team_members").await),
        before,
        "a rejected request wrote something"
    );
}

#[tokio::test]
async fn salespeople_and_managers_cannot_manage_users_teams_or_phones() {
    let app = spawn_app().await;
    let phone = app.phone("+4930901821").await;
    for role in [Role::Salesperson, Role::Manager] {
        let (me, client) = app
            .user(&format!("{}@acme.test", role.as_str()), role)
            .await;
        let forbidden = [
            client
                .create_user(&new_user("x@acme.test", Role::Admin))
                .await
                .unwrap_err(),
            client
                .update_user(
                    me.id,
                    &UpdateUser {
                        role: Some(Role::Admin),
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err(),
            client.create_team("Mine").await.unwrap_err(),
            client
                .create_phone(&CreatePhone {
                    number: "+4930901822".into(),
                    region: None,
                    extension: None,
                    label: "x".into(),
                    vendor: None,
                    model: None,
                    driver: None,
                })
                .await
                .unwrap_err(),
            client
                .update_phone(phone.id, &Default::default())
                .await
                .unwrap_err(),
            client.create_provisioning_code(phone.id).await.unwrap_err(),
            client.revoke_phone_credential(phone.id).await.unwrap_err(),
        ];
        for err in forbidden {
            assert_eq!(code(&err), (403, "forbidden".into()), "{role:?}");
        }
        assert_eq!(
            client.me().await.unwrap().role,
            role,
            "the failed self-promotion changed nothing"
        );
        // Reading phones is allowed: salespeople pick one to bind.
        assert_eq!(
            client
                .list_phones(&PageQuery::default())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn visibility_follows_roles_and_teams() {
    let app = spawn_app().await;
    let north = app.admin.create_team("North").await.unwrap();
    let south = app.admin.create_team("South").await.unwrap();
    let (manager, manager_client) = app.user("boss@acme.test", Role::Manager).await;
    let (north_rep, rep_client) = app.user("rep1@acme.test", Role::Salesperson).await;
    let (south_rep, _) = app.user("rep2@acme.test", Role::Salesperson).await;
    app.admin
        .add_team_member(north.id, manager.id)
        .await
        .unwrap();
    app.admin
        .add_team_member(north.id, manager.id)
        .await
        .expect("adding twice is a no-op");
    app.admin
        .add_team_member(north.id, north_rep.id)
        .await
        .unwrap();
    app.admin
        .add_team_member(south.id, south_rep.id)
        .await
        .unwrap();

    let seen: Vec<_> = manager_client
        .list_users(&PageQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        seen,
        vec![manager.id, north_rep.id],
        "a manager sees their teams' members and themselves"
    );
    assert_eq!(
        code(&manager_client.get_user(south_rep.id).await.unwrap_err()),
        (404, "not_found".into())
    );
    assert_eq!(
        code(&manager_client.get_team(south.id).await.unwrap_err()),
        (404, "not_found".into())
    );
    assert_eq!(
        manager_client
            .team_members(north.id, &PageQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let rep_seen = rep_client
        .list_users(&PageQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(
        rep_seen.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![north_rep.id],
        "a salesperson sees only themselves"
    );
    assert_eq!(
        code(&rep_client.get_user(manager.id).await.unwrap_err()),
        (404, "not_found".into())
    );
    assert_eq!(
        code(
            &rep_client
                .team_members(north.id, &PageQuery::default())
                .await
                .unwrap_err()
        ),
        (403, "forbidden".into())
    );
    assert_eq!(
        rep_client
            .list_teams(&PageQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    app.admin
        .remove_team_member(north.id, north_rep.id)
        .await
        .unwrap();
    assert_eq!(
        manager_client
            .list_users(&PageQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    app.admin.delete_team(north.id).await.unwrap();
    assert!(app.admin.me().await.is_ok());
    assert_eq!(
        code(&app.admin.get_team(north.id).await.unwrap_err()),
        (404, "not_found".into())
    );
}

#[tokio::test]
async fn lists_paginate_by_cursor_without_gaps_or_repeats() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.admin.create_team(&format!("Team {i}")).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut query = PageQuery {
        cursor: None,
        limit: Some(3),
    };
    loop {
        let page = app.admin.list_teams(&query).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|t| t.name));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..7).map(|i| format!("Team {i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let me = app.admin.me().await.unwrap();
    // With another admin, so the last-admin rule (admin_races.rs) is not what refuses.
    app.user("second@acme.test", Role::Admin).await;
    let err = app.disable_user(me.id).await.unwrap_err();
    assert_eq!(
        (code(&err), err.field()),
        ((422, "self_lockout".into()), Some("disabled"))
    );
    let err = app
        .admin
        .update_user(
            me.id,
            &UpdateUser {
                role: Some(Role::Manager),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("role"));
    assert_eq!(app.admin.me().await.unwrap().role, Role::Admin);
}
