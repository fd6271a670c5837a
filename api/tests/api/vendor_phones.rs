//! Vendor desk phones (docs/vendor-phones.md): the vendor and model as a
//! validated choice with capabilities, the configuration to paste, and
//! direct mode: Action URL events posted with the phone's token become
//! call records and screen pops, while a forged token, another handset, a
//! repeat or a flood writes nothing.

use deskbind_core::ids::PhoneId;
use deskbind_core::time::now_micros;
use deskbind_core::vendor::{Capability, TrackerConfig};
use deskbind_core::wire::{
    CallDirection, CallResult, CreatePhone, Phone, Role, UpdatePhone, VendorMode,
};
use deskbind_mobile::{AppClient, CallQuery, ClientError};
use serde_json::json;

use crate::contact_http::Http;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn new_phone(
    number: &str,
    driver: Option<&str>,
    vendor: Option<&str>,
    model: Option<&str>,
) -> CreatePhone {
    CreatePhone {
        number: number.into(),
        region: None,
        extension: None,
        label: format!("Desk {number}"),
        vendor: vendor.map(str::to_owned),
        model: model.map(str::to_owned),
        driver: driver.map(str::to_owned),
    }
}

/// A phone deskbind drives through `driver`.
pub(crate) async fn vendor_phone(
    app: &TestApp,
    number: &str,
    driver: &str,
    model: Option<&str>,
) -> Phone {
    app.admin
        .create_phone(&new_phone(number, Some(driver), None, model))
        .await
        .unwrap()
}

fn api_code(e: ClientError) -> (u16, String) {
    match (e.status(), e.code()) {
        (Some(status), Some(code)) => (status, code.to_owned()),
        _ => panic!("expected an API error, got {e:?}"),
    }
}

/// Posts one Action URL event the way a phone does: GET with the query.
pub(crate) async fn event(app: &TestApp, token: &str, query: &str) -> u16 {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/vendor-events/{token}?{query}", app.base))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.text().await.unwrap_or_default(),
        if status == 200 { "OK\n" } else { "" }
    );
    status
}

/// The phone's calls in the call log.
async fn calls_of(app: &TestApp, phone: PhoneId) -> Vec<deskbind_core::wire::CallRecord> {
    let query = CallQuery {
        phone_id: Some(phone),
        ..CallQuery::default()
    };
    app.admin.list_calls(&query).await.unwrap().items
}

async fn records_of(app: &TestApp, phone: PhoneId) -> i64 {
    app.scalar(format!(
        "SELECT COUNT(*) AS n FROM call_records WHERE phone_id = '{phone}'"
    ))
    .await
}

pub(crate) async fn accepted_events(app: &TestApp, phone: PhoneId) -> i64 {
    app.scalar(format!(
        "SELECT COALESCE(MAX(events_accepted), -1) AS n FROM vendor_links WHERE phone_id = '{phone}'"
    ))
    .await
}

