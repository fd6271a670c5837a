//! A real S3 server for tests: s3s-fs (the S3 protocol over a directory,
//! signatures enforced) served in-process on port 0, with one bucket.

use deskbind_core::config::Settings;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use secrecy::SecretString;

const ACCESS_KEY: &str = "deskbind-test";
const SECRET_KEY: &str = "deskbind-test-secret-0123456789";
pub const BUCKET: &str = "deskbind-recordings";

pub struct S3Server {
    pub endpoint: String,
    pub root: tempfile::TempDir,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl S3Server {
    pub async fn start() -> Self {
        let root = tempfile::tempdir().expect("s3 root");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket directory");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
        let service = {
            let mut builder = S3ServiceBuilder::new(fs);
            builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind s3");
        let addr = listener.local_addr().expect("s3 addr");
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _closed = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            endpoint: format!("http://{addr}"),
            root,
            accept,
        }
    }

    /// Points the settings' recording storage at this server.
    pub fn configure(&self, settings: &mut Settings) {
        settings.s3_bucket = Some(BUCKET.into());
        settings.s3_endpoint = Some(self.endpoint.clone());
        settings.aws_access_key_id = Some(ACCESS_KEY.into());
        settings.aws_secret_access_key = Some(SecretString::from(SECRET_KEY));
        settings.aws_region = Some("us-east-1".into());
    }

    /// Objects in the bucket (files under its directory, not counting
    /// s3s-fs's own bookkeeping).
    pub fn object_count(&self) -> usize {
        count_files(&self.root.path().join(BUCKET))
    }
}

pub fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_files(&path)
            } else {
                usize::from(!e.file_name().to_string_lossy().starts_with('.'))
            }
        })
        .sum()
}
