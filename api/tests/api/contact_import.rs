//! Bulk import (JSON and CSV; one result per row, a bad row rejected
//! alone, idempotent by external id or number), 20 concurrent imports of
//! the same rows, and the CSV export.

use deskbind_core::wire::Role;
use serde_json::{Value, json};

use crate::contact_http::{Http, code, created};
use crate::helpers::spawn_app;

fn statuses(results: &Value) -> Vec<String> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn json_rows_are_created_then_unchanged_and_bad_rows_rejected_alone() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let taken = created(
        &admin,
        json!({"name": "Taken", "numbers": ["+16502530000"], "external_id": "crm-9"}),
    )
    .await;
    let rows = json!({"rows": [
        {"external_id": "crm-1", "name": "Ann", "numbers": ["030 901820"], "tags": ["vip"]},
        {"name": "By number", "numbers": ["+4930901821"]},
        {"name": "No key"},
        {"external_id": "crm-3", "numbers": ["+16502530000"]},
        {"external_id": "crm-4", "colour": "red"},
        {"external_id": "crm-5", "email": "bad"}
    ]});
    let (status, results) = admin
        .post("/v1/contacts/import?region=DE", rows.clone())
        .await;
    assert_eq!(status, 200, "{results}");
    assert_eq!(
        statuses(&results),
        [
            "created", "created", "rejected", "rejected", "rejected", "rejected"
        ]
    );
    let r = &results["results"];
    assert_eq!(code(&r[2]), "one_of_required");
    assert_eq!(code(&r[3]), "contact_number_taken");
    assert_eq!(r[3]["contact_id"], taken["id"]);
    assert_eq!(
        (code(&r[4]), r[4]["field"].as_str()),
        ("unknown_field", Some("rows"))
    );
    assert_eq!(
        (code(&r[5]), r[5]["field"].as_str()),
        ("invalid_email", Some("email"))
    );
    assert_eq!(r[0]["row"], 0);
    assert_eq!(r[5]["row"], 5);

    // The same rows again change nothing and create nothing.
    let (_, again) = admin.post("/v1/contacts/import?region=DE", rows).await;
    assert_eq!(statuses(&again)[..2], ["unchanged", "unchanged"]);
    assert_eq!(again["results"][0]["contact_id"], r[0]["contact_id"]);
    assert_eq!(app.count("contacts").await, 3);

    // A row with news updates: by external id, and by number (which also
    // gives the contact its external id).
    let (_, update) = admin
        .post(
            "/v1/contacts/import",
            json!({"rows": [
                {"external_id": "crm-1", "company": "Acme", "numbers": ["+4930901822"]},
                {"external_id": "crm-2", "numbers": ["+4930901821"]}
            ]}),
        )
        .await;
    assert_eq!(statuses(&update), ["updated", "updated"]);
    assert_eq!(update["results"][1]["contact_id"], r[1]["contact_id"]);
    let ann_path = format!("/v1/contacts/{}", r[0]["contact_id"].as_str().unwrap());
    let (_, ann) = admin.get(&ann_path).await;
    assert_eq!(ann["company"], "Acme");
    assert_eq!(ann["name"], "Ann", "what the row leaves out stays");
    assert_eq!(ann["numbers"].as_array().map(Vec::len), Some(2));
    assert_eq!(ann["source"], "import");
    assert_eq!(app.count("contacts").await, 3);
}

#[tokio::test]
async fn the_request_shape_is_checked_and_only_admins_and_managers_import() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (_, seller) = app.user("sam@acme.test", Role::Salesperson).await;
    let seller = Http::of(&app, &seller).await;
    let one = json!({"rows": [{"external_id": "x"}]});
    assert_eq!(seller.post("/v1/contacts/import", one).await.0, 403);
    let (status, problem) = admin.post("/v1/contacts/import", json!({"rows": []})).await;
    assert_eq!((status, code(&problem)), (422, "invalid_batch_size"));
    let rows: Vec<Value> = (0..1001)
        .map(|i| json!({"external_id": i.to_string()}))
        .collect();
    let (status, problem) = admin
        .post("/v1/contacts/import", json!({ "rows": rows }))
        .await;
    assert_eq!((status, code(&problem)), (422, "invalid_batch_size"));
    let (status, text) = admin
        .post_text("/v1/contacts/import", "text/csv", "name,colour\nAnn,red\n")
        .await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("invalid_csv"), "{text}");
    let (status, _) = admin
        .post_text("/v1/contacts/import", "text/plain", "name\nAnn\n")
        .await;
    assert_eq!(status, 415);
    assert_eq!(app.count("contacts").await, 0);
}

