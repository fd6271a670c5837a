//! Recordings in an S3 bucket (AWS or any S3-compatible store). Objects are
//! written from the verified spool file with a known length (the SDK then
//! streams it instead of buffering), and read back chunk by chunk. Request
//! checksums are only sent when an operation requires them: the newer
//! default trailer checksums are not understood by every S3-compatible
//! server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use secrecy::ExposeSecret as _;

use super::{Presigned, StorageError};
use crate::config::Settings;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    spool: PathBuf,
}

fn s3_error(e: impl std::fmt::Display) -> StorageError {
    StorageError::S3(e.to_string())
}

impl S3Store {
    pub async fn connect(
        settings: &Settings,
        bucket: &str,
        spool: PathBuf,
    ) -> Result<Self, StorageError> {
        let (Some(key_id), Some(secret)) = (
            settings.aws_access_key_id.as_deref(),
            settings.aws_secret_access_key.as_ref(),
        ) else {
            return Err(StorageError::Config(
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the recordings bucket".into(),
            ));
        };
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                key_id,
                secret.expose_secret(),
                None,
                None,
                "deskbind-settings",
            ))
            .region(Region::new(
                settings
                    .aws_region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".into()),
            ))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &settings.s3_endpoint {
            // S3-compatible servers rarely resolve bucket subdomains.
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        std::fs::create_dir_all(&spool)?;
        let store = Self {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.to_owned(),
            spool,
        };
        // Fail at start, with the reason, rather than on the first upload.
        store
            .client
            .head_bucket()
            .bucket(&store.bucket)
            .send()
            .await
            .map_err(|e| {
                StorageError::Config(format!(
                    "bucket {bucket:?} is not reachable: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ))
            })?;
        Ok(store)
    }

    pub fn spool_dir(&self) -> &Path {
        &self.spool
    }

    pub async fn put_file(
        &self,
        key: &str,
        file: tempfile::TempPath,
        len: u64,
    ) -> Result<(), StorageError> {
        let body = ByteStream::from_path(&file).await.map_err(s3_error)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(i64::try_from(len).map_err(s3_error)?)
            .body(body)
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        // The spool file goes when `file` drops.
        drop(file);
        Ok(())
    }

    pub async fn presign_put(
        &self,
        key: &str,
        len: u64,
        ttl: Duration,
    ) -> Result<Presigned, StorageError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(i64::try_from(len).map_err(s3_error)?)
            .presigned(PresigningConfig::expires_in(ttl).map_err(s3_error)?)
            .await
            .map_err(s3_error)?;
        let mut headers: Vec<(String, String)> = request
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        // The signature covers the length; say so, so clients send exactly it.
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            headers.push(("content-length".into(), len.to_string()));
        }
        Ok(Presigned {
            method: request.method().to_owned(),
            url: request.uri().to_owned(),
            headers,
        })
    }

    pub async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
        content_type: &str,
    ) -> Result<String, StorageError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .presigned(PresigningConfig::expires_in(ttl).map_err(s3_error)?)
            .await
            .map_err(s3_error)?;
        Ok(request.uri().to_owned())
    }

    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(head.content_length().and_then(|n| u64::try_from(n).ok())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    pub async fn read(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<bytes::Bytes, StorageError>>, StorageError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(
            futures_util::stream::unfold(object.body, |mut body| async move {
                let chunk = body.next().await?;
                Some((chunk.map_err(s3_error), body))
            })
            .boxed(),
        )
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}
