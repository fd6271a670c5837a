//! The phone's offline queue of call records: a JSON file rewritten
//! atomically (temp file, fsync, rename) on every change, so a crash or a
//! power cut leaves either the old queue or the new one, never half of
//! either. The server merges replays (records are keyed by the phone's
//! call id), so a record uploaded just before a crash and uploaded again
//! is harmless.

use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;

use deskbind_mobile::wire::{CallRecordUpload, IngestResults};
use tokio::sync::Mutex;

use crate::error::{DeskbindError, Result, local};

/// Most records the queue holds; older ones are kept, new ones refused.
const MAX_QUEUED: usize = 100_000;

#[derive(Debug)]
pub struct RecordQueue {
    path: PathBuf,
    lock: Mutex<()>,
}

impl RecordQueue {
    pub fn open(path: PathBuf) -> Result<Self> {
        let queue = Self {
            path,
            lock: Mutex::new(()),
        };
        queue.read()?;
        Ok(queue)
    }

    fn read(&self) -> Result<Vec<CallRecordUpload>> {
        match std::fs::read(&self.path) {
            Ok(bytes) if bytes.is_empty() => Ok(Vec::new()),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                local(format!(
                    "offline queue {} is unreadable: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(local(format!("offline queue {}: {e}", self.path.display()))),
        }
    }

    fn write(&self, records: &[CallRecordUpload]) -> Result<()> {
        let bytes = serde_json::to_vec(records).map_err(local)?;
        let temp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&temp).map_err(local)?;
        file.write_all(&bytes).map_err(local)?;
        file.sync_all().map_err(local)?;
        std::fs::rename(&temp, &self.path).map_err(local)?;
        Ok(())
    }

    pub async fn push(&self, records: Vec<CallRecordUpload>) -> Result<u32> {
        let _guard = self.lock.lock().await;
        let mut queued = self.read()?;
        if queued.len() + records.len() > MAX_QUEUED {
            return Err(DeskbindError::Local {
                message: format!("the offline queue holds at most {MAX_QUEUED} records"),
            });
        }
        queued.extend(records);
        self.write(&queued)?;
        Ok(u32::try_from(queued.len()).unwrap_or(u32::MAX))
    }

    pub async fn len(&self) -> Result<u32> {
        let _guard = self.lock.lock().await;
        Ok(u32::try_from(self.read()?.len()).unwrap_or(u32::MAX))
    }

    /// Uploads everything queued with `upload`; empties the queue when the
    /// server answered, keeps it when it could not be reached.
    pub async fn drain<F, Fut>(&self, upload: F) -> Result<IngestResults>
    where
        F: FnOnce(Vec<CallRecordUpload>) -> Fut,
        Fut: Future<Output = deskbind_mobile::Result<IngestResults>>,
    {
        let _guard = self.lock.lock().await;
        let queued = self.read()?;
        if queued.is_empty() {
            return Ok(IngestResults {
                results: Vec::new(),
            });
        }
        let results = upload(queued).await?;
        self.write(&[])?;
        Ok(results)
    }
}
