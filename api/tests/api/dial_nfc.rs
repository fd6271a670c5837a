//! Dialing over NFC: the app fetches its queued dial as a signed payload,
//! the phone verifies it with its own dial key and dials it once, however
//! many ways the command reaches it. Tampered payloads, other phones' keys,
//! expired payloads and other people's dials are refused.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use deskbind_core::wire::{CallState, DialKeyWire, DialKeys, DialState, Role};
use deskbind_mobile::{ClientError, DialKeyring, nfc};

use crate::dialing::{dial_states_until, dial_states_until_final, fast_reconnect, next_dial};
use crate::helpers::{code, spawn_app};

fn refusal(err: &ClientError) -> &str {
    err.code().unwrap_or("none")
}

#[tokio::test]
async fn a_tapped_dial_is_verified_dialed_once_and_reported() {
    let app = spawn_app().await;
    let (_, client, phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930905001").await;
    let mut events = client.events(None).await.unwrap();
    // The phone is offline: the relay cannot deliver, NFC can.
    let dial = client.dial("+16502530100", None, None).await.unwrap();
    let offer = client.dial_nfc(dial.id).await.unwrap();
    assert_eq!((offer.dial_id, offer.phone_id), (dial.id, phone.id));
    assert_eq!(offer.expires_at, dial.expires_at);
    let ndef = STANDARD.decode(&offer.ndef).unwrap();
    assert_eq!(nfc::decode_dial_payload(&ndef).unwrap(), offer.payload);

    let verified = phone_client.verify_dial_ndef(&ndef).await.unwrap();
    assert_eq!(
        (
            verified.command_id,
            verified.number.as_str(),
            verified.phone_id
        ),
        (dial.id, "+16502530100", phone.id)
    );
    assert_eq!(verified.expires_at.timestamp(), dial.expires_at.timestamp());

    // Connecting also brings the queued command from the server: the
    // dialer gets it once whichever comes first.
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    link.dial_from_nfc(verified.clone());
    link.dial_from_nfc(verified);
    let (command, number) = next_dial(&mut link).await;
    assert_eq!((command, number.as_str()), (dial.id, "+16502530100"));
    link.ack(command);
    link.report("nfc-call", Some(command), CallState::Answered, None);
    link.report("nfc-call", Some(command), CallState::Ended, None);

    // The app follows the tapped dial like a relayed one.
    assert_eq!(
        dial_states_until_final(&mut events, dial.id).await,
        [
            DialState::Queued,
            DialState::Delivered,
            DialState::Answered,
            DialState::Ended
        ]
    );
    let err = client.dial_nfc(dial.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "dial_finished".into()));

    // The next command is the next dial, not a repeat of the first.
    let second = client.dial("+16502530101", None, None).await.unwrap();
    let (next, _) = next_dial(&mut link).await;
    assert_eq!(next, second.id);
    link.ack(next);
    link.report("relayed-call", Some(next), CallState::Dialing, None);
    let states = dial_states_until(&mut events, second.id, |s| s == DialState::Dialing).await;
    assert_eq!(
        states,
        [DialState::Queued, DialState::Delivered, DialState::Dialing]
    );
    // Once the phone has it, there is nothing to hand over.
    let err = client.dial_nfc(second.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "dial_delivered".into()));
    link.close().await;
}

