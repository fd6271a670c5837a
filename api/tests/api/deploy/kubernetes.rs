//! deploy/k8s/: the API Deployment (probes on the real routes and port, a
//! preStop before the drain, a grace period longer than the drain, rolling
//! updates that never lower capacity), the worker as its own Deployment,
//! settings under their real names, the Ingress's WebSocket timeouts and a
//! PodDisruptionBudget.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

use super::dockerfile::assert_pinned;
use super::files::{all_files, at, keys, scalar, text, yaml, yaml_docs};
use super::settings::{
    SECRET_NAMES, assert_known, assert_valid, listen_port, shutdown_budget_secs,
};
use crate::helpers::spawn_app;

/// Files applied by `kubectl apply -k` (kustomization.yaml's resources).
const NOT_APPLIED: &[&str] = &["k8s/kustomization.yaml", "k8s/secrets.example.yaml"];

struct Manifests {
    docs: Vec<Value>,
}

impl Manifests {
    fn load() -> Self {
        let docs = all_files()
            .into_iter()
            .filter(|f| {
                f.starts_with("k8s/") && f.ends_with(".yaml") && !NOT_APPLIED.contains(&f.as_str())
            })
            .flat_map(|f| yaml_docs(&f))
            .collect();
        Self { docs }
    }

    fn find(&self, kind: &str, name: &str) -> &Value {
        self.docs
            .iter()
            .find(|d| {
                text(d, "kind").as_deref() == Some(kind)
                    && d.get("metadata").and_then(|m| text(m, "name")).as_deref() == Some(name)
            })
            .unwrap_or_else(|| panic!("deploy/k8s has no {kind} {name}"))
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.docs
            .iter()
            .filter(|d| text(d, "kind").as_deref() == Some(kind))
            .collect()
    }

    fn settings(&self) -> BTreeMap<String, String> {
        let data = at(
            self.find("ConfigMap", "deskbind-settings"),
            &["data"],
            "ConfigMap deskbind-settings",
        );
        keys(data)
            .into_iter()
            .map(|k| (k.clone(), scalar(&data[k.as_str()]).unwrap_or_default()))
            .collect()
    }
}

fn containers(workload: &Value) -> &Vec<Value> {
    at(
        workload,
        &["spec", "template", "spec", "containers"],
        "workload",
    )
    .as_sequence()
    .expect("containers is a list")
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().expect("an integer"),
        Value::String(s) => s.trim_end_matches('%').parse().expect("an integer"),
        other => panic!("{other:?} is not an integer"),
    }
}

fn pod_labels(workload: &Value) -> BTreeMap<String, String> {
    let labels = at(
        workload,
        &["spec", "template", "metadata", "labels"],
        "pod labels",
    );
    keys(labels)
        .into_iter()
        .map(|k| (k.clone(), scalar(&labels[k.as_str()]).unwrap_or_default()))
        .collect()
}

fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    keys(selector)
        .iter()
        .all(|k| labels.get(k) == scalar(&selector[k.as_str()]).as_ref())
}

/// The configMap and secret names a container's `envFrom` reads.
fn env_from(container: &Value) -> (Vec<String>, Vec<String>) {
    let sources = container
        .get("envFrom")
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    let names = |kind: &str| {
        sources
            .iter()
            .filter_map(|s| text(s.get(kind)?, "name"))
            .collect()
    };
    (names("configMapRef"), names("secretRef"))
}

/// The container port a probe or Service names (by name or number).
fn resolve_port(container: &Value, port: &Value) -> i64 {
    match port {
        Value::Number(n) => n.as_i64().expect("port"),
        Value::String(name) => container
            .get("ports")
            .and_then(Value::as_sequence)
            .and_then(|ports| {
                ports
                    .iter()
                    .find(|p| text(p, "name").as_deref() == Some(name))
            })
            .map(|p| int(&p["containerPort"]))
            .unwrap_or_else(|| panic!("no container port named {name}")),
        other => panic!("bad port {other:?}"),
    }
}

