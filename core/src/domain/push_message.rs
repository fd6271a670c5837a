//! What a push carries, independent of FCM's envelope: string-valued data
//! (FCM v1 requires strings), an optional visible notification, a collapse
//! key and urgency. Messages are built here and stored in the job queue; the
//! FCM client wraps them per platform (core/src/push/fcm.rs).

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use crate::wire::{AppEvent, BindingAction, BindingVia, CallDirection, CallListCompletion, Dial};

/// FCM's limit on a message's data plus notification, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// The most calls a digest lists (the counts cover all of them).
pub const DIGEST_LATEST: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushMessage {
    pub data: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    /// A newer message with the same key replaces an undelivered older one.
    pub collapse_key: String,
    /// Deliver now, waking the device (Android HIGH, APNs priority 10).
    pub urgent: bool,
    /// How long FCM keeps trying to deliver it.
    pub ttl_secs: u64,
}

impl PushMessage {
    /// The bytes FCM counts against [`MAX_PAYLOAD_BYTES`].
    pub fn payload_bytes(&self) -> usize {
        let data = serde_json::to_string(&self.data).map_or(0, |s| s.len());
        let notification = self
            .notification
            .as_ref()
            .and_then(|n| serde_json::to_string(n).ok())
            .map_or(0, |s| s.len());
        data + notification
    }
}

/// One call a digest names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestCall {
    pub id: String,
    pub direction: CallDirection,
    pub remote_number: String,
    pub started_at: String,
}

/// The records a user's digest covers: those that arrived or changed after
/// the user's push cursor, up to and including change `through_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digest {
    pub records: u32,
    pub missed: u32,
    pub inbound: u32,
    pub outbound: u32,
    /// Newest first, at most [`DIGEST_LATEST`].
    pub latest: Vec<DigestCall>,
    pub through_seq: i64,
}

pub fn digest_message(digest: &Digest) -> PushMessage {
    // The count is of changes: a call whose recording arrived since the
    // last digest is in this one again, so "new" would overstate it.
    let title = match digest.records {
        0 => "No new calls".to_owned(),
        1 => "1 call since your last update".to_owned(),
        n => format!("{n} calls since your last update"),
    };
    let body = match (digest.missed, digest.latest.first()) {
        (0, None) => "Nothing since your last update.".to_owned(),
        (0, Some(last)) => format!("Latest: {}", last.remote_number),
        (1, _) => "1 missed call".to_owned(),
        (n, _) => format!("{n} missed calls"),
    };
    let mut latest = digest.latest.clone();
    loop {
        let mut data = BTreeMap::from([
            ("type".to_owned(), "digest".to_owned()),
            ("records".to_owned(), digest.records.to_string()),
            ("missed".to_owned(), digest.missed.to_string()),
            ("inbound".to_owned(), digest.inbound.to_string()),
            ("outbound".to_owned(), digest.outbound.to_string()),
            // The app syncs at least this far (GET /v1/sync/calls cursor).
            ("through_cursor".to_owned(), digest.through_seq.to_string()),
        ]);
        data.insert(
            "latest".to_owned(),
            serde_json::to_string(&latest).unwrap_or_else(|_| "[]".into()),
        );
        let message = PushMessage {
            data,
            notification: Some(Notification {
                title: title.clone(),
                body: body.clone(),
            }),
            collapse_key: "digest".into(),
            urgent: digest.missed > 0,
            ttl_secs: 24 * 3600,
        };
        // Raw numbers are at most 64 characters, so three always fit; the
        // loop keeps the limit true whatever the inputs.
        if message.payload_bytes() <= MAX_PAYLOAD_BYTES || latest.is_empty() {
            return message;
        }
        latest.pop();
    }
}

/// The push for an app event the app may have missed while not streaming:
/// dial state changes and bindings the phone started. Other events are not
/// pushed.
pub fn event_message(event: &AppEvent) -> Option<PushMessage> {
    match event {
        AppEvent::Dial { dial } => Some(dial_message(dial)),
        AppEvent::Binding {
            binding_id,
            phone_id,
            action: BindingAction::Bound,
            via: Some(BindingVia::Phone),
            at,
            ..
        } => Some(PushMessage {
            data: BTreeMap::from([
                ("type".to_owned(), "binding".to_owned()),
                ("binding_id".to_owned(), binding_id.to_string()),
                ("phone_id".to_owned(), phone_id.to_string()),
                ("action".to_owned(), "bound".to_owned()),
                ("via".to_owned(), "phone".to_owned()),
                (
                    "at".to_owned(),
                    at.to_rfc3339_opts(SecondsFormat::Millis, true),
                ),
            ]),
            notification: Some(Notification {
                title: "Desk phone bound".into(),
                body: "A desk phone was bound to your account from the phone.".into(),
            }),
            collapse_key: format!("binding:{binding_id}"),
            urgent: true,
            ttl_secs: 3600,
        }),
        AppEvent::CallListCompletion { completion } => Some(completion_message(completion)),
        AppEvent::Export { export } => Some(export_message(export)),
        _ => None,
    }
}

