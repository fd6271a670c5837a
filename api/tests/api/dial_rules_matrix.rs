//! Dial authorisation as a matrix (docs/dialing.md, "Dial authorisation"):
//! role × destination class × allow-list × calling hours at chosen clock
//! times, including both DST changes in Europe/Berlin, with the exact
//! refusal code of each cell; `POST /v1/dials/check` agrees with
//! `POST /v1/dials` on every cell (the same code, rule and `retry_at`).

use deskbind_core::ids::TeamId;
use deskbind_core::wire::{
    BlocklistKind, BlocklistPattern, BlocklistScope, CalleeHoursRule, CallingHoursRule,
    CreateBlocklistEntry, CreateUser, DialClassRule, PutDialRules, Role, TimeWindow, User,
    WeekWindows,
};
use deskbind_mobile::AppClient;
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, foreign_phone, spawn_app};

const DOMESTIC: &str = "+4940123456";
const MOBILE: &str = "+4915123456789";
const LONDON: &str = "+442079460000";
const TOKYO: &str = "+81312345678";
const PREMIUM: &str = "+499001234567";
const DO_NOT_CALL: &str = "+4940999999";

fn window(from: &str, to: &str) -> Vec<TimeWindow> {
    vec![TimeWindow {
        from: from.into(),
        to: to.into(),
    }]
}

fn classes(team: Option<TeamId>, role: Option<Role>, allowed: &[&str]) -> DialClassRule {
    DialClassRule {
        team_id: team,
        role,
        allowed: allowed.iter().map(|s| s.to_string()).collect(),
    }
}

/// Salespeople: domestic and mobile; managers: international too; the
/// export team's salespeople: also international and extensions. Calls
/// Monday to Friday 08:00-18:00 and Sunday 10:00-14:00 (caller's zone),
/// and 09:00-20:00 in the callee's zones.
fn rules(export: TeamId) -> PutDialRules {
    let weekday = window("08:00", "18:00");
    PutDialRules {
        version: 0,
        time_zone: "Europe/Berlin".into(),
        classes: vec![
            classes(None, Some(Role::Salesperson), &["domestic", "mobile"]),
            classes(
                None,
                Some(Role::Manager),
                &["domestic", "mobile", "international"],
            ),
            classes(
                Some(export),
                Some(Role::Salesperson),
                &["domestic", "mobile", "international", "internal"],
            ),
        ],
        calling_hours: vec![CallingHoursRule {
            team_id: None,
            weekly: WeekWindows {
                mon: weekday.clone(),
                tue: weekday.clone(),
                wed: weekday.clone(),
                thu: weekday.clone(),
                fri: weekday,
                sat: vec![],
                sun: window("10:00", "14:00"),
            },
            holidays: vec!["2026-06-11".into()],
        }],
        callee_hours: vec![CalleeHoursRule {
            team_id: None,
            enabled: true,
            from: "09:00".into(),
            to: "20:00".into(),
        }],
        updated_at: None,
    }
}

struct Caller {
    user: User,
    client: AppClient,
}

async fn caller(app: &TestApp, email: &str, role: Role, teams: Vec<TeamId>, phone: &str) -> Caller {
    let user = app
        .admin
        .create_user(&CreateUser {
            email: email.into(),
            display_name: email.into(),
            role,
            password: PASSWORD.into(),
            time_zone: Some("Europe/Berlin".into()),
            team_ids: teams,
        })
        .await
        .unwrap();
    let client = app.client();
    client.login(email, PASSWORD).await.unwrap();
    let (phone, _) = app.provisioned_phone(phone).await;
    app.grant(phone.id, &[user.id]).await;
    client.bind_phone(phone.id, false).await.unwrap();
    Caller { user, client }
}

fn at(text: &str) -> i64 {
    text.parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_micros()
}

