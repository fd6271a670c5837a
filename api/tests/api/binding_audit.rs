//! The binding audit log lists every change in order, with who made it, by
//! which path, and whose binding a takeover ended; admins filter it.

use deskbind_core::wire::{
    ActorKind, BindingAction, BindingEndReason, BindingVia, PhoneGrants, Role, TakeoverRule,
};
use deskbind_mobile::{BindingEventQuery, PageQuery};

use crate::helpers::{code, policy, spawn_app};

#[tokio::test]
async fn audit_log_lists_every_change_in_order() {
    let app = spawn_app().await;
    let (phone, device) = app.provisioned_phone("+4930902001").await;
    let team = app.admin.create_team("Sales").await.unwrap();
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (max, max_app) = app.user("max@acme.test", Role::Manager).await;
    let (bob, _) = app.user("bob@acme.test", Role::Salesperson).await;
    app.admin.add_team_member(team.id, ann.id).await.unwrap();
    app.admin.add_team_member(team.id, max.id).await.unwrap();
    app.open_to_everyone(phone.id).await;
    app.set_policy(policy(TakeoverRule::Managers, None, 1))
        .await;

    // 1-2: Ann binds by app; 3-4: Max takes over; 5: Max unbinds;
    // 6: the phone binds Bob; 7: the admin disables the phone.
    let ann_binding = ann_app.bind_phone(phone.id, false).await.unwrap();
    let max_binding = max_app.bind_phone(phone.id, true).await.unwrap();
    max_app.unbind(max_binding.id).await.unwrap();
    let bob_binding = device.bind_user("bob@acme.test", false).await.unwrap();
    app.disable_phone(phone.id).await.unwrap();
    let (admin_id, phone_actor) = (
        app.admin.me().await.unwrap().id.to_string(),
        phone.id.to_string(),
    );

    let log = app
        .admin
        .list_binding_events(&Default::default())
        .await
        .unwrap()
        .items;
    let summary: Vec<_> = log
        .iter()
        .map(|e| {
            (
                e.binding_id,
                e.user_id,
                e.action,
                e.via,
                e.reason,
                e.actor.kind,
                e.actor.id.clone(),
                e.previous_user_id,
            )
        })
        .collect();
    let ann_id = Some(ann.id.to_string());
    let max_id = Some(max.id.to_string());
    use BindingAction::{Bound, Ended};
    assert_eq!(
        summary,
        vec![
            (
                ann_binding.id,
                ann.id,
                Bound,
                Some(BindingVia::App),
                None,
                ActorKind::User,
                ann_id,
                None
            ),
            (
                ann_binding.id,
                ann.id,
                Ended,
                None,
                Some(BindingEndReason::TakenOver),
                ActorKind::User,
                max_id.clone(),
                None
            ),
            (
                max_binding.id,
                max.id,
                Bound,
                Some(BindingVia::App),
                None,
                ActorKind::User,
                max_id.clone(),
                Some(ann.id)
            ),
            (
                max_binding.id,
                max.id,
                Ended,
                None,
                Some(BindingEndReason::Unbound),
                ActorKind::User,
                max_id,
                None
            ),
            (
                bob_binding.id,
                bob.id,
                Bound,
                Some(BindingVia::Phone),
                None,
                ActorKind::Phone,
                Some(phone_actor),
                None
            ),
            (
                bob_binding.id,
                bob.id,
                Ended,
                None,
                Some(BindingEndReason::PhoneDisabled),
                ActorKind::User,
                Some(admin_id),
                None
            ),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));

    // Filters: by user (as holder or as the displaced holder), action, binding.
    let for_ann = app
        .admin
        .list_binding_events(&BindingEventQuery {
            user_id: Some(ann.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(for_ann.items.len(), 3);
    let ends = app
        .admin
        .list_binding_events(&BindingEventQuery {
            action: Some(BindingAction::Ended),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ends.items.len(), 3);
    let one = app
        .admin
        .list_binding_events(&BindingEventQuery {
            binding_id: Some(bob_binding.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.items.len(), 2);
    let future = app
        .admin
        .list_binding_events(&BindingEventQuery {
            from: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(future.items.is_empty());

    // Pages of two walk the whole log in the same order.
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .admin
            .list_binding_events(&BindingEventQuery {
                page: PageQuery {
                    cursor: cursor.clone(),
                    limit: Some(2),
                },
                ..Default::default()
            })
            .await
            .unwrap();
        walked.extend(page.items.into_iter().map(|e| e.seq));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(walked, log.iter().map(|e| e.seq).collect::<Vec<_>>());

    // Only admins read it; another organisation sees none of it.
    let err = max_app
        .list_binding_events(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "forbidden".into()));
    let foreign = app.other_org_admin().await;
    assert!(
        foreign
            .list_binding_events(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn policy_and_grants_are_admin_managed_and_validated() {
    let app = spawn_app().await;
    let phone = app.phone("+4930902002").await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let team = app.admin.create_team("Sales").await.unwrap();

    let defaults = ann_app.binding_policy().await.unwrap();
    assert_eq!(
        (
            defaults.takeover,
            defaults.max_phones_per_user,
            defaults.workday_end.as_str(),
            defaults.updated_at
        ),
        (TakeoverRule::Managers, 1, "18:00", None)
    );
    let err = ann_app
        .set_binding_policy(&policy(TakeoverRule::Anyone, None, 3))
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "forbidden".into()));
    let mut bad = policy(TakeoverRule::Anyone, Some(0), 3);
    let err = app.admin.set_binding_policy(&bad).await.unwrap_err();
    assert_eq!(
        (code(&err), err.field()),
        (
            (422, "invalid_duration_hours".into()),
            Some("duration_hours")
        )
    );
    bad.duration_hours = Some(4);
    bad.workday_end = Some("7pm".into());
    let err = app.admin.set_binding_policy(&bad).await.unwrap_err();
    assert_eq!(code(&err), (422, "invalid_workday_end".into()));
    assert_eq!(app.count("binding_policies").await, 0);
    bad.workday_end = Some("19:30".into());
    let saved = app.admin.set_binding_policy(&bad).await.unwrap();
    assert_eq!(
        (saved.duration_hours, saved.workday_end.as_str()),
        (Some(4), "19:30")
    );
    assert!(saved.updated_at.is_some());
    assert_eq!(ann_app.binding_policy().await.unwrap(), saved);
    // Replacing it whole clears what the new one leaves out.
    let plain = app
        .admin
        .set_binding_policy(&policy(TakeoverRule::Nobody, None, 1))
        .await
        .unwrap();
    assert_eq!(
        (plain.duration_hours, plain.workday_end.as_str()),
        (None, "18:00")
    );
    assert_eq!(ann_app.binding_policy().await.unwrap(), plain);

    // Grants: admins only; every grantee must be in the organisation.
    let err = ann_app.phone_grants(phone.id).await.unwrap_err();
    assert_eq!(code(&err), (403, "forbidden".into()));
    let grants = PhoneGrants {
        everyone: false,
        user_ids: vec![ann.id, ann.id],
        team_ids: vec![team.id],
    };
    let saved = app.admin.set_phone_grants(phone.id, &grants).await.unwrap();
    assert_eq!(
        (saved.user_ids, saved.team_ids),
        (vec![ann.id], vec![team.id])
    );
    // A real user of another organisation is as unknown as a made-up id.
    let foreign = app.other_org_admin().await;
    let stranger = foreign.me().await.unwrap().id;
    let err = app
        .admin
        .set_phone_grants(
            phone.id,
            &PhoneGrants {
                everyone: true,
                user_ids: vec![ann.id, stranger],
                team_ids: vec![],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err), err.field()),
        ((422, "unknown_grantee".into()), Some("user_ids[1]"))
    );
    let unchanged = app.admin.phone_grants(phone.id).await.unwrap();
    assert!(!unchanged.everyone && unchanged.user_ids == vec![ann.id]);
}