#[tokio::test]
async fn csv_imports_and_the_export_imports_back_unchanged() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let csv = "external_id,name,company,numbers,tags,custom.tier\r\n\
               crm-1,Ann Lee,\"Acme, Inc.\",+4930901820;+16502530000,vip;lead,gold\r\n\
               crm-2,=cmd(),,+4930901821,,\r\n\
               crm-3,Broken\r\n";
    let (status, text) = admin
        .post_text("/v1/contacts/import", "text/csv", csv)
        .await;
    assert_eq!(status, 200, "{text}");
    let results: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(statuses(&results), ["created", "created", "rejected"]);
    assert_eq!(code(&results["results"][2]), "invalid_csv");

    let (status, export) = admin.get_text("/v1/contacts/export.csv").await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), 3, "{export}");
    assert!(
        lines[0].starts_with("id,external_id,name,company"),
        "{export}"
    );
    assert!(lines[1].contains("\"Acme, Inc.\""), "{export}");
    assert!(lines[1].contains("+4930901820;+16502530000"), "{export}");
    assert!(lines[1].contains(r#""{""tier"":""gold""}""#), "{export}");
    assert!(
        lines[2].contains(",'=cmd(),"),
        "formulas are neutralised: {export}"
    );

    // Filters apply to the export as to the list.
    let (_, only_vip) = admin.get_text("/v1/contacts/export.csv?tag=vip").await;
    assert_eq!(only_vip.lines().count(), 2);

    // The export's first row imports back as unchanged.
    let first_two: String = lines[..2].join("\r\n");
    let (status, text) = admin
        .post_text("/v1/contacts/import", "text/csv", &first_two)
        .await;
    assert_eq!(status, 200, "{text}");
    let again: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(statuses(&again), ["unchanged"]);
}

#[tokio::test]
async fn twenty_concurrent_imports_of_the_same_rows_leave_each_contact_once() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let rows: Vec<Value> = (0..30)
        .map(|i| {
            if i % 2 == 0 {
                json!({"external_id": format!("crm-{i}"), "name": format!("P{i}"), "numbers": [format!("+49309018{i:02}")]})
            } else {
                json!({"name": format!("P{i}"), "numbers": [format!("+49309018{i:02}")]})
            }
        })
        .collect();
    let body = json!({ "rows": rows });
    let imports = (0..20).map(|_| {
        let (admin, body) = (admin.clone(), body.clone());
        tokio::spawn(async move { admin.post("/v1/contacts/import", body).await })
    });
    let answers: Vec<(u16, Value)> = futures_util::future::join_all(imports)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut created_rows = vec![0; 30];
    for (status, results) in &answers {
        assert_eq!(*status, 200, "{results}");
        for (i, status) in statuses(results).iter().enumerate() {
            match status.as_str() {
                "created" => created_rows[i] += 1,
                "unchanged" => {}
                other => panic!("row {i}: {other} in {results}"),
            }
        }
    }
    assert_eq!(
        created_rows,
        vec![1; 30],
        "each row created by exactly one import"
    );
    assert_eq!(app.count("contacts").await, 30);
    assert_eq!(app.count("contact_numbers").await, 30);
}

/// Imports that meet the same rows in opposite orders would lock the same
/// numbers in opposite orders; they must serialise, not deadlock.
#[tokio::test]
async fn concurrent_imports_of_the_same_rows_in_opposite_orders_all_succeed() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let forward: Vec<Value> = (0..40)
        .map(|i| json!({"name": format!("R{i}"), "numbers": [format!("+49309019{i:02}")]}))
        .collect();
    let backward: Vec<Value> = forward.iter().rev().cloned().collect();
    let imports = (0..10).map(|n| {
        let rows = if n % 2 == 0 { &forward } else { &backward };
        let (admin, body) = (admin.clone(), json!({ "rows": rows }));
        tokio::spawn(async move { admin.post("/v1/contacts/import", body).await })
    });
    for answer in futures_util::future::join_all(imports).await {
        let (status, results) = answer.unwrap();
        assert_eq!(status, 200, "{results}");
        for status in statuses(&results) {
            assert!(
                status == "created" || status == "unchanged",
                "{status} in {results}"
            );
        }
    }
    assert_eq!(app.count("contacts").await, 40);
}
