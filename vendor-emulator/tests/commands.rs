//! deskbind's command builders (`core/src/vendor/commands.rs`) against each
//! emulated phone: what deskbind sends is what the firmware carries out,
//! a wrong login is read as refused (and a phone locks it out after five),
//! and a phone not configured for the relay refuses or prompts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use deskbind_core::vendor::action_urls::{Mode, snippet};
use deskbind_core::vendor::commands::{
    Command as Ask, CommandOutcome, PhoneLogin, RequestAuth, outcome, request,
};
use deskbind_core::vendor::{Capability, Vendor};
use deskbind_vendor_emulator::{Command, EmulatedPhone, Handled, LOCKOUT_AFTER};

const RELAY: &str = "http://127.0.0.1:8089/phones/p/events";

fn login(password: &str) -> PhoneLogin {
    PhoneLogin {
        username: "admin".into(),
        password: password.into(),
    }
}

async fn phone(vendor: Vendor) -> EmulatedPhone {
    let phone = EmulatedPhone::start(vendor, "001565abcdef", "admin", "s3cret&x")
        .await
        .unwrap();
    let relay_ip = IpAddr::from([127, 0, 0, 1]);
    phone.configure(&snippet(vendor, RELAY, Mode::Relay { relay_ip }));
    // Snom has no allow-list setting in the snippet; its web UI is.
    phone
}

/// Sends what deskbind builds for `ask`, as the relay will.
async fn send(phone: &EmulatedPhone, ask: &Ask, password: &str) -> CommandOutcome {
    let built = request(phone.vendor, ask, &login(password)).unwrap();
    let url = format!("http://{}{}", phone.addr, built.path_and_query());
    let mut req = reqwest::Client::new().get(url);
    if built.auth == RequestAuth::Basic {
        req = req.basic_auth("admin", Some(password));
    }
    let answer = req.send().await.unwrap();
    let status = answer.status().as_u16();
    outcome(
        phone.vendor,
        status,
        &answer.text().await.unwrap_or_default(),
    )
}

fn last(phone: &EmulatedPhone) -> Handled {
    phone
        .received()
        .last()
        .map(|r| r.handled.clone())
        .unwrap_or(Handled::Ignored)
}

#[tokio::test]
async fn every_vendor_carries_out_what_deskbind_sends() {
    for vendor in Vendor::ALL.iter().copied() {
        let phone = phone(vendor).await;
        let dial = Ask::Dial {
            number: "+4930123456".into(),
        };
        assert_eq!(
            send(&phone, &dial, "s3cret&x").await,
            CommandOutcome::Done,
            "{vendor}"
        );
        assert_eq!(
            last(&phone),
            Handled::Done(Command::Dial("+4930123456".into())),
            "{vendor}"
        );
        assert_eq!(
            send(&phone, &Ask::Hangup, "s3cret&x").await,
            CommandOutcome::Done
        );
        assert_eq!(last(&phone), Handled::Done(Command::Hangup), "{vendor}");
        if vendor.capabilities().contains(&Capability::Dnd) {
            assert_eq!(
                send(&phone, &Ask::Dnd { on: true }, "s3cret&x").await,
                CommandOutcome::Done
            );
            assert!(phone.dnd(), "{vendor}");
            send(&phone, &Ask::Dnd { on: false }, "s3cret&x").await;
            assert!(!phone.dnd(), "{vendor}");
        }
    }
}

#[tokio::test]
async fn a_wrong_login_is_refused_and_five_lock_the_phone() {
    for vendor in Vendor::ALL.iter().copied() {
        let phone = phone(vendor).await;
        for _ in 0..LOCKOUT_AFTER {
            assert_eq!(
                send(&phone, &Ask::Hangup, "wrong").await,
                CommandOutcome::LoginRefused,
                "{vendor}"
            );
        }
        // Locked: even the right login is refused now.
        assert_eq!(
            send(&phone, &Ask::Hangup, "s3cret&x").await,
            CommandOutcome::LoginRefused,
            "{vendor}"
        );
        assert_eq!(last(&phone), Handled::LockedOut, "{vendor}");
    }
}

#[tokio::test]
async fn a_yealink_not_configured_for_the_relay_refuses_or_prompts() {
    let bare = EmulatedPhone::start(Vendor::Yealink, "001565abcdef", "admin", "pw")
        .await
        .unwrap();
    let dial = Ask::Dial {
        number: "+1555".into(),
    };
    // A blank allow-list refuses everyone.
    assert_eq!(send(&bare, &dial, "pw").await, CommandOutcome::LoginRefused);
    assert_eq!(last(&bare), Handled::NotAllowed);
    // Allowed, but the remote-control prompt left on: the first command
    // only pops the question on the handset.
    bare.configure("features.action_uri_limit_ip = 127.0.0.1\n");
    assert_eq!(send(&bare, &dial, "pw").await, CommandOutcome::Done);
    assert_eq!(last(&bare), Handled::Prompted);
    send(&bare, &dial, "pw").await;
    assert_eq!(last(&bare), Handled::Done(Command::Dial("+1555".into())));
}

#[tokio::test]
async fn yealink_ignores_a_key_that_is_not_first() {
    let phone = phone(Vendor::Yealink).await;
    let url = format!(
        "http://{}/servlet?outgoing_uri=x&key=number=123",
        phone.addr
    );
    let answer = reqwest::Client::new()
        .get(url)
        .basic_auth("admin", Some("s3cret&x"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(last(&phone), Handled::Ignored);
}

#[tokio::test]
async fn the_configuration_deskbind_issues_reads_back_in_each_format() {
    for vendor in Vendor::ALL.iter().copied() {
        let phone = phone(vendor).await;
        let (setting, allow) = match vendor {
            Vendor::Yealink => (
                "action_url.call_established",
                Some("features.action_uri_limit_ip"),
            ),
            Vendor::Snom => ("action_connected_url", None),
            Vendor::Grandstream => ("Established Call", Some("Action URI Allowed IP List")),
            Vendor::Fanvil => ("Call Active Url", Some("Active Uri IP")),
        };
        let url = phone.setting(setting).unwrap_or_default();
        assert!(
            url.starts_with(&format!("{RELAY}?event=established&")),
            "{vendor}: {url}"
        );
        if let Some(allow) = allow {
            assert_eq!(
                phone.setting(allow).as_deref(),
                Some("127.0.0.1"),
                "{vendor}"
            );
        }
    }
}
