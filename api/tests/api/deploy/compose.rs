//! deploy/compose.yaml: two API nodes and a worker from the Dockerfile's
//! images, PostgreSQL, Redis, an S3 store and the proxy, with healthchecks,
//! real setting names and the proxy's upstream matching the nodes.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use super::dockerfile::assert_pinned;
use super::files::{at, keys, scalar, seconds, text, yaml};
use super::settings::{assert_valid, listen_port, shutdown_budget_secs};

fn services() -> BTreeMap<String, Value> {
    let compose = yaml("compose.yaml");
    let services = at(&compose, &["services"], "compose.yaml");
    keys(services)
        .into_iter()
        .map(|name| (name.clone(), services[name.as_str()].clone()))
        .collect()
}

fn env(service: &Value) -> BTreeMap<String, String> {
    service
        .get("environment")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn build_target(service: &Value) -> Option<String> {
    text(service.get("build")?, "target")
}

fn command(service: &Value) -> Vec<String> {
    match service.get("command") {
        Some(Value::Sequence(words)) => words.iter().filter_map(scalar).collect(),
        Some(Value::String(line)) => line.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn image(service: &Value) -> String {
    text(service, "image").unwrap_or_default()
}

/// The healthcheck's test as one string.
fn healthcheck(name: &str, service: &Value) -> String {
    let test = at(
        service,
        &["healthcheck", "test"],
        &format!("compose service {name}"),
    );
    match test {
        Value::Sequence(words) => words
            .iter()
            .filter_map(scalar)
            .collect::<Vec<_>>()
            .join(" "),
        other => scalar(other).unwrap_or_default(),
    }
}

/// The host of a URL like `scheme://user:pass@host:port/path`.
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or_default();
    host_port.split(':').next().unwrap_or_default().to_owned()
}

#[test]
fn compose_runs_two_api_nodes_a_worker_and_every_service_they_need() {
    let services = services();
    let api_nodes: Vec<&String> = services
        .iter()
        .filter(|(_, s)| build_target(s).as_deref() == Some("api"))
        .filter(|(_, s)| {
            let command = command(s);
            command.is_empty() || command == ["serve"]
        })
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        api_nodes.len(),
        2,
        "two API nodes serving, found {api_nodes:?}"
    );
    let workers: Vec<&String> = services
        .iter()
        .filter(|(_, s)| build_target(s).as_deref() == Some("worker"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(workers.len(), 1, "one standalone worker, found {workers:?}");

    let with_image = |fragment: &str| -> String {
        let found: Vec<&String> = services
            .iter()
            .filter(|(_, s)| {
                image(s)
                    .split(':')
                    .next()
                    .is_some_and(|i| i.ends_with(fragment))
            })
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one service with the {fragment} image, found {found:?}"
        );
        found[0].clone()
    };
    let postgres = with_image("postgres");
    let redis = with_image("redis");
    let s3 = with_image("minio/minio");
    let proxy = with_image("nginx");

    for (name, service) in &services {
        if build_target(service).is_none() {
            assert_pinned(&image(service), &format!("compose service {name}"));
        }
    }
    for name in [&postgres, &redis, &s3, &proxy, api_nodes[0], api_nodes[1]] {
        assert!(
            !healthcheck(name, &services[name.as_str()]).is_empty(),
            "{name} has a healthcheck"
        );
    }

    // Every deskbind process gets settings the configuration reads, and
    // they point at the services above.
    for name in api_nodes.iter().chain(workers.iter()) {
        let settings = env(&services[name.as_str()]);
        assert_valid(&settings, &format!("compose service {name}"));
        assert_eq!(
            settings.get("DESKBIND_EMBEDDED_WORKER").map(String::as_str),
            Some("false"),
            "{name}: the worker runs apart"
        );
        let database = settings.get("DATABASE_URL").expect("DATABASE_URL");
        assert!(
            database.starts_with("postgres://"),
            "{name}: PostgreSQL, not SQLite, with several nodes"
        );
        assert_eq!(
            url_host(database),
            postgres,
            "{name}: DATABASE_URL points at the postgres service"
        );
        assert_eq!(
            url_host(settings.get("REDIS_URL").expect("REDIS_URL")),
            redis,
            "{name}: REDIS_URL"
        );
        assert!(
            settings.contains_key("DESKBIND_S3_BUCKET"),
            "{name}: recordings go to S3"
        );
        assert_eq!(
            url_host(settings.get("DESKBIND_S3_ENDPOINT").expect("S3 endpoint")),
            s3,
            "{name}: the S3 endpoint"
        );
    }

    // The nodes share one token key ring, answer their healthcheck on the
    // port they listen on, and get the time a drain takes to stop.
    let mut key_volumes = Vec::new();
    let mut upstream = Vec::new();
    for name in &api_nodes {
        let service = &services[name.as_str()];
        let settings = env(service);
        let port = listen_port(&settings);
        upstream.push(format!("{name}:{port}"));
        let check = healthcheck(name, service);
        assert!(
            check.contains("/readyz") && check.contains(&format!("/{port}")),
            "{name}: the healthcheck asks /readyz on port {port}: {check}"
        );
        let keys_dir = settings
            .get("DESKBIND_TOKEN_KEYS_DIR")
            .expect("DESKBIND_TOKEN_KEYS_DIR: nodes must share keys");
        let volumes: Vec<String> = service
            .get("volumes")
            .and_then(Value::as_sequence)
            .map(|v| v.iter().filter_map(scalar).collect())
            .unwrap_or_default();
        let volume = volumes
            .iter()
            .find(|v| v.split(':').nth(1) == Some(keys_dir.as_str()))
            .unwrap_or_else(|| panic!("{name}: no volume at the token keys dir {keys_dir}"));
        key_volumes.push(volume.split(':').next().unwrap_or_default().to_owned());
        let grace = seconds(&text(service, "stop_grace_period").expect("stop_grace_period"));
        let budget = shutdown_budget_secs(&settings);
        assert!(
            grace > budget,
            "{name}: stop_grace_period {grace}s must exceed the drain and shutdown grace ({budget}s)"
        );
        let depends = keys(service.get("depends_on").expect("depends_on"));
        assert!(depends.contains(&redis), "{name} waits for {redis}");
    }
    assert_eq!(
        key_volumes[0], key_volumes[1],
        "both nodes mount the same key volume"
    );

    // The proxy's upstream is exactly the two nodes.
    let mounts: Vec<String> = services[proxy.as_str()]
        .get("volumes")
        .and_then(Value::as_sequence)
        .map(|v| v.iter().filter_map(scalar).collect())
        .unwrap_or_default();
    assert!(
        mounts.iter().any(|m| m.starts_with("./nginx/nginx.conf:")),
        "the proxy mounts deploy/nginx/nginx.conf"
    );
    let conf = super::nginx::parse(&super::files::read("nginx/nginx.conf"));
    let mut servers = super::nginx::upstream_servers(&conf);
    servers.sort();
    upstream.sort();
    assert_eq!(servers, upstream, "nginx's upstream lists the API nodes");
}
