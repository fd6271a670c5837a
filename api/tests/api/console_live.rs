//! The console's live board stream (`/live/events`): its scope (a
//! manager's board carries their teams' phones and dials, not another
//! team's), that a change wakes it without waiting for the keep-alive,
//! across API nodes through Redis, the bound on one person's streams, and that
//! signing out ends it.

use std::time::Duration;

use deskbind_core::wire::Role;
use futures_util::StreamExt as _;
use reqwest::header;

use crate::helpers::{PASSWORD, TestApp, redis_url, spawn_app, spawn_app_with};

/// A browser's console session: its cookie header and CSRF token.
pub(crate) struct Console {
    base: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

fn cookie_value(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    html[start..].split('"').next().map(str::to_owned)
}

impl Console {
    /// Signs in through the sign-in form, as a browser does.
    pub(crate) async fn sign_in(base: &str, email: &str) -> Console {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = http.get(format!("{base}/sign-in")).send().await.unwrap();
        let pre = cookie_value(&form, "deskbind_sign_in");
        let token = hidden_value(&form.text().await.unwrap(), "_csrf").expect("sign-in token");
        let body = serde_urlencoded::to_string([
            ("_csrf", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/live"),
        ])
        .unwrap();
        let res = http
            .post(format!("{base}/sign-in"))
            .header(header::COOKIE, format!("deskbind_sign_in={pre}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "sign-in");
        let cookie = format!(
            "deskbind_console={}",
            cookie_value(&res, "deskbind_console")
        );
        let page = http
            .get(format!("{base}/live"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        // Salespeople get the 403 page there, which has no form.
        let csrf = hidden_value(&page.text().await.unwrap(), "_csrf").unwrap_or_default();
        Console {
            base: base.to_owned(),
            cookie,
            csrf,
            http,
        }
    }

    /// The same session against another node.
    fn on(&self, base: &str) -> Console {
        Console {
            base: base.to_owned(),
            cookie: self.cookie.clone(),
            csrf: self.csrf.clone(),
            http: self.http.clone(),
        }
    }

    async fn open_stream(&self) -> reqwest::Response {
        self.http
            .get(format!("{}/live/events", self.base))
            .header(header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn stream(&self) -> BoardEvents {
        let res = self.open_stream().await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE].to_str().unwrap(),
            "text/event-stream"
        );
        BoardEvents {
            body: Box::pin(res.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// Posts a console form (with this session's CSRF token) to `path`;
    /// the status and the page or redirect target.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut all = vec![("_csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&all).unwrap())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location.unwrap_or(res.text().await.unwrap()))
    }

    /// Posts `fields` as a forged page would: the session's cookie without
    /// its CSRF token.
    pub(crate) async fn post_without_csrf(&self, path: &str, fields: &[(&str, &str)]) -> u16 {
        self.http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn sign_out(&self) {
        let res = self
            .http
            .post(format!("{}/sign-out", self.base))
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("_csrf={}", self.csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }
}

type Body = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = reqwest::Result<actix_web::web::Bytes>> + Send>,
>;

struct BoardEvents {
    body: Body,
    buffer: String,
}

impl BoardEvents {
    /// The next event as (name, data), comments skipped; `None` when the
    /// stream ended.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push(v);
                    }
                }
                if !name.is_empty() {
                    return Some((name, data.join("\n")));
                }
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The first board (within `limit`) whose HTML satisfies `wanted`.
    async fn board_where(&mut self, limit: Duration, wanted: impl Fn(&str) -> bool) -> String {
        tokio::time::timeout(limit, async {
            loop {
                match self.next().await {
                    Some((name, html)) if name == "board" && wanted(&html) => return html,
                    Some(_) => {}
                    None => panic!("the stream ended"),
                }
            }
        })
        .await
        .expect("the board did not show it in time")
    }
}

/// Two teams, each with a salesperson holding a phone; a manager of the
/// first. Returns the manager's email and the two salespeople's clients.
async fn two_teams(app: &TestApp) -> (deskbind_mobile::AppClient, deskbind_mobile::AppClient) {
    let north = app.admin.create_team("North").await.unwrap();
    let south = app.admin.create_team("South").await.unwrap();
    let (manager, _) = app.user("mona@acme.test", Role::Manager).await;
    let (nina, nina_app, _, _) = app.bound_salesperson("nina@acme.test", "+4930111111").await;
    let (sven, sven_app, _, _) = app.bound_salesperson("sven@acme.test", "+4930222222").await;
    for (team, user) in [
        (north.id, manager.id),
        (north.id, nina.id),
        (south.id, sven.id),
    ] {
        app.admin.add_team_member(team, user).await.unwrap();
    }
    (nina_app, sven_app)
}

#[tokio::test]
async fn a_managers_board_carries_their_teams_phones_and_dials_only() {
    let app = spawn_app().await;
    let (nina, sven) = two_teams(&app).await;
    let manager = Console::sign_in(&app.base, "mona@acme.test").await;
    let mut events = manager.stream().await;
    let first = events.board_where(Duration::from_secs(5), |_| true).await;
    assert!(first.contains("Desk +4930111111"), "{first}");
    assert!(first.contains("nina"), "{first}");
    assert!(!first.contains("Desk +4930222222"), "{first}");
    assert!(!first.contains("sven"), "{first}");
    // Another team's dial wakes the stream but is not on the board; their
    // own team's is, long before the keep-alive tick would show it.
    sven.dial("+16502530000", None, None).await.unwrap();
    let ours = nina.dial("+16502530001", None, None).await.unwrap();
    let board = events
        .board_where(Duration::from_secs(5), |html| {
            html.contains(&ours.id.to_string())
        })
        .await;
    assert!(board.contains("+16502530001"), "{board}");
    assert!(!board.contains("+16502530000"), "{board}");
    // The admin's board has both.
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let all = admin
        .stream()
        .await
        .board_where(Duration::from_secs(5), |_| true)
        .await;
    for expected in [
        "Desk +4930111111",
        "Desk +4930222222",
        "+16502530000",
        "+16502530001",
    ] {
        assert!(all.contains(expected), "{expected} missing: {all}");
    }
}

#[tokio::test]
async fn salespeople_have_no_stream_and_a_persons_streams_are_bounded() {
    let app = spawn_app().await;
    app.user("sal@acme.test", Role::Salesperson).await;
    let seller = Console::sign_in(&app.base, "sal@acme.test").await;
    assert_eq!(seller.open_stream().await.status(), 403);
    // A fifth stream of one person is admitted and their oldest ends,
    // saying why (a closed tab is not noticed at once, so refusing the
    // newest would lock out someone who reloaded).
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let mut oldest = admin.stream().await;
    oldest.board_where(Duration::from_secs(5), |_| true).await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(admin.stream().await);
    }
    let _newest = admin.stream().await;
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match oldest.next().await {
                Some((name, data)) if name == "end" => return data,
                Some(_) => {}
                None => panic!("closed without an end event"),
            }
        }
    })
    .await
    .expect("the oldest stream ends at once");
    assert!(end.starts_with("replaced"), "{end}");
    assert!(oldest.next().await.is_none());
}

#[tokio::test]
async fn signing_out_ends_the_stream_at_its_next_wake() {
    let app = spawn_app().await;
    let (nina, _) = two_teams(&app).await;
    let admin = Console::sign_in(&app.base, &app.admin_email).await;
    let mut events = admin.stream().await;
    events.board_where(Duration::from_secs(5), |_| true).await;
    admin.sign_out().await;
    nina.dial("+16502530002", None, None).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.next().await {
                Some((name, _)) if name == "end" => return true,
                Some(_) => {}
                None => return false,
            }
        }
    })
    .await
    .expect("the stream ends at the wake");
    assert!(ended, "an `end` event before the stream closes");
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_dial_on_one_node_wakes_a_board_streamed_from_another() {
    let app = spawn_app_with(|s| s.redis_url = Some(redis_url().into())).await;
    let node_b = app
        .spawn_node(|s| s.redis_url = Some(redis_url().into()))
        .await;
    let (nina, _) = two_teams(&app).await;
    let admin = Console::sign_in(&app.base, &app.admin_email)
        .await
        .on(&node_b.base);
    let mut events = admin.stream().await;
    events.board_where(Duration::from_secs(5), |_| true).await;
    // The dial is placed on the first node; the board streams from the
    // second, well before its keep-alive tick.
    let dial = nina.dial("+16502530003", None, None).await.unwrap();
    events
        .board_where(Duration::from_secs(5), |html| {
            html.contains(&dial.id.to_string())
        })
        .await;
}