#[tokio::test]
async fn a_driver_brings_its_vendor_takes_only_its_models_and_shows_what_the_phone_can_do() {
    let app = spawn_app().await;
    let yealink = vendor_phone(&app, "+4930901001", "yealink", Some("t54w")).await;
    assert_eq!(
        (yealink.vendor.as_deref(), yealink.model.as_deref()),
        (Some("Yealink"), Some("T54W"))
    );
    assert_eq!(yealink.driver.map(|d| d.as_str()), Some("yealink"));
    assert_eq!(
        yealink.capabilities,
        vec![Capability::Dial, Capability::Hangup, Capability::Dnd]
    );
    let fetched = app.admin.get_phone(yealink.id).await.unwrap();
    assert_eq!(
        (fetched.driver, fetched.capabilities.clone()),
        (yealink.driver, yealink.capabilities.clone())
    );

    let grandstream = vendor_phone(&app, "+4930901002", "grandstream", None).await;
    assert_eq!(
        grandstream.capabilities,
        vec![Capability::Dial, Capability::Hangup]
    );
    // A Yealink running the SDK is a phone on deskbind's protocol: free text.
    let sdk = app.phone("+4930901003").await;
    assert_eq!(
        (sdk.driver, sdk.capabilities.clone()),
        (None, vec![Capability::Dial, Capability::Hangup])
    );
    let acme = app
        .admin
        .create_phone(&new_phone(
            "+4930901004",
            None,
            Some("Acme"),
            Some("Desk One"),
        ))
        .await
        .unwrap();
    assert_eq!(
        (acme.vendor.as_deref(), acme.model.as_deref(), acme.driver),
        (Some("Acme"), Some("Desk One"), None)
    );

    // What does not go together is refused and nothing is created.
    let phones_before = app.scalar("SELECT COUNT(*) AS n FROM phones".into()).await;
    for (body, field, code) in [
        (
            new_phone("+4930901005", Some("yealink"), None, Some("T99")),
            "model",
            "unknown_phone_model",
        ),
        (
            new_phone("+4930901005", Some("snom"), Some("Yealink"), None),
            "vendor",
            "invalid_field",
        ),
        (
            new_phone("+4930901005", Some("poly"), None, None),
            "driver",
            "invalid_field",
        ),
    ] {
        let refused = app.admin.create_phone(&body).await.unwrap_err();
        assert_eq!((refused.field(), refused.code()), (Some(field), Some(code)));
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM phones".into()).await,
        phones_before
    );

    // A change of one is checked against the others as stored.
    let change = |driver: Option<Option<&str>>, model: Option<&str>| UpdatePhone {
        driver: driver.map(|d| d.map(str::to_owned)),
        model: model.map(str::to_owned),
        ..UpdatePhone::default()
    };
    let refused = app
        .admin
        .update_phone(yealink.id, &change(None, Some("GRP2614")))
        .await
        .unwrap_err();
    assert_eq!(api_code(refused), (422, "unknown_phone_model".into()));
    let refused = app
        .admin
        .update_phone(yealink.id, &change(Some(Some("snom")), None))
        .await
        .unwrap_err();
    assert_eq!(api_code(refused), (422, "unknown_phone_model".into()));
    let unchanged = app.admin.get_phone(yealink.id).await.unwrap();
    assert_eq!(
        (unchanged.driver, unchanged.model.as_deref()),
        (yealink.driver, Some("T54W"))
    );
    let snom = app
        .admin
        .update_phone(yealink.id, &change(Some(Some("snom")), Some("d785")))
        .await
        .unwrap();
    assert_eq!(
        (snom.vendor.as_deref(), snom.model.as_deref()),
        (Some("Snom"), Some("D785"))
    );
    // The SDK phone gets its driver; then loses it again (`null`).
    let driven = app
        .admin
        .update_phone(sdk.id, &change(Some(Some("yealink")), None))
        .await
        .unwrap();
    assert_eq!(
        (driven.driver.map(|d| d.as_str()), driven.model.as_deref()),
        (Some("yealink"), Some("T54W"))
    );
    let http = Http::of(&app, &app.admin).await;
    let (status, body) = http
        .patch(&format!("/v1/phones/{}", sdk.id), json!({ "driver": null }))
        .await;
    assert_eq!(
        (status, body["driver"].clone(), body["capabilities"].clone()),
        (200, json!(null), json!(["dial", "hangup"]))
    );
    let (status, body) = http
        .patch(
            &format!("/v1/phones/{}", sdk.id),
            json!({ "label": "Unchanged kind" }),
        )
        .await;
    assert_eq!(
        (status, body["vendor"].as_str(), body["model"].as_str()),
        (200, Some("Yealink"), Some("T54W"))
    );
}