/// `POST path {number}` as the token's user: the status and the body.
async fn post(app: &TestApp, token: &str, path: &str, number: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&serde_json::json!({ "number": number }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// What the check says and what the dial did: `ok` or the code, and the
/// rule kind and `retry_at` of a refusal.
async fn decide(
    app: &TestApp,
    who: &Caller,
    number: &str,
) -> (String, Option<String>, Option<String>) {
    let (token, _) = who.client.tokens().await.unwrap();
    let (_, check) = post(app, &token, "/v1/dials/check", number).await;
    let (status, body) = post(app, &token, "/v1/dials", number).await;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if status == 201 {
        assert_eq!(
            check["allowed"], true,
            "{number}: dial placed, check said {check}"
        );
        let placed = body["number"].as_str().unwrap();
        assert_eq!(check["number"].as_str(), Some(placed), "{check}");
        return ("ok".into(), None, None);
    }
    assert_eq!(
        check["allowed"], false,
        "{number}: dial refused ({body}), check said {check}"
    );
    assert_eq!(check["code"], body["code"], "{number}: {check} vs {body}");
    assert_eq!(check["status"].as_u64(), Some(u64::from(status)));
    assert_eq!(
        check["retry_at"], body["retry_at"],
        "{number}: {check} vs {body}"
    );
    // A problem names the rule for the authorisation rules; the check
    // names the rule of every refusal (binding, number, blocklist too).
    if !body["rule"].is_null() {
        assert_eq!(check["rule"], body["rule"], "{number}");
    }
    (
        text(&body["code"]).unwrap_or_default(),
        text(&check["rule"]["kind"]),
        text(&body["retry_at"]),
    )
}

#[tokio::test]
async fn every_cell_of_the_rule_matrix_has_its_code_and_the_check_agrees_with_the_dial() {
    let app = spawn_app().await;
    let export = app.admin.create_team("Export").await.unwrap().id;
    app.admin.set_dial_rules(&rules(export)).await.unwrap();
    let sam = caller(
        &app,
        "sam@acme.test",
        Role::Salesperson,
        vec![],
        "+4930111001",
    )
    .await;
    let mia = caller(&app, "mia@acme.test", Role::Manager, vec![], "+4930111002").await;
    let tia = caller(
        &app,
        "tia@acme.test",
        Role::Salesperson,
        vec![export],
        "+4930111003",
    )
    .await;
    let alex = caller(
        &app,
        "alex@acme.test",
        Role::Salesperson,
        vec![],
        "+4930111004",
    )
    .await;
    // The allow-list: London is allowed for Alex by name.
    let allow = |kind, scope, user: Option<&User>, value: &str| CreateBlocklistEntry {
        kind,
        scope,
        team_id: None,
        user_id: user.map(|u| u.id),
        pattern: BlocklistPattern::Number,
        value: value.into(),
        label: "matrix".into(),
        reason: String::new(),
        expires_at: None,
    };
    app.admin
        .create_blocklist_entry(&allow(
            BlocklistKind::Allow,
            BlocklistScope::User,
            Some(&alex.user),
            LONDON,
        ))
        .await
        .unwrap();
    app.admin
        .create_blocklist_entry(&allow(
            BlocklistKind::Block,
            BlocklistScope::Organisation,
            None,
            DO_NOT_CALL,
        ))
        .await
        .unwrap();

    // Wednesday 2026-06-10 10:00 in Berlin (CEST): inside every window.
    let wednesday = "2026-06-10T08:00:00Z";
    // 17:00 in Berlin: calling hours open, 00:00 in Tokyo.
    let wednesday_late = "2026-06-10T15:00:00Z";
    // Thursday 2026-06-11 is a holiday.
    let holiday = "2026-06-11T08:00:00Z";
    let saturday = "2026-06-13T08:00:00Z";
    // Sunday 2026-03-29 (CET → CEST at 02:00): 09:30 CEST, then 10:30 CEST.
    let spring_before = "2026-03-29T07:30:00Z";
    let spring_open = "2026-03-29T08:30:00Z";
    // Sunday 2026-10-25 (CEST → CET at 03:00): 09:30 CET, then 13:30 CET.
    let autumn_before = "2026-10-25T08:30:00Z";
    let autumn_open = "2026-10-25T12:30:00Z";

    let none = None::<&str>;
    let cells: Vec<(&str, &Caller, &str, &str, Option<&str>)> = vec![
        // role × class at an open time
        (wednesday, &sam, DOMESTIC, "ok", none),
        (wednesday, &sam, MOBILE, "ok", none),
        (wednesday, &sam, LONDON, "dial_class_not_allowed", none),
        (wednesday, &sam, PREMIUM, "dial_class_not_allowed", none),
        (wednesday, &sam, "2041", "dial_class_not_allowed", none),
        (wednesday, &sam, "112", "ok", none),
        (wednesday, &mia, LONDON, "ok", none),
        (wednesday, &mia, PREMIUM, "dial_class_not_allowed", none),
        (wednesday, &mia, "2041", "dial_class_not_allowed", none),
        (wednesday, &tia, LONDON, "ok", none),
        (wednesday, &tia, "2041", "ok", none),
        (wednesday, &tia, PREMIUM, "dial_class_not_allowed", none),
        // the allow-list bypasses the class rules for the named user only
        (wednesday, &alex, LONDON, "ok", none),
        (wednesday, &alex, MOBILE, "ok", none),
        (wednesday, &alex, PREMIUM, "dial_class_not_allowed", none),
        // the blocklist after the rules
        (wednesday, &sam, DO_NOT_CALL, "number_do_not_call", none),
        // the callee's local time (Tokyo at midnight), then the caller's
        (
            wednesday_late,
            &mia,
            TOKYO,
            "outside_callee_hours",
            Some("2026-06-12T06:00:00Z"),
        ),
        (wednesday_late, &mia, DOMESTIC, "ok", none),
        (
            holiday,
            &sam,
            DOMESTIC,
            "outside_calling_hours",
            Some("2026-06-12T07:00:00Z"),
        ),
        (
            saturday,
            &sam,
            DOMESTIC,
            "outside_calling_hours",
            Some("2026-06-14T08:00:00Z"),
        ),
        // London's 09:00 is Berlin's 10:00: the retry is when both open.
        (
            saturday,
            &alex,
            LONDON,
            "outside_calling_hours",
            Some("2026-06-14T08:00:00Z"),
        ),
        // the blocklist before the hours: no retry_at a dial could not use
        (saturday, &sam, DO_NOT_CALL, "number_do_not_call", none),
        // the class is decided before the hours; emergency numbers always
        (saturday, &sam, LONDON, "dial_class_not_allowed", none),
        (saturday, &sam, "112", "ok", none),
        // both DST changes
        (
            spring_before,
            &sam,
            DOMESTIC,
            "outside_calling_hours",
            Some("2026-03-29T08:00:00Z"),
        ),
        (spring_open, &sam, DOMESTIC, "ok", none),
        (
            autumn_before,
            &sam,
            DOMESTIC,
            "outside_calling_hours",
            Some("2026-10-25T09:00:00Z"),
        ),
        (autumn_open, &sam, DOMESTIC, "ok", none),
    ];
    for (when, who, number, expected, retry) in cells {
        app.clock.set(at(when));
        let (code, _, retry_at) = decide(&app, who, number).await;
        assert_eq!(
            (code.as_str(), retry_at.as_deref()),
            (expected, retry),
            "{} dialling {number} at {when}",
            who.user.email
        );
    }
}

#[tokio::test]
async fn refusals_before_the_rules_are_reported_by_the_check_as_by_the_dial() {
    let app = spawn_app().await;
    let (_, unbound) = app.user("una@acme.test", Role::Salesperson).await;
    let (token, _) = unbound.tokens().await.unwrap();
    for (number, code) in [
        ("+4940123456", "no_binding"),
        ("call me", "invalid_phone_number"),
    ] {
        let (_, check) = post(&app, &token, "/v1/dials/check", number).await;
        let (_, dial) = post(&app, &token, "/v1/dials", number).await;
        assert_eq!(check["code"], code, "{check}");
        assert_eq!(dial["code"], code, "{dial}");
        assert_eq!(check["allowed"], false);
    }
    // Without rules everything that was dialable still is, at any time,
    // and an unknown short number is refused as before, not taken as an
    // extension.
    let sam = caller(
        &app,
        "sam@acme.test",
        Role::Salesperson,
        vec![],
        "+4930111001",
    )
    .await;
    app.clock.set(at("2026-06-13T08:00:00Z"));
    let (code, _, _) = decide(&app, &sam, PREMIUM).await;
    assert_eq!(code, "ok");
    let (code, rule, _) = decide(&app, &sam, "2041").await;
    assert_eq!(
        (code.as_str(), rule.as_deref()),
        ("invalid_phone_number", Some("number"))
    );
    assert_eq!(app.count("dial_commands").await, 1);
}

#[tokio::test]
async fn a_phone_of_another_organisation_is_checked_as_one_that_does_not_exist() {
    let app = spawn_app().await;
    let sam = caller(
        &app,
        "sam@acme.test",
        Role::Salesperson,
        vec![],
        "+4930111002",
    )
    .await;
    let globex = app.other_org_admin().await;
    let theirs = foreign_phone(&globex, "+4930999001").await;
    let (token, _) = sam.client.tokens().await.unwrap();
    let ask = |path: &'static str, phone: String| {
        let token = token.clone();
        let url = app.url(path);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "number": "+4940123456", "phone_id": phone }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let unknown = uuid::Uuid::now_v7().to_string();
    let (_, check_theirs) = ask("/v1/dials/check", theirs.id.to_string()).await;
    let (_, check_unknown) = ask("/v1/dials/check", unknown.clone()).await;
    let (status_theirs, dial_theirs) = ask("/v1/dials", theirs.id.to_string()).await;
    let (status_unknown, dial_unknown) = ask("/v1/dials", unknown).await;
    assert_eq!(check_theirs["allowed"], false, "{check_theirs}");
    assert_eq!(
        check_theirs["code"], check_unknown["code"],
        "{check_theirs}"
    );
    assert_eq!(check_theirs["status"], check_unknown["status"]);
    assert_eq!(check_theirs["code"], dial_theirs["code"], "{dial_theirs}");
    assert_eq!(
        (status_theirs, &dial_theirs["code"]),
        (status_unknown, &dial_unknown["code"])
    );
    assert_eq!(app.count("dial_commands").await, 0);
}
