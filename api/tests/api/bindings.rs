//! Binding by the app's request and by the phone's request, under the
//! organisation's policy: permitted → bound; refused → 403 with the rule's
//! code and nothing written. Takeover, expiry, unbinding, and the end of
//! bindings when a phone or user is disabled.

use deskbind_core::wire::{BindingEndReason, BindingVia, PhoneGrants, Role, TakeoverRule};
use deskbind_mobile::{BindingQuery, PageQuery};

use crate::helpers::{TestApp, code, foreign_phone, policy, spawn_app};

/// Rows in the binding tables: (bindings, audit events).
async fn written(app: &TestApp) -> (i64, i64) {
    (
        app.count("bindings").await,
        app.count("binding_events").await,
    )
}

#[tokio::test]
async fn app_binds_a_granted_phone_and_the_phone_shows_its_holder() {
    let app = spawn_app().await;
    let phone = app.phone("+4930901001").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    app.grant(phone.id, &[ann.id]).await;

    let binding = ann_app.bind_phone(phone.id, false).await.unwrap();
    assert_eq!(
        (
            binding.phone_id,
            binding.user_id,
            binding.via,
            binding.active
        ),
        (phone.id, ann.id, BindingVia::App, true)
    );
    assert_eq!(binding.expires_at, None, "default policy: until unbound");

    let holder = app.admin.get_phone(phone.id).await.unwrap().holder.unwrap();
    assert_eq!(
        (
            holder.binding_id,
            holder.user_id,
            holder.display_name.as_str()
        ),
        (binding.id, ann.id, "ann")
    );
    let listed = app.admin.list_phones(&PageQuery::default()).await.unwrap();
    assert_eq!(
        listed.items[0].holder.as_ref().map(|h| h.user_id),
        Some(ann.id)
    );

    // Asking again changes nothing and returns the same binding.
    let again = ann_app.bind_phone(phone.id, false).await.unwrap();
    assert_eq!(again.id, binding.id);
    assert_eq!(written(&app).await, (1, 1));

    let mine = ann_app
        .list_bindings(&BindingQuery::default())
        .await
        .unwrap();
    assert_eq!(mine.items, vec![binding.clone()]);
    assert_eq!(ann_app.get_binding(binding.id).await.unwrap(), binding);
}