#[tokio::test]
async fn the_configuration_to_paste_follows_the_vendor_and_the_mode() {
    let app = spawn_app().await;
    let phone = vendor_phone(&app, "+4930902001", "yealink", Some("T46U")).await;
    let direct = app
        .admin
        .phone_vendor_config(phone.id, VendorMode::Direct, None)
        .await
        .unwrap();
    assert!(
        direct.events_url.ends_with("/v1/vendor-events/<token>"),
        "{}",
        direct.events_url
    );
    assert!(
        direct.snippet.contains("action_url.call_terminated = "),
        "{}",
        direct.snippet
    );
    assert!(!direct.snippet.contains("action_uri_limit_ip"));
    assert!(direct.direct.is_none());

    let relay = app
        .admin
        .phone_vendor_config(phone.id, VendorMode::Relay, Some("http://10.0.0.5:8089"))
        .await
        .unwrap();
    assert_eq!(
        relay.events_url,
        format!("http://10.0.0.5:8089/phones/{}/events", phone.id)
    );
    assert!(
        relay
            .snippet
            .contains("features.action_uri_limit_ip = 10.0.0.5\n")
    );
    assert!(
        relay
            .snippet
            .contains("features.show_action_uri_option = 0\n")
    );

    for bad in [
        None,
        Some("relay.office.lan:8089"),
        Some("http://relay.office.lan:8089"),
        Some("ftp://10.0.0.5"),
        Some("http://10.0.0.5/x"),
        Some("http://admin:pw@10.0.0.5"),
        Some("http://a\nfeatures.x=1\n@10.0.0.5"),
    ] {
        let refused = app
            .admin
            .phone_vendor_config(phone.id, VendorMode::Relay, bad)
            .await
            .unwrap_err();
        assert_eq!(api_code(refused), (400, "invalid_query".into()), "{bad:?}");
    }
    let sdk = app.phone("+4930902002").await;
    let refused = app
        .admin
        .phone_vendor_config(sdk.id, VendorMode::Direct, None)
        .await
        .unwrap_err();
    assert_eq!(api_code(refused), (409, "no_vendor_driver".into()));
    let refused = app
        .admin
        .issue_phone_vendor_token(sdk.id, None)
        .await
        .unwrap_err();
    assert_eq!(api_code(refused), (409, "no_vendor_driver".into()));

    // Salespeople see neither the configuration nor a token.
    let (_, ann) = app.user("ann@acme.test", Role::Salesperson).await;
    let refused = ann
        .phone_vendor_config(phone.id, VendorMode::Direct, None)
        .await
        .unwrap_err();
    assert_eq!(api_code(refused).0, 403);
    let refused = ann
        .issue_phone_vendor_token(phone.id, None)
        .await
        .unwrap_err();
    assert_eq!(api_code(refused).0, 403);
    let http = Http::of(&app, &app.admin).await;
    let (status, body) = http
        .post(
            &format!("/v1/phones/{}/vendor-token", phone.id),
            json!({ "mac": "nope" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_field"))
    );
    assert_eq!(
        accepted_events(&app, phone.id).await,
        -1,
        "no link was written"
    );
}

/// A Yealink in direct mode, held by the admin, with a token bound to its MAC.
async fn direct_yealink(app: &TestApp, number: &str) -> (Phone, String) {
    let phone = vendor_phone(app, number, "yealink", Some("T54W")).await;
    app.admin.bind_phone(phone.id, false).await.unwrap();
    let issued = app
        .admin
        .issue_phone_vendor_token(phone.id, Some("00:15:65:AB:CD:EF"))
        .await
        .unwrap();
    assert_eq!(issued.mac.as_deref(), Some("001565abcdef"));
    assert!(
        issued.snippet.contains(&issued.events_url),
        "the snippet carries the token's URL"
    );
    (phone, issued.token)
}

const MAC: &str = "mac=00:15:65:ab:cd:ef";

#[tokio::test]
async fn direct_mode_turns_a_phones_events_into_call_records() {
    let app = spawn_app().await;
    let (phone, token) = direct_yealink(&app, "+4930903001").await;
    let start = now_micros();
    let at = |secs: i64| app.clock.set(start + secs * 1_000_000);

    // Dialled by hand on the phone, answered after 9 s, 61 s of talk.
    at(0);
    assert_eq!(
        event(
            &app,
            &token,
            &format!("event=outgoing&call_id=7&remote=sip:%2B4930123456@pbx&{MAC}")
        )
        .await,
        200
    );
    at(9);
    assert_eq!(
        event(
            &app,
            &token,
            &format!("event=established&call_id=7&remote=%2B4930123456&{MAC}")
        )
        .await,
        200
    );
    at(70);
    assert_eq!(
        event(&app, &token, &format!("event=terminated&call_id=7&{MAC}")).await,
        200
    );
    // A busy callee, and a call ringing in that nobody takes.
    at(100);
    event(
        &app,
        &token,
        &format!("event=outgoing&call_id=8&remote=%2B4930999999&{MAC}"),
    )
    .await;
    at(103);
    event(&app, &token, &format!("event=remote_busy&call_id=8&{MAC}")).await;
    at(200);
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=9&remote=%2B4940555555&{MAC}"),
    )
    .await;
    at(220);
    event(
        &app,
        &token,
        &format!("event=remote_cancelled&call_id=9&{MAC}"),
    )
    .await;

    let calls = calls_of(&app, phone.id).await;
    let mut seen: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c.remote_number.clone(),
                c.direction,
                c.result,
                c.duration_secs,
                c.reported_by_phone,
                c.user_id.is_some(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            (
                "+4930123456".into(),
                CallDirection::Outbound,
                Some(CallResult::Answered),
                Some(61),
                true,
                true
            ),
            (
                "+4930999999".into(),
                CallDirection::Outbound,
                Some(CallResult::Busy),
                None,
                true,
                true
            ),
            (
                "+4940555555".into(),
                CallDirection::Missed,
                Some(CallResult::NoAnswer),
                None,
                true,
                true
            ),
        ]
    );
    // The holder's app syncs them like any phone's records.
    let synced = app.admin.sync_calls(None, None).await.unwrap();
    assert_eq!(
        synced
            .items
            .iter()
            .filter(|c| c.phone_id == phone.id)
            .count(),
        3
    );
    assert_eq!(accepted_events(&app, phone.id).await, 7);
    let config = app
        .admin
        .phone_vendor_config(phone.id, VendorMode::Direct, None)
        .await
        .unwrap();
    let state = config.direct.unwrap();
    assert_eq!(
        (
            state.events_accepted,
            state.open_calls,
            state.mac.as_deref()
        ),
        (7, 0, Some("001565abcdef"))
    );
}

