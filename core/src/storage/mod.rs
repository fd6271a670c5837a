//! Where recordings live: a directory on the embedded default, an S3 bucket
//! (any S3-compatible store) when `s3_bucket` is set. Uploads are spooled to
//! a local file and verified before they reach either, so a rejected upload
//! never leaves an object behind.

mod local;
mod s3;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::stream::BoxStream;

pub use local::LocalStore;
pub use s3::S3Store;

use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("object storage: {0}")]
    S3(String),
    #[error("object storage is misconfigured: {0}")]
    Config(String),
}

/// A presigned request the client makes itself.
#[derive(Debug, Clone)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    /// Headers the signature covers; the client must send them as given.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub enum Storage {
    Local(LocalStore),
    S3(S3Store),
}

impl Storage {
    /// The store the settings name: S3 when a bucket is set, else the
    /// `recordings` directory under the data directory.
    pub async fn from_settings(settings: &Settings) -> Result<Self, StorageError> {
        let spool = settings.recordings_dir().join(".incoming");
        match &settings.s3_bucket {
            Some(bucket) => Ok(Self::S3(S3Store::connect(settings, bucket, spool).await?)),
            None => Ok(Self::Local(LocalStore::open(settings.recordings_dir())?)),
        }
    }

    /// A directory on local disk where uploads are spooled while they are
    /// checked (on the same file system as a local store, so storing is a
    /// rename).
    pub fn spool_dir(&self) -> &Path {
        match self {
            Self::Local(l) => l.spool_dir(),
            Self::S3(s) => s.spool_dir(),
        }
    }

    /// Moves a verified spooled file to `key`.
    pub async fn put_file(
        &self,
        key: &str,
        file: tempfile::TempPath,
        len: u64,
    ) -> Result<(), StorageError> {
        match self {
            Self::Local(l) => l.put_file(key, file).await,
            Self::S3(s) => s.put_file(key, file, len).await,
        }
    }

    /// The file behind `key` on a local store (served with Range support);
    /// `None` on S3, where clients are redirected to a presigned URL.
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        match self {
            Self::Local(l) => Some(l.path(key)),
            Self::S3(_) => None,
        }
    }

    /// The id of a local store's directory (`None` on S3, which every
    /// node reaches): a recording saved with one id is on that disk.
    pub fn store_id(&self) -> Option<&str> {
        match self {
            Self::Local(l) => Some(l.id()),
            Self::S3(_) => None,
        }
    }

    pub fn presigns(&self) -> bool {
        matches!(self, Self::S3(_))
    }

    /// A URL the client PUTs `len` bytes to; `None` on a local store.
    pub async fn presign_put(
        &self,
        key: &str,
        len: u64,
        ttl: Duration,
    ) -> Result<Option<Presigned>, StorageError> {
        match self {
            Self::Local(_) => Ok(None),
            Self::S3(s) => s.presign_put(key, len, ttl).await.map(Some),
        }
    }

    /// A URL that serves the object (with Range); `None` on a local store.
    pub async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
        content_type: &str,
    ) -> Result<Option<String>, StorageError> {
        match self {
            Self::Local(_) => Ok(None),
            Self::S3(s) => s.presign_get(key, ttl, content_type).await.map(Some),
        }
    }

    /// The object's size, or `None` when it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self {
            Self::Local(l) => l.size(key).await,
            Self::S3(s) => s.size(key).await,
        }
    }

    /// The object's bytes, chunk by chunk.
    pub async fn read(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<bytes::Bytes, StorageError>>, StorageError> {
        match self {
            Self::Local(l) => l.read(key).await,
            Self::S3(s) => s.read(key).await,
        }
    }

    /// Removes the object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self {
            Self::Local(l) => l.delete(key).await,
            Self::S3(s) => s.delete(key).await,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            Self::S3(_) => "s3",
        }
    }
}
