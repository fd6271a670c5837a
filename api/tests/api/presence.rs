//! Presence (docs/presence.md): what a user chooses, busy from the phone's
//! line (its `line_state` frames or its call events) and back, a timed DND
//! that ends by itself, who sees whose presence, and `presence` events on
//! the streams that follow them.

use std::time::Duration;

use chrono::Utc;
use deskbind_core::ids::UserId;
use deskbind_core::relay::Relay;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::Services;
use deskbind_core::usecases::presence::{self, Reader};
use deskbind_core::wire::{
    AppEvent, CallState, LineState, Presence, PresenceSettings, PresenceState, PutPresence, Role,
};
use deskbind_mobile::{AppClient, AppEvents, PageQuery, PresenceQuery};

use crate::dialing::{fast_reconnect, within};
use crate::helpers::{code, spawn_app};

pub fn choose(state: &str) -> PutPresence {
    PutPresence {
        state: state.into(),
        status_text: None,
        until: None,
    }
}

/// Polls the user's own presence until `done` holds (what the server
/// learns from a phone frame cannot be awaited from here).
pub async fn until_mine(client: &AppClient, done: impl Fn(&Presence) -> bool) -> Presence {
    within(async {
        loop {
            let mine = client.my_presence().await.unwrap();
            if done(&mine) {
                return mine;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// The next `presence` event on the stream (others skipped).
pub async fn next_presence(events: &mut AppEvents<'_>) -> Presence {
    loop {
        if let AppEvent::Presence { presence } = within(events.next()).await.unwrap().event {
            return presence;
        }
    }
}

fn ids(page: &[Presence]) -> Vec<UserId> {
    let mut ids: Vec<UserId> = page.iter().map(|p| p.user_id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn only_available_away_and_dnd_can_be_chosen() {
    let app = spawn_app().await;
    let (_, sam) = app.user("sam@acme.test", Role::Salesperson).await;
    let mine = sam.my_presence().await.unwrap();
    assert_eq!(mine.state, PresenceState::Offline, "neither app nor phone");
    for derived in ["busy", "offline"] {
        let err = sam.set_my_presence(&choose(derived)).await.unwrap_err();
        assert_eq!(code(&err), (422, "presence_state_derived".into()));
    }
    let err = sam.set_my_presence(&choose("asleep")).await.unwrap_err();
    assert_eq!(code(&err), (422, "invalid_field".into()));
    let mut away = choose("away");
    away.until = Some(Utc::now() + chrono::Duration::hours(1));
    let err = sam.set_my_presence(&away).await.unwrap_err();
    assert_eq!(code(&err), (422, "until_without_dnd".into()));
    let mut past = choose("dnd");
    past.until = Some(Utc::now() - chrono::Duration::seconds(1));
    let err = sam.set_my_presence(&past).await.unwrap_err();
    assert_eq!(code(&err), (422, "until_in_past".into()));

    let mut lunch = choose("away");
    lunch.status_text = Some("  at lunch ".into());
    let mine = sam.set_my_presence(&lunch).await.unwrap();
    assert_eq!(
        (mine.chosen.as_str(), mine.status_text.as_deref()),
        ("away", Some("at lunch"))
    );
    // The app connects: away, as chosen.
    let _events = sam.events(None).await.unwrap();
    let mine = until_mine(&sam, |p| p.app_connected).await;
    assert_eq!(mine.state, PresenceState::Away);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_follows_the_line_and_the_call_events_and_ends_with_the_call() {
    let app = spawn_app().await;
    let (_, sam, _, device) = app.bound_salesperson("sam@acme.test", "+4930901900").await;
    let mut link = device.connect(fast_reconnect()).unwrap();
    within(link.next()).await.unwrap();
    let mine = until_mine(&sam, |p| p.phone_online).await;
    assert_eq!(mine.state, PresenceState::Available, "the phone is online");

    // The phone says its line is busy, then idle.
    link.reporter().line_state(LineState::Talking);
    let mine = until_mine(&sam, |p| p.state == PresenceState::Busy).await;
    assert_eq!(mine.line_state, Some(LineState::Talking));
    link.reporter().line_state(LineState::Idle);
    until_mine(&sam, |p| p.state == PresenceState::Available).await;

    // A phone that only reports calls (placed by hand) is busy as well.
    link.reporter()
        .report("hand-1", None, CallState::Dialing, None);
    let mine = until_mine(&sam, |p| p.state == PresenceState::Busy).await;
    assert_eq!(mine.line_state, Some(LineState::Dialing));
    let began = mine.line_since.expect("a call in progress says since when");
    link.reporter()
        .report("hand-1", None, CallState::Answered, None);
    let mine = until_mine(&sam, |p| p.line_state == Some(LineState::Talking)).await;
    assert_eq!(mine.line_since, Some(began), "the call keeps its start");
    link.reporter()
        .report("hand-1", None, CallState::Ended, None);
    let mine = until_mine(&sam, |p| p.state == PresenceState::Available).await;
    assert_eq!(
        (mine.line_state, mine.line_since),
        (Some(LineState::Idle), None)
    );

    // DND wins over a call in progress.
    sam.set_my_presence(&choose("dnd")).await.unwrap();
    link.reporter().line_state(LineState::Ringing);
    until_mine(&sam, |p| p.line_state == Some(LineState::Ringing)).await;
    assert_eq!(sam.my_presence().await.unwrap().state, PresenceState::Dnd);

    // The phone goes: its line no longer counts, and no app: offline.
    link.close().await;
    let mine = until_mine(&sam, |p| !p.phone_online).await;
    assert_eq!((mine.state, mine.line_state), (PresenceState::Dnd, None));
    sam.set_my_presence(&choose("available")).await.unwrap();
    assert_eq!(
        sam.my_presence().await.unwrap().state,
        PresenceState::Offline
    );
}

#[tokio::test]
async fn a_timed_dnd_ends_by_itself() {
    let app = spawn_app().await;
    let (sam, client) = app.user("sam@acme.test", Role::Salesperson).await;
    let until = Utc::now() + chrono::Duration::minutes(30);
    let mut dnd = choose("dnd");
    dnd.until = Some(until);
    let mine = client.set_my_presence(&dnd).await.unwrap();
    assert_eq!(mine.state, PresenceState::Dnd);
    assert_eq!(
        mine.until.map(|u| u.timestamp_micros()),
        Some(until.timestamp_micros())
    );

    // The clock moves past `until`: nothing was written, the DND is over.
    let services = Services::new(app.db.clone(), Relay::local());
    let me = Reader {
        org: sam.org_id,
        user: sam.id,
        role: Role::Salesperson,
    };
    let later = until.timestamp_micros();
    let before = presence::get(&services, me, sam.id, later - 1)
        .await
        .unwrap();
    assert_eq!(before.state, PresenceState::Dnd);
    let after = presence::get(&services, me, sam.id, later).await.unwrap();
    assert_eq!(
        (after.state, after.chosen.as_str(), after.until),
        (PresenceState::Offline, "available", None)
    );
    // Pushes wait for it exactly that long.
    let held = app
        .db
        .run(move |conn| presence::dnd_until_in(conn, &sam.id.to_string(), later - 1))
        .await
        .unwrap();
    assert_eq!(held, Some(Some(later)));
}

#[tokio::test]
async fn auto_away_after_the_organisations_idle_time() {
    let app = spawn_app().await;
    let (sam, client) = app.user("sam@acme.test", Role::Salesperson).await;
    let _events = client.events(None).await.unwrap();
    client.set_my_presence(&choose("available")).await.unwrap();
    app.admin
        .set_presence_settings(&PresenceSettings {
            hide_status_text: false,
            auto_away_after_secs: Some(600),
        })
        .await
        .unwrap();
    let err = client
        .set_presence_settings(&PresenceSettings {
            hide_status_text: false,
            auto_away_after_secs: None,
        })
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, 403, "admins only");
    until_mine(&client, |p| p.app_connected).await;
    assert_eq!(
        client.my_presence().await.unwrap().state,
        PresenceState::Available
    );
    // Ten minutes without activity (the relay of a node without streams
    // says the app is gone, so look at the app through the real one: the
    // rule itself is unit-tested; here the stored activity and setting).
    let services = Services::new(app.db.clone(), Relay::local());
    let me = Reader {
        org: sam.org_id,
        user: sam.id,
        role: Role::Admin,
    };
    let later = now_micros() + seconds(601);
    let seen = presence::get(&services, me, sam.id, later).await.unwrap();
    assert_eq!(seen.chosen.as_str(), "available");
    let settings = app.admin.presence_settings().await.unwrap();
    assert_eq!(settings.auto_away_after_secs, Some(600));
}

#[tokio::test]
async fn who_sees_whose_presence() {
    let app = spawn_app().await;
    let (boss, boss_app) = app.user("boss@acme.test", Role::Manager).await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let (ann, ann_app) = app.user("ann@acme.test", Role::Salesperson).await;
    let (out, out_app) = app.user("out@acme.test", Role::Salesperson).await;
    let team = app.admin.create_team("North").await.unwrap();
    for user in [boss.id, sam.id, ann.id] {
        app.admin.add_team_member(team.id, user).await.unwrap();
    }
    let mut busy_day = choose("away");
    busy_day.status_text = Some("visiting a client".into());
    ann_app.set_my_presence(&busy_day).await.unwrap();
    // Ann's app is connected (away needs a connection, else offline).
    let _ann_events = ann_app.events(None).await.unwrap();
    let everyone = PresenceQuery::default();

    // The admin: everyone. The manager and salespeople: their team.
    let all = app.admin.list_presences(&everyone).await.unwrap().items;
    assert_eq!(all.len(), 5, "four users and the admin");
    let north = {
        let mut v = vec![boss.id, sam.id, ann.id];
        v.sort();
        v
    };
    assert_eq!(
        ids(&boss_app.list_presences(&everyone).await.unwrap().items),
        north
    );
    let seen_by_sam = sam_app.list_presences(&everyone).await.unwrap().items;
    assert_eq!(ids(&seen_by_sam), north);
    let ann_seen = seen_by_sam.iter().find(|p| p.user_id == ann.id).unwrap();
    assert_eq!(ann_seen.status_text.as_deref(), Some("visiting a client"));
    assert_eq!(
        ids(&out_app.list_presences(&everyone).await.unwrap().items),
        vec![out.id],
        "no team: only themselves"
    );

    // The organisation hides status texts from salespeople (not their own,
    // not from managers).
    app.admin
        .set_presence_settings(&PresenceSettings {
            hide_status_text: true,
            auto_away_after_secs: None,
        })
        .await
        .unwrap();
    let seen_by_sam = sam_app.list_presences(&everyone).await.unwrap().items;
    let ann_seen = seen_by_sam.iter().find(|p| p.user_id == ann.id).unwrap();
    assert_eq!(ann_seen.status_text, None);
    let own = ann_app.my_presence().await.unwrap();
    assert_eq!(own.status_text.as_deref(), Some("visiting a client"));
    let seen_by_boss = boss_app.list_presences(&everyone).await.unwrap().items;
    let ann_seen = seen_by_boss.iter().find(|p| p.user_id == ann.id).unwrap();
    assert_eq!(ann_seen.status_text.as_deref(), Some("visiting a client"));

    // Filters and pages.
    let away = PresenceQuery {
        state: Some(PresenceState::Away),
        ..PresenceQuery::default()
    };
    assert_eq!(
        ids(&app.admin.list_presences(&away).await.unwrap().items),
        vec![ann.id]
    );
    let of_team = PresenceQuery {
        team_id: Some(team.id),
        ..PresenceQuery::default()
    };
    assert_eq!(
        ids(&app.admin.list_presences(&of_team).await.unwrap().items),
        north
    );
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .admin
            .list_presences(&PresenceQuery {
                page: PageQuery {
                    cursor: cursor.clone(),
                    limit: Some(2),
                },
                state: Some(PresenceState::Offline),
                ..PresenceQuery::default()
            })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        walked.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(walked.len(), 4, "everyone but ann, who is away, is offline");

    // Another organisation sees none of them.
    let globex = app.other_org_admin().await;
    let theirs = globex.list_presences(&everyone).await.unwrap().items;
    assert_eq!(theirs.len(), 1, "only their own admin");
    let foreign_team = PresenceQuery {
        team_id: Some(team.id),
        ..PresenceQuery::default()
    };
    assert!(
        globex
            .list_presences(&foreign_team)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_events_reach_the_streams_that_may_see_the_user() {
    let app = spawn_app().await;
    let (boss, boss_app) = app.user("boss@acme.test", Role::Manager).await;
    let (sam, sam_app) = app.user("sam@acme.test", Role::Salesperson).await;
    let (out, out_app) = app.user("out@acme.test", Role::Salesperson).await;
    let team = app.admin.create_team("North").await.unwrap();
    for user in [boss.id, sam.id] {
        app.admin.add_team_member(team.id, user).await.unwrap();
    }
    let mut boss_events = boss_app.events_with_presence(None).await.unwrap();
    let mut out_events = out_app.events_with_presence(None).await.unwrap();
    let mut admin_events = app.admin.events_with_presence(None).await.unwrap();

    sam_app.set_my_presence(&choose("dnd")).await.unwrap();
    let seen = loop {
        let p = next_presence(&mut boss_events).await;
        if p.user_id == sam.id && p.state == PresenceState::Dnd {
            break p;
        }
    };
    assert_eq!(seen.chosen.as_str(), "dnd");
    loop {
        let p = next_presence(&mut admin_events).await;
        if p.user_id == sam.id && p.state == PresenceState::Dnd {
            break;
        }
    }
    // The outsider hears only of themselves: their own change comes first.
    out_app.set_my_presence(&choose("away")).await.unwrap();
    loop {
        let p = next_presence(&mut out_events).await;
        assert_ne!(p.user_id, sam.id, "not in sam's team");
        if p.user_id == out.id && p.state == PresenceState::Away {
            break;
        }
    }
}
