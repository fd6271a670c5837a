//! Record uploads of any length, split into the server's batch size; the
//! results keep the caller's indexes.

use deskbind_core::wire::{CallRecordUpload, IngestResults, MAX_RECORD_BATCH};

use crate::Result;

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
        let part = send(chunk.to_vec()).await?;
        let offset = u32::try_from(n * MAX_RECORD_BATCH).unwrap_or(u32::MAX);
        all.results.extend(part.results.into_iter().map(|mut r| {
            r.index += offset;
            r
        }));
    }
    Ok(all)
}
