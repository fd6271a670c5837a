//! What the relay keeps on disk per phone, so a restart or a server outage
//! loses nothing: the phone's credential, its call tracker, and the frames
//! and call records not yet confirmed by the server. Each change is written
//! to a new file, flushed, then renamed over the old one, so a crash leaves
//! either the old state or the new, never half of one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use deskbind_core::ids::PhoneId;
use deskbind_core::vendor::{CallTracker, Vendor};
use deskbind_core::wire::{CallRecordUpload, PhoneFrame};
use serde::{Deserialize, Serialize};

/// Something waiting for the server, numbered in the order it arose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending<T> {
    pub seq: u64,
    pub item: T,
    #[serde(default = "Utc::now")]
    pub created_at: DateTime<Utc>,
}

/// Unsent frames kept at most (below the link's own resend capacity); the
/// oldest go first, logged. Call records are never dropped.
pub const MAX_FRAMES: usize = 5_000;
/// A screen pop older than this is not sent after a restart: its call has
/// long stopped ringing.
const STALE_POP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A secret kept in the state file; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One phone's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneState {
    pub phone_id: Option<PhoneId>,
    /// deskbind's credential for the phone (the file is private).
    pub credential: Option<Secret>,
    pub tracker: CallTracker,
    pub next_seq: u64,
    /// Frames sent (or to send) on the phone's link, until the server's
    /// receipt confirms them.
    pub frames: Vec<Pending<PhoneFrame>>,
    /// Finished calls to upload; each waits for the frames before it.
    pub records: Vec<Pending<CallRecordUpload>>,
    /// The phone refused the login this many times in a row.
    #[serde(default)]
    pub login_refusals: u32,
    /// Nothing is sent to the phone before this time.
    #[serde(default)]
    pub login_paused_until: Option<DateTime<Utc>>,
    /// A hash of the login the refusals were for: a changed login (the
    /// admin fixed the password) lifts the pause.
    #[serde(default)]
    pub login_fingerprint: Option<String>,
    /// A hash of the provisioning code redeemed for `credential`.
    #[serde(default)]
    pub redeemed_code: Option<String>,
}

impl PhoneState {
    pub fn new(vendor: Vendor) -> Self {
        Self {
            phone_id: None,
            credential: None,
            tracker: CallTracker::new(vendor),
            next_seq: 1,
            frames: Vec::new(),
            records: Vec::new(),
            login_refusals: 0,
            login_paused_until: None,
            login_fingerprint: None,
            redeemed_code: None,
        }
    }

    /// Lifts a login pause that was for another login than `fingerprint`.
    pub fn login_is(&mut self, fingerprint: String) {
        if self.login_fingerprint.as_ref() != Some(&fingerprint) {
            self.login_refusals = 0;
            self.login_paused_until = None;
            self.login_fingerprint = Some(fingerprint);
        }
    }

    /// After a restart: screen pops whose call has stopped ringing, and all
    /// but the newest line state, are not worth sending.
    pub fn drop_stale_frames(&mut self, now: DateTime<Utc>) -> usize {
        let newest_line = self
            .frames
            .iter()
            .rposition(|f| matches!(f.item, PhoneFrame::LineState { .. }));
        let before = self.frames.len();
        let mut index = 0;
        self.frames.retain(|f| {
            let keep = match f.item {
                PhoneFrame::Incoming { .. } => now - f.created_at <= STALE_POP,
                PhoneFrame::LineState { .. } => Some(index) == newest_line,
                _ => true,
            };
            index += 1;
            keep
        });
        before - self.frames.len()
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Queues a frame; beyond [`MAX_FRAMES`] the oldest is dropped and
    /// returned, for the log.
    pub fn push_frame(&mut self, frame: PhoneFrame) -> Option<PhoneFrame> {
        let seq = self.take_seq();
        self.frames.push(Pending {
            seq,
            item: frame,
            created_at: Utc::now(),
        });
        (self.frames.len() > MAX_FRAMES).then(|| self.frames.remove(0).item)
    }

    pub fn push_record(&mut self, record: CallRecordUpload) {
        let seq = self.take_seq();
        self.records.push(Pending {
            seq,
            item: record,
            created_at: Utc::now(),
        });
    }

    /// Records whose earlier frames are all confirmed: a call's record
    /// goes after the call's end, so the dial's own outcome counts.
    pub fn records_ready(&self) -> Vec<Pending<CallRecordUpload>> {
        let first_frame = self.frames.first().map_or(u64::MAX, |f| f.seq);
        self.records
            .iter()
            .filter(|r| r.seq < first_frame)
            .cloned()
            .collect()
    }
}

/// A phone's state file.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a state file this relay wrote: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl StateFile {
    /// The state file of phone `name` under `state_dir` (created private).
    pub fn open(state_dir: &Path, name: &str) -> Result<Self, StoreError> {
        let dir = state_dir.join(name);
        create_private_dir(&dir)?;
        Ok(Self {
            path: dir.join("state.json"),
        })
    }

