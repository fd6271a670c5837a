//! Push: sending queued messages through FCM HTTP v1
//! ([`fcm`], with service-account tokens from [`oauth`]) or, without
//! credentials, to the log ([`sender`]). Building digests from due
//! schedules and queueing them as jobs is `usecases::digests`. docs/push.md
//! has the whole flow.

pub mod backoff;
pub mod fcm;
pub mod oauth;
pub mod sender;

pub use sender::{PushSender, SendOutcome};