#[tokio::test]
async fn forged_tokens_other_handsets_repeats_and_revoked_tokens_write_nothing() {
    let app = spawn_app().await;
    let (phone, token) = direct_yealink(&app, "+4930904001").await;
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=1&remote=%2B4940555555&{MAC}"),
    )
    .await;
    event(&app, &token, &format!("event=missed&call_id=1&{MAC}")).await;
    assert_eq!(
        (
            records_of(&app, phone.id).await,
            accepted_events(&app, phone.id).await
        ),
        (1, 2)
    );
    let audit_before = app
        .scalar("SELECT COUNT(*) AS n FROM audit_events".into())
        .await;

    let forged = format!("{}x", &token[..token.len() - 1]);
    for (token, query) in [
        (
            forged.as_str(),
            format!("event=incoming&call_id=2&remote=1&{MAC}"),
        ),
        ("dbv_", format!("event=incoming&call_id=2&remote=1&{MAC}")),
        (
            &"a".repeat(500),
            format!("event=incoming&call_id=2&remote=1&{MAC}"),
        ),
        // Another handset, or none, with the right token.
        (
            token.as_str(),
            "event=incoming&call_id=2&remote=1&mac=00:15:65:00:00:01".to_owned(),
        ),
        (
            token.as_str(),
            "event=incoming&call_id=2&remote=1".to_owned(),
        ),
        // The same event again.
        (
            token.as_str(),
            format!("event=incoming&call_id=1&remote=%2B4940555555&{MAC}"),
        ),
        // Not an event.
        (token.as_str(), format!("event=reboot&{MAC}")),
        (token.as_str(), MAC.to_owned()),
    ] {
        assert_eq!(event(&app, token, &query).await, 200, "{query}");
    }
    assert_eq!(
        (
            records_of(&app, phone.id).await,
            accepted_events(&app, phone.id).await
        ),
        (1, 2)
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM audit_events".into())
            .await,
        audit_before
    );

    // A new token replaces the old; revoking ends direct mode.
    let renewed = app
        .admin
        .issue_phone_vendor_token(phone.id, None)
        .await
        .unwrap();
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=3&remote=1&{MAC}"),
    )
    .await;
    assert_eq!(
        accepted_events(&app, phone.id).await,
        0,
        "the old token is refused; counts start again"
    );
    app.admin.revoke_phone_vendor_token(phone.id).await.unwrap();
    event(
        &app,
        &renewed.token,
        &format!("event=incoming&call_id=3&remote=1&{MAC}"),
    )
    .await;
    assert_eq!(accepted_events(&app, phone.id).await, -1);
    let gone = app
        .admin
        .revoke_phone_vendor_token(phone.id)
        .await
        .unwrap_err();
    assert_eq!(api_code(gone).0, 404);
    let actions = app
        .scalar("SELECT COUNT(*) AS n FROM audit_events WHERE action IN ('phone.vendor_token_issued', 'phone.vendor_token_revoked')".into())
        .await;
    assert_eq!(actions, 3);
}

