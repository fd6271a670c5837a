//! The organisation the benchmark runs against, made through the public
//! API with the client SDK: the admin's session, the dialers (admins, who
//! may bind any phone without a grant) with a session on every node, and
//! the phones, provisioned and, for the dialing subset, bound.

use anyhow::Context as _;
use deskbind_core::ids::PhoneId;
use deskbind_core::wire::{
    BindingDuration, CreatePhone, CreateUser, PutBindingPolicy, Role, TakeoverRule,
};
use deskbind_mobile::{AppClient, PhoneClient};
use futures_util::StreamExt as _;

pub const ORG: &str = "Bench";
pub const ADMIN_EMAIL: &str = "admin@bench.example";
pub const PASSWORD: &str = "bench-password-123";
/// The most phones one user may hold (`MAX_PHONES_PER_USER` on the server).
pub const PHONES_PER_DIALER: usize = 100;
/// Every bench phone shares this number; the extension tells them apart.
const PHONE_NUMBER: &str = "+16502530000";
const PROGRESS_EVERY: usize = 1000;

/// How many phones, who holds which, and how hard to push the setup.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub phones: usize,
    pub dialing_phones: usize,
    pub dialers: usize,
    pub nodes: usize,
    /// Phones set up at once.
    pub concurrency: usize,
}

impl Plan {
    /// Phone `i` connects to node `i % nodes`.
    pub fn node_of(&self, phone: usize) -> usize {
        phone % self.nodes
    }

    /// The dialer holding phone `i`, for the first `dialing_phones`; spread
    /// evenly so nobody holds more than [`PHONES_PER_DIALER`].
    pub fn holder_of(&self, phone: usize) -> Option<usize> {
        (phone < self.dialing_phones).then(|| phone % self.dialers)
    }
}

/// A phone ready to connect.
#[derive(Debug, Clone)]
pub struct BenchPhone {
    pub index: usize,
    pub id: PhoneId,
    pub credential: String,
    pub node: usize,
    pub holder: Option<usize>,
}

pub async fn login(base_url: &str, email: &str) -> anyhow::Result<AppClient> {
    let client = AppClient::new(base_url)?;
    client
        .login(email, PASSWORD)
        .await
        .with_context(|| format!("cannot log in as {email} at {base_url}"))?;
    Ok(client)
}

/// Lets one user hold up to [`PHONES_PER_DIALER`] phones, creates the
/// dialers and logs each in on every node: `sessions[dialer][node]`. Separate
/// sessions per node, so no two clients ever rotate one refresh token.
pub async fn dialers(
    admin: &AppClient,
    node_urls: &[String],
    count: usize,
) -> anyhow::Result<Vec<Vec<AppClient>>> {
    admin
        .set_binding_policy(&PutBindingPolicy {
            takeover: TakeoverRule::Admins,
            duration: BindingDuration::UntilUnbound,
            duration_hours: None,
            workday_end: None,
            max_phones_per_user: PHONES_PER_DIALER as u32,
        })
        .await
        .context("cannot set the binding policy")?;
    let mut sessions = Vec::with_capacity(count);
    for d in 0..count {
        let email = format!("dialer{d}@bench.example");
        admin
            .create_user(&CreateUser {
                email: email.clone(),
                display_name: format!("Dialer {d}"),
                role: Role::Admin,
                password: PASSWORD.into(),
                time_zone: None,
                team_ids: Vec::new(),
            })
            .await
            .with_context(|| format!("cannot create {email}"))?;
        let mut per_node = Vec::with_capacity(node_urls.len());
        for url in node_urls {
            per_node.push(login(url, &email).await?);
        }
        sessions.push(per_node);
    }
    Ok(sessions)
}

