//! The deskbind-api processes under test: a scratch directory, the shared
//! database (SQLite for one node, a fresh PostgreSQL database plus Redis for
//! two), the node processes and `init-admin`. Everything started here is
//! stopped and removed again when the [`Cluster`] is dropped, on success,
//! on error and on Ctrl-C alike.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Rate limits far above what the benchmark does, so it measures the relay
/// rather than the limiter.
const NODE_ENV: &[(&str, &str)] = &[
    ("DESKBIND_DIAL_RATE_PER_MINUTE", "1000000"),
    ("DESKBIND_LOGIN_RATE_PER_MINUTE", "100000"),
    ("DESKBIND_PROVISION_RATE_PER_MINUTE", "1000000"),
    ("DESKBIND_PHONE_BINDING_RATE_PER_MINUTE", "1000000"),
    ("DESKBIND_PHONE_EVENT_RATE_PER_MINUTE", "1000000"),
    ("DESKBIND_LOG", "warn"),
];

/// The local PostgreSQL server a two-node run creates its database on
/// (trust authentication, as on a development machine).
const PG_HOST: &str = "127.0.0.1";
const PG_USER: &str = "postgres";

const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub nodes: usize,
    pub api_bin: PathBuf,
    /// Overrides the default database (SQLite for one node, a fresh
    /// PostgreSQL database for two).
    pub database_url: Option<String>,
    pub redis_url: String,
    /// Database connections per node.
    pub db_pool_size: u32,
    /// Leave the scratch directory (node logs, SQLite file) behind.
    pub keep_dir: bool,
    /// A fresh PostgreSQL database even for one node.
    pub postgres: bool,
}

/// The running nodes. Fields drop in order: nodes are killed before their
/// database is dropped and the scratch directory removed.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Node>,
    database: BenchDatabase,
    dir: ScratchDir,
    api_bin: PathBuf,
    db_pool_size: u32,
}

