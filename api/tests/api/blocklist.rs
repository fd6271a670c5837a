//! The blocklist over HTTP (docs/blocklist.md): who may change which
//! scope, what each role reads, the HEAD check, a blocked dial refused
//! with nothing sent to the phone, an inbound call from a blocked number
//! flagged, the dial policy as a view, the CSV import's per-row results,
//! and the per-organisation limit under a real race.

use deskbind_core::wire::{PutDialPolicy, Role};
use deskbind_mobile::{AppClient, PhoneCommand};
use serde_json::{Value, json};

use crate::dialing::{fast_reconnect, next_command, within};
use crate::helpers::{TestApp, code, spawn_app};
use crate::records::{backdate_bindings, call};

/// A raw request as `client`; the status and the JSON body (null if none).
async fn send(
    app: &TestApp,
    client: &AppClient,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (token, _) = client.tokens().await.unwrap();
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `HEAD /v1/blocklist?number=`: the verdict and entry headers, or None
/// for a 404.
async fn head(app: &TestApp, client: &AppClient, query: &str) -> Option<(String, String)> {
    let (token, _) = client.tokens().await.unwrap();
    let response = reqwest::Client::new()
        .head(app.url(&format!("/v1/blocklist?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        404 => None,
        200 => {
            let header = |name| response.headers()[name].to_str().unwrap().to_owned();
            Some((header("blocklist-verdict"), header("blocklist-entry")))
        }
        other => panic!("HEAD answered {other}"),
    }
}

fn block(scope: &str, target: Option<(&str, String)>, pattern: &str, value: &str) -> Value {
    let mut body = json!({ "kind": "block", "scope": scope, "pattern": pattern, "value": value,
        "label": "test", "reason": "because" });
    if let Some((field, id)) = target {
        body[field] = json!(id);
    }
    body
}

#[tokio::test]
async fn roles_decide_who_changes_which_scope_and_reads_what() {
    let app = spawn_app().await;
    let team = app.admin.create_team("Sales").await.unwrap();
    let other_team = app.admin.create_team("Support").await.unwrap();
    let (sam, sam_c) = app.user("sam@acme.test", Role::Salesperson).await;
    let (sue, sue_c) = app.user("sue@acme.test", Role::Salesperson).await;
    let (_, max_c) = app.user("max@acme.test", Role::Manager).await;
    let max = max_c.me().await.unwrap();
    for member in [sam.id, max.id] {
        app.admin.add_team_member(team.id, member).await.unwrap();
    }
    app.admin
        .add_team_member(other_team.id, sue.id)
        .await
        .unwrap();

    // Admins: any scope. Managers: their teams and members, not the
    // organisation or another team. Salespeople: themselves only.
    let (status, org_entry) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block("organisation", None, "prefix", "+1900")),
    )
    .await;
    assert_eq!(status, 201, "{org_entry}");
    let (status, _) = send(
        &app,
        &max_c,
        "POST",
        "/v1/blocklist",
        Some(block("organisation", None, "prefix", "+1800")),
    )
    .await;
    assert_eq!(status, 403);
    let (status, team_entry) = send(
        &app,
        &max_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "team",
            Some(("team_id", team.id.to_string())),
            "number",
            "+4930901820",
        )),
    )
    .await;
    assert_eq!(status, 201, "{team_entry}");
    let (status, _) = send(
        &app,
        &max_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "team",
            Some(("team_id", other_team.id.to_string())),
            "number",
            "+4930901821",
        )),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        &app,
        &max_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "user",
            Some(("user_id", sam.id.to_string())),
            "number",
            "+4930901822",
        )),
    )
    .await;
    assert_eq!(status, 201);
    let (status, sam_entry) = send(
        &app,
        &sam_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "user",
            Some(("user_id", sam.id.to_string())),
            "number",
            "+4930901823",
        )),
    )
    .await;
    assert_eq!(status, 201, "{sam_entry}");
    let (status, _) = send(
        &app,
        &sam_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "user",
            Some(("user_id", sue.id.to_string())),
            "number",
            "+4930901824",
        )),
    )
    .await;
    assert_eq!(status, 403);
    let (status, sue_entry) = send(
        &app,
        &sue_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "user",
            Some(("user_id", sue.id.to_string())),
            "number",
            "+4930901825",
        )),
    )
    .await;
    assert_eq!(status, 201);

    // Bad requests name their field; a duplicate is a conflict.
    let (status, problem) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block("team", None, "prefix", "+1")),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (422, Some("missing_field"), Some("team_id"))
    );
    let (status, problem) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block("organisation", None, "prefix", "1900")),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_prefix"))
    );
    let (status, problem) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block(
            "user",
            Some(("user_id", deskbind_core::ids::UserId::new().to_string())),
            "prefix",
            "+1",
        )),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("unknown_user"))
    );
    let (status, problem) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block("organisation", None, "prefix", "+1 900")),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("blocklist_entry_exists"))
    );

    // Reading: Sam sees the organisation's, his team's and his own; not Sue's.
    let (_, page) = send(&app, &sam_c, "GET", "/v1/blocklist", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4, "{page}");
    let sue_path = format!("/v1/blocklist/{}", sue_entry["id"].as_str().unwrap());
    assert_eq!(send(&app, &sam_c, "GET", &sue_path, None).await.0, 404);
    assert_eq!(send(&app, &sam_c, "DELETE", &sue_path, None).await.0, 404);
    // He reads the team's entry but may not change it.
    let team_path = format!("/v1/blocklist/{}", team_entry["id"].as_str().unwrap());
    assert_eq!(send(&app, &sam_c, "GET", &team_path, None).await.0, 200);
    assert_eq!(
        send(
            &app,
            &sam_c,
            "PATCH",
            &team_path,
            Some(json!({"label": "x"}))
        )
        .await
        .0,
        403
    );
    // The admin reads everything, filtered and paged.
    let (_, page) = send(
        &app,
        &app.admin,
        "GET",
        "/v1/blocklist?scope=user&limit=2",
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = send(
        &app,
        &app.admin,
        "GET",
        &format!("/v1/blocklist?scope=user&limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let (_, by_number) = send(
        &app,
        &app.admin,
        "GET",
        "/v1/blocklist?number=%2B19005550100",
        None,
    )
    .await;
    assert_eq!(by_number["items"][0]["id"], org_entry["id"]);

    // Changing: the entry's own user edits and deletes it.
    let sam_path = format!("/v1/blocklist/{}", sam_entry["id"].as_str().unwrap());
    let (status, changed) = send(
        &app,
        &sam_c,
        "PATCH",
        &sam_path,
        Some(json!({"kind": "allow", "label": "my mum"})),
    )
    .await;
    assert_eq!(
        (status, changed["kind"].as_str(), changed["label"].as_str()),
        (200, Some("allow"), Some("my mum"))
    );
    assert_eq!(send(&app, &sam_c, "DELETE", &sam_path, None).await.0, 204);
    assert_eq!(send(&app, &sam_c, "GET", &sam_path, None).await.0, 404);
}

#[tokio::test]
async fn the_head_check_says_what_applies_and_an_allow_wins() {
    let app = spawn_app().await;
    let (sam, sam_c) = app.user("sam@acme.test", Role::Salesperson).await;
    let (_, sue_c) = app.user("sue@acme.test", Role::Salesperson).await;
    let (_, blocked) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block("organisation", None, "prefix", "+1900")),
    )
    .await;
    let blocked_id = blocked["id"].as_str().unwrap().to_owned();
    assert_eq!(
        head(&app, &sam_c, "number=%2B19005550100").await,
        Some(("blocked".into(), blocked_id.clone()))
    );
    assert_eq!(head(&app, &sam_c, "number=%2B16505550100").await, None);

    let mut allow = block(
        "user",
        Some(("user_id", sam.id.to_string())),
        "number",
        "+19005550100",
    );
    allow["kind"] = json!("allow");
    let (_, allowed) = send(&app, &sam_c, "POST", "/v1/blocklist", Some(allow)).await;
    let allowed_id = allowed["id"].as_str().unwrap().to_owned();
    assert_eq!(
        head(&app, &sam_c, "number=%2B19005550100").await,
        Some(("allowed".into(), allowed_id))
    );
    // Sue's calls are still blocked; an admin may ask for her, Sam not.
    assert_eq!(
        head(&app, &sue_c, "number=%2B19005550100").await,
        Some(("blocked".into(), blocked_id.clone()))
    );
    let sue = sue_c.me().await.unwrap();
    assert_eq!(
        head(
            &app,
            &app.admin,
            &format!("number=%2B19005550100&user_id={}", sue.id)
        )
        .await,
        Some(("blocked".into(), blocked_id.clone()))
    );
    let (token, _) = sam_c.tokens().await.unwrap();
    let status = reqwest::Client::new()
        .head(app.url(&format!(
            "/v1/blocklist?number=%2B19005550100&user_id={}",
            sue.id
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 403);

    // An entry that expired no longer applies (its expiry aged by SQL).
    let (_, expiring) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(json!({
        "kind": "block", "scope": "organisation", "pattern": "number", "value": "+4930901820",
        "expires_at": "2999-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(
        head(&app, &sam_c, "number=%2B4930901820")
            .await
            .map(|h| h.0),
        Some("blocked".into())
    );
    app.execute(format!(
        "UPDATE blocklist_entries SET expires_at = 1 WHERE id = '{}'",
        expiring["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(head(&app, &sam_c, "number=%2B4930901820").await, None);
}

#[tokio::test]
async fn a_blocked_dial_is_refused_with_the_entry_and_nothing_reaches_the_phone() {
    let app = spawn_app().await;
    let (_, client, _phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930901820").await;
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let (_, entry) = send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(json!({
        "kind": "block", "scope": "organisation", "pattern": "number", "value": "+16502530099",
        "label": "Complained", "reason": "asked not to be called" })),
    )
    .await;

    let err = client
        .dial("+1 650 253 0099", None, None)
        .await
        .unwrap_err();
    assert_eq!(code(&err), (403, "number_do_not_call".into()));
    let deskbind_mobile::ClientError::Api { problem } = &err else {
        panic!("{err}")
    };
    let by = problem.blocked_by.as_ref().expect("blocked_by");
    assert_eq!(by.entry_id.to_string(), entry["id"].as_str().unwrap());
    assert_eq!(
        (by.label.as_str(), by.reason.as_str()),
        ("Complained", "asked not to be called")
    );
    assert_eq!(app.count("dial_commands").await, 0);

    // The next dial the phone sees is the allowed one that followed.
    let allowed = client.dial("+16502530000", None, None).await.unwrap();
    match within(next_command(&mut link)).await {
        PhoneCommand::Dial {
            command_id, number, ..
        } => {
            assert_eq!((command_id, number.as_str()), (allowed.id, "+16502530000"));
        }
        other => panic!("expected the allowed dial, got {other:?}"),
    }
    link.close().await;
}

#[tokio::test]
async fn an_inbound_call_from_a_blocked_number_is_flagged() {
    let app = spawn_app().await;
    let (sam, sam_c, _phone, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(&app).await;
    let (_, _) = send(
        &app,
        &sam_c,
        "POST",
        "/v1/blocklist",
        Some(block(
            "user",
            Some(("user_id", sam.id.to_string())),
            "prefix",
            "+4930555",
        )),
    )
    .await;
    let mut inbound = call("in-1", 5);
    inbound.direction = deskbind_core::wire::CallDirection::Inbound;
    let mut missed = call("in-2", 4);
    missed.direction = deskbind_core::wire::CallDirection::Missed;
    missed.answered_at = None;
    missed.result = None;
    missed.remote_number = "+4940123456".into();
    let outbound = call("out-1", 3);
    let results = device
        .upload_call_records(&[inbound, missed, outbound])
        .await
        .unwrap();
    let ids: Vec<_> = results.results.iter().map(|r| r.id.unwrap()).collect();
    let mut flags = Vec::new();
    for id in ids {
        flags.push(sam_c.get_call(id).await.unwrap().blocked);
    }
    // Only the inbound call from the blocked prefix; an outbound call to
    // it is not an inbound block.
    assert_eq!(flags, [true, false, false]);
}

#[tokio::test]
async fn the_dial_policy_is_a_view_over_organisation_blocks() {
    let app = spawn_app().await;
    app.admin
        .set_dial_policy(&PutDialPolicy {
            blocked_prefixes: vec!["+1900".into()],
            do_not_call: vec!["+16502530099".into()],
        })
        .await
        .unwrap();
    let (_, page) = send(
        &app,
        &app.admin,
        "GET",
        "/v1/blocklist?scope=organisation",
        None,
    )
    .await;
    let values: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(
        values.contains(&"+1900") && values.contains(&"+16502530099"),
        "{values:?}"
    );
    // An entry added through the blocklist shows in the policy; one the
    // policy drops is deleted, one it keeps keeps its id.
    send(
        &app,
        &app.admin,
        "POST",
        "/v1/blocklist",
        Some(block("organisation", None, "prefix", "+1976")),
    )
    .await;
    let policy = app.admin.dial_policy().await.unwrap();
    assert_eq!(policy.blocked_prefixes, ["+1900", "+1976"]);
    let kept_id = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["value"] == "+1900")
        .unwrap()["id"]
        .clone();
    app.admin
        .set_dial_policy(&PutDialPolicy {
            blocked_prefixes: vec!["+1900".into()],
            do_not_call: vec![],
        })
        .await
        .unwrap();
    let (_, page) = send(&app, &app.admin, "GET", "/v1/blocklist", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], kept_id);
}

#[tokio::test]
async fn an_import_answers_per_row_and_an_export_reads_back() {
    let app = spawn_app().await;
    let (sam, _) = app.user("sam@acme.test", Role::Salesperson).await;
    let csv = format!(
        "kind,scope,user_id,pattern,value,label,reason\n\
         block,organisation,,prefix,+1900,premium,\n\
         block,user,{sam},number,+4930901820,,\n\
         block,organisation,,prefix,1900,,\n\
         sometimes,organisation,,prefix,+1,,\n\
         block,organisation,,prefix,+1 900,dup,\n\
         allow,,,number,+19005550100,ok,\n",
        sam = sam.id
    );
    let (token, _) = app.admin.tokens().await.unwrap();
    let response = reqwest::Client::new()
        .post(app.url("/v1/blocklist/import"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let result: Value = response.json().await.unwrap();
    let outcomes: Vec<(&str, Option<&str>)> = result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["outcome"].as_str().unwrap(), r["code"].as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("created", None),
            ("created", None),
            ("rejected", Some("invalid_prefix")),
            ("rejected", Some("invalid_field")),
            ("unchanged", None),
            ("created", None),
        ]
    );
    assert_eq!(app.count("blocklist_entries").await, 3);

    let export = reqwest::Client::new()
        .get(app.url("/v1/blocklist/export.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 200);
    let text = export.text().await.unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    // Importing the export again changes nothing.
    let again: Value = reqwest::Client::new()
        .post(app.url("/v1/blocklist/import"))
        .bearer_auth(&token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(text)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        again["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "unchanged"),
        "{again}"
    );
    // Only CSV.
    let status = reqwest::Client::new()
        .post(app.url("/v1/blocklist/import"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 415);
}

#[tokio::test]
async fn concurrent_adds_never_pass_the_per_organisation_limit() {
    use deskbind_core::domain::blocklist::MAX_ENTRIES_PER_ORG;
    let app = spawn_app().await;
    let org = app.admin.me().await.unwrap().org_id;
    // Fill the list to two below the limit in one statement.
    let fill = MAX_ENTRIES_PER_ORG - 2;
    app.execute(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {fill})
         INSERT INTO blocklist_entries (id, org_id, kind, scope, scope_id, pattern, value,
             label, reason, expires_at, created_at, created_by, updated_at)
         SELECT 'fill-' || i, '{org}', 'block', 'organisation', '{org}', 'number',
             '+1555' || i, '', '', NULL, 0, NULL, 0 FROM n"
    ))
    .await;
    let token = app.access_token().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let token = token.clone();
            let url = app.url("/v1/blocklist");
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .json(&block(
                        "organisation",
                        None,
                        "number",
                        &format!("+4930900{i:03}"),
                    ))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 409, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("blocklist_entries").await, MAX_ENTRIES_PER_ORG);
}

#[tokio::test]
async fn the_sdk_checks_lists_and_changes_entries() {
    use deskbind_core::wire::{
        BlocklistKind, BlocklistPattern, BlocklistScope, CreateBlocklistEntry, UpdateBlocklistEntry,
    };
    use deskbind_mobile::{BlocklistQuery, BlocklistVerdict};
    let app = spawn_app().await;
    let (sam, sam_c) = app.user("sam@acme.test", Role::Salesperson).await;
    assert_eq!(sam_c.check_number("+4930901820", None).await.unwrap(), None);
    let entry = sam_c
        .create_blocklist_entry(&CreateBlocklistEntry {
            kind: BlocklistKind::Block,
            scope: BlocklistScope::User,
            team_id: None,
            user_id: Some(sam.id),
            pattern: BlocklistPattern::Prefix,
            value: "+49 30".into(),
            label: "Berlin".into(),
            reason: String::new(),
            expires_at: None,
        })
        .await
        .unwrap();
    assert_eq!(entry.value, "+4930");
    assert_eq!(
        sam_c.check_number("+4930901820", None).await.unwrap(),
        Some(BlocklistVerdict {
            allowed: false,
            entry_id: entry.id
        })
    );
    let changed = sam_c
        .update_blocklist_entry(
            entry.id,
            &UpdateBlocklistEntry {
                kind: Some(BlocklistKind::Allow),
                ..UpdateBlocklistEntry::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.kind, BlocklistKind::Allow);
    let page = sam_c
        .list_blocklist(&BlocklistQuery {
            number: Some("+4930901820".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items, std::slice::from_ref(&changed));
    let csv = sam_c.export_blocklist_csv().await.unwrap();
    sam_c.delete_blocklist_entry(entry.id).await.unwrap();
    let err = sam_c.get_blocklist_entry(entry.id).await.unwrap_err();
    assert_eq!(code(&err), (404, "not_found".into()));
    let imported = sam_c.import_blocklist_csv(&csv).await.unwrap();
    assert_eq!(imported.rows.len(), 1);
    assert_eq!(
        sam_c
            .check_number("+4930901820", None)
            .await
            .unwrap()
            .map(|v| v.allowed),
        Some(true)
    );
}
