//! Contacts: create, read, update, delete, search and paging, the number
//! and external-id uniqueness (also under concurrent writers), roles, and
//! the organisation's visibility setting.

use deskbind_core::wire::Role;
use serde_json::{Value, json};

use crate::contact_http::{Http, code, created, id};
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_contact_keeps_what_it_was_given_and_changes_by_patch() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let contact = created(
        &admin,
        json!({
            "name": "Ann Lee",
            "company": "Acme GmbH",
            "email": "Ann@Acme.test",
            "numbers": ["030 901820", "+1 650-253-0000"],
            "region": "DE",
            "tags": ["vip", "lead", "vip"],
            "external_id": "crm-1",
            "custom_fields": {"tier": "gold"},
            "notes": "Prefers mornings.\nCall back on Tuesdays."
        }),
    )
    .await;
    assert_eq!(contact["source"], "manual");
    assert_eq!(contact["score"], 0);
    assert_eq!(contact["email"], "ann@acme.test");
    assert_eq!(
        contact["numbers"],
        json!([
            {"e164": "+4930901820", "raw": "030 901820"},
            {"e164": "+16502530000", "raw": "+1 650-253-0000"}
        ])
    );
    assert_eq!(contact["tags"], json!(["vip", "lead"]));
    assert!(
        contact.get("owner_id").is_none(),
        "an admin's contact has no owner"
    );
    let path = format!("/v1/contacts/{}", id(&contact));
    assert_eq!(admin.get(&path).await, (200, contact.clone()));

    let (status, patched) = admin
        .patch(
            &path,
            json!({"company": null, "numbers": ["+4930901820"], "tags": []}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched.get("company").is_none());
    assert_eq!(patched["numbers"].as_array().map(Vec::len), Some(1));
    assert_eq!(patched["name"], "Ann Lee");
    assert_eq!(patched["custom_fields"], json!({"tier": "gold"}));

    // The number freed by the patch can go to another contact.
    created(&admin, json!({"name": "Bob", "numbers": ["+16502530000"]})).await;

    let (status, _) = admin.send("DELETE", &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(admin.get(&path).await.0, 404);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM contact_numbers WHERE e164 = '+4930901820'".into())
            .await,
        0
    );
}

#[tokio::test]
async fn invalid_fields_are_refused_with_their_codes() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "one_of_required", "name"),
        (
            json!({"name": "A", "numbers": ["030 901820"]}),
            "invalid_phone_number",
            "numbers",
        ),
        (
            json!({"name": "A", "numbers": ["030 901820"], "region": "XX"}),
            "invalid_region",
            "region",
        ),
        (
            json!({"name": "A", "email": "nope"}),
            "invalid_email",
            "email",
        ),
        (json!({"name": "x".repeat(201)}), "too_long", "name"),
        (
            json!({"name": "A", "tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()}),
            "too_many",
            "tags",
        ),
        (
            json!({"name": "A", "custom_fields": {"Bad Key": "v"}}),
            "invalid_field",
            "custom_fields",
        ),
        (
            json!({"name": "A", "custom_fields": {"n": 1}}),
            "invalid_field",
            "custom_fields.n",
        ),
        (
            json!({"name": "A", "owner_id": deskbind_core::ids::UserId::new()}),
            "unknown_owner",
            "owner_id",
        ),
        (
            json!({"name": "A", "colour": "red"}),
            "unknown_field",
            "colour",
        ),
    ];
    for (body, want_code, want_field) in cases {
        let (status, problem) = admin.post("/v1/contacts", body.clone()).await;
        assert_eq!(
            (
                status,
                code(&problem),
                problem["field"].as_str().unwrap_or_default()
            ),
            (422, want_code, want_field),
            "{body}"
        );
    }
    let (status, problem) = admin.get("/v1/contacts?number=12").await;
    assert_eq!((status, code(&problem)), (422, "number_search_too_short"));
    assert_eq!(app.count("contacts").await, 0);
}