/// Seconds the preStop hook holds the pod before SIGTERM.
fn pre_stop_secs(container: &Value) -> u64 {
    let hook = at(container, &["lifecycle", "preStop"], "the API container");
    if let Some(secs) = hook.get("sleep").and_then(|s| s.get("seconds")) {
        return int(secs).try_into().expect("positive");
    }
    let command: Vec<String> = at(hook, &["exec", "command"], "preStop")
        .as_sequence()
        .expect("a command list")
        .iter()
        .filter_map(scalar)
        .collect();
    let sleep = command
        .iter()
        .position(|w| w == "sleep")
        .expect("preStop sleeps so the load balancer stops routing first");
    command[sleep + 1].parse().expect("sleep seconds")
}

fn secret_docs() -> Vec<Value> {
    yaml_docs("k8s/secrets.example.yaml")
}

fn secret_keys(name: &str) -> Vec<String> {
    let docs = secret_docs();
    let secret = docs
        .iter()
        .find(|d| d.get("metadata").and_then(|m| text(m, "name")).as_deref() == Some(name))
        .unwrap_or_else(|| panic!("secrets.example.yaml has no Secret {name}"));
    keys(at(secret, &["stringData"], name))
}

#[test]
fn kustomization_applies_every_manifest_with_pinned_images() {
    let kustomization = yaml("k8s/kustomization.yaml");
    let mut listed: Vec<String> = at(&kustomization, &["resources"], "kustomization")
        .as_sequence()
        .expect("resources list")
        .iter()
        .filter_map(scalar)
        .map(|r| format!("k8s/{r}"))
        .collect();
    listed.sort();
    let mut present: Vec<String> = all_files()
        .into_iter()
        .filter(|f| f.starts_with("k8s/") && !NOT_APPLIED.contains(&f.as_str()))
        .collect();
    present.sort();
    assert_eq!(
        listed, present,
        "kustomization.yaml's resources are exactly the manifests in deploy/k8s"
    );
    let images: BTreeMap<String, String> = at(&kustomization, &["images"], "kustomization")
        .as_sequence()
        .expect("images")
        .iter()
        .map(|i| {
            (
                text(i, "name").expect("name"),
                format!(
                    "{}:{}",
                    text(i, "newName").expect("newName"),
                    text(i, "newTag").expect("newTag")
                ),
            )
        })
        .collect();
    let manifests = Manifests::load();
    for kind in ["Deployment", "Job"] {
        for workload in manifests.all(kind) {
            for container in containers(workload) {
                let image = text(container, "image").expect("image");
                let pinned = images.get(&image).unwrap_or_else(|| {
                    panic!("image {image} is not set by kustomization.yaml's images")
                });
                assert_pinned(pinned, &format!("kustomization image {image}"));
            }
        }
    }
}

