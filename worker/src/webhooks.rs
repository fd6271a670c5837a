//! The webhook sender (docs/integrations.md, "Webhooks"): leases due
//! deliveries, POSTs each with the Standard Webhooks headers
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), and records
//! how each attempt ended. Safe with any number of workers: deliveries are
//! leased with row locks that skip what another worker holds, and a lease
//! that outlives its worker (killed mid-send) is taken over, so nothing
//! accepted is lost; the receiver may then see a delivery twice, with the
//! same `webhook-id`.
//!
//! Targets are checked on the addresses actually connected to: the HTTP
//! client resolves names through [`PolicyResolver`], which drops every
//! address the operator's policy refuses, and literal addresses are
//! checked before sending; redirects are never followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::domain::webhook_retries::parse_retry_after;
use deskbind_core::domain::webhook_signature;
use deskbind_core::domain::webhook_targets::TargetPolicy;
use deskbind_core::repo::RepoError;
use deskbind_core::time::{Micros, now_micros};
use deskbind_core::usecases::webhook_delivery::{self, Answer, Prepared, Recorded};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio_util::sync::CancellationToken;

/// Deliveries leased per pass.
const BATCH: i64 = 64;
/// Bytes of an answer's body kept in the delivery log.
const BODY_KEPT: usize = 200;

/// How the sender runs.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// This worker's name on its leases.
    pub owner: String,
    pub policy: TargetPolicy,
    /// One attempt's limit.
    pub timeout: Duration,
    /// How often to look for due deliveries when none were due.
    pub poll_interval: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            owner: format!("webhooks-{}", uuid::Uuid::now_v7().simple()),
            policy: TargetPolicy::default(),
            timeout: Duration::from_secs(15),
            poll_interval: Duration::from_millis(250),
        }
    }
}

impl WebhookOptions {
    /// A lease outlives an attempt with margin: a worker holding one is
    /// alive or dead, never just slow.
    fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(2)
    }
}

/// Resolves names for the HTTP client, keeping only the addresses the
/// policy allows; a name with none left fails as refused.
#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: TargetPolicy,
}

/// The error of a target the policy refuses.
#[derive(Debug)]
pub struct TargetRefused(pub String);

impl std::fmt::Display for TargetRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "target refused: {}", self.0)
    }
}

impl std::error::Error for TargetRefused {}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let shown: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(TargetRefused(format!(
                        "{host} resolves to no public address ({})",
                        shown.join(", ")
                    )));
                return Err(refused);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client webhooks are sent with.
pub fn client(options: &WebhookOptions) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("deskbind-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(PolicyResolver {
            policy: options.policy.clone(),
        }))
        .build()
}

/// Sends one delivery and says how it went.
pub async fn send(
    client: &reqwest::Client,
    policy: &TargetPolicy,
    delivery: &Prepared,
    now: Micros,
) -> Answer {
    let url = match reqwest::Url::parse(&delivery.url) {
        Ok(url) => url,
        Err(e) => return Answer::Refused(format!("not a URL: {e}")),
    };
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal
        && !policy.allows(ip)
    {
        return Answer::Refused(format!("{ip} is not a public address"));
    }
    let timestamp = now.div_euclid(1_000_000);
    let signature = webhook_signature::header(
        &delivery.keys,
        &delivery.message_id,
        timestamp,
        delivery.body.as_bytes(),
    );
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let code = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = response.bytes().await.unwrap_or_default();
            let kept = &body[..body.len().min(BODY_KEPT)];
            Answer::Status {
                code,
                retry_after,
                body_start: String::from_utf8_lossy(kept).into_owned(),
            }
        }
        Err(e) if refused(&e) => Answer::Refused(chain(&e)),
        Err(e) => Answer::Unreachable(chain(&e)),
    }
}

fn refused(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<TargetRefused>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// An error with its causes, as the delivery log shows it.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text.chars().take(BODY_KEPT).collect()
}

/// One pass: leases what is due at `now`, sends it all concurrently and
/// records the outcomes. Tests drive this with their own clock.
pub async fn run_once(
    db: &Database,
    client: &reqwest::Client,
    options: &WebhookOptions,
    now: Micros,
) -> Result<(usize, Recorded), RepoError> {
    let due = webhook_delivery::claim(db, &options.owner, now, options.lease(), BATCH).await?;
    if due.is_empty() {
        return Ok((0, Recorded::default()));
    }
    let claimed = due.len();
    let answers = futures_util::future::join_all(
        due.iter()
            .map(|d| send(client, &options.policy, d, now_micros())),
    )
    .await;
    let results: Vec<(Prepared, Answer)> = due.into_iter().zip(answers).collect();
    for (delivery, answer) in &results {
        tracing::debug!(delivery = %delivery.delivery_id, url = %delivery.url, ?answer, "webhook attempt");
    }
    let recorded = webhook_delivery::record(db, &options.owner, results, now, || {
        fastrand::f64() * 2.0 - 1.0
    })
    .await?;
    Ok((claimed, recorded))
}

/// Sends webhooks until `cancel` fires; a full batch is followed at once
/// by the next, an empty one waits for the poll interval.
pub async fn run_sender(db: Database, options: WebhookOptions, cancel: CancellationToken) {
    let client = match client(&options) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the webhook sender cannot start");
            return;
        }
    };
    loop {
        let pass = run_once(&db, &client, &options, now_micros()).await;
        let full = match pass {
            Ok((claimed, report)) => {
                if claimed > 0 {
                    tracing::info!(
                        claimed,
                        delivered = report.delivered,
                        retrying = report.retrying,
                        failed = report.failed,
                        endpoints_disabled = report.endpoints_disabled,
                        "webhook deliveries attempted"
                    );
                }
                claimed as i64 == BATCH
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook sender pass failed; retrying");
                false
            }
        };
        if full {
            if cancel.is_cancelled() {
                break;
            }
            continue;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(options.poll_interval) => {}
        }
    }
}
