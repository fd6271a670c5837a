//! `/v1/dial-rules` (docs/dialing.md, "Dial authorisation"): admins read
//! and replace the rules with optimistic concurrency (a stale version is
//! 409), every validation refusal has its code and field, another
//! organisation's team is unknown, and no rules means everything allowed.

use deskbind_core::wire::{CalleeHoursRule, DialClassRule, DialRuleSet, PutDialRules, Role};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, code, spawn_app};

fn put(version: i64) -> PutDialRules {
    PutDialRules {
        version,
        time_zone: "Europe/Berlin".into(),
        classes: vec![DialClassRule {
            team_id: None,
            role: Some(Role::Salesperson),
            allowed: vec!["domestic".into(), "mobile".into()],
        }],
        calling_hours: vec![],
        callee_hours: vec![CalleeHoursRule {
            team_id: None,
            enabled: true,
            from: "09:00".into(),
            to: "20:00".into(),
        }],
        updated_at: None,
    }
}

#[tokio::test]
async fn admins_replace_the_rules_naming_the_version_they_read() {
    let app = spawn_app().await;
    let empty = app.admin.dial_rules().await.unwrap();
    assert_eq!((empty.version, empty.updated_at), (0, None));
    assert_eq!(empty.rules, DialRuleSet::default());

    let first = app.admin.set_dial_rules(&put(0)).await.unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(app.admin.dial_rules().await.unwrap(), first);
    // A second writer that read version 0 too is refused, and so is a
    // version never stored.
    for stale in [0, 7] {
        let err = app.admin.set_dial_rules(&put(stale)).await.unwrap_err();
        assert_eq!(code(&err), (409, "dial_rules_changed".into()));
    }
    let second = app.admin.set_dial_rules(&put(1)).await.unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(app.count("dial_rule_sets").await, 1);
    let audited = app
        .scalar(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'dial_rules.replaced'".into(),
        )
        .await;
    assert_eq!(audited, 2);

    // Only admins.
    let (_, manager) = app.user("mia@acme.test", Role::Manager).await;
    assert_eq!(code(&manager.dial_rules().await.unwrap_err()).0, 403);
    assert_eq!(
        code(&manager.set_dial_rules(&put(2)).await.unwrap_err()).0,
        403
    );
}

#[tokio::test]
async fn invalid_rules_are_refused_with_their_code_and_field() {
    let app = spawn_app().await;
    let foreign = app.other_org_admin().await;
    let foreign_team = foreign.create_team("Theirs").await.unwrap().id;
    let (token, _) = app.admin.tokens().await.unwrap();
    let http = reqwest::Client::new();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"version": 0, "classes": [{"allowed": ["premium"]}]}),
            "invalid_dial_class",
            "classes",
        ),
        (
            json!({"version": 0, "classes": [{"allowed": []}, {"allowed": ["mobile"]}]}),
            "duplicate_rule",
            "classes",
        ),
        (
            json!({"version": 0, "calling_hours": [{"weekly": {"mon": [{"from": "18:00", "to": "09:00"}]}}]}),
            "invalid_time_order",
            "calling_hours",
        ),
        (
            json!({"version": 0, "calling_hours": [{"weekly": {"mon": [{"from": "9", "to": "17:00"}]}}]}),
            "invalid_time",
            "calling_hours",
        ),
        (
            json!({"version": 0, "calling_hours": [{"weekly": {}, "holidays": ["24.12.2026"]}]}),
            "invalid_date",
            "calling_hours",
        ),
        (
            json!({"version": 0, "callee_hours": [{"enabled": true, "from": "09:00", "to": "25:00"}]}),
            "invalid_time",
            "callee_hours",
        ),
        (
            json!({"version": 0, "time_zone": "Mars/Base"}),
            "invalid_time_zone",
            "time_zone",
        ),
        (
            json!({"version": 0, "classes": [{"team_id": foreign_team.to_string(), "allowed": []}]}),
            "unknown_team",
            "team_id",
        ),
        (
            json!({"version": 0, "calling_hour": []}),
            "unknown_field",
            "calling_hour",
        ),
    ];
    for (body, expected, field) in cases {
        let response = http
            .put(app.url("/v1/dial-rules"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], expected, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    assert_eq!(app.count("dial_rule_sets").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replacements_of_one_version_store_exactly_one() {
    let app = spawn_app().await;
    app.admin.set_dial_rules(&put(0)).await.unwrap();
    let mut admins = Vec::new();
    for _ in 0..20 {
        let admin = app.client();
        admin.login(&app.admin_email, PASSWORD).await.unwrap();
        admins.push(admin);
    }
    // Every writer read version 1; they start together.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(admins.len()));
    let writers: Vec<_> = admins
        .into_iter()
        .map(|admin| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                admin.set_dial_rules(&put(1)).await
            })
        })
        .collect();
    let mut stored = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(rules) => {
                assert_eq!(rules.version, 2);
                stored += 1;
            }
            Err(err) => assert_eq!(code(&err), (409, "dial_rules_changed".into())),
        }
    }
    assert_eq!(stored, 1);
    assert_eq!(app.admin.dial_rules().await.unwrap().version, 2);
}

#[tokio::test]
async fn a_deleted_teams_rules_go_with_it_and_the_rules_read_can_be_sent_back() {
    let app = spawn_app().await;
    let team = app.admin.create_team("Export").await.unwrap();
    let mut rules = put(0);
    rules.classes.push(DialClassRule {
        team_id: Some(team.id),
        role: None,
        allowed: vec!["international".into()],
    });
    app.admin.set_dial_rules(&rules).await.unwrap();
    app.admin.delete_team(team.id).await.unwrap();
    let read = app.admin.dial_rules().await.unwrap();
    assert_eq!(read.version, 2, "the deletion stored a new version");
    assert!(read.rules.classes.iter().all(|r| r.team_id.is_none()));
    // What GET answered goes back as it is (its updated_at is ignored).
    let token = app.admin.tokens().await.unwrap().0;
    let body = serde_json::to_value(&read).unwrap();
    let response = reqwest::Client::new()
        .put(app.url("/v1/dial-rules"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // A negative version is not a version; a sign is not a digit.
    for (body, field) in [
        (serde_json::json!({"version": -1}), "version"),
        (
            serde_json::json!({"version": 3, "callee_hours": [{"enabled": true, "from": "+9:00", "to": "20:00"}]}),
            "callee_hours",
        ),
    ] {
        let response = reqwest::Client::new()
            .put(app.url("/v1/dial-rules"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["field"], field, "{problem}");
    }
    assert_eq!(app.admin.dial_rules().await.unwrap().version, 3);
}
