//! deploy/nginx/nginx.conf: a small reader for nginx's syntax (directives
//! ending in `;`, blocks in braces, `#` comments, quoted words) and the
//! checks on it. The compose test checks the upstream against the nodes.

/// One directive: the names of the blocks it is in, its name, its words.
#[derive(Debug, Clone)]
pub struct Directive {
    pub blocks: Vec<String>,
    pub name: String,
    pub args: Vec<String>,
}

pub fn parse(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                flush(&mut word, &mut words);
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '\'' | '"' => {
                let mut quoted = String::new();
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    quoted.push(q);
                }
                words.push(quoted);
            }
            ';' => {
                flush(&mut word, &mut words);
                assert!(!words.is_empty(), "nginx.conf: an empty statement");
                out.push(Directive {
                    blocks: blocks.clone(),
                    name: words.remove(0),
                    args: std::mem::take(&mut words),
                });
            }
            '{' => {
                flush(&mut word, &mut words);
                assert!(!words.is_empty(), "nginx.conf: a block without a name");
                blocks.push(words.join(" "));
                words.clear();
            }
            '}' => {
                flush(&mut word, &mut words);
                assert!(
                    words.is_empty(),
                    "nginx.conf: `{}` lacks its `;`",
                    words.join(" ")
                );
                assert!(blocks.pop().is_some(), "nginx.conf: an unmatched `}}`");
            }
            c if c.is_whitespace() => flush(&mut word, &mut words),
            c => word.push(c),
        }
    }
    assert!(blocks.is_empty(), "nginx.conf: unclosed block {blocks:?}");
    assert!(
        words.is_empty() && word.is_empty(),
        "nginx.conf: a trailing statement without `;`"
    );
    out
}

/// Directives named `name` inside a block whose name starts with `block`.
pub fn within<'a>(all: &'a [Directive], block: &str, name: &str) -> Vec<&'a Directive> {
    all.iter()
        .filter(|d| d.name == name && d.blocks.iter().any(|b| b.starts_with(block)))
        .collect()
}

/// `host:port` of every server in the upstream `proxy_pass` points at.
pub fn upstream_servers(all: &[Directive]) -> Vec<String> {
    let pass = within(all, "location /", "proxy_pass");
    assert_eq!(pass.len(), 1, "one proxy_pass in `location /`");
    let upstream = pass[0].args[0]
        .strip_prefix("http://")
        .expect("proxy_pass http://UPSTREAM");
    within(all, &format!("upstream {upstream}"), "server")
        .iter()
        .map(|d| d.args[0].clone())
        .collect()
}

#[test]
fn the_proxy_passes_websocket_upgrades_and_keeps_quiet_connections_open() {
    let conf = parse(&super::files::read("nginx/nginx.conf"));
    let location = |name: &str| within(&conf, "location /", name);
    let one = |name: &str| -> Vec<String> {
        let found = location(name);
        assert_eq!(
            found.len(),
            1,
            "`location /` should set {name} once, found {found:?}"
        );
        found[0].args.clone()
    };
    assert_eq!(
        one("proxy_http_version"),
        ["1.1"],
        "WebSocket needs HTTP/1.1 upstream"
    );
    let headers: Vec<Vec<String>> = location("proxy_set_header")
        .iter()
        .map(|d| d.args.clone())
        .collect();
    assert!(
        headers.contains(&vec!["Upgrade".into(), "$http_upgrade".into()]),
        "the Upgrade header must be passed on: {headers:?}"
    );
    let connection = headers
        .iter()
        .find(|h| h[0] == "Connection")
        .expect("a Connection header is set");
    let map = conf
        .iter()
        .find(|d| {
            d.blocks
                .iter()
                .any(|b| b == &format!("map $http_upgrade {}", connection[1]))
                && d.name == "default"
        })
        .unwrap_or_else(|| {
            panic!(
                "Connection is {} but no `map $http_upgrade` defines it",
                connection[1]
            )
        });
    assert_eq!(
        map.args,
        ["upgrade"],
        "the map answers `upgrade` when the client upgrades"
    );

    // Longer than any quiet spell of a healthy connection: phones are pinged
    // every 15 s and SSE keeps alive every 15 s, but a long poll or a
    // phone between heartbeats must never meet the proxy's timeout first.
    for name in ["proxy_read_timeout", "proxy_send_timeout"] {
        let secs = super::files::seconds(&one(name)[0]);
        assert!(
            secs >= 3600,
            "{name} is {secs}s; phones and SSE streams need at least an hour"
        );
    }
    assert_eq!(
        one("proxy_buffering"),
        ["off"],
        "SSE events must not wait in the proxy's buffer"
    );
    let body = within(&conf, "server", "client_max_body_size");
    let limit = body
        .first()
        .expect("client_max_body_size is set (recordings are large)");
    let mib: u64 = limit.args[0]
        .trim_end_matches(['m', 'M'])
        .parse()
        .expect("size in m");
    let needed = deskbind_core::config::Settings::default().recording_max_bytes / (1024 * 1024);
    assert!(
        mib >= needed,
        "client_max_body_size {mib}m is below recording_max_bytes ({needed} MiB)"
    );
}