#[tokio::test]
async fn a_number_or_external_id_belongs_to_one_contact_and_the_refusal_names_it() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let ann = created(
        &admin,
        json!({"name": "Ann", "numbers": ["+4930901820"], "external_id": "crm-1"}),
    )
    .await;
    let (status, problem) = admin
        .post(
            "/v1/contacts",
            json!({"name": "Bob", "numbers": ["+49 30 901820"]}),
        )
        .await;
    assert_eq!((status, code(&problem)), (409, "contact_number_taken"));
    assert_eq!(problem["contact_id"], ann["id"]);
    let (status, problem) = admin
        .post(
            "/v1/contacts",
            json!({"name": "Bob", "external_id": "crm-1"}),
        )
        .await;
    assert_eq!((status, code(&problem)), (409, "external_id_taken"));
    assert_eq!(problem["contact_id"], ann["id"]);
    // Patching another contact onto the number is refused the same way.
    let bob = created(&admin, json!({"name": "Bob"})).await;
    let (status, problem) = admin
        .patch(
            &format!("/v1/contacts/{}", id(&bob)),
            json!({"numbers": ["+4930901820"]}),
        )
        .await;
    assert_eq!((status, code(&problem)), (409, "contact_number_taken"));
    assert_eq!(app.count("contacts").await, 2);
    assert_eq!(app.count("contact_numbers").await, 1);
}

#[tokio::test]
async fn concurrent_creates_of_one_number_leave_it_with_exactly_one_contact() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let attempts = (0..20).map(|i| {
        let admin = admin.clone();
        tokio::spawn(async move {
            admin
                .post(
                    "/v1/contacts",
                    json!({"name": format!("Caller {i}"), "numbers": ["+4930901820"]}),
                )
                .await
        })
    });
    let answers: Vec<(u16, Value)> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in &answers {
        if *status != 201 {
            assert_eq!((*status, code(body)), (409, "contact_number_taken"));
            assert_eq!(body["contact_id"], winners[0]["id"]);
        }
    }
    assert_eq!(app.count("contacts").await, 1);
}

#[tokio::test]
async fn search_by_name_company_number_tag_and_owner_pages_by_cursor() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (seller, seller_client) = app.user("sam@acme.test", Role::Salesperson).await;
    let seller_http = Http::of(&app, &seller_client).await;
    for i in 0..5 {
        created(
            &admin,
            json!({
                "name": format!("Person {i}"),
                "company": if i % 2 == 0 { "Müller & Söhne" } else { "Other_Co" },
                "numbers": [format!("+49309018{i:02}")],
                "tags": if i < 2 { json!(["vip"]) } else { json!(["lead"]) },
            }),
        )
        .await;
    }
    let own = created(&seller_http, json!({"name": "Sam's lead", "tags": ["vi"]})).await;
    assert_eq!(own["owner_id"], json!(seller.id));

    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |query: &str| {
        let admin = admin.clone();
        let query = query.to_owned();
        async move {
            let (status, page) = admin.get(&format!("/v1/contacts?{query}")).await;
            assert_eq!(status, 200, "{query}: {page}");
            page
        }
    };
    assert_eq!(
        names(&search("q=MÜLLER").await),
        ["Person 0", "Person 2", "Person 4"]
    );
    assert_eq!(
        names(&search("q=person_1").await),
        Vec::<String>::new(),
        "_ is no wildcard"
    );
    assert_eq!(names(&search("q=er_c").await), ["Person 1", "Person 3"]);
    assert_eq!(
        names(&search("number=030%20901%20803").await),
        Vec::<String>::new()
    );
    assert_eq!(
        names(&search("number=%2B49%2030%20901803").await),
        ["Person 3"]
    );
    assert_eq!(names(&search("number=90180").await).len(), 5);
    assert_eq!(names(&search("tag=vip").await), ["Person 0", "Person 1"]);
    assert_eq!(
        names(&search("tag=vi").await),
        ["Sam's lead"],
        "tags match exactly"
    );
    assert_eq!(
        names(&search(&format!("owner_id={}", seller.id)).await),
        ["Sam's lead"]
    );

    // Keyset paging walks every contact once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".into(),
        };
        let page = search(&query).await;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[5], "Sam's lead");
}