#[tokio::test]
async fn tampered_foreign_and_expired_payloads_are_refused() {
    let app = spawn_app().await;
    let (_, client, _, phone_client) = app.bound_salesperson("sam@acme.test", "+4930905002").await;
    let (_, _, _, other_phone) = app.bound_salesperson("ola@acme.test", "+4930905003").await;
    let dial = client.dial("+16502530102", None, None).await.unwrap();
    let offer = client.dial_nfc(dial.id).await.unwrap();
    let ndef = STANDARD.decode(&offer.ndef).unwrap();

    // Another phone (same organisation, same server keys) refuses it.
    let err = other_phone.verify_dial_ndef(&ndef).await.unwrap_err();
    assert_eq!(refusal(&err), "nfc_dial_wrong_phone");

    // The number changed in transit: the signature no longer holds.
    let parts: Vec<&str> = offer.payload.split('.').collect();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let forged_claims = claims.replace("+16502530102", "+19005550100");
    assert_ne!(forged_claims, claims);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims),
        parts[2]
    );
    let forged_ndef = nfc::encode_dial_payload(&forged).unwrap();
    let err = phone_client
        .verify_dial_ndef(&forged_ndef)
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), "nfc_dial_invalid");

    // A binding token is not a dial.
    let binding_ndef = STANDARD
        .decode(phone_client.binding_token().await.unwrap().ndef)
        .unwrap();
    let err = phone_client
        .verify_dial_ndef(&binding_ndef)
        .await
        .unwrap_err();
    assert_eq!(refusal(&err), "nfc_dial_unreadable");

    // Read after the command's expiry (plus the 5 s leeway): refused.
    let keyring = phone_client.fetch_dial_keys().await.unwrap();
    let late = dial.expires_at + Duration::seconds(6);
    let err = keyring.verify_ndef(&ndef, late).unwrap_err();
    assert_eq!(err.code(), "nfc_dial_expired");
    assert!(keyring.verify_ndef(&ndef, Utc::now()).is_ok());

    // The genuine payload still verifies on its own phone, from NFC or as
    // the bare payload (a QR code).
    let verified = phone_client.verify_dial_ndef(&ndef).await.unwrap();
    assert_eq!(verified.number, "+16502530102");
    let scanned = phone_client
        .verify_dial_payload(&offer.payload)
        .await
        .unwrap();
    assert_eq!(scanned, verified);
}

#[tokio::test]
async fn a_phone_with_stale_keys_fetches_them_again() {
    let app = spawn_app().await;
    let (_, client, phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930905004").await;
    let keys = phone_client.fetch_dial_keys().await.unwrap();
    let wire = keys.to_wire();
    assert_eq!(wire.phone_id, phone.id);
    assert!(!wire.keys.is_empty());
    for key in &wire.keys {
        assert_eq!(key.alg, "EdDSA");
        assert_eq!(URL_SAFE_NO_PAD.decode(&key.public_key).unwrap().len(), 32);
    }
    // Keys the phone kept from before a server key rotation.
    let stale = DialKeyring::from_wire(&DialKeys {
        phone_id: phone.id,
        keys: vec![DialKeyWire {
            kid: "retired".into(),
            alg: "EdDSA".into(),
            public_key: URL_SAFE_NO_PAD.encode([7u8; 32]),
        }],
    })
    .unwrap();
    phone_client.set_dial_keys(stale).await;

    let dial = client.dial("+16502530103", None, None).await.unwrap();
    let offer = client.dial_nfc(dial.id).await.unwrap();
    let ndef = STANDARD.decode(&offer.ndef).unwrap();
    let verified = phone_client.verify_dial_ndef(&ndef).await.unwrap();
    assert_eq!(verified.command_id, dial.id);
}

#[tokio::test]
async fn only_the_dials_own_user_gets_a_payload_while_it_can_be_dialed() {
    let app = spawn_app().await;
    let (_, client, phone, phone_client) =
        app.bound_salesperson("sam@acme.test", "+4930905005").await;
    let (_, bob) = app.user("bob@acme.test", Role::Salesperson).await;
    let foreign = app.other_org_admin().await;
    let dial = client.dial("+16502530104", None, None).await.unwrap();

    // The admin may see the dial, but it is not theirs to hand over.
    let err = app.admin.dial_nfc(dial.id).await.unwrap_err();
    assert_eq!(code(&err), (403, "not_your_dial".into()));
    // A colleague who cannot see it, and another organisation: no such dial.
    for outsider in [&bob, &foreign] {
        let err = outsider.dial_nfc(dial.id).await.unwrap_err();
        assert_eq!(code(&err), (404, "not_found".into()));
    }

    // Past its expiry (the sweep has not run yet): refused.
    app.execute(format!(
        "UPDATE dial_commands SET expires_at = 1 WHERE id = '{}'",
        dial.id
    ))
    .await;
    let err = client.dial_nfc(dial.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "dial_finished".into()));

    // Cancelled: refused.
    let cancelled = client.dial("+16502530105", None, None).await.unwrap();
    client.cancel_dial(cancelled.id).await.unwrap();
    let err = client.dial_nfc(cancelled.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "dial_finished".into()));

    // The binding it was placed under ended: the phone's next holder must
    // not be handed it.
    let orphan = client.dial("+16502530106", None, None).await.unwrap();
    client.unbind(orphan.binding_id).await.unwrap();
    let err = client.dial_nfc(orphan.id).await.unwrap_err();
    assert_eq!(code(&err), (409, "binding_ended".into()));

    // None of them reaches the phone: after binding again, the first
    // command it gets is the fresh dial.
    client.bind_phone(phone.id, false).await.unwrap();
    let fresh = client.dial("+16502530107", None, None).await.unwrap();
    let mut link = phone_client.connect(fast_reconnect()).unwrap();
    let (first, _) = next_dial(&mut link).await;
    assert_eq!(first, fresh.id);
    link.close().await;
}

