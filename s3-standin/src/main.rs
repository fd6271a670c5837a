//! `s3-standin ROOT BUCKET ACCESS_KEY SECRET_KEY`: an S3 server as its own
//! process for scripts/topology-test, the same s3s-fs the API tests run
//! in-process (api/tests/api/s3.rs): objects are files under
//! `ROOT/BUCKET/`, requests must be signed with the given key. Listens on
//! a free loopback port and prints `endpoint http://127.0.0.1:PORT` as its
//! first line. Runs until killed.

use std::io::Write as _;
use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, bucket, access_key, secret_key] = args.as_slice() else {
        eprintln!("usage: s3-standin ROOT BUCKET ACCESS_KEY SECRET_KEY");
        std::process::exit(2);
    };
    let root = PathBuf::from(root);
    std::fs::create_dir_all(root.join(bucket))?;
    let fs = s3s_fs::FileSystem::new(&root)
        .map_err(|e| std::io::Error::other(format!("s3s-fs over {}: {e:?}", root.display())))?;
    let service = {
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(
            access_key.as_str(),
            secret_key.as_str(),
        ));
        builder.build()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "endpoint http://{}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    loop {
        let (socket, _) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            // A client going away mid-request is not the stand-in's concern.
            let _closed = ConnBuilder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}