#[tokio::test]
async fn a_flood_is_cut_before_it_writes() {
    let app = spawn_app_with(|s| s.phone_event_rate_per_minute = 5).await;
    let (phone, token) = direct_yealink(&app, "+4930905001").await;
    for call in 0..12 {
        assert_eq!(
            event(
                &app,
                &token,
                &format!("event=incoming&call_id={call}&remote=1&{MAC}")
            )
            .await,
            200
        );
    }
    // The bucket holds five; the rest were answered and dropped.
    assert_eq!(accepted_events(&app, phone.id).await, 5);

    // Forged tokens from this address get it blocked before the database;
    // a token known to be valid still passes from it.
    let other = vendor_phone(&app, "+4930905002", "yealink", None).await;
    let other_token = app
        .admin
        .issue_phone_vendor_token(other.id, None)
        .await
        .unwrap()
        .token;
    event(
        &app,
        &other_token,
        &format!("event=incoming&call_id=1&remote=1&{MAC}"),
    )
    .await;
    for i in 0..20 {
        event(
            &app,
            &format!("dbv_forged{i}"),
            &format!("event=incoming&call_id=1&remote=1&{MAC}"),
        )
        .await;
    }
    event(&app, &other_token, &format!("event=missed&call_id=1&{MAC}")).await;
    assert_eq!(accepted_events(&app, other.id).await, 2);
    assert_eq!(records_of(&app, other.id).await, 1);
}

#[tokio::test]
async fn racing_copies_of_one_event_start_one_call() {
    let app = spawn_app().await;
    let (phone, token) = direct_yealink(&app, "+4930906001").await;
    let query = format!("event=incoming&call_id=42&remote=%2B4940555555&{MAC}");
    let copies = (0..20).map(|_| event(&app, &token, &query));
    let statuses = futures_util::future::join_all(copies).await;
    assert!(statuses.iter().all(|s| *s == 200));
    event(&app, &token, &format!("event=missed&call_id=42&{MAC}")).await;
    assert_eq!(records_of(&app, phone.id).await, 1);
    assert_eq!(
        accepted_events(&app, phone.id).await,
        2,
        "one start, one end"
    );
}

#[tokio::test]
async fn another_organisations_admin_cannot_reach_a_phones_vendor_routes() {
    let app = spawn_app().await;
    let (phone, token) = direct_yealink(&app, "+4930907001").await;
    let intruder: AppClient = app.other_org_admin().await;
    for refused in [
        intruder
            .phone_vendor_config(phone.id, VendorMode::Direct, None)
            .await
            .map(|_| ()),
        intruder
            .issue_phone_vendor_token(phone.id, None)
            .await
            .map(|_| ()),
        intruder.revoke_phone_vendor_token(phone.id).await,
    ] {
        assert_eq!(api_code(refused.unwrap_err()).0, 404);
    }
    // The token still works: nothing was replaced or revoked.
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=1&remote=1&{MAC}"),
    )
    .await;
    assert_eq!(accepted_events(&app, phone.id).await, 1);
}