    pub fn load(&self, vendor: Vendor) -> Result<PhoneState, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PhoneState::new(vendor)),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Writes `state` durably (off the async threads).
    pub async fn save(&self, state: &PhoneState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).map_err(|source| StoreError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        let file = self.clone();
        tokio::task::spawn_blocking(move || file.write(&bytes))
            .await
            .map_err(|e| self.io(std::io::Error::other(e)))?
    }

    fn write(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut out = options.open(&tmp).map_err(|e| self.io(e))?;
        out.write_all(bytes).map_err(|e| self.io(e))?;
        out.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        // The rename itself is durable once the directory is flushed.
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = std::fs::File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use deskbind_core::wire::LineState;

    use super::*;

    #[tokio::test]
    async fn keeps_state_across_a_restart_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::open(dir.path(), "desk-1").unwrap();
        let mut state = file.load(Vendor::Snom).unwrap();
        assert_eq!(state, PhoneState::new(Vendor::Snom));
        state.credential = Some(Secret("secret".into()));
        assert!(!format!("{state:?}").contains("secret"));
        state.push_frame(PhoneFrame::LineState {
            state: LineState::Talking,
        });
        file.save(&state).await.unwrap();
        let again = StateFile::open(dir.path(), "desk-1").unwrap();
        assert_eq!(again.load(Vendor::Snom).unwrap(), state);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.path().join("desk-1/state.json")), 0o600);
            assert_eq!(mode(&dir.path().join("desk-1")), 0o700);
        }
    }

    #[test]
    fn a_record_waits_for_the_frames_before_it() {
        let mut state = PhoneState::new(Vendor::Yealink);
        let frame = PhoneFrame::LineState {
            state: LineState::Idle,
        };
        state.push_frame(frame.clone());
        state.push_record(record("a"));
        state.push_frame(frame);
        assert!(state.records_ready().is_empty());
        state.frames.remove(0);
        assert_eq!(state.records_ready().len(), 1);
    }

    #[test]
    fn a_changed_login_lifts_the_pause_and_stale_pops_are_not_resent() {
        let mut state = PhoneState::new(Vendor::Fanvil);
        state.login_is("a".into());
        state.login_refusals = 3;
        state.login_paused_until = Some(Utc::now());
        state.login_is("a".into());
        assert_eq!(state.login_refusals, 3);
        state.login_is("b".into());
        assert_eq!((state.login_refusals, state.login_paused_until), (0, None));

        let line = |s| PhoneFrame::LineState { state: s };
        state.push_frame(PhoneFrame::Incoming {
            call_id: "c".into(),
            from: "+4930".into(),
        });
        state.push_frame(line(LineState::Ringing));
        state.push_frame(line(LineState::Idle));
        assert_eq!(state.drop_stale_frames(Utc::now()), 1);
        assert_eq!(
            state.drop_stale_frames(Utc::now() + chrono::TimeDelta::seconds(61)),
            1
        );
        assert_eq!(state.frames.len(), 1);
        assert_eq!(state.frames[0].item, line(LineState::Idle));
    }

    fn record(call_id: &str) -> CallRecordUpload {
        CallRecordUpload {
            call_id: call_id.into(),
            direction: deskbind_core::wire::CallDirection::Outbound,
            local_number: None,
            remote_number: "+15550100".into(),
            started_at: Utc::now(),
            answered_at: None,
            ended_at: None,
            duration_secs: None,
            result: None,
            dial_id: None,
        }
    }
}
