//! Calls and dials linked to contacts (docs/contacts.md, "Calls and dials
//! of a contact"): the link follows a contact's numbers, unknown inbound
//! callers get one provisional contact (also when writers race), a merge
//! moves everything to the target, and the lookup says whether the
//! blocklist blocks the number.

use deskbind_core::db::DbError;
use deskbind_core::domain::E164;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::contact_links;
use deskbind_core::wire::{
    BlocklistKind, BlocklistPattern, BlocklistScope, CallDirection, CallRecordUpload,
    CreateBlocklistEntry, Role,
};
use deskbind_mobile::AppClient;
use serde_json::{Value, json};

use crate::contact_http::{Http, created};
use crate::helpers::{TestApp, spawn_app};
use crate::records::{backdate_bindings, call};

const NUMBER: &str = "+4930555000";

fn inbound(call_id: &str, number: &str) -> CallRecordUpload {
    let mut c = call(call_id, 5);
    c.direction = CallDirection::Inbound;
    c.remote_number = number.into();
    c
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The `contact` of every call in the caller's list, by call id.
async fn call_contacts(http: &Http, query: &str) -> Vec<(String, Value)> {
    let (status, page) = http.get(&format!("/v1/calls{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["call_id"].as_str().unwrap().to_owned(),
                c["contact"].clone(),
            )
        })
        .collect()
}

async fn dial_contacts(http: &Http) -> Vec<Value> {
    let (status, page) = http.get("/v1/dials").await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["contact"].clone())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.scalar(format!("SELECT COUNT(*) AS n FROM {sql}")).await
}

#[tokio::test]
async fn links_follow_the_contacts_numbers_from_create_to_delete() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (_, sam_client, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let sam = Http::of(&app, &sam_client).await;
    backdate_bindings(&app).await;
    device
        .upload_call_records(&[call("c1", 30), call("c2", 20)])
        .await
        .unwrap();
    sam_client.dial(NUMBER, None, None).await.unwrap();
    assert!(
        call_contacts(&sam, "")
            .await
            .iter()
            .all(|(_, c)| c.is_null())
    );

    // A new contact with the number links the calls and the dial made
    // before it existed.
    let contact = created(
        &admin,
        json!({"name": "Ann Lee", "company": "Acme", "numbers": [NUMBER]}),
    )
    .await;
    let expected = json!({"id": contact["id"], "name": "Ann Lee", "company": "Acme"});
    for (call_id, linked) in call_contacts(&sam, "").await {
        assert_eq!(linked, expected, "{call_id}");
    }
    assert_eq!(dial_contacts(&sam).await, std::slice::from_ref(&expected));
    // A dial placed now is linked when it is stored.
    let dial = sam_client.dial(NUMBER, None, None).await.unwrap();
    assert_eq!(dial.contact.map(|c| c.id.to_string()), Some(id(&contact)));
    // The call log filters by the contact; a sync page carries it too.
    let filtered = call_contacts(&sam, &format!("?contact_id={}", id(&contact))).await;
    assert_eq!(filtered.len(), 2);
    let (_, sync) = sam.get("/v1/sync/calls").await;
    assert_eq!(sync["items"][0]["contact"], expected);
    let (_, csv) = sam.get_text("/v1/calls/export.csv").await;
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",contact_id,contact_name")
    );
    assert!(csv.contains(&format!(",{},Ann Lee", id(&contact))), "{csv}");

    // Losing the number unlinks them; gaining it back links them again.
    let path = format!("/v1/contacts/{}", id(&contact));
    let (status, _) = admin
        .patch(&path, json!({"numbers": ["+4930555999"]}))
        .await;
    assert_eq!(status, 200);
    assert!(
        call_contacts(&sam, "")
            .await
            .iter()
            .all(|(_, c)| c.is_null())
    );
    assert!(dial_contacts(&sam).await.iter().all(Value::is_null));
    assert_eq!(
        call_contacts(&sam, &format!("?contact_id={}", id(&contact)))
            .await
            .len(),
        0
    );
    let (status, _) = admin
        .patch(&path, json!({"numbers": ["+4930555999", NUMBER]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        call_contacts(&sam, &format!("?contact_id={}", id(&contact)))
            .await
            .len(),
        2
    );
    assert_eq!(
        count(&app, "dial_commands WHERE contact_id IS NOT NULL").await,
        2
    );

    // Deleting the contact unlinks everything.
    let (status, _) = admin.send("DELETE", &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        count(&app, "call_records WHERE contact_id IS NOT NULL").await,
        0
    );
    assert_eq!(
        count(&app, "dial_commands WHERE contact_id IS NOT NULL").await,
        0
    );

    // An import with the number links as well.
    let (status, results) = admin
        .post(
            "/v1/contacts/import",
            json!({"rows": [{"external_id": "crm-7", "name": "Imported", "numbers": [NUMBER]}]}),
        )
        .await;
    assert_eq!(status, 200, "{results}");
    let imported = results["results"][0]["contact_id"].as_str().unwrap();
    assert_eq!(
        call_contacts(&sam, &format!("?contact_id={imported}"))
            .await
            .len(),
        2
    );
    // A contact id of another organisation, or that does not exist,
    // selects nothing, like the other id filters.
    let foreign = Http::of(&app, &app.other_org_admin().await).await;
    let theirs = created(&foreign, json!({"name": "Theirs", "numbers": [NUMBER]})).await;
    assert!(
        call_contacts(&admin, &format!("?contact_id={}", id(&theirs)))
            .await
            .is_empty()
    );
    let (status, refused) = admin.get("/v1/calls?contact_id=nope").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_query"))
    );
}