/// The push that an export finished (docs/exports.md): its id and state
/// for the app, which reads the export itself.
pub fn export_message(export: &crate::wire::Export) -> PushMessage {
    let ready = export.state == crate::wire::ExportState::Ready;
    PushMessage {
        data: BTreeMap::from([
            ("type".to_owned(), "export".to_owned()),
            ("export_id".to_owned(), export.id.to_string()),
            ("state".to_owned(), export.state.as_str().to_owned()),
        ]),
        notification: Some(Notification {
            title: if ready {
                "Export ready"
            } else {
                "Export failed"
            }
            .into(),
            body: if ready {
                "Your export can be downloaded now."
            } else {
                "Your export could not be written."
            }
            .into(),
        }),
        collapse_key: format!("export:{}", export.id),
        urgent: false,
        ttl_secs: 24 * 3600,
    }
}

/// The push of a completion report (docs/call-lists.md, "Progress"): the
/// counts in `data` for the app, a line a person reads in the
/// notification. The app reads the whole report from its event stream.
pub fn completion_message(c: &CallListCompletion) -> PushMessage {
    let user = &c.user;
    let title = if c.list_completed {
        format!("{}: list done", c.list_name)
    } else {
        format!("{}: queue done", c.list_name)
    };
    let calls = match user.attempts {
        1 => "1 call".to_owned(),
        n => format!("{n} calls"),
    };
    let body = format!(
        "{calls}, {} answered, {} skipped, {} min talk time.",
        user.answered,
        user.skipped,
        (user.talk_secs + 59) / 60
    );
    PushMessage {
        data: BTreeMap::from([
            ("type".to_owned(), "call_list_completion".to_owned()),
            ("list_id".to_owned(), c.list_id.to_string()),
            ("user_id".to_owned(), c.user_id.to_string()),
            ("attempts".to_owned(), user.attempts.to_string()),
            ("answered".to_owned(), user.answered.to_string()),
            ("skipped".to_owned(), user.skipped.to_string()),
            ("talk_secs".to_owned(), user.talk_secs.to_string()),
            ("list_completed".to_owned(), c.list_completed.to_string()),
            (
                "at".to_owned(),
                c.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
        ]),
        notification: Some(Notification { title, body }),
        collapse_key: format!("call_list_completion:{}:{}", c.list_id, c.user_id),
        urgent: false,
        ttl_secs: 24 * 3600,
    }
}

/// The reminder of a planned callback, sent at `callback_at` to the call's
/// user. It names the call, not the number: the app opens the call.
pub fn callback_message(
    call_record_id: &str,
    callback_at: chrono::DateTime<chrono::Utc>,
) -> PushMessage {
    PushMessage {
        data: BTreeMap::from([
            ("type".to_owned(), "callback".to_owned()),
            ("call_record_id".to_owned(), call_record_id.to_owned()),
            (
                "callback_at".to_owned(),
                callback_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
        ]),
        notification: Some(Notification {
            title: "Callback due".into(),
            body: "A callback you planned is due now.".into(),
        }),
        collapse_key: format!("callback:{call_record_id}"),
        urgent: true,
        ttl_secs: 3600,
    }
}

fn dial_message(dial: &Dial) -> PushMessage {
    let mut data = BTreeMap::from([
        ("type".to_owned(), "dial".to_owned()),
        ("dial_id".to_owned(), dial.id.to_string()),
        ("phone_id".to_owned(), dial.phone_id.to_string()),
        ("state".to_owned(), dial.state.as_str().to_owned()),
        (
            "updated_at".to_owned(),
            dial.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
    ]);
    if let Some(failure) = dial.failure {
        data.insert("failure".into(), failure.as_str().to_owned());
    }
    // Data only: the app updates its screen; a stale state is worthless, so
    // each dial collapses to its latest state and expires soon.
    PushMessage {
        data,
        notification: None,
        collapse_key: format!("dial:{}", dial.id),
        urgent: true,
        ttl_secs: 300,
    }
}

/// The screen pop of an incoming call, for an app that is not streaming:
/// a high-priority data message the app shows itself (it rings now, so it
/// must wake the device; stale after a minute). The recent calls stay on
/// the stream, which the app reads when it opens; the push says how many.
pub fn screen_pop_message(event: &AppEvent) -> Option<PushMessage> {
    let AppEvent::IncomingCall {
        phone_id,
        call_id,
        from,
        at,
        from_e164,
        contact,
        score,
        recent_calls,
    } = event
    else {
        return None;
    };
    let mut data = BTreeMap::from([
        ("type".to_owned(), "incoming_call".to_owned()),
        ("phone_id".to_owned(), phone_id.to_string()),
        ("call_id".to_owned(), call_id.clone()),
        // Not `from`: FCM reserves it (and `notification`, `message_type`,
        // `google*`, `gcm*`) and refuses the whole message.
        ("caller".to_owned(), from.clone()),
        (
            "at".to_owned(),
            at.to_rfc3339_opts(SecondsFormat::Millis, true),
        ),
        ("recent_calls".to_owned(), recent_calls.len().to_string()),
    ]);
    if let Some(e164) = from_e164 {
        data.insert("from_e164".into(), e164.clone());
    }
    if let Some(score) = score {
        data.insert("score".into(), score.to_string());
    }
    if let Some(contact) = contact {
        data.insert("contact_id".into(), contact.id.to_string());
        data.insert("contact_name".into(), contact.name.clone());
        if let Some(company) = &contact.company {
            data.insert("contact_company".into(), company.clone());
        }
    }
    let mut message = PushMessage {
        data,
        notification: None,
        collapse_key: format!("incoming_call:{phone_id}"),
        urgent: true,
        ttl_secs: 60,
    };
    // Stored texts are bounded, so this never trims in practice; the loop
    // keeps FCM's limit true whatever the inputs.
    for field in ["contact_company", "contact_name", "caller"] {
        if message.payload_bytes() <= MAX_PAYLOAD_BYTES {
            break;
        }
        message.data.remove(field);
    }
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_push_names_the_list_counts_the_work_and_fits_fcm() {
        let mut user = crate::wire::CallListUserReport::new(crate::ids::UserId::new());
        (user.attempts, user.answered, user.skipped, user.talk_secs) = (12, 7, 1, 2001);
        let completion = CallListCompletion {
            list_id: crate::ids::CallListId::new(),
            list_name: "R".repeat(100),
            user_id: user.user_id,
            user,
            outcomes: BTreeMap::new(),
            tasks: crate::wire::CallTaskCounts::default(),
            list_completed: false,
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        };
        let message = completion_message(&completion);
        let notification = message.notification.clone().unwrap();
        assert_eq!(
            notification.title,
            format!("{}: queue done", "R".repeat(100))
        );
        assert_eq!(
            notification.body,
            "12 calls, 7 answered, 1 skipped, 34 min talk time."
        );
        assert_eq!(message.data["type"], "call_list_completion");
        assert_eq!(message.data["answered"], "7");
        assert_eq!(message.data["list_completed"], "false");
        assert!(message.payload_bytes() <= MAX_PAYLOAD_BYTES);
        let done = CallListCompletion {
            list_completed: true,
            ..completion
        };
        assert!(
            completion_message(&done)
                .notification
                .unwrap()
                .title
                .ends_with(": list done")
        );
    }

    #[test]
    fn digest_fits_fcm_limit_whatever_the_numbers() {
        let call = DigestCall {
            id: "0196".repeat(9),
            direction: CallDirection::Missed,
            remote_number: "9".repeat(2000),
            started_at: "2026-11-21T18:00:00.000Z".into(),
        };
        let digest = Digest {
            records: 9,
            missed: 9,
            latest: vec![call.clone(), call.clone(), call],
            through_seq: 42,
            ..Digest::default()
        };
        let message = digest_message(&digest);
        assert!(message.payload_bytes() <= MAX_PAYLOAD_BYTES);
        assert_eq!(message.data["records"], "9");
        assert!(message.urgent);
    }

    #[test]
    fn screen_pop_is_an_urgent_data_message_within_fcm_limit() {
        let event = AppEvent::IncomingCall {
            phone_id: crate::ids::PhoneId::new(),
            call_id: "c-1".into(),
            from: "9".repeat(3000),
            at: chrono::Utc::now(),
            from_e164: Some("+4930901820".into()),
            contact: Some(crate::wire::PopContact {
                id: crate::ids::ContactId::new(),
                name: "N".repeat(3000),
                company: Some("Acme".into()),
            }),
            score: Some(7),
            recent_calls: Vec::new(),
        };
        let message = screen_pop_message(&event).expect("a pop");
        assert!(message.urgent);
        assert!(message.notification.is_none());
        assert!(message.payload_bytes() <= MAX_PAYLOAD_BYTES);
        assert_eq!(message.data["type"], "incoming_call");
        assert_eq!(message.data["score"], "7");
        assert_eq!(message.data["from_e164"], "+4930901820");
        assert!(screen_pop_message(&AppEvent::Resync).is_none());
        // FCM refuses a message whose data uses a reserved key.
        let reserved = |k: &str| {
            matches!(k, "from" | "notification" | "message_type")
                || k.starts_with("google")
                || k.starts_with("gcm")
        };
        let short = AppEvent::IncomingCall {
            phone_id: crate::ids::PhoneId::new(),
            call_id: "c-2".into(),
            from: "030 901820".into(),
            at: chrono::Utc::now(),
            from_e164: None,
            contact: None,
            score: None,
            recent_calls: Vec::new(),
        };
        let message = screen_pop_message(&short).expect("a pop");
        assert_eq!(message.data["caller"], "030 901820");
        assert!(
            !message.data.keys().any(|k| reserved(k)),
            "{:?}",
            message.data
        );
    }

    #[test]
    fn empty_digest_says_so() {
        let message = digest_message(&Digest::default());
        assert_eq!(
            message.notification.map(|n| n.title),
            Some("No new calls".to_owned())
        );
        assert_eq!(message.data["latest"], "[]");
    }
}