/// Creates, provisions (on its own node) and, for the dialing subset, binds
/// every phone, `plan.concurrency` at a time.
pub async fn phones(
    admin: &AppClient,
    sessions: &[Vec<AppClient>],
    node_urls: &[String],
    plan: &Plan,
) -> anyhow::Result<Vec<BenchPhone>> {
    let started = std::time::Instant::now();
    let mut made = futures_util::stream::iter(0..plan.phones)
        .map(|index| {
            let node = plan.node_of(index);
            let holder = plan
                .holder_of(index)
                .and_then(|d| sessions.get(d).and_then(|s| s.first()).map(|c| (d, c)));
            make_phone(admin, index, node, &node_urls[node], holder)
        })
        .buffer_unordered(plan.concurrency);
    let mut phones = Vec::with_capacity(plan.phones);
    while let Some(phone) = made.next().await {
        phones.push(phone?);
        if phones.len() % PROGRESS_EVERY == 0 || phones.len() == plan.phones {
            println!(
                "  phones set up: {}/{} ({:.1} s)",
                phones.len(),
                plan.phones,
                started.elapsed().as_secs_f64()
            );
        }
    }
    phones.sort_by_key(|p| p.index);
    Ok(phones)
}

async fn make_phone(
    admin: &AppClient,
    index: usize,
    node: usize,
    node_url: &str,
    holder: Option<(usize, &AppClient)>,
) -> anyhow::Result<BenchPhone> {
    let phone = admin
        .create_phone(&CreatePhone {
            number: PHONE_NUMBER.into(),
            region: None,
            extension: Some(index.to_string()),
            label: format!("bench phone {index}"),
            vendor: None,
            model: None,
            driver: None,
        })
        .await
        .with_context(|| format!("cannot create phone {index}"))?;
    let code = admin
        .create_provisioning_code(phone.id)
        .await
        .with_context(|| format!("cannot get a provisioning code for phone {index}"))?;
    let (_, provisioned) = PhoneClient::provision(node_url, &code.code)
        .await
        .with_context(|| format!("cannot provision phone {index}"))?;
    if let Some((_, client)) = holder {
        client
            .bind_phone(phone.id, false)
            .await
            .with_context(|| format!("cannot bind phone {index}"))?;
    }
    Ok(BenchPhone {
        index,
        id: phone.id,
        credential: provisioned.credential,
        node,
        holder: holder.map(|(d, _)| d),
    })
}

/// The deskbind-api binary a benchmark starts: `explicit` if given, else
/// the one next to the running benchmark.
pub fn api_bin(explicit: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let me = std::env::current_exe().context("cannot find this executable")?;
    let dir = me.parent().context("this executable has no directory")?;
    Ok(dir.join("deskbind-api"))
}

/// One SQLite node started from `api_bin` with its admin logged in:
/// `(cluster, base url, admin)`. The node stops when the cluster drops.
pub async fn one_node(
    api_bin: std::path::PathBuf,
    keep_dir: bool,
) -> anyhow::Result<(crate::cluster::Cluster, String, AppClient)> {
    one_node_on(api_bin, keep_dir, false).await
}

/// [`one_node`] on a fresh PostgreSQL database when `postgres` (dropped
/// with the cluster), on SQLite otherwise.
pub async fn one_node_on(
    api_bin: std::path::PathBuf,
    keep_dir: bool,
    postgres: bool,
) -> anyhow::Result<(crate::cluster::Cluster, String, AppClient)> {
    let cluster = crate::cluster::Cluster::start(&crate::cluster::ClusterOptions {
        nodes: 1,
        api_bin,
        database_url: None,
        redis_url: String::new(),
        db_pool_size: 16,
        keep_dir,
        postgres,
    })
    .await?;
    let url = cluster.nodes()[0].base_url();
    println!("started 1 node on {url} ({})", cluster.database_kind());
    cluster.init_admin(ORG, ADMIN_EMAIL, PASSWORD).await?;
    let admin = login(&url, ADMIN_EMAIL).await?;
    Ok((cluster, url, admin))
}