#[test]
fn settings_use_names_the_configuration_reads_and_secrets_stay_secret() {
    let manifests = Manifests::load();
    let settings = manifests.settings();
    assert_known(settings.keys().cloned(), "ConfigMap deskbind-settings");
    for secret in SECRET_NAMES {
        assert!(
            !settings.contains_key(*secret),
            "{secret} belongs in a Secret, not the ConfigMap"
        );
    }
    assert_eq!(
        settings.get("DESKBIND_EMBEDDED_WORKER").map(String::as_str),
        Some("false")
    );
    let secrets = secret_keys("deskbind-secrets");
    assert_known(secrets.iter().cloned(), "Secret deskbind-secrets");
    for needed in ["DATABASE_URL", "REDIS_URL"] {
        assert!(
            secrets.contains(&needed.to_owned()),
            "Secret deskbind-secrets lacks {needed}"
        );
    }
    // What a pod gets (ConfigMap and Secret together) is a configuration
    // the node starts with.
    let mut env = settings.clone();
    let docs = secret_docs();
    let secret = docs
        .iter()
        .find(|d| d["metadata"]["name"].as_str() == Some("deskbind-secrets"))
        .expect("deskbind-secrets");
    for key in keys(&secret["stringData"]) {
        env.insert(
            key.clone(),
            scalar(&secret["stringData"][key.as_str()]).unwrap_or_default(),
        );
    }
    assert_valid(
        &env,
        "ConfigMap deskbind-settings with Secret deskbind-secrets",
    );
    // The key ring's files are named `<kid>.key` (core/src/auth/jwt.rs).
    assert!(
        secret_keys("deskbind-token-keys")
            .iter()
            .all(|k| k.ends_with(".key"))
    );

    // Every file a setting names is mounted where the setting says.
    let api = manifests.find("Deployment", "deskbind-api");
    let container = &containers(api)[0];
    let mounts: Vec<String> = container["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .filter_map(|m| text(m, "mountPath"))
        .collect();
    let keys_dir = settings
        .get("DESKBIND_TOKEN_KEYS_DIR")
        .expect("DESKBIND_TOKEN_KEYS_DIR (nodes share one key ring)");
    assert!(
        mounts.contains(keys_dir),
        "the token keys dir {keys_dir} is mounted"
    );
    if let Some(fcm) = settings.get("GOOGLE_APPLICATION_CREDENTIALS") {
        let dir = fcm.rsplit_once('/').map(|(d, _)| d).unwrap_or_default();
        assert!(
            mounts.iter().any(|m| m == dir),
            "the FCM key's dir {dir} is mounted"
        );
    }
}

#[test]
fn the_api_deployment_probes_drains_and_rolls_without_losing_capacity() {
    let manifests = Manifests::load();
    let settings = manifests.settings();
    let api = manifests.find("Deployment", "deskbind-api");
    assert!(
        int(at(api, &["spec", "replicas"], "api")) >= 2,
        "at least two API nodes"
    );
    let rolling = at(
        api,
        &["spec", "strategy", "rollingUpdate"],
        "api Deployment",
    );
    assert_eq!(
        int(&rolling["maxUnavailable"]),
        0,
        "a rolling update never takes a serving node away first"
    );
    assert!(
        int(&rolling["maxSurge"]) >= 1,
        "maxSurge ≥ 1, or a rollout with maxUnavailable 0 cannot start"
    );
    let container = containers(api)
        .iter()
        .find(|c| text(c, "image").as_deref() == Some("deskbind-api"))
        .expect("the deskbind-api container");
    let (config_maps, secrets) = env_from(container);
    assert_eq!(
        (config_maps, secrets),
        (
            vec!["deskbind-settings".to_owned()],
            vec!["deskbind-secrets".to_owned()]
        )
    );

    let port = i64::from(listen_port(&settings));
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = at(container, &[probe, "httpGet"], "the API container");
        assert_eq!(text(get, "path").as_deref(), Some(path), "{probe} path");
        assert_eq!(
            resolve_port(container, &get["port"]),
            port,
            "{probe} asks the port DESKBIND_LISTEN serves"
        );
    }

    let pause = pre_stop_secs(container);
    assert!(
        pause >= 5,
        "preStop waits {pause}s; give endpoints and ingress time to stop routing"
    );
    let grace: u64 = int(at(
        api,
        &["spec", "template", "spec", "terminationGracePeriodSeconds"],
        "api",
    ))
    .try_into()
    .expect("positive");
    let budget = shutdown_budget_secs(&settings);
    assert!(
        grace > pause + budget,
        "terminationGracePeriodSeconds {grace} must exceed preStop {pause}s + drain and shutdown grace {budget}s, or the kubelet kills phones mid-drain"
    );

    let security = at(api, &["spec", "template", "spec", "securityContext"], "api");
    assert_eq!(security["runAsNonRoot"], Value::Bool(true));
    assert!(int(&security["runAsUser"]) > 0);

    let service = manifests.find("Service", "deskbind-api");
    assert!(
        selects(
            at(service, &["spec", "selector"], "Service"),
            &pod_labels(api)
        ),
        "the Service selects the API pods"
    );
    for service_port in service["spec"]["ports"].as_sequence().expect("ports") {
        resolve_port(container, &service_port["targetPort"]);
    }
    let pdb = manifests.find("PodDisruptionBudget", "deskbind-api");
    assert!(
        selects(
            at(pdb, &["spec", "selector", "matchLabels"], "PDB"),
            &pod_labels(api)
        ),
        "the PDB covers the API pods"
    );
    let spec = &pdb["spec"];
    let keeps_one = match (spec.get("maxUnavailable"), spec.get("minAvailable")) {
        (Some(max), None) => int(max) >= 1 && int(max) < int(&api["spec"]["replicas"]),
        (None, Some(min)) => int(min) >= 1 && int(min) < int(&api["spec"]["replicas"]),
        _ => false,
    };
    assert!(
        keeps_one,
        "the PDB lets one node go at a time and keeps one serving"
    );
}

