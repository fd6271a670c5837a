//! Who may read and change scoring (docs/scoring.md): another
//! organisation's contact or recompute answers exactly as a missing one
//! does, only admins replace the rules, and a salesperson under the `own`
//! contact visibility reads the ledger of their contacts only.

use deskbind_core::ids::{ContactId, ScoreRecomputeId};
use deskbind_core::wire::Role;
use serde_json::json;

use crate::contact_http::{Http, created, id, own_visibility};
use crate::helpers::spawn_app;

fn ledger_path(contact: &str) -> String {
    format!("/v1/contacts/{contact}/score-events")
}

#[tokio::test]
async fn another_organisations_contacts_and_recomputes_answer_as_missing_ones() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let contact = created(
        &admin,
        json!({"name": "Acme's", "numbers": ["+4930555000"]}),
    )
    .await;
    let (status, replaced) = admin
        .send(
            "PUT",
            "/v1/score-rules",
            Some(
                json!({"version": 1, "rules": [{"key": "call", "label": "Call",
                "trigger": "call_placed", "repeat": "each", "points": 1}]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    let recompute = replaced["recompute"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        admin
            .get(&format!("/v1/score-recomputes/{recompute}"))
            .await
            .0,
        200
    );

    let intruder = Http::of(&app, &app.other_org_admin().await).await;
    let foreign = intruder.get(&ledger_path(&id(&contact))).await;
    let missing = intruder
        .get(&ledger_path(&ContactId::new().to_string()))
        .await;
    assert_eq!(foreign.0, 404, "{}", foreign.1);
    assert_eq!(foreign, missing, "a foreign contact looks like no contact");
    let foreign = intruder
        .get(&format!("/v1/score-recomputes/{recompute}"))
        .await;
    let missing = intruder
        .get(&format!("/v1/score-recomputes/{}", ScoreRecomputeId::new()))
        .await;
    assert_eq!(foreign.0, 404, "{}", foreign.1);
    assert_eq!(foreign, missing, "a foreign recompute looks like none");
    // The intruder's own rules are untouched by Acme's change.
    let (_, rules) = intruder.get("/v1/score-rules").await;
    assert_eq!(rules["version"], 1);
}

#[tokio::test]
async fn only_admins_replace_the_rules() {
    let app = spawn_app().await;
    let body = json!({"version": 1, "rules": [{"key": "call", "label": "Call",
        "trigger": "call_placed", "repeat": "each", "points": 1}]});
    for (email, role) in [
        ("sam@acme.test", Role::Salesperson),
        ("max@acme.test", Role::Manager),
    ] {
        let (_, client) = app.user(email, role).await;
        let http = Http::of(&app, &client).await;
        let (status, problem) = http
            .send("PUT", "/v1/score-rules", Some(body.clone()))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("forbidden")),
            "{role:?}: {problem}"
        );
        // They still read the set in force.
        let (status, rules) = http.get("/v1/score-rules").await;
        assert_eq!((status, rules["version"].as_i64()), (200, Some(1)));
    }
    assert_eq!(app.count("score_recomputes").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM score_rule_sets WHERE version > 1".into())
            .await,
        0
    );
}

#[tokio::test]
async fn under_own_visibility_a_salesperson_reads_only_their_contacts_ledgers() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (kim, kim_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let kim_http = Http::of(&app, &kim_client).await;
    let mine = created(
        &admin,
        json!({"name": "Kim's", "numbers": ["+4930555001"], "owner_id": kim.id}),
    )
    .await;
    let theirs = created(
        &admin,
        json!({"name": "Nobody's", "numbers": ["+4930555002"]}),
    )
    .await;
    own_visibility(&admin).await;

    let (status, page) = kim_http.get(&ledger_path(&id(&mine))).await;
    assert_eq!(status, 200, "{page}");
    let hidden = kim_http.get(&ledger_path(&id(&theirs))).await;
    let missing = kim_http
        .get(&ledger_path(&ContactId::new().to_string()))
        .await;
    assert_eq!(hidden.0, 404, "{}", hidden.1);
    assert_eq!(hidden, missing, "a hidden contact looks like no contact");
    // The admin still reads both.
    assert_eq!(admin.get(&ledger_path(&id(&theirs))).await.0, 200);
}