#[tokio::test]
async fn an_unknown_inbound_caller_gets_one_provisional_contact() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (sam_user, sam_client, _, device) =
        app.bound_salesperson("sam@acme.test", "+4930111").await;
    let sam = Http::of(&app, &sam_client).await;
    backdate_bindings(&app).await;
    sam_client
        .create_blocklist_entry(&CreateBlocklistEntry {
            kind: BlocklistKind::Block,
            scope: BlocklistScope::User,
            team_id: None,
            user_id: Some(sam_user.id),
            pattern: BlocklistPattern::Number,
            value: "+4930777000".into(),
            label: "Spam".into(),
            reason: String::new(),
            expires_at: None,
        })
        .await
        .unwrap();
    let mut outbound = call("out", 9);
    outbound.remote_number = "+4930888000".into();
    device
        .upload_call_records(&[
            inbound("in1", NUMBER),
            inbound("in2", NUMBER),
            inbound("anonymous", "anonymous"),
            inbound("blocked", "+4930777000"),
            outbound,
        ])
        .await
        .unwrap();
    // A later batch with the number reuses the contact.
    device
        .upload_call_records(&[inbound("in3", NUMBER)])
        .await
        .unwrap();

    let (_, contacts) = admin.get("/v1/contacts").await;
    let contacts = contacts["items"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let auto = &contacts[0];
    assert_eq!(auto["source"], "auto");
    assert_eq!(auto["name"], "");
    assert_eq!(auto["numbers"], json!([{"e164": NUMBER, "raw": NUMBER}]));
    // Owned by the salesperson whose call brought it in, who may complete it.
    assert_eq!(auto["owner_id"], sam_user.id.to_string());
    for (call_id, linked) in call_contacts(&sam, "").await {
        let expected = if call_id.starts_with("in") {
            json!({"id": auto["id"], "name": null, "company": null})
        } else {
            Value::Null
        };
        assert_eq!(linked, expected, "{call_id}");
    }
    // Giving it a name is an ordinary change.
    let (status, named) = admin
        .patch(
            &format!("/v1/contacts/{}", id(auto)),
            json!({"name": "Caller"}),
        )
        .await;
    assert_eq!(status, 200, "{named}");
    assert_eq!(
        call_contacts(&sam, &format!("?contact_id={}", id(auto))).await[0].1["name"],
        "Caller"
    );
}