#[tokio::test]
async fn a_phone_cut_off_from_the_server_dials_a_tap_at_once() {
    let app = spawn_app().await;
    let (_, client, _, phone_client) = app.bound_salesperson("sam@acme.test", "+4930905007").await;
    let keys = phone_client.fetch_dial_keys().await.unwrap();
    let dial = client.dial("+16502530108", None, None).await.unwrap();
    let offer = client.dial_nfc(dial.id).await.unwrap();
    let ndef = STANDARD.decode(&offer.ndef).unwrap();

    // The phone's network swallows connections: a listener that never
    // answers holds the WebSocket handshake for the whole connect timeout.
    let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cut_off = deskbind_mobile::PhoneClient::new(
        &format!("http://{}", blackhole.local_addr().unwrap()),
        phone_client.credential(),
    )
    .unwrap();
    // Keys kept from before: verifying needs no server.
    cut_off.set_dial_keys(keys).await;
    let verified = cut_off.verify_dial_ndef(&ndef).await.unwrap();
    let mut link = cut_off
        .connect(deskbind_mobile::LinkOptions {
            connect_timeout: std::time::Duration::from_secs(600),
            ..fast_reconnect()
        })
        .unwrap();
    link.dial_from_nfc(verified);
    // Dialed while the link is still connecting (well inside `within`'s
    // 20 s, the connect timeout is 600 s).
    let (command, number) = next_dial(&mut link).await;
    assert_eq!((command, number.as_str()), (dial.id, "+16502530108"));
    assert_eq!(link.state(), deskbind_mobile::LinkState::Connecting);
    link.close().await;
}

#[tokio::test]
async fn the_phone_needs_its_credential_for_its_keys() {
    let app = spawn_app().await;
    let (phone, phone_client) = app.provisioned_phone("+4930905006").await;
    let response = reqwest::get(app.url("/v1/phone/dial-keys")).await.unwrap();
    assert_eq!(response.status(), 401);
    let keys = phone_client.fetch_dial_keys().await.unwrap();
    assert_eq!(keys.to_wire().keys.len(), 1);

    // The payload is a capability: no cache may keep it.
    app.admin.bind_phone(phone.id, false).await.unwrap();
    let dial = app.admin.dial("+16502530109", None, None).await.unwrap();
    let response = reqwest::Client::new()
        .get(app.url(&format!("/v1/dials/{}/nfc", dial.id)))
        .bearer_auth(app.access_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
}