#[test]
fn the_worker_is_its_own_deployment() {
    let manifests = Manifests::load();
    let worker = manifests.find("Deployment", "deskbind-worker");
    let images: Vec<String> = containers(worker)
        .iter()
        .filter_map(|c| text(c, "image"))
        .collect();
    assert_eq!(
        images,
        ["deskbind-worker"],
        "the worker pod runs the worker image only"
    );
    let api = manifests.find("Deployment", "deskbind-api");
    let api_images: Vec<String> = containers(api)
        .iter()
        .filter_map(|c| text(c, "image"))
        .collect();
    assert_eq!(api_images, ["deskbind-api"], "the API pod runs no worker");
    let (config_maps, secrets) = env_from(&containers(worker)[0]);
    assert_eq!(
        (config_maps, secrets),
        (
            vec!["deskbind-settings".to_owned()],
            vec!["deskbind-secrets".to_owned()]
        )
    );
    let grace = int(at(
        worker,
        &["spec", "template", "spec", "terminationGracePeriodSeconds"],
        "worker",
    ));
    assert!(
        grace > 30,
        "the worker's grace ({grace}s) lets a push send finish (FCM timeout 30 s)"
    );
    let job = manifests.find("Job", "deskbind-migrate");
    let args: Vec<String> = containers(job)[0]["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(scalar)
        .collect();
    assert_eq!(args, ["migrate"]);
}

#[test]
fn the_ingress_keeps_phone_sockets_and_event_streams_open() {
    let manifests = Manifests::load();
    let ingress = manifests.find("Ingress", "deskbind-api");
    let annotations = at(ingress, &["metadata", "annotations"], "Ingress");
    let annotation = |name: &str| {
        text(annotations, &format!("nginx.ingress.kubernetes.io/{name}"))
            .unwrap_or_else(|| panic!("Ingress annotation {name} is missing"))
    };
    for name in ["proxy-read-timeout", "proxy-send-timeout"] {
        let secs: u64 = annotation(name).parse().expect("seconds");
        assert!(
            secs >= 3600,
            "{name} {secs}s; phones and SSE streams need at least an hour"
        );
    }
    assert_eq!(
        annotation("proxy-buffering"),
        "off",
        "SSE must not be buffered"
    );
    let mib: u64 = annotation("proxy-body-size")
        .trim_end_matches(['m', 'M'])
        .parse()
        .expect("size in m");
    assert!(
        mib * 1024 * 1024 >= deskbind_core::config::Settings::default().recording_max_bytes,
        "proxy-body-size admits recordings"
    );
    let service = manifests.find("Service", "deskbind-api");
    let service_ports: Vec<String> = service["spec"]["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .filter_map(|p| text(p, "name"))
        .collect();
    for rule in ingress["spec"]["rules"].as_sequence().expect("rules") {
        for path in rule["http"]["paths"].as_sequence().expect("paths") {
            let backend = &path["backend"]["service"];
            assert_eq!(text(backend, "name").as_deref(), Some("deskbind-api"));
            let port = text(&backend["port"], "name").expect("port by name");
            assert!(
                service_ports.contains(&port),
                "the Ingress's port {port} is on the Service"
            );
            assert_ne!(port, "metrics", "the Ingress never routes /metrics' port");
        }
    }
}

/// The probe paths answer 200 on the real server (both databases).
#[tokio::test]
async fn the_probe_paths_are_the_servers_own() {
    let manifests = Manifests::load();
    let api = manifests.find("Deployment", "deskbind-api");
    let container = &containers(api)[0];
    let app = spawn_app().await;
    for probe in ["readinessProbe", "livenessProbe"] {
        let path = text(at(container, &[probe, "httpGet"], "probe"), "path").expect("path");
        let status = reqwest::get(app.url(&path))
            .await
            .expect("request")
            .status();
        assert_eq!(status, 200, "{probe} {path} on the real server");
    }
}