#[tokio::test]
async fn calls_whose_end_was_lost_are_closed_by_the_sweep() {
    let app = spawn_app().await;
    let (phone, token) = direct_yealink(&app, "+4930908001").await;
    let start = now_micros();
    let at = |secs: i64| app.clock.set(start + secs * 1_000_000);
    let sweep = || {
        deskbind_core::usecases::vendor_events::close_abandoned(
            &app.services,
            TrackerConfig::default(),
        )
    };
    at(0);
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=1&remote=%2B4940555555&{MAC}"),
    )
    .await;
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=2&remote=%2B4940666666&{MAC}"),
    )
    .await;
    at(1);
    event(&app, &token, &format!("event=established&call_id=2&{MAC}")).await;
    at(599);
    assert_eq!(
        sweep().await.unwrap(),
        0,
        "ringing for less than 10 minutes is not lost yet"
    );
    at(600);
    assert_eq!(sweep().await.unwrap(), 1);
    at(1 + 4 * 3600);
    assert_eq!(sweep().await.unwrap(), 1);
    assert_eq!(sweep().await.unwrap(), 0, "a second sweep finds nothing");
    let calls = calls_of(&app, phone.id).await;
    let mut seen: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c.remote_number.clone(),
                c.direction,
                c.result,
                c.ended_at.is_some(),
                c.duration_secs,
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            (
                "+4940555555".into(),
                CallDirection::Missed,
                Some(CallResult::NoAnswer),
                true,
                None
            ),
            (
                "+4940666666".into(),
                CallDirection::Inbound,
                Some(CallResult::Answered),
                false,
                None
            ),
        ]
    );
    let open = app
        .scalar(format!(
            "SELECT open_calls AS n FROM vendor_links WHERE phone_id = '{}'",
            phone.id
        ))
        .await;
    assert_eq!(open, 0);
    // The sweep counts no event.
    assert_eq!(accepted_events(&app, phone.id).await, 3);
}

/// Each vendor's emulated phone, configured with the snippet deskbind
/// issued, reports calls dialled by hand and calls ringing in with its own
/// events and variables (Yealink's unescaped `sip:+…`, Snom's `$call-id`,
/// Grandstream without call ids); they reach the call log with the
/// inferred outcome.
#[tokio::test]
async fn each_vendors_phone_reports_through_the_configuration_deskbind_issues() {
    use deskbind_core::vendor::Vendor;
    use deskbind_vendor_emulator::{EmulatedPhone, PhoneEvent};

    for (i, vendor) in Vendor::ALL.iter().copied().enumerate() {
        let app = spawn_app().await;
        let phone = vendor_phone(&app, &format!("+49309090{i:02}"), vendor.as_str(), None).await;
        app.admin.bind_phone(phone.id, false).await.unwrap();
        let mac = format!("0015650000{i:02}");
        let issued = app
            .admin
            .issue_phone_vendor_token(phone.id, None)
            .await
            .unwrap();
        let handset = EmulatedPhone::start(vendor, &mac, "admin", "pw")
            .await
            .unwrap();
        handset.configure(&issued.snippet);
        let start = now_micros();
        let at = |secs: i64| app.clock.set(start + secs * 1_000_000);

        let talk = handset.new_call("+4930123456");
        at(0);
        assert!(
            !handset.report(PhoneEvent::Outgoing, &talk).await.is_empty(),
            "{vendor} is configured"
        );
        at(5);
        handset.report(PhoneEvent::Established, &talk).await;
        at(35);
        handset.report(PhoneEvent::Terminated, &talk).await;
        let busy = handset.new_call("+4930999999");
        at(100);
        handset.report(PhoneEvent::Outgoing, &busy).await;
        at(103);
        handset.report(PhoneEvent::RemoteBusy, &busy).await;
        let missed = handset.new_call("+4940555555");
        at(200);
        handset.report(PhoneEvent::Incoming, &missed).await;
        at(215);
        handset.report(PhoneEvent::RemoteCancelled, &missed).await;

        let calls = calls_of(&app, phone.id).await;
        let mut seen: Vec<_> = calls
            .iter()
            .map(|c| {
                (
                    c.remote_number.clone(),
                    c.direction,
                    c.result,
                    c.duration_secs,
                )
            })
            .collect();
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        // Only Yealink reports a busy callee; the others end the call,
        // which is cancelled before the ring timeout.
        let busy_result = if vendor == Vendor::Yealink {
            CallResult::Busy
        } else {
            CallResult::Cancelled
        };
        assert_eq!(
            seen,
            vec![
                (
                    "+4930123456".into(),
                    CallDirection::Outbound,
                    Some(CallResult::Answered),
                    Some(30)
                ),
                (
                    "+4930999999".into(),
                    CallDirection::Outbound,
                    Some(busy_result),
                    None
                ),
                (
                    "+4940555555".into(),
                    CallDirection::Missed,
                    Some(CallResult::NoAnswer),
                    None
                ),
            ],
            "{vendor}"
        );
        let state = app
            .admin
            .phone_vendor_config(phone.id, VendorMode::Direct, None)
            .await
            .unwrap()
            .direct
            .unwrap();
        assert_eq!(
            (state.mac.as_deref(), state.open_calls),
            (Some(mac.as_str()), 0),
            "{vendor}: bound to the first MAC seen"
        );
    }
}