impl Cluster {
    /// Starts the nodes one after another, each once the previous answers
    /// `/readyz`: the first migrates the database the others share.
    pub async fn start(options: &ClusterOptions) -> anyhow::Result<Self> {
        if !options.api_bin.is_file() {
            bail!(
                "no deskbind-api binary at {}; build it with \
                 `cargo build --release -p deskbind-api` or pass --api-bin",
                options.api_bin.display()
            );
        }
        let dir = ScratchDir::create(options.keep_dir)?;
        let database = BenchDatabase::choose(options, dir.path())?;
        let mut cluster = Self {
            nodes: Vec::new(),
            database,
            dir,
            api_bin: options.api_bin.clone(),
            db_pool_size: options.db_pool_size,
        };
        let redis = (options.nodes > 1).then(|| options.redis_url.clone());
        for index in 0..options.nodes {
            let env = cluster.node_env(index, redis.as_deref())?;
            let node = Node::spawn(&cluster.api_bin, index, env, cluster.dir.path())?;
            cluster.nodes.push(node);
            if let Some(node) = cluster.nodes.last_mut() {
                node.wait_ready().await?;
            }
        }
        Ok(cluster)
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// `sqlite` or `postgres`, for the report.
    pub fn database_kind(&self) -> &'static str {
        self.database.kind()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `deskbind-api init-admin` against node 1's database.
    pub async fn init_admin(&self, org: &str, email: &str, password: &str) -> anyhow::Result<()> {
        let mut command = Command::new(&self.api_bin);
        command
            .args(["init-admin", "--org", org, "--email", email])
            .env("DESKBIND_ADMIN_PASSWORD", password);
        // Node 1's database and data directory; its listen address goes unused.
        for (key, value) in self.node_env(0, None)? {
            command.env(key, value);
        }
        let output = tokio::task::spawn_blocking(move || command.output())
            .await?
            .context("cannot run deskbind-api init-admin")?;
        if !output.status.success() {
            bail!(
                "init-admin failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Each node's log lines (all warnings or worse at `DESKBIND_LOG=warn`):
    /// how many, and the first few.
    pub fn log_digest(&self, shown: usize) -> Vec<LogDigest> {
        self.nodes
            .iter()
            .map(|node| {
                let text = std::fs::read_to_string(&node.log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                LogDigest {
                    node: node.index,
                    lines: lines.len(),
                    errors: lines.iter().filter(|l| l.contains("ERROR")).count(),
                    first: lines.iter().take(shown).map(|l| (*l).to_owned()).collect(),
                }
            })
            .collect()
    }

    fn node_env(&self, index: usize, redis: Option<&str>) -> anyhow::Result<Vec<(String, String)>> {
        let mut env: Vec<(String, String)> = NODE_ENV
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let data_dir = self.dir.path().join(format!("node{}", index + 1));
        env.extend([
            (
                "DESKBIND_LISTEN".into(),
                format!("127.0.0.1:{}", free_port()?),
            ),
            ("DESKBIND_DATA_DIR".into(), path_string(&data_dir)?),
            ("DATABASE_URL".into(), self.database.url().to_owned()),
            (
                "DESKBIND_DB_POOL_SIZE".into(),
                self.db_pool_size.to_string(),
            ),
            // One key ring for all nodes, so a token from one is valid on all.
            (
                "DESKBIND_TOKEN_KEYS_DIR".into(),
                path_string(&self.dir.path().join("keys"))?,
            ),
            // Several nodes run one worker between them (docs/operations.md).
            ("DESKBIND_EMBEDDED_WORKER".into(), (index == 0).to_string()),
        ]);
        if let Some(redis) = redis {
            env.push(("REDIS_URL".into(), redis.to_owned()));
        }
        Ok(env)
    }
}

#[derive(Debug, Clone)]
pub struct LogDigest {
    pub node: usize,
    pub lines: usize,
    pub errors: usize,
    pub first: Vec<String>,
}

/// One `deskbind-api serve` process; killed when dropped.
#[derive(Debug)]
pub struct Node {
    pub index: usize,
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Node {
    fn spawn(
        api_bin: &Path,
        index: usize,
        env: Vec<(String, String)>,
        dir: &Path,
    ) -> anyhow::Result<Self> {
        let port = env
            .iter()
            .find(|(k, _)| k == "DESKBIND_LISTEN")
            .and_then(|(_, v)| v.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .context("node environment lacks DESKBIND_LISTEN")?;
        let log = dir.join(format!("node{}.log", index + 1));
        let stdout =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let stderr = stdout.try_clone()?;
        let mut command = Command::new(api_bin);
        command
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        // Settings the caller's shell may hold must not leak into the run.
        for name in ["DESKBIND_CONFIG", "REDIS_URL"] {
            command.env_remove(name);
        }
        command.envs(env);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", api_bin.display()))?;
        Ok(Self {
            index,
            port,
            child,
            log,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/v1/phone/ws", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = format!("{}readyz", self.base_url());
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "node {} exited during startup ({status}); its log:\n{}",
                    self.index + 1,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            // Polling is fine here: this is process startup, not the measurement.
            match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                _ if started.elapsed() > READY_TIMEOUT => {
                    bail!("node {} not ready after {READY_TIMEOUT:?}", self.index + 1)
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database all nodes share.
#[derive(Debug)]
enum BenchDatabase {
    /// Given by `--database-url`; left as it is afterwards.
    Given(String),
    Sqlite(String),
    /// Created for this run and dropped when done.
    Postgres {
        name: String,
        url: String,
    },
}

impl BenchDatabase {
    fn choose(options: &ClusterOptions, dir: &Path) -> anyhow::Result<Self> {
        if let Some(url) = &options.database_url {
            return Ok(Self::Given(url.clone()));
        }
        if options.nodes == 1 && !options.postgres {
            return Ok(Self::Sqlite(format!(
                "sqlite://{}",
                path_string(&dir.join("bench.db"))?
            )));
        }
        let name = format!("deskbind_bench_{:016x}", fastrand::u64(..));
        psql(&format!("CREATE DATABASE {name}"))?;
        let url = format!("postgres://{PG_USER}@{PG_HOST}:5432/{name}");
        Ok(Self::Postgres { name, url })
    }

    fn url(&self) -> &str {
        match self {
            Self::Given(url) | Self::Sqlite(url) | Self::Postgres { url, .. } => url,
        }
    }

    fn kind(&self) -> &'static str {
        if self.url().starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { name, .. } = self
            && let Err(e) = psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        {
            println!("warning: could not drop database {name}: {e:#}");
        }
    }
}

fn psql(sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args([
            "-h",
            PG_HOST,
            "-U",
            PG_USER,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .context("cannot run psql (is the PostgreSQL client installed?)")?;
    if !output.status.success() {
        bail!(
            "psql -c {sql:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A directory under the system temp dir, removed when dropped unless kept.
#[derive(Debug)]
struct ScratchDir {
    path: PathBuf,
    keep: bool,
}

impl ScratchDir {
    fn create(keep: bool) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("deskbind-bench-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { path, keep })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.keep {
            println!("kept {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A port nothing listens on right now. The node binds it a moment later;
/// another process taking it in between would fail the start loudly.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn path_string(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}
