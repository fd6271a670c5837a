//! The console's pages for vendor desk phones (docs/console.md, "Phones"):
//! the driver and model on the registration and edit forms (the API's
//! refusals at their fields, nothing written), the driver and capabilities
//! on the list and the page, the desk phone configuration (direct and
//! relay snippets, escaped), direct mode's token shown once and revoked,
//! the link's health; and only admins of the phone's organisation, with
//! the page's CSRF token, reach any of it.

use std::time::Duration;

use deskbind_core::ids::PhoneId;
use deskbind_core::wire::{LineState, Phone, Role};

use crate::console_live::Console;
use crate::dialing::{fast_reconnect, within};
use crate::helpers::{TestApp, spawn_app};
use crate::vendor_phones::{accepted_events, event, vendor_phone};

const MAC: &str = "mac=00:15:65:ab:cd:ef";

/// The token a page shows (`dbv_` and its random part).
fn shown_token(page: &str) -> String {
    let start = page.find("dbv_").expect("a token on the page");
    page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The phone id in a redirect to its page.
fn phone_in(location: &str) -> PhoneId {
    location
        .trim_start_matches("/admin/phones/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A Yealink T54W, the admin's console session and the phone's page.
async fn yealink_on_the_console(app: &TestApp, number: &str) -> (Phone, Console, String) {
    let phone = vendor_phone(app, number, "yealink", Some("T54W")).await;
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let page_path = format!("/admin/phones/{}", phone.id);
    (phone, admin, page_path)
}

#[tokio::test]
async fn an_admin_registers_and_edits_a_driven_phone_and_refusals_write_nothing() {
    let app = spawn_app().await;
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let register = |driver: &'static str, model: &'static str| {
        [
            ("label", "Front desk"),
            ("number", "+4930910001"),
            ("driver", driver),
            ("model", model),
        ]
    };
    // Another vendor's model: refused at its field, the choice shown again.
    let (status, page) = admin
        .post("/admin/phones", &register("yealink", "D315"))
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(r#"id="err-model""#), "{page}");
    assert!(page.contains("is not a Yealink model"), "{page}");
    assert!(
        page.contains(r#"<option value="yealink" selected>"#),
        "{page}"
    );
    assert!(page.contains(r#"value="Front desk""#), "{page}");
    let (status, page) = admin.post("/admin/phones", &register("poly", "")).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(r#"id="err-driver""#), "{page}");
    assert_eq!(app.count("phones").await, 0, "nothing registered");

    let (status, to) = admin
        .post("/admin/phones", &register("yealink", "T54W"))
        .await;
    assert_eq!(
        (status, to.ends_with("?done=registered")),
        (303, true),
        "{to}"
    );
    let id = phone_in(&to);
    let phone = app.admin.get_phone(id).await.unwrap();
    assert_eq!(
        (
            phone.driver.map(|d| d.as_str()),
            phone.vendor.as_deref(),
            phone.model.as_deref()
        ),
        (Some("yealink"), Some("Yealink"), Some("T54W"))
    );
    let (_, list) = admin.get("/admin/phones").await;
    assert!(list.contains("<td>Yealink</td>"), "{list}");
    assert!(
        list.contains("<td>dial, hang up, do not disturb</td>"),
        "{list}"
    );
    let (status, page) = admin.get(&to).await;
    assert_eq!(status, 200);
    assert!(page.contains("<dd data-driver>Yealink</dd>"), "{page}");
    assert!(page.contains("<dd data-model>Yealink T54W</dd>"), "{page}");
    assert!(
        page.contains("<dd data-capabilities>dial, hang up, do not disturb</dd>"),
        "{page}"
    );
    assert!(page.contains("Desk phone configuration"), "{page}");

    // Snom without a model keeps T54W, which Snom's driver does not know.
    let edit = format!("/admin/phones/{id}/driver");
    let (status, page) = admin
        .post(&edit, &[("driver", "snom"), ("model", "")])
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(r#"id="err-model""#), "{page}");
    assert!(page.contains("is not a Snom model"), "{page}");
    let unchanged = app.admin.get_phone(id).await.unwrap();
    assert_eq!(unchanged.driver, phone.driver);
    let (status, to) = admin
        .post(&edit, &[("driver", "snom"), ("model", "D315")])
        .await;
    assert_eq!((status, to.ends_with("?done=driver")), (303, true), "{to}");
    let snom = app.admin.get_phone(id).await.unwrap();
    assert_eq!(
        (snom.driver.map(|d| d.as_str()), snom.model.as_deref()),
        (Some("snom"), Some("D315"))
    );
    // No driver: deskbind's own protocol, nothing to configure.
    let (status, to) = admin.post(&edit, &[("driver", ""), ("model", "")]).await;
    assert_eq!(status, 303, "{to}");
    let sdk = app.admin.get_phone(id).await.unwrap();
    assert_eq!((sdk.driver, sdk.model.as_deref()), (None, Some("D315")));
    let (_, page) = admin.get(&to).await;
    assert!(page.contains("Driver and model saved."), "{page}");
    assert!(page.contains("<dd data-capabilities>dial, hang up</dd>"));
    assert!(!page.contains("Desk phone configuration"), "{page}");
}

#[tokio::test]
async fn the_configuration_shows_both_modes_and_direct_modes_token_once() {
    let app = spawn_app().await;
    let (phone, admin, page_path) = yealink_on_the_console(&app, "+4930911001").await;
    let (status, page) = admin.get(&page_path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("action_url.call_terminated = "), "{page}");
    assert!(
        page.contains("/v1/vendor-events/&#60;token&#62;?event=terminated&#38;"),
        "the snippet is escaped text: {page}"
    );
    assert!(page.contains("No direct-mode token"), "{page}");
    assert!(!page.contains(r#"id="relay-snippet""#));

    // Relay mode, for the relay URL typed into the section's form.
    let relay = format!("{page_path}?relay_url=http%3A%2F%2F10.0.0.5%3A8089");
    let (status, page) = admin.get(&relay).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(r#"id="relay-snippet""#), "{page}");
    assert!(page.contains("features.action_uri_limit_ip = 10.0.0.5\n"));
    assert!(page.contains(&format!(
        "http://10.0.0.5:8089/phones/{}/events?event=",
        phone.id
    )));
    // A relay named, not addressed: the API's refusal at the field.
    let named = format!("{page_path}?relay_url=http%3A%2F%2Frelay.office.lan%3A8089");
    let (status, page) = admin.get(&named).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains(r#"id="err-relay-url""#), "{page}");
    assert!(page.contains("The host must be an IP address"), "{page}");
    assert!(!page.contains(r#"id="relay-snippet""#));

    // A Snom's snippet is XML: shown as text, never as markup.
    let snom = vendor_phone(&app, "+4930911002", "snom", None).await;
    let (_, page) = admin.get(&format!("/admin/phones/{}", snom.id)).await;
    assert!(page.contains("&#60;action_outgoing_url perm="), "{page}");
    assert!(!page.contains("<action_outgoing_url"), "{page}");

    // A bad MAC is refused at its field; nothing is issued.
    let token_path = format!("{page_path}/vendor-token");
    let (status, page) = admin.post(&token_path, &[("mac", "nope")]).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains(r#"id="err-mac""#), "{page}");
    assert!(page.contains(r#"value="nope""#), "{page}");
    assert_eq!(accepted_events(&app, phone.id).await, -1, "no link");
    // Without the page's CSRF token: refused, nothing issued.
    let status = admin.post_without_csrf(&token_path, &[("mac", "")]).await;
    assert_eq!(status, 403);
    assert_eq!(accepted_events(&app, phone.id).await, -1, "no link");

    // Issued: the page holds the token and the snippet that carries it.
    let (status, page) = admin
        .post(&token_path, &[("mac", "00:15:65:AB:CD:EF")])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("shown only once"), "{page}");
    let token = shown_token(&page);
    assert_eq!(token.len(), 4 + 43, "{token}");
    assert!(
        page.contains(&format!("/v1/vendor-events/{token}?event=outgoing")),
        "{page}"
    );
    let incoming = format!("event=incoming&call_id=1&remote=%2B4930123456&{MAC}");
    assert_eq!(event(&app, &token, &incoming).await, 200);
    assert_eq!(accepted_events(&app, phone.id).await, 1);

    // Read again: direct mode's state, and the token nowhere.
    let (_, page) = admin.get(&page_path).await;
    assert!(!page.contains("dbv_"), "{page}");
    assert!(page.contains("<dd>00:15:65:ab:cd:ef</dd>"), "{page}");
    assert!(
        page.contains("<dt>Events accepted</dt><dd>1</dd>"),
        "{page}"
    );
    assert!(
        page.contains("<dt>Calls in progress</dt><dd>1</dd>"),
        "{page}"
    );
    assert!(
        page.contains("Last event 20"),
        "the health names it: {page}"
    );

    // Revoked: the token stops working.
    let revoke = format!("{token_path}/revoke");
    assert_eq!(admin.post_without_csrf(&revoke, &[]).await, 403);
    assert_eq!(accepted_events(&app, phone.id).await, 1, "still there");
    let (status, to) = admin.post(&revoke, &[]).await;
    assert_eq!(
        (status, to.ends_with("?done=vendor-token-revoked")),
        (303, true),
        "{to}"
    );
    assert_eq!(accepted_events(&app, phone.id).await, -1, "link deleted");
    event(&app, &token, &incoming.replace("call_id=1", "call_id=2")).await;
    assert_eq!(accepted_events(&app, phone.id).await, -1, "refused");
    let (_, page) = admin.get(&to).await;
    assert!(page.contains("Direct-mode token revoked"), "{page}");
    assert!(page.contains("No direct-mode token"), "{page}");
    // Again: nothing to revoke, the page says so.
    let (status, page) = admin.post(&revoke, &[]).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("no direct-mode token to revoke"), "{page}");
}

#[tokio::test]
async fn only_admins_of_the_phones_organisation_reach_its_configuration() {
    let app = spawn_app().await;
    let phone = vendor_phone(&app, "+4930912001", "yealink", Some("T54W")).await;
    app.admin
        .issue_phone_vendor_token(phone.id, None)
        .await
        .unwrap();
    let page_path = format!("/admin/phones/{}", phone.id);
    let writes = [
        ("vendor-token", vec![("mac", "")]),
        ("vendor-token/revoke", vec![]),
        ("driver", vec![("driver", "snom"), ("model", "D315")]),
    ];
    app.user("mia@acme.test", Role::Manager).await;
    app.user("sal@acme.test", Role::Salesperson).await;
    for email in ["mia@acme.test", "sal@acme.test"] {
        let console = Console::sign_in(&app.base, email).await;
        assert_eq!(console.get(&page_path).await.0, 403, "{email}");
        for (action, fields) in &writes {
            let (status, _) = console.post(&format!("{page_path}/{action}"), fields).await;
            assert_eq!(status, 403, "{email} {action}");
        }
    }
    // Another organisation's admin: the 404 page, for every route.
    app.other_org_admin().await;
    let intruder = Console::sign_in(&app.base, "admin@globex.test").await;
    assert_eq!(intruder.get(&page_path).await.0, 404);
    let relay = format!("{page_path}?relay_url=http%3A%2F%2F10.0.0.5%3A8089");
    assert_eq!(intruder.get(&relay).await.0, 404);
    for (action, fields) in &writes {
        let (status, _) = intruder
            .post(&format!("{page_path}/{action}"), fields)
            .await;
        assert_eq!(status, 404, "{action}");
    }
    // Nothing changed: the driver, and the token (its link) are as they were.
    let after = app.admin.get_phone(phone.id).await.unwrap();
    assert_eq!(after.driver, phone.driver);
    assert_eq!(accepted_events(&app, phone.id).await, 0, "the link is kept");

    // A phone on deskbind's protocol has nothing to configure.
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let sdk = app.phone("+4930912002").await;
    let sdk_path = format!("/admin/phones/{}", sdk.id);
    let (_, page) = admin.get(&sdk_path).await;
    assert!(!page.contains("Desk phone configuration"), "{page}");
    assert!(page.contains("<dd data-driver>None (deskbind app)</dd>"));
    let (status, page) = admin
        .post(&format!("{sdk_path}/vendor-token"), &[("mac", "")])
        .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("has no vendor driver"), "{page}");
    assert_eq!(accepted_events(&app, sdk.id).await, -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_shows_the_relays_link_and_the_line_it_reports() {
    let app = spawn_app().await;
    let (phone, admin, page_path) = yealink_on_the_console(&app, "+4930913001").await;
    let (_, page) = admin.get(&page_path).await;
    assert!(page.contains("Offline now"), "{page}");
    assert!(page.contains("Off (no token)"), "{page}");

    // The office relay holds a vendor phone's link as the SDK phone would.
    let device = app.provision(&app.admin, phone.id).await;
    let link = device.connect(fast_reconnect()).unwrap();
    let reporter = link.reporter();
    reporter.line_state(LineState::Talking);
    assert!(within(reporter.processed()).await, "the line was reported");
    let page = within(async {
        loop {
            let (_, page) = admin.get(&page_path).await;
            if page.contains("Online now") {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(page.contains("Talking since "), "{page}");
}