#[tokio::test]
async fn concurrent_writers_provision_one_contact_per_number() {
    let app = spawn_app().await;
    let org = app.admin.me().await.unwrap().org_id;
    let number = E164::parse("number", NUMBER, None).unwrap();
    // Ten transactions at once, each provisioning the same number.
    let attempts = (0..10)
        .map(|_| contact_links::provision_number(&app.db, org, number.clone(), None, now_micros()));
    let rows = futures_util::future::join_all(attempts).await;
    let ids: Vec<_> = rows.into_iter().map(|r| r.unwrap().id).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(count(&app, "contacts").await, 1);

    // Two phones' batches with another unknown caller, at once.
    let (_, _, _, first) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    let (_, _, _, second) = app.bound_salesperson("kim@acme.test", "+4930222").await;
    backdate_bindings(&app).await;
    let (batch_a, batch_b) = (
        [inbound("a1", "+4930666000")],
        [inbound("b1", "+4930666000")],
    );
    let (a, b) = tokio::join!(
        first.upload_call_records(&batch_a),
        second.upload_call_records(&batch_b),
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(count(&app, "contacts").await, 2);
    assert_eq!(
        count(
            &app,
            "call_records r JOIN contact_numbers n ON n.contact_id = r.contact_id \
             WHERE n.e164 = '+4930666000'"
        )
        .await,
        2
    );
}

/// Two contacts of the admin's: A with a call and a dial on `NUMBER`, B
/// with a call and a dial on `+4930555001`.
async fn two_linked_contacts(app: &TestApp) -> (Http, AppClient, Value, Value) {
    let admin = Http::of(app, &app.admin).await;
    let (_, sam_client, _, device) = app.bound_salesperson("sam@acme.test", "+4930111").await;
    backdate_bindings(app).await;
    let a = created(
        &admin,
        json!({"name": "Ann", "numbers": [NUMBER], "tags": ["vip"],
               "custom_fields": {"tier": "gold"}}),
    )
    .await;
    let b = created(
        &admin,
        json!({"name": "Ann Lee", "company": "Acme", "numbers": ["+4930555001", "+4930555002"],
               "tags": ["lead", "vip"], "external_id": "crm-1",
               "custom_fields": {"tier": "silver", "city": "Berlin"}}),
    )
    .await;
    let mut other = call("b1", 10);
    other.remote_number = "+4930555001".into();
    device
        .upload_call_records(&[call("a1", 20), other])
        .await
        .unwrap();
    sam_client.dial(NUMBER, None, None).await.unwrap();
    sam_client.dial("+4930555001", None, None).await.unwrap();
    (admin, sam_client, a, b)
}

#[tokio::test]
async fn merge_keeps_every_number_call_link_and_dial_link() {
    let app = spawn_app().await;
    let (admin, sam_client, a, b) = two_linked_contacts(&app).await;
    let sam = Http::of(&app, &sam_client).await;

    let (status, merged) = admin
        .post(
            &format!("/v1/contacts/{}/merge", id(&a)),
            json!({"from": b["id"]}),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["id"], a["id"]);
    assert_eq!(merged["name"], "Ann", "the target's own values stay");
    assert_eq!(merged["company"], "Acme", "what it lacked comes over");
    assert_eq!(merged["external_id"], "crm-1");
    assert_eq!(merged["tags"], json!(["vip", "lead"]));
    assert_eq!(
        merged["custom_fields"],
        json!({"city": "Berlin", "tier": "gold"})
    );
    let numbers: Vec<&str> = merged["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["e164"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [NUMBER, "+4930555001", "+4930555002"]);
    let (status, _) = admin.get(&format!("/v1/contacts/{}", id(&b))).await;
    assert_eq!(status, 404, "the merged contact is gone");
    assert_eq!(count(&app, "contacts").await, 1);

    let linked = call_contacts(&sam, &format!("?contact_id={}", id(&a))).await;
    assert_eq!(linked.len(), 2, "both calls follow the target");
    assert!(linked.iter().all(|(_, c)| c["id"] == a["id"]));
    let dials = dial_contacts(&sam).await;
    assert_eq!(dials.len(), 2);
    assert!(dials.iter().all(|c| c["id"] == a["id"]), "{dials:?}");
    let (_, lookup) = admin.get("/v1/contacts/lookup?number=%2B4930555002").await;
    assert_eq!(lookup["contact"]["id"], a["id"]);

    // One audit entry, naming both and what moved.
    let log = app
        .admin
        .list_audit_events(&Default::default())
        .await
        .unwrap()
        .items;
    let entries: Vec<_> = log
        .iter()
        .filter(|e| e.action.as_str() == "contact.merged")
        .collect();
    assert_eq!(entries.len(), 1);
    let details = &entries[0].details;
    assert_eq!(details["into"], a["id"]);
    assert_eq!(details["from"], b["id"]);
    assert_eq!(details["numbers_moved"], 2);
    assert_eq!(details["calls_moved"], 1);
    assert_eq!(details["dials_moved"], 1);
}

#[tokio::test]
async fn a_merge_is_refused_into_itself_across_organisations_and_for_others_contacts() {
    let app = spawn_app().await;
    let (admin, _, a, b) = two_linked_contacts(&app).await;
    let merge = |into: &Value| format!("/v1/contacts/{}/merge", id(into));

    let (status, refused) = admin.post(&merge(&a), json!({"from": a["id"]})).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("merge_into_self"))
    );
    let foreign = Http::of(&app, &app.other_org_admin().await).await;
    let theirs = created(&foreign, json!({"name": "Theirs"})).await;
    let (status, _) = admin.post(&merge(&a), json!({"from": theirs["id"]})).await;
    assert_eq!(status, 404, "another organisation's contact does not exist");
    let (_, refused) = admin
        .post(&merge(&a), json!({"from": b["id"], "x": 1}))
        .await;
    assert_eq!(refused["code"], "unknown_field");

    // A salesperson merges only two contacts they own.
    let (_, kim_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let kim = Http::of(&app, &kim_client).await;
    let (status, refused) = kim.post(&merge(&a), json!({"from": b["id"]})).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let mine = created(&kim, json!({"name": "Mine"})).await;
    let also_mine = created(
        &kim,
        json!({"name": "Also mine", "numbers": ["+4930999000"]}),
    )
    .await;
    let (status, _) = kim.post(&merge(&mine), json!({"from": a["id"]})).await;
    assert_eq!(status, 403);
    let (status, merged) = kim
        .post(&merge(&mine), json!({"from": also_mine["id"]}))
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["numbers"][0]["e164"], "+4930999000");
    // Nothing was written by the refusals: a, b, Kim's merged one and the
    // other organisation's.
    assert_eq!(count(&app, "contacts").await, 4);
}

