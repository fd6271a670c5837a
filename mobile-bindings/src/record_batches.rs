//! Record uploads of any length, split into the server's batch size; the
//! results keep the caller's indexes. A batch that fails in transport (a
//! reset or closed connection, a timeout) is sent again, up to
//! [`TRANSPORT_ATTEMPTS`] times in all: a batch is idempotent (the server
//! merges records by call id), and the usual cause is a pooled connection
//! the server closed just as the batch went out on it.

use std::time::Duration;

use deskbind_core::wire::{CallRecordUpload, IngestResults, MAX_RECORD_BATCH};

use crate::backoff::Backoff;
use crate::{ClientError, Result};

/// Tries per batch when the transport fails; a refusal by the server
/// (a problem document) is never retried.
pub(crate) const TRANSPORT_ATTEMPTS: u32 = 3;

pub(crate) async fn in_batches<F, Fut>(
    records: &[CallRecordUpload],
    mut send: F,
) -> Result<IngestResults>
where
    F: FnMut(Vec<CallRecordUpload>) -> Fut,
    Fut: std::future::Future<Output = Result<IngestResults>>,
{
    let mut all = IngestResults {
        results: Vec::with_capacity(records.len()),
    };
    for (n, chunk) in records.chunks(MAX_RECORD_BATCH).enumerate() {
        let part = with_transport_retries(|| send(chunk.to_vec())).await?;
        let offset = u32::try_from(n * MAX_RECORD_BATCH).unwrap_or(u32::MAX);
        all.results.extend(part.results.into_iter().map(|mut r| {
            r.index += offset;
            r
        }));
    }
    Ok(all)
}

async fn with_transport_retries<F, Fut>(mut send: F) -> Result<IngestResults>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<IngestResults>>,
{
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    let mut attempt = 1;
    loop {
        match send().await {
            Err(ClientError::Network(cause)) if attempt < TRANSPORT_ATTEMPTS => {
                attempt += 1;
                tracing::debug!(%cause, attempt, "record batch failed in transport; sending it again");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            outcome => return outcome,
        }
    }
}
