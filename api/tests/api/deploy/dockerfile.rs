//! deploy/Dockerfile: multi-stage, pinned bases, and one image per binary,
//! each running as a non-root user.

use std::collections::BTreeMap;

use super::files::read;

/// One `FROM ... [AS name]` stage and its instructions (continuations joined).
#[derive(Debug)]
struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<(String, String)>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, args)| args.as_str())
            .collect()
    }
}

/// Global `ARG` defaults and the stages.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Stage>) {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(line);
            lines.push(std::mem::take(&mut pending));
        }
    }
    let mut args = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in lines {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_uppercase();
        let rest = rest.trim().to_owned();
        if keyword == "FROM" {
            let words: Vec<&str> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                [_] => None,
                _ => panic!("deploy/Dockerfile: cannot read `FROM {rest}`"),
            };
            stages.push(Stage {
                base: words[0].to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push((keyword, rest));
        } else if keyword == "ARG"
            && let Some((name, value)) = rest.split_once('=')
        {
            args.insert(name.to_owned(), value.to_owned());
        }
    }
    (args, stages)
}

/// `${NAME}` replaced by the global ARG's default.
fn resolve(base: &str, args: &BTreeMap<String, String>) -> String {
    match base.strip_prefix("${").and_then(|b| b.strip_suffix('}')) {
        Some(name) => args
            .get(name)
            .unwrap_or_else(|| panic!("deploy/Dockerfile: FROM {base} has no ARG default"))
            .clone(),
        None => base.to_owned(),
    }
}

/// An image reference pinned to a version (a tag with a digit, not
/// `latest`) or a digest.
pub fn assert_pinned(image: &str, where_: &str) {
    if image.contains("@sha256:") {
        return;
    }
    let tag = image
        .rsplit_once(':')
        .map(|(_, t)| t)
        .filter(|t| !t.contains('/'));
    match tag {
        Some(tag) if tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()) => {}
        _ => panic!("{where_}: image `{image}` is not pinned to a version"),
    }
}

fn binary_of(stage: &Stage) -> String {
    let copies: Vec<&str> = stage
        .all("COPY")
        .into_iter()
        .filter(|c| c.starts_with("--from="))
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "stage {:?} should copy exactly one file (its binary) from the build, copies {copies:?}",
        stage.name
    );
    let destination = copies[0]
        .split_whitespace()
        .last()
        .expect("COPY destination");
    let entrypoint = stage.all("ENTRYPOINT");
    assert_eq!(
        entrypoint.len(),
        1,
        "stage {:?} needs one ENTRYPOINT",
        stage.name
    );
    let program: Vec<String> = serde_json::from_str(entrypoint[0]).unwrap_or_else(|_| {
        panic!(
            "stage {:?}: ENTRYPOINT should be exec form (JSON), so SIGTERM reaches the binary",
            stage.name
        )
    });
    assert_eq!(
        program[0], destination,
        "stage {:?} runs what it copied",
        stage.name
    );
    destination
        .rsplit('/')
        .next()
        .expect("file name")
        .to_owned()
}

fn assert_non_root(stage: &Stage) {
    let user = stage
        .all("USER")
        .last()
        .map(|u| u.to_string())
        .unwrap_or_else(|| panic!("stage {:?} sets no USER, so it runs as root", stage.name));
    let name = user.split(':').next().unwrap_or_default();
    assert!(
        !(name == "root" || name == "0"),
        "stage {:?} runs as `{user}`",
        stage.name
    );
    // Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert!(
        name.parse::<u32>().is_ok_and(|uid| uid > 0),
        "stage {:?}: USER `{user}` should be a numeric non-zero uid",
        stage.name
    );
}

/// Cargo's `[[bin]] name` of a package manifest (by text: one bin each).
fn bin_name(manifest: &str) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(manifest),
    )
    .expect("manifest");
    let after = text.split("[[bin]]").nth(1).expect("a [[bin]] section");
    let line = after
        .lines()
        .find(|l| l.trim_start().starts_with("name"))
        .expect("bin name");
    line.split('"').nth(1).expect("quoted name").to_owned()
}

#[test]
fn the_dockerfile_builds_one_non_root_image_per_binary_from_pinned_bases() {
    let (args, stages) = parse(&read("Dockerfile"));
    let names: Vec<Option<&str>> = stages.iter().map(|s| s.name.as_deref()).collect();
    assert!(
        stages.len() >= 3,
        "multi-stage: a build stage and one stage per image, got {names:?}"
    );
    for stage in &stages {
        let base = resolve(&stage.base, &args);
        if !names.contains(&Some(base.as_str())) {
            assert_pinned(&base, &format!("deploy/Dockerfile stage {:?}", stage.name));
        }
    }
    let build = stages
        .iter()
        .find(|s| {
            s.all("RUN")
                .iter()
                .any(|r| r.contains("cargo build --release"))
        })
        .expect("a stage runs `cargo build --release`");
    let build_run = build
        .all("RUN")
        .into_iter()
        .find(|r| r.contains("cargo build"))
        .expect("build");
    assert!(
        build_run.contains("--locked"),
        "the build uses Cargo.lock (--locked)"
    );

    let api_bin = env!("CARGO_BIN_EXE_deskbind-api")
        .rsplit('/')
        .next()
        .expect("file name")
        .to_owned();
    let worker_bin = bin_name("worker/Cargo.toml");
    for (target, binary, package) in [
        ("api", &api_bin, "deskbind-api"),
        ("worker", &worker_bin, "deskbind-worker"),
    ] {
        let stage = stages
            .iter()
            .find(|s| s.name.as_deref() == Some(target))
            .unwrap_or_else(|| panic!("no `{target}` stage (docker build --target {target})"));
        assert_ne!(
            stage.base,
            build.name.clone().unwrap_or_default(),
            "the {target} image must not be the build stage"
        );
        assert_eq!(
            &binary_of(stage),
            binary,
            "the {target} image holds the {binary} binary"
        );
        assert_non_root(stage);
        assert!(
            build_run.contains(&format!("-p {package}")),
            "the build stage builds {package}"
        );
    }
}

#[test]
fn the_build_context_leaves_out_target_git_and_local_data() {
    let ignore = read("Dockerfile.dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    for needed in ["**/target", ".git", "deskbind-data"] {
        assert!(
            entries.contains(&needed),
            "Dockerfile.dockerignore should list {needed}"
        );
    }
}