#[tokio::test]
async fn crossed_concurrent_merges_leave_one_contact_without_an_error() {
    let app = spawn_app().await;
    let (admin, _, a, b) = two_linked_contacts(&app).await;
    let mut pairs = vec![(a, b)];
    for round in 0..4 {
        let x = created(
            &admin,
            json!({"name": format!("X{round}"), "numbers": [format!("+49301110{round}")]}),
        )
        .await;
        let y = created(
            &admin,
            json!({"name": format!("Y{round}"), "numbers": [format!("+49302220{round}")]}),
        )
        .await;
        pairs.push((x, y));
    }
    for (round, (x, y)) in pairs.iter().enumerate() {
        let into_x = format!("/v1/contacts/{}/merge", id(x));
        let into_y = format!("/v1/contacts/{}/merge", id(y));
        let (first, second) = tokio::join!(
            admin.post(&into_x, json!({"from": y["id"]})),
            admin.post(&into_y, json!({"from": x["id"]})),
        );
        let mut statuses = [first.0, second.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 404], "{first:?} {second:?}");
        let survivor = if first.0 == 200 { &first.1 } else { &second.1 };
        let gone = if survivor["id"] == x["id"] { y } else { x };
        let (status, _) = admin.get(&format!("/v1/contacts/{}", id(gone))).await;
        assert_eq!(status, 404);
        let numbers = survivor["numbers"].as_array().unwrap().len();
        if round == 0 {
            assert_eq!(numbers, 3);
            for table in ["call_records", "dial_commands"] {
                let linked = format!("{table} WHERE contact_id = '{}'", id(survivor));
                assert_eq!(count(&app, &linked).await, 2, "{table}");
            }
        } else {
            assert_eq!(numbers, 2);
        }
    }
    assert_eq!(count(&app, "contacts").await, 5);
}

#[tokio::test]
async fn the_lookup_says_whether_the_blocklist_blocks_the_number_for_the_caller() {
    let app = spawn_app().await;
    let (sam_user, sam_client) = app.user("sam@acme.test", Role::Salesperson).await;
    let (_, kim_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let (sam, kim) = (
        Http::of(&app, &sam_client).await,
        Http::of(&app, &kim_client).await,
    );
    let entry = sam_client
        .create_blocklist_entry(&CreateBlocklistEntry {
            kind: BlocklistKind::Block,
            scope: BlocklistScope::User,
            team_id: None,
            user_id: Some(sam_user.id),
            pattern: BlocklistPattern::Number,
            value: NUMBER.into(),
            label: "Pest".into(),
            reason: "rude".into(),
            expires_at: None,
        })
        .await
        .unwrap();
    let path = "/v1/contacts/lookup?number=030%20555000&region=DE";
    let (status, mine) = sam.get(path).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["blocked"], true);
    assert_eq!(mine["blocked_by"]["entry_id"], entry.id.to_string());
    assert_eq!(mine["blocked_by"]["label"], "Pest");
    // Sam's own entry does not block Kim's calls.
    let (_, theirs) = kim.get(path).await;
    assert_eq!(theirs["blocked"], false);
    assert_eq!(theirs.get("blocked_by"), None);
    // Through the SDK.
    let found = sam_client.lookup_contact(NUMBER, None).await.unwrap();
    assert!(found.blocked);
    assert_eq!(found.blocked_by.map(|b| b.entry_id), Some(entry.id));
}

#[tokio::test]
async fn the_migration_links_what_was_stored_before_it() {
    let app = spawn_app().await;
    let (admin, _, a, _) = two_linked_contacts(&app).await;
    app.execute("UPDATE call_records SET contact_id = NULL".into())
        .await;
    app.execute("UPDATE dial_commands SET contact_id = NULL".into())
        .await;
    app.db
        .run(|conn| {
            deskbind_core::db::revert_through(conn, "20261203000018").expect("revert");
            deskbind_core::db::run_pending(conn).expect("migrate");
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    assert_eq!(
        count(
            &app,
            &format!("call_records WHERE contact_id = '{}'", id(&a))
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("dial_commands WHERE contact_id = '{}'", id(&a))
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "call_records WHERE contact_id IS NULL").await,
        0
    );
    drop(admin);
}
