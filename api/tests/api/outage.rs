//! A database outage under a running node: requests answer 503 `unavailable`
//! with `Retry-After` quickly (not after the pool timeout), `/readyz` within a
//! second, a write during the outage leaves nothing behind, and the node
//! serves again once the database is back, without a restart.
//!
//! PostgreSQL: the node reaches the shared server through a TCP proxy owned
//! by the test, which cuts every connection and refuses new ones, then
//! listens again. SQLite: the database file is moved away and a directory
//! put at its path (what a lost volume looks like; as root, permission
//! changes stop nothing), then moved back.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deskbind_core::db::DatabaseUrl;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// Well under the 10 s pool timeout every request used to wait out.
const FAST: Duration = Duration::from_secs(2);

/// A TCP proxy to the database (or Redis) that the test can cut and
/// restore.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    pub(crate) async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            port,
            upstream,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes every proxied connection and the listener: connects are refused.
    pub(crate) fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// What the test breaks and mends.
enum Outage {
    Proxy(Proxy),
    SqliteFile(PathBuf),
}

impl Outage {
    async fn start(&self) {
        match self {
            Self::Proxy(proxy) => proxy.cut(),
            Self::SqliteFile(path) => {
                std::fs::rename(path, away(path)).unwrap();
                std::fs::create_dir(path).unwrap();
            }
        }
    }

    async fn end(&self) {
        match self {
            Self::Proxy(proxy) => proxy.restore().await,
            Self::SqliteFile(path) => {
                std::fs::remove_dir(path).unwrap();
                std::fs::rename(away(path), path).unwrap();
            }
        }
    }
}

fn away(path: &std::path::Path) -> PathBuf {
    path.with_extension("away")
}

/// A node whose database the test can take away: for PostgreSQL a second
/// node through the proxy, for SQLite a second node on the same file.
async fn node_with_outage(app: &TestApp) -> (crate::helpers::Node, Outage) {
    let url = app.settings.database_url.as_ref().unwrap().expose_secret();
    match DatabaseUrl::parse(url).unwrap() {
        DatabaseUrl::Sqlite(path) => {
            let node = app.spawn_node(|_| {}).await;
            (node, Outage::SqliteFile(path))
        }
        DatabaseUrl::Postgres(raw) => {
            // postgres://user@host:port/db?params
            let authority = raw.split("://").nth(1).unwrap().split('/').next().unwrap();
            let host_port = authority.rsplit('@').next().unwrap().to_owned();
            let proxy = Proxy::start(host_port.clone()).await;
            let proxied = raw.replacen(&host_port, &format!("127.0.0.1:{}", proxy.port), 1);
            let node = app
                .spawn_node(|s| s.database_url = Some(SecretString::from(proxied)))
                .await;
            (node, Outage::Proxy(proxy))
        }
    }
}

struct Answer {
    status: u16,
    code: Option<String>,
    retry_after: Option<String>,
    took: Duration,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let start = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        code: body["code"].as_str().map(str::to_owned),
        retry_after,
        took: start.elapsed(),
    }
}

fn assert_unavailable(what: &str, answer: &Answer) {
    assert_eq!(
        (answer.status, answer.code.as_deref()),
        (503, Some("unavailable")),
        "{what}"
    );
    assert!(answer.retry_after.is_some(), "{what}: no Retry-After");
    assert!(answer.took < FAST, "{what} took {:?}", answer.took);
}

// Multi-threaded: the proxy must keep running while a node's pool blocks its
// thread opening connections through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_a_fast_503_and_the_node_recovers_on_its_own() {
    let app = spawn_app().await;
    let (node, outage) = node_with_outage(&app).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{}", node.base, path);
    let token = http
        .post(url("/v1/auth/login"))
        .json(&json!({ "email": app.admin_email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = || http.get(url("/v1/me")).bearer_auth(&token);
    assert_eq!(send(me()).await.status, 200);
    assert_eq!(send(http.get(url("/readyz"))).await.status, 200);

    outage.start().await;
    // Every answer comes quickly; the first ones may still be served.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = send(me()).await;
        assert!(answer.took < FAST, "/v1/me took {:?}", answer.took);
        if answer.status == 503 {
            assert_unavailable("/v1/me", &answer);
            break;
        }
        assert_eq!(answer.status, 200, "neither served nor 503");
        assert!(Instant::now() < deadline, "never answered 503");
    }
    // While it lasts: readiness, reads, logins and writes all answer 503 fast.
    assert_unavailable("/readyz", &send(http.get(url("/readyz"))).await);
    for _ in 0..3 {
        assert_unavailable("/v1/me", &send(me()).await);
    }
    let login = http
        .post(url("/v1/auth/login"))
        .json(&json!({ "email": app.admin_email, "password": PASSWORD }));
    assert_unavailable("login", &send(login).await);
    let write = http
        .post(url("/v1/users"))
        .bearer_auth(&token)
        .json(&json!({
            "email": "during-outage@acme.test",
            "display_name": "Written during the outage",
            "role": "salesperson",
            "password": "long-enough-password",
        }));
    assert_unavailable("POST /v1/users", &send(write).await);

    outage.end().await;
    // Back without a restart, each answer still quick while it reconnects.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let answer = send(me()).await;
        assert!(answer.took < FAST, "/v1/me took {:?}", answer.took);
        if answer.status == 200 {
            break;
        }
        assert_unavailable("/v1/me while reconnecting", &answer);
        assert!(Instant::now() < deadline, "the node did not recover");
    }
    assert_eq!(send(http.get(url("/readyz"))).await.status, 200);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM users WHERE email = 'during-outage@acme.test'".into()
        )
        .await,
        0,
        "the refused write left a row behind"
    );
}
