//! The organisation's audit log (`GET /v1/audit-events`): every dial and
//! each of its state changes with who made it, grants and policies, the
//! binding changes (also those made before the log existed); managers read
//! their teams' entries, salespeople none, other organisations nothing.

use std::collections::BTreeSet;

use deskbind_core::db;
use deskbind_core::ids::UserId;
use deskbind_core::wire::{
    ActorKind, AppEvent, AuditAction, AuditEvent, CallState, DialState, PushScheduleRule,
    PutDialPolicy, Role, TakeoverRule,
};
use deskbind_mobile::{AppClient, AuditQuery, PageQuery};

use crate::dialing::{fast_reconnect, next_dial, within};
use crate::helpers::{code, policy, spawn_app};

/// Reads the stream until a dial reaches `state`.
async fn dial_states_until(events: &mut deskbind_mobile::AppEvents<'_>, state: DialState) {
    loop {
        if let AppEvent::Dial { dial } = within(events.next()).await.unwrap().event
            && dial.state == state
        {
            return;
        }
    }
}

async fn entries(client: &AppClient, query: AuditQuery) -> Vec<AuditEvent> {
    let mut out = Vec::new();
    let mut query = query;
    loop {
        let page = client.list_audit_events(&query).await.expect("audit page");
        out.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.page.cursor = Some(cursor),
            None => return out,
        }
    }
}

fn detail<'a>(entry: &'a AuditEvent, key: &str) -> Option<&'a str> {
    entry.details.get(key).and_then(|v| v.as_str())
}

