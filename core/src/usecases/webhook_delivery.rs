//! The worker's side of webhooks (docs/integrations.md, "Webhooks"):
//! lease due deliveries with what sending them needs (URL, body, signing
//! keys), then record how each attempt ended: 2xx delivered; 410 Gone
//! fails it and disables the endpoint (audited, so admins see why);
//! a refused target fails it at once; anything else is tried again on the
//! Standard Webhooks schedule with jitter and `Retry-After`, until the
//! schedule runs out. A worker that dies mid-send leaves its lease to
//! expire, and another worker sends the delivery again with the same
//! `webhook-id`, so a receiver that de-duplicates by it sees it once.

use std::collections::HashMap;
use std::time::Duration;

use super::audit::{Entry, by_system};
use crate::db::Database;
use crate::domain::webhook_retries::next_delay;
use crate::domain::webhook_signature::secret_key;
use crate::repo::webhook_deliveries::{self, AttemptOutcome, DELIVERED, FAILED, PENDING};
use crate::repo::{RepoError, webhook_endpoints, webhook_messages};
use crate::time::Micros;
use crate::wire::AuditAction;

/// A leased delivery, ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub delivery_id: String,
    pub endpoint_id: String,
    pub org_id: String,
    pub url: String,
    /// The `webhook-id` header.
    pub message_id: String,
    pub body: String,
    /// Signing keys: the current secret's, then the previous one's during
    /// a rotation.
    pub keys: Vec<Vec<u8>>,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The endpoint answered.
    Status {
        code: u16,
        retry_after: Option<Duration>,
        /// The start of the answer's body, for the delivery log.
        body_start: String,
    },
    /// No answer: connection refused, timeout, TLS.
    Unreachable(String),
    /// The target resolved to an address the policy refuses.
    Refused(String),
}

/// What one pass recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
    pub endpoints_disabled: usize,
}