#[tokio::test]
async fn salespeople_edit_their_own_contacts_and_read_others_unless_restricted() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let (sam, sam_client) = app.user("sam@acme.test", Role::Salesperson).await;
    let (_, kim_client) = app.user("kim@acme.test", Role::Salesperson).await;
    let (_, mia_client) = app.user("mia@acme.test", Role::Manager).await;
    let (sam_http, kim, mia) = (
        Http::of(&app, &sam_client).await,
        Http::of(&app, &kim_client).await,
        Http::of(&app, &mia_client).await,
    );
    let sams = created(&sam_http, json!({"name": "Sam's"})).await;
    let shared = created(&admin, json!({"name": "Shared"})).await;
    let (sams_path, shared_path) = (
        format!("/v1/contacts/{}", id(&sams)),
        format!("/v1/contacts/{}", id(&shared)),
    );
    // A salesperson may not give a contact to someone else, or to nobody.
    let (status, _) = kim
        .post("/v1/contacts", json!({"name": "X", "owner_id": sam.id}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = sam_http.patch(&sams_path, json!({"owner_id": null})).await;
    assert_eq!(status, 403);

    // Setting "organisation" (the default): others' contacts are read-only.
    assert_eq!(kim.get(&sams_path).await.0, 200);
    assert_eq!(kim.patch(&sams_path, json!({"name": "Mine"})).await.0, 403);
    assert_eq!(kim.send("DELETE", &shared_path, None).await.0, 403);
    assert_eq!(
        sam_http.patch(&sams_path, json!({"notes": "ok"})).await.0,
        200
    );
    assert_eq!(
        mia.patch(&sams_path, json!({"name": "By manager"})).await.0,
        200
    );
    let (_, page) = kim.get("/v1/contacts").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));

    // Only admins read and change the setting.
    assert_eq!(kim.get("/v1/contact-settings").await.0, 403);
    assert_eq!(
        mia.send(
            "PUT",
            "/v1/contact-settings",
            Some(json!({"visibility": "own"}))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        admin.get("/v1/contact-settings").await,
        (200, json!({"visibility": "organisation"}))
    );
    let (status, settings) = admin
        .send(
            "PUT",
            "/v1/contact-settings",
            Some(json!({"visibility": "own"})),
        )
        .await;
    assert_eq!(
        (status, settings["visibility"].as_str()),
        (200, Some("own"))
    );
    assert_eq!(
        admin.get("/v1/contact-settings").await.1["visibility"],
        "own"
    );

    // Setting "own": others' contacts are not found at all.
    assert_eq!(kim.get(&sams_path).await.0, 404);
    assert_eq!(kim.patch(&sams_path, json!({"name": "Mine"})).await.0, 404);
    assert_eq!(kim.send("DELETE", &shared_path, None).await.0, 404);
    let (_, page) = kim.get("/v1/contacts").await;
    assert_eq!(page["items"], json!([]));
    let (_, page) = sam_http.get("/v1/contacts").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    // Managers and admins still see everything.
    let (_, page) = mia.get("/v1/contacts").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(sam_http.send("DELETE", &sams_path, None).await.0, 204);
}

#[tokio::test]
async fn the_sdk_covers_every_contact_route() {
    use deskbind_core::wire::{CreateContact, ImportStatus, UpdateContact};
    use deskbind_mobile::ContactQuery;
    let app = spawn_app().await;
    let sdk = &app.admin;
    let ann = sdk
        .create_contact(&CreateContact {
            name: Some("Ann".into()),
            numbers: vec!["030 901820".into()],
            region: Some("DE".into()),
            ..CreateContact::default()
        })
        .await
        .unwrap();
    let changed = sdk
        .update_contact(
            ann.id,
            &UpdateContact {
                company: Some(Some("Acme".into())),
                ..UpdateContact::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.company.as_deref(), Some("Acme"));
    assert_eq!(sdk.get_contact(ann.id).await.unwrap(), changed);
    let found = sdk.lookup_contact("+4930901820", None).await.unwrap();
    assert_eq!(found.contact.map(|c| c.id), Some(ann.id));
    let imported = sdk
        .import_contacts(
            vec![CreateContact {
                external_id: Some("crm-1".into()),
                numbers: vec!["030 901821".into()],
                ..CreateContact::default()
            }],
            Some("DE"),
        )
        .await
        .unwrap();
    assert_eq!(imported.results[0].status, ImportStatus::Created);
    let query = ContactQuery {
        q: Some("ann".into()),
        ..ContactQuery::default()
    };
    assert_eq!(
        sdk.list_contacts(&query).await.unwrap().items,
        vec![changed]
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    sdk.export_contacts_csv(&ContactQuery::default(), &file)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);
    sdk.delete_contact(ann.id).await.unwrap();
    let err = sdk.get_contact(ann.id).await.unwrap_err();
    assert_eq!(crate::helpers::code(&err).0, 404);
}