#[tokio::test]
async fn ending_direct_mode_stores_the_calls_still_open() {
    let app = spawn_app().await;
    let (phone, token) = direct_yealink(&app, "+4930910001").await;
    event(
        &app,
        &token,
        &format!("event=incoming&call_id=1&remote=%2B4940555555&{MAC}"),
    )
    .await;
    app.admin.revoke_phone_vendor_token(phone.id).await.unwrap();
    assert_eq!(
        records_of(&app, phone.id).await,
        1,
        "the ringing call is closed as missed"
    );

    // Disabling the phone ends direct mode too: its token stops working.
    let issued = app
        .admin
        .issue_phone_vendor_token(phone.id, None)
        .await
        .unwrap();
    event(
        &app,
        &issued.token,
        &format!("event=incoming&call_id=2&remote=%2B4940666666&{MAC}"),
    )
    .await;
    let disable = UpdatePhone {
        disabled: Some(true),
        ..UpdatePhone::default()
    };
    app.admin.update_phone(phone.id, &disable).await.unwrap();
    assert_eq!(records_of(&app, phone.id).await, 2);
    assert_eq!(accepted_events(&app, phone.id).await, -1, "no link is left");
    let enable = UpdatePhone {
        disabled: Some(false),
        ..UpdatePhone::default()
    };
    app.admin.update_phone(phone.id, &enable).await.unwrap();
    event(
        &app,
        &issued.token,
        &format!("event=incoming&call_id=3&remote=1&{MAC}"),
    )
    .await;
    assert_eq!(records_of(&app, phone.id).await, 2);
    assert_eq!(
        accepted_events(&app, phone.id).await,
        -1,
        "re-enabling brings no old token back"
    );

    // So does a change of driver.
    let issued = app
        .admin
        .issue_phone_vendor_token(phone.id, None)
        .await
        .unwrap();
    let snom = UpdatePhone {
        driver: Some(Some("snom".into())),
        model: Some("D785".into()),
        ..UpdatePhone::default()
    };
    app.admin.update_phone(phone.id, &snom).await.unwrap();
    event(
        &app,
        &issued.token,
        &format!("event=incoming&call_id=4&remote=1&{MAC}"),
    )
    .await;
    assert_eq!(accepted_events(&app, phone.id).await, -1);
}

#[tokio::test]
async fn the_events_url_follows_the_public_url_when_set() {
    let app = spawn_app_with(|s| s.public_url = Some("https://deskbind.example.com".into())).await;
    let phone = vendor_phone(&app, "+4930911001", "fanvil", Some("X4U")).await;
    let issued = app
        .admin
        .issue_phone_vendor_token(phone.id, None)
        .await
        .unwrap();
    assert_eq!(
        issued.events_url,
        format!(
            "https://deskbind.example.com/v1/vendor-events/{}",
            issued.token
        )
    );
    assert!(
        issued.snippet.contains(&format!(
            "Call Stop Url :{}?event=terminated",
            issued.events_url
        )),
        "{}",
        issued.snippet
    );
}