#[tokio::test]
async fn each_dial_change_is_logged_with_who_made_it() {
    let app = spawn_app().await;
    let (sam, client, phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930901827").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let dial = client.dial("+16502530004", None, None).await.unwrap();
    let (command, _) = next_dial(&mut link).await;
    link.ack(command);
    link.report("c", Some(command), CallState::Ringing, None);
    let mut events = client.events(Some(0)).await.unwrap();
    dial_states_until(&mut events, DialState::Ringing).await;
    client.cancel_dial(dial.id).await.unwrap();
    // A repeated cancel changes nothing and logs nothing.
    client.cancel_dial(dial.id).await.unwrap();

    let log = entries(
        &app.admin,
        AuditQuery {
            subject_id: Some(dial.id.to_string()),
            ..AuditQuery::default()
        },
    )
    .await;
    let sam_actor = Some(sam.id.to_string());
    let phone_actor = Some(phone.id.to_string());
    let summary: Vec<_> = log
        .iter()
        .map(|e| {
            (
                e.action,
                e.actor.kind,
                e.actor.id.clone(),
                detail(e, "from"),
                detail(e, "to"),
            )
        })
        .collect();
    use AuditAction::{DialCancelled, DialCreated, DialStateChanged};
    assert_eq!(
        summary,
        vec![
            (DialCreated, ActorKind::User, sam_actor.clone(), None, None),
            (
                DialStateChanged,
                ActorKind::Phone,
                phone_actor.clone(),
                Some("queued"),
                Some("delivered")
            ),
            (
                DialStateChanged,
                ActorKind::Phone,
                phone_actor,
                Some("delivered"),
                Some("ringing")
            ),
            (
                DialCancelled,
                ActorKind::User,
                sam_actor,
                Some("ringing"),
                Some("cancelled")
            ),
        ]
    );
    let created = &log[0];
    assert_eq!(created.subject.kind, "dial");
    assert_eq!(created.user_id, Some(sam.id));
    assert_eq!(detail(created, "number"), Some("+16502530004"));
    assert_eq!(
        detail(created, "phone_id"),
        Some(phone.id.to_string().as_str())
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    link.close().await;
}

#[tokio::test]
async fn grants_and_policies_are_logged_for_admins_only() {
    let app = spawn_app().await;
    let admin_id = app.admin.me().await.unwrap().id;
    let (max, max_app) = app.user("max@acme.test", Role::Manager).await;
    let (ann, _) = app.user("ann@acme.test", Role::Salesperson).await;
    let team = app.admin.create_team("Sales").await.unwrap();
    app.admin.add_team_member(team.id, max.id).await.unwrap();
    app.admin.add_team_member(team.id, ann.id).await.unwrap();
    let phone = app.phone("+4930901828").await;
    app.grant(phone.id, &[ann.id]).await;
    app.admin
        .set_dial_policy(&PutDialPolicy {
            blocked_prefixes: vec!["+1900".into(), "+44871".into()],
            do_not_call: vec!["+4930123456".into()],
        })
        .await
        .unwrap();
    app.set_policy(policy(TakeoverRule::Managers, Some(8), 2))
        .await;
    app.admin
        .set_default_push_schedule(&PushScheduleRule {
            daily_at: Some("08:00".into()),
            every_minutes: None,
            on_missed_call: true,
            on_new_records: false,
        })
        .await
        .unwrap();

    let log = entries(&app.admin, AuditQuery::default()).await;
    let admin_actor = Some(admin_id.to_string());
    let by_admin: Vec<_> = log
        .iter()
        .map(|e| (e.action, e.subject.kind.as_str(), e.actor.id.clone()))
        .collect();
    assert_eq!(
        by_admin,
        vec![
            (AuditAction::GrantsReplaced, "phone", admin_actor.clone()),
            (
                AuditAction::DialPolicyReplaced,
                "organisation",
                admin_actor.clone()
            ),
            (
                AuditAction::BindingPolicyReplaced,
                "organisation",
                admin_actor.clone()
            ),
            (
                AuditAction::PushDefaultReplaced,
                "organisation",
                admin_actor
            ),
        ]
    );
    let grants = &log[0];
    assert_eq!(grants.subject.id, phone.id.to_string());
    assert_eq!(
        grants.details.get("user_ids"),
        Some(&serde_json::json!([ann.id.to_string()]))
    );
    assert_eq!(
        grants.details.get("everyone"),
        Some(&serde_json::json!(false))
    );
    assert_eq!(
        log[1].details.get("blocked_prefixes"),
        Some(&serde_json::json!(2))
    );
    assert_eq!(
        log[1].details.get("do_not_call"),
        Some(&serde_json::json!(1))
    );
    assert_eq!(detail(&log[2], "takeover"), Some("managers"));
    assert_eq!(
        log[2].details.get("duration_hours"),
        Some(&serde_json::json!(8))
    );

    // The action filter, and entries about the organisation are the
    // admins' alone: a manager sees none of them.
    let policies = entries(
        &app.admin,
        AuditQuery {
            action: Some(AuditAction::DialPolicyReplaced),
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(policies.len(), 1);
    assert!(entries(&max_app, AuditQuery::default()).await.is_empty());
}

#[tokio::test]
async fn managers_read_their_teams_entries_salespeople_none_other_organisations_nothing() {
    let app = spawn_app().await;
    let team = app.admin.create_team("Sales").await.unwrap();
    let (max, max_app) = app.user("max@acme.test", Role::Manager).await;
    app.admin.add_team_member(team.id, max.id).await.unwrap();
    let (ann, ann_app, _, ann_phone) = app.bound_salesperson("ann@acme.test", "+4930901829").await;
    app.admin.add_team_member(team.id, ann.id).await.unwrap();
    let (bob, bob_app, _, bob_phone) = app.bound_salesperson("bob@acme.test", "+4930901830").await;
    let mut ann_link = ann_phone.connect(fast_reconnect()).unwrap();
    let mut bob_link = bob_phone.connect(fast_reconnect()).unwrap();
    ann_app.dial("+16502530010", None, None).await.unwrap();
    bob_app.dial("+16502530011", None, None).await.unwrap();
    let (ann_command, _) = next_dial(&mut ann_link).await;
    let (bob_command, _) = next_dial(&mut bob_link).await;
    ann_link.ack(ann_command);
    bob_link.ack(bob_command);

    // Both acks landed once each user's stream shows the dial delivered.
    for client in [&ann_app, &bob_app] {
        let mut events = client.events(Some(0)).await.unwrap();
        dial_states_until(&mut events, DialState::Delivered).await;
    }
    let everything = entries(&app.admin, AuditQuery::default()).await;
    let concerning =
        |log: &[AuditEvent]| -> BTreeSet<UserId> { log.iter().filter_map(|e| e.user_id).collect() };
    assert_eq!(concerning(&everything), BTreeSet::from([ann.id, bob.id]));

    // Max (Ann's team) sees Ann's binding and dial entries, not Bob's.
    let team_log = entries(&max_app, AuditQuery::default()).await;
    assert_eq!(concerning(&team_log), BTreeSet::from([ann.id]));
    let actions: Vec<_> = team_log.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::BindingBound,
            AuditAction::DialCreated,
            AuditAction::DialStateChanged
        ]
    );
    // Asking about Bob by name changes nothing for him.
    let about_bob = entries(
        &max_app,
        AuditQuery {
            user_id: Some(bob.id),
            ..AuditQuery::default()
        },
    )
    .await;
    assert!(about_bob.is_empty());
    // The actor filter: what Bob did himself.
    let by_bob = entries(
        &app.admin,
        AuditQuery {
            actor_id: Some(bob.id),
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(
        by_bob.iter().map(|e| e.action).collect::<Vec<_>>(),
        vec![AuditAction::BindingBound, AuditAction::DialCreated]
    );

    // Paging one entry at a time walks the same log.
    let paged = entries(
        &app.admin,
        AuditQuery {
            page: PageQuery {
                cursor: None,
                limit: Some(1),
            },
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(paged, everything);

    let err = ann_app
        .list_audit_events(&AuditQuery::default())
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "forbidden".into()));
    let foreign = app.other_org_admin().await;
    assert!(entries(&foreign, AuditQuery::default()).await.is_empty());
    let subject_elsewhere = entries(
        &foreign,
        AuditQuery {
            user_id: Some(ann.id),
            ..AuditQuery::default()
        },
    )
    .await;
    assert!(subject_elsewhere.is_empty());
    ann_link.close().await;
    bob_link.close().await;
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    let token = app.access_token().await;
    for (query, field) in [
        ("action=dial.exploded", "action"),
        ("subject_type=planet", "subject_type"),
        ("subject_id=42", "subject_id"),
        ("user_id=nobody", "user_id"),
        ("actor_id=nobody", "actor_id"),
        ("from=yesterday", "from"),
        ("cursor=abc", "cursor"),
    ] {
        let response = http
            .get(app.url(&format!("/v1/audit-events?{query}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_query", "{query}");
        assert!(
            body["detail"].as_str().unwrap_or_default().contains(field)
                || body.to_string().contains(field),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn binding_changes_made_before_the_log_existed_are_carried_into_it() {
    let app = spawn_app().await;
    let (ann, ann_app, phone, _) = app.bound_salesperson("ann@acme.test", "+4930901831").await;
    let binding = ann_app
        .list_bindings(&Default::default())
        .await
        .unwrap()
        .items[0]
        .clone();
    ann_app.unbind(binding.id).await.unwrap();
    let before = entries(&app.admin, AuditQuery::default()).await;

    // Run the migration again over the binding log as it is now.
    app.db
        .run(|conn| {
            db::revert_through(conn, "20261202000017").expect("revert");
            db::run_pending(conn).expect("migrate");
            Ok::<_, deskbind_core::db::DbError>(())
        })
        .await
        .unwrap();
    let after = entries(&app.admin, AuditQuery::default()).await;
    let bindings_of = |log: &[AuditEvent]| -> Vec<_> {
        log.iter()
            .filter(|e| e.subject.kind == "binding")
            .map(|e| {
                (
                    e.action,
                    e.subject.id.clone(),
                    e.user_id,
                    e.actor.clone(),
                    e.details.clone(),
                    e.at,
                )
            })
            .collect()
    };
    assert_eq!(bindings_of(&after), bindings_of(&before));
    let carried = bindings_of(&after);
    assert_eq!(carried.len(), 2);
    assert_eq!(carried[0].2, Some(ann.id));
    assert_eq!(
        carried[1].4.get("reason"),
        Some(&serde_json::json!("unbound"))
    );
    assert_eq!(
        carried[0].4.get("phone_id"),
        Some(&serde_json::json!(phone.id.to_string()))
    );
    assert_eq!(carried[0].4.get("via"), Some(&serde_json::json!("app")));
}

#[tokio::test]
async fn blocklist_changes_are_logged_and_a_users_entry_concerns_that_user() {
    use deskbind_core::wire::{
        BlocklistKind, BlocklistPattern, BlocklistScope, CreateBlocklistEntry, UpdateBlocklistEntry,
    };
    let app = spawn_app().await;
    let admin_id = app.admin.me().await.unwrap().id;
    let team = app.admin.create_team("Sales").await.unwrap();
    let (max, max_app) = app.user("max@acme.test", Role::Manager).await;
    let (ann, _) = app.user("ann@acme.test", Role::Salesperson).await;
    app.admin.add_team_member(team.id, max.id).await.unwrap();
    app.admin.add_team_member(team.id, ann.id).await.unwrap();
    let entry = |scope, user_id, value: &str| CreateBlocklistEntry {
        kind: BlocklistKind::Block,
        scope,
        team_id: None,
        user_id,
        pattern: BlocklistPattern::Number,
        value: value.into(),
        label: "Angry".into(),
        reason: "asked not to be called".into(),
        expires_at: None,
    };
    let org_entry = app
        .admin
        .create_blocklist_entry(&entry(BlocklistScope::Organisation, None, "+4930111222"))
        .await
        .unwrap();
    let anns = max_app
        .create_blocklist_entry(&entry(BlocklistScope::User, Some(ann.id), "+4930111333"))
        .await
        .unwrap();
    app.admin
        .update_blocklist_entry(
            org_entry.id,
            &UpdateBlocklistEntry {
                label: Some("Very angry".into()),
                ..UpdateBlocklistEntry::default()
            },
        )
        .await
        .unwrap();
    max_app.delete_blocklist_entry(anns.id).await.unwrap();

    let log = entries(
        &app.admin,
        AuditQuery {
            subject_type: Some("blocklist_entry".into()),
            ..AuditQuery::default()
        },
    )
    .await;
    let summary: Vec<_> = log
        .iter()
        .map(|e| {
            (
                e.action,
                e.subject.id.clone(),
                e.actor.id.clone(),
                e.user_id,
            )
        })
        .collect();
    let (org_id, anns_id) = (org_entry.id.to_string(), anns.id.to_string());
    let (admin_actor, max_actor) = (Some(admin_id.to_string()), Some(max.id.to_string()));
    assert_eq!(
        summary,
        vec![
            (
                AuditAction::BlocklistEntryAdded,
                org_id.clone(),
                admin_actor.clone(),
                None
            ),
            (
                AuditAction::BlocklistEntryAdded,
                anns_id.clone(),
                max_actor.clone(),
                Some(ann.id)
            ),
            (
                AuditAction::BlocklistEntryChanged,
                org_id,
                admin_actor,
                None
            ),
            (
                AuditAction::BlocklistEntryRemoved,
                anns_id,
                max_actor,
                Some(ann.id)
            ),
        ]
    );
    assert_eq!(detail(&log[0], "value"), Some("+4930111222"));
    assert_eq!(detail(&log[2], "label"), Some("Very angry"));
    // Max reads the entries about Ann, not the organisation's.
    let team_view = entries(&max_app, AuditQuery::default()).await;
    assert_eq!(
        team_view.iter().map(|e| e.action).collect::<Vec<_>>(),
        vec![
            AuditAction::BlocklistEntryAdded,
            AuditAction::BlocklistEntryRemoved
        ]
    );
}