#[tokio::test]
async fn app_refusals_say_why_and_write_nothing() {
    let app = spawn_app().await;
    let phone = app.phone("+4930901002").await;
    let other_phone = app.phone("+4930901003").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (bob, bob_app) = app.user("bob@acme.test", Role::Salesperson).await;

    // No grant.
    let err = ann_app.bind_phone(phone.id, false).await.unwrap_err();
    assert_eq!(code(&err), (403, "not_granted".into()));
    assert!(err.to_string().contains("grant"), "{err}");
    assert_eq!(written(&app).await, (0, 0));

    // Held by someone else, with and without asking for a takeover.
    app.grant(phone.id, &[ann.id, bob.id]).await;
    app.open_to_everyone(other_phone.id).await;
    bob_app.bind_phone(phone.id, false).await.unwrap();
    let before = written(&app).await;
    let err = ann_app.bind_phone(phone.id, false).await.unwrap_err();
    assert_eq!(code(&err), (403, "phone_bound_to_other".into()));
    let err = ann_app.bind_phone(phone.id, true).await.unwrap_err();
    assert_eq!(code(&err), (403, "takeover_not_permitted".into()));

    // One phone per user by default.
    let err = bob_app.bind_phone(other_phone.id, false).await.unwrap_err();
    assert_eq!(code(&err), (403, "limit_reached".into()));

    // A disabled phone.
    app.disable_phone(other_phone.id).await.unwrap();
    let err = ann_app.bind_phone(other_phone.id, false).await.unwrap_err();
    assert_eq!(code(&err), (403, "phone_disabled".into()));
    assert_eq!(written(&app).await, before);

    // Unknown and foreign phones do not exist; a body must name exactly one thing.
    let err = ann_app
        .bind_phone(deskbind_core::ids::PhoneId::new(), false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let foreign = app.other_org_admin().await;
    let foreign_phone = foreign_phone(&foreign, "+4930901099").await;
    let err = app
        .admin
        .bind_phone(foreign_phone.id, false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    for body in [
        Default::default(),
        deskbind_core::wire::CreateBinding {
            phone_id: Some(phone.id),
            code: Some("123456789".into()),
            ..Default::default()
        },
    ] {
        let err = ann_app.create_binding(&body).await.unwrap_err();
        assert_eq!(code(&err), (422, "one_of_required".into()));
    }
    assert_eq!(written(&app).await, before);
}

#[tokio::test]
async fn phone_asks_to_bind_a_user_by_email_or_id() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930901004").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (bob, _) = app.user("bob@acme.test", Role::Salesperson).await;

    let err = device.bind_user("ann@acme.test", false).await.unwrap_err();
    assert_eq!(code(&err), (403, "not_granted".into()));
    assert_eq!(written(&app).await, (0, 0));

    app.grant(phone.id, &[ann.id, bob.id]).await;
    let binding = device.bind_user(" ANN@acme.test ", false).await.unwrap();
    assert_eq!(
        (binding.user_id, binding.via, binding.active),
        (ann.id, BindingVia::Phone, true)
    );
    // The user learns of it from the binding list.
    let mine = ann_app
        .list_bindings(&BindingQuery::default())
        .await
        .unwrap();
    assert_eq!(
        mine.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![binding.id]
    );
    assert_eq!(
        device.me().await.unwrap().holder.map(|h| h.user_id),
        Some(ann.id)
    );

    // By id. A phone takes over only where anyone may: the default policy
    // lets managers and admins take over, but naming one at the phone is no
    // proof that they are standing there.
    let err = device
        .bind_user(&bob.id.to_string(), true)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "takeover_not_permitted".into()));
    let err = device.bind_user(&app.admin_email, true).await.unwrap_err();
    assert_eq!(code(&err), (403, "takeover_not_permitted".into()));
    app.set_policy(policy(TakeoverRule::Anyone, None, 1)).await;
    let taken = device.bind_user(&bob.id.to_string(), true).await.unwrap();
    assert_eq!(taken.user_id, bob.id);
    let ended = ann_app.get_binding(binding.id).await.unwrap();
    assert_eq!(
        (ended.active, ended.end_reason),
        (false, Some(BindingEndReason::TakenOver))
    );

    // Unknown users, other organisations' users and garbage.
    let err = device
        .bind_user("nobody@acme.test", false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let foreign_admin = app.other_org_admin().await;
    let err = device
        .bind_user("admin@globex.test", false)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let foreign_id = foreign_admin.me().await.unwrap().id.to_string();
    let err = device.bind_user(&foreign_id, false).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let err = device.bind_user("not an address", false).await.unwrap_err();
    assert_eq!(code(&err), (422, "invalid_email".into()));

    // A user token never works on the phone route.
    let (token, _) = ann_app.tokens().await.unwrap();
    let status = reqwest::Client::new()
        .post(app.url("/v1/phone/bindings"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "user": "ann@acme.test" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn takeover_follows_the_policy() {
    let app = spawn_app().await;
    let phone = app.phone("+4930901005").await;
    let team = app.admin.create_team("Sales").await.unwrap();
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let (tia, tia_app) = app.user("tia@acme.test", Role::Salesperson).await;
    let (max, max_app) = app.user("max@acme.test", Role::Manager).await;
    for user in [sam.id, tia.id, max.id] {
        app.admin.add_team_member(team.id, user).await.unwrap();
    }
    // Granted through the team.
    app.admin
        .set_phone_grants(
            phone.id,
            &PhoneGrants {
                team_ids: vec![team.id],
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let first = sam_app.bind_phone(phone.id, false).await.unwrap();
    // Default: managers (and admins) may take over, salespeople may not.
    let err = tia_app.bind_phone(phone.id, true).await.unwrap_err();
    assert_eq!(code(&err), (403, "takeover_not_permitted".into()));
    let managers = max_app.bind_phone(phone.id, true).await.unwrap();
    assert_eq!(managers.user_id, max.id);
    assert_eq!(
        sam_app.get_binding(first.id).await.unwrap().end_reason,
        Some(BindingEndReason::TakenOver)
    );

    // Anyone allowed to bind may take over.
    app.set_policy(policy(TakeoverRule::Anyone, None, 1)).await;
    let tias = tia_app.bind_phone(phone.id, true).await.unwrap();
    assert_eq!(tias.user_id, tia.id);

    // Nobody: not even an admin, who otherwise needs no grant.
    app.set_policy(policy(TakeoverRule::Nobody, None, 1)).await;
    let err = app.admin.bind_phone(phone.id, true).await.unwrap_err();
    assert_eq!(code(&err), (403, "takeover_not_permitted".into()));
    app.set_policy(policy(TakeoverRule::Admins, None, 1)).await;
    let err = max_app.bind_phone(phone.id, true).await.unwrap_err();
    assert_eq!(code(&err), (403, "takeover_not_permitted".into()));
    let admins = app.admin.bind_phone(phone.id, true).await.unwrap();
    assert!(admins.active);

    // Exactly one active binding on the phone through it all.
    let active = app
        .admin
        .list_bindings(&BindingQuery {
            phone_id: Some(phone.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        active.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![admins.id]
    );
    let all = app
        .admin
        .list_bindings(&BindingQuery {
            phone_id: Some(phone.id),
            include_ended: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 4);
}

#[tokio::test]
async fn holder_their_manager_and_admins_may_unbind_no_one_else() {
    let app = spawn_app().await;
    let phones = [
        app.phone("+4930901006").await,
        app.phone("+4930901007").await,
    ];
    let sales = app.admin.create_team("Sales").await.unwrap();
    let support = app.admin.create_team("Support").await.unwrap();
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (_, bob_app) = app.user("bob@acme.test", Role::Salesperson).await;
    let (mia, mia_app) = app.user("mia@acme.test", Role::Manager).await;
    let (ola, ola_app) = app.user("ola@acme.test", Role::Manager).await;
    app.admin.add_team_member(sales.id, ann.id).await.unwrap();
    app.admin.add_team_member(sales.id, mia.id).await.unwrap();
    app.admin.add_team_member(support.id, ola.id).await.unwrap();
    for phone in &phones {
        app.grant(phone.id, &[ann.id]).await;
    }
    app.set_policy(policy(TakeoverRule::Managers, None, 2))
        .await;

    let first = ann_app.bind_phone(phones[0].id, false).await.unwrap();
    let second = ann_app.bind_phone(phones[1].id, false).await.unwrap();

    // Another salesperson and a manager of another team cannot even see it.
    for outsider in [&bob_app, &ola_app] {
        let err = outsider.unbind(first.id).await.unwrap_err();
        assert_eq!(code(&err), (404, "not_found".into()));
    }
    // Ann's manager sees and ends it.
    let seen = mia_app
        .list_bindings(&BindingQuery::default())
        .await
        .unwrap();
    assert_eq!(seen.items.len(), 2);
    let ended = mia_app.unbind(first.id).await.unwrap();
    assert_eq!(
        (ended.active, ended.end_reason),
        (false, Some(BindingEndReason::Unbound))
    );
    let err = ann_app.unbind(first.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "binding_already_ended".into()));
    // The holder ends her own.
    assert!(!ann_app.unbind(second.id).await.unwrap().active);
    assert!(
        app.admin
            .get_phone(phones[1].id)
            .await
            .unwrap()
            .holder
            .is_none()
    );
    // An admin ends anyone's.
    let third = ann_app.bind_phone(phones[1].id, false).await.unwrap();
    assert!(!app.admin.unbind(third.id).await.unwrap().active);
    assert_eq!(
        ann_app
            .list_bindings(&BindingQuery::default())
            .await
            .unwrap()
            .items,
        vec![]
    );
}

#[tokio::test]
async fn expired_bindings_end_for_every_reader_and_the_sweep_logs_them() {
    let app = spawn_app().await;
    let phone = app.phone("+4930901008").await;
    let other = app.phone("+4930901009").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (bob, bob_app) = app.user("bob@acme.test", Role::Salesperson).await;
    app.grant(phone.id, &[ann.id, bob.id]).await;
    app.grant(other.id, &[ann.id]).await;
    app.set_policy(policy(TakeoverRule::Nobody, Some(8), 1))
        .await;

    let binding = ann_app.bind_phone(phone.id, false).await.unwrap();
    let expires_at = binding.expires_at.unwrap();
    let hours = (expires_at - binding.started_at).num_seconds();
    assert_eq!(hours, 8 * 3600);

    // Eight hours pass.
    app.execute("UPDATE bindings SET started_at = started_at - 28800000001, expires_at = expires_at - 28800000001".into())
        .await;
    let read = ann_app.get_binding(binding.id).await.unwrap();
    assert_eq!(
        (read.active, read.end_reason),
        (false, Some(BindingEndReason::Expired))
    );
    assert!(
        app.admin
            .get_phone(phone.id)
            .await
            .unwrap()
            .holder
            .is_none()
    );
    assert!(
        ann_app
            .list_bindings(&BindingQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let err = ann_app.unbind(binding.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "binding_already_ended".into()));

    // Even under "nobody may take over", the phone is free again; and the
    // expired binding no longer counts against Ann's limit.
    let bobs = bob_app.bind_phone(phone.id, false).await.unwrap();
    assert!(bobs.active);
    ann_app.bind_phone(other.id, false).await.unwrap();
    app.execute("UPDATE bindings SET expires_at = 1 WHERE ended_at IS NULL".into())
        .await;
    assert_eq!(
        deskbind_worker::run_binding_expiry_once(&app.db, &deskbind_core::relay::Relay::local())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        deskbind_worker::run_binding_expiry_once(&app.db, &deskbind_core::relay::Relay::local())
            .await
            .unwrap(),
        0
    );

    let log = app
        .admin
        .list_binding_events(&Default::default())
        .await
        .unwrap()
        .items;
    let expired: Vec<_> = log
        .iter()
        .filter(|e| e.reason == Some(BindingEndReason::Expired))
        .collect();
    assert_eq!(expired.len(), 3, "{log:#?}");
    assert!(
        expired
            .iter()
            .all(|e| e.actor.kind == deskbind_core::wire::ActorKind::System)
    );
}

#[tokio::test]
async fn disabling_the_phone_or_user_or_revoking_the_credential_ends_the_binding() {
    let app = spawn_app().await;
    let (p1, _) = app.provisioned_phone("+4930901010").await;
    let (p2, _) = app.provisioned_phone("+4930901011").await;
    let (p3, device3) = app.provisioned_phone("+4930901012").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (bob, bob_app) = app.user("bob@acme.test", Role::Salesperson).await;
    let (cai, cai_app) = app.user("cai@acme.test", Role::Salesperson).await;
    app.grant(p1.id, &[ann.id]).await;
    app.grant(p2.id, &[bob.id]).await;
    app.grant(p3.id, &[cai.id]).await;

    let a = ann_app.bind_phone(p1.id, false).await.unwrap();
    let b = bob_app.bind_phone(p2.id, false).await.unwrap();
    let c = cai_app.bind_phone(p3.id, false).await.unwrap();

    app.disable_phone(p1.id).await.unwrap();
    app.disable_user(bob.id).await.unwrap();
    app.admin.revoke_phone_credential(p3.id).await.unwrap();

    for (binding, reason) in [
        (a.id, BindingEndReason::PhoneDisabled),
        (b.id, BindingEndReason::UserDisabled),
        (c.id, BindingEndReason::CredentialRevoked),
    ] {
        let read = app.admin.get_binding(binding).await.unwrap();
        assert_eq!((read.active, read.end_reason), (false, Some(reason)));
    }
    assert!(
        device3.me().await.is_err(),
        "the revoked credential is dead"
    );
    // A disabled user cannot be bound by a phone either.
    let (p4, device4) = app.provisioned_phone("+4930901013").await;
    app.grant(p4.id, &[bob.id]).await;
    let err = device4.bind_user("bob@acme.test", false).await.unwrap_err();
    assert_eq!(code(&err), (403, "user_disabled".into()));
}

#[tokio::test]
async fn an_admin_binds_another_user_by_id_under_that_users_grants() {
    use deskbind_core::wire::{ActorKind, BindingAction, CreateBinding};
    let app = spawn_app().await;
    let (phone, _) = app.provisioned_phone("+4930901201").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (_, manager) = app.user("mel@acme.test", Role::Manager).await;
    let for_ann = CreateBinding {
        phone_id: Some(phone.id),
        user_id: Some(ann.id),
        ..Default::default()
    };
    // Only admins bind someone else; the grant rule is Ann's.
    for other in [&ann_app, &manager] {
        let err = other
            .create_binding(&CreateBinding {
                user_id: Some(deskbind_core::ids::UserId::new()),
                ..for_ann.clone()
            })
            .await
            .unwrap_err();
        assert_eq!(code(&err), (403, "forbidden".into()));
    }
    let err = manager.create_binding(&for_ann).await.unwrap_err();
    assert_eq!(code(&err), (403, "forbidden".into()));
    let err = app.admin.create_binding(&for_ann).await.unwrap_err();
    assert_eq!(code(&err), (403, "not_granted".into()));
    assert_eq!(written(&app).await, (0, 0));
    // Not with a token or code, and not for someone of another organisation.
    let err = app
        .admin
        .create_binding(&CreateBinding {
            phone_id: None,
            code: Some("123456789".into()),
            ..for_ann.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "invalid_field".into()));
    let err = app
        .admin
        .create_binding(&CreateBinding {
            user_id: Some(deskbind_core::ids::UserId::new()),
            ..for_ann.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err), (422, "invalid_field".into()));
    assert_eq!(written(&app).await, (0, 0));

    app.grant(phone.id, &[ann.id]).await;
    let binding = app.admin.create_binding(&for_ann).await.unwrap();
    assert_eq!((binding.user_id, binding.via), (ann.id, BindingVia::App));
    assert_eq!(
        app.admin
            .get_phone(phone.id)
            .await
            .unwrap()
            .holder
            .unwrap()
            .user_id,
        ann.id
    );
    // Ann sees it as hers; the audit log names the admin who made it.
    let hers = ann_app
        .list_bindings(&BindingQuery::default())
        .await
        .unwrap();
    assert_eq!(hers.items.len(), 1);
    let events = app
        .admin
        .list_binding_events(&deskbind_mobile::BindingEventQuery {
            binding_id: Some(binding.id),
            ..Default::default()
        })
        .await
        .unwrap();
    let bound = &events.items[0];
    assert_eq!(bound.action, BindingAction::Bound);
    assert_eq!(bound.actor.kind, ActorKind::User);
    let me = app.admin.me().await.unwrap();
    assert_eq!(bound.actor.id, Some(me.id.to_string()));
    // Binding again answers the existing binding.
    let again = app.admin.create_binding(&for_ann).await.unwrap();
    assert_eq!(again.id, binding.id);
}