/// Leases up to `limit` due deliveries to `owner` for `lease`.
pub async fn claim(
    db: &Database,
    owner: &str,
    now: Micros,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Prepared>, RepoError> {
    let owner = owner.to_owned();
    let lease_until = now + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
    db.write(move |conn| {
        let rows = webhook_deliveries::claim_due(conn, &owner, now, lease_until, limit)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let seqs: Vec<i64> = rows.iter().map(|r| r.message_seq).collect();
        let messages: HashMap<i64, _> = webhook_messages::by_seqs(conn, &seqs)?
            .into_iter()
            .map(|m| (m.seq, m))
            .collect();
        let endpoint_ids: Vec<&str> = rows.iter().map(|r| r.endpoint_id.as_str()).collect();
        let endpoints: HashMap<String, _> = webhook_endpoints::by_ids(conn, &endpoint_ids)?
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();
        let mut prepared = Vec::with_capacity(rows.len());
        for row in rows {
            let (Some(message), Some(endpoint)) = (
                messages.get(&row.message_seq),
                endpoints.get(&row.endpoint_id),
            ) else {
                return Err(RepoError::Corrupt(format!(
                    "webhook delivery {} without its message or endpoint",
                    row.id
                )));
            };
            let keys = endpoint
                .signing_secrets(now)
                .into_iter()
                .map(|s| {
                    secret_key(s).ok_or_else(|| {
                        RepoError::Corrupt(format!("endpoint {} secret", endpoint.id))
                    })
                })
                .collect::<Result<_, _>>()?;
            prepared.push(Prepared {
                delivery_id: row.id,
                endpoint_id: endpoint.id.clone(),
                org_id: endpoint.org_id.clone(),
                url: endpoint.url.clone(),
                message_id: message.id.clone(),
                body: message.payload.clone(),
                keys,
                attempts: row.attempts,
            });
        }
        Ok(prepared)
    })
    .await
}

/// The stored outcome of an attempt (pure: `jitter` in [-1, 1]).
pub fn outcome(prepared: &Prepared, answer: &Answer, now: Micros, jitter: f64) -> AttemptOutcome {
    let made = prepared.attempts + 1;
    let retry =
        |status: Option<i64>, error: Option<String>, after: Option<Duration>| match next_delay(
            made, jitter, after,
        ) {
            Some(delay) => AttemptOutcome {
                state: PENDING,
                status,
                error,
                next_attempt_at: Some(
                    now + i64::try_from(delay.as_micros()).unwrap_or(i64::MAX / 2),
                ),
            },
            None => AttemptOutcome {
                state: FAILED,
                status,
                error,
                next_attempt_at: None,
            },
        };
    match answer {
        Answer::Status { code, .. } if (200..300).contains(code) => AttemptOutcome {
            state: DELIVERED,
            status: Some(i64::from(*code)),
            error: None,
            next_attempt_at: None,
        },
        Answer::Status {
            code: 410,
            body_start,
            ..
        } => AttemptOutcome {
            state: FAILED,
            status: Some(410),
            error: Some(body_start.clone()).filter(|b| !b.is_empty()),
            next_attempt_at: None,
        },
        Answer::Status {
            code,
            retry_after,
            body_start,
        } => retry(
            Some(i64::from(*code)),
            Some(body_start.clone()).filter(|b| !b.is_empty()),
            *retry_after,
        ),
        Answer::Unreachable(why) => retry(None, Some(why.clone()), None),
        Answer::Refused(why) => AttemptOutcome {
            state: FAILED,
            status: None,
            error: Some(why.clone()),
            next_attempt_at: None,
        },
    }
}

/// Records the attempts `owner` made; an endpoint that answered 410 is
/// disabled, with an audit entry naming deskbind as the actor.
pub async fn record(
    db: &Database,
    owner: &str,
    results: Vec<(Prepared, Answer)>,
    now: Micros,
    jitter: impl Fn() -> f64,
) -> Result<Recorded, RepoError> {
    let owner = owner.to_owned();
    let planned: Vec<(Prepared, AttemptOutcome)> = results
        .into_iter()
        .map(|(p, a)| {
            let o = outcome(&p, &a, now, jitter());
            (p, o)
        })
        .collect();
    db.write(move |conn| {
        let mut report = Recorded::default();
        for (prepared, outcome) in &planned {
            if !webhook_deliveries::record_attempt(
                conn,
                &prepared.delivery_id,
                &owner,
                outcome,
                now,
            )? {
                continue;
            }
            match outcome.state {
                DELIVERED => report.delivered += 1,
                PENDING => report.retrying += 1,
                _ => report.failed += 1,
            }
            if outcome.status == Some(410)
                && webhook_endpoints::disable(conn, &prepared.endpoint_id, "gone", now)?
            {
                report.endpoints_disabled += 1;
                Entry::new(
                    &prepared.org_id,
                    AuditAction::WebhookEndpointGone,
                    "webhook_endpoint",
                    &prepared.endpoint_id,
                    by_system(),
                )
                .detail("url", prepared.url.clone())
                .detail("status", 410)
                .record(conn, now)?;
            }
        }
        Ok(report)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(attempts: i64) -> Prepared {
        Prepared {
            delivery_id: "d".into(),
            endpoint_id: "e".into(),
            org_id: "o".into(),
            url: "https://crm.example.com/".into(),
            message_id: "msg_1".into(),
            body: "{}".into(),
            keys: vec![vec![1; 32]],
            attempts,
        }
    }

    fn status(code: u16) -> Answer {
        Answer::Status {
            code,
            retry_after: None,
            body_start: String::new(),
        }
    }

    #[test]
    fn each_answer_has_its_outcome() {
        assert_eq!(outcome(&prepared(0), &status(204), 0, 0.0).state, DELIVERED);
        let gone = outcome(&prepared(0), &status(410), 0, 0.0);
        assert_eq!((gone.state, gone.status), (FAILED, Some(410)));
        let busy = outcome(&prepared(0), &status(503), 0, 0.0);
        assert_eq!(
            (busy.state, busy.next_attempt_at),
            (PENDING, Some(5_000_000))
        );
        let refused = outcome(&prepared(0), &Answer::Refused("10.0.0.1".into()), 0, 0.0);
        assert_eq!(refused.state, FAILED);
        let last = outcome(&prepared(7), &Answer::Unreachable("timeout".into()), 0, 0.0);
        assert_eq!((last.state, last.next_attempt_at), (FAILED, None));
        let asked = Answer::Status {
            code: 429,
            retry_after: Some(Duration::from_secs(60)),
            body_start: "slow down".into(),
        };
        let later = outcome(&prepared(0), &asked, 0, 0.0);
        assert_eq!(later.next_attempt_at, Some(60_000_000));
        assert_eq!(later.error.as_deref(), Some("slow down"));
    }
}
