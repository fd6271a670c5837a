//! Time per presence state (docs/presence.md, "Time per state"): each
//! sampled minute counts once, however many workers sample it, on each
//! user's own local day, in the state they were in.

use chrono::{TimeZone, Utc};
use deskbind_core::relay::Relay;
use deskbind_core::repo::presence_minutes::{self, MinutesRow};
use deskbind_core::time::Micros;
use deskbind_core::usecases::Services;
use deskbind_core::usecases::presence_time;
use deskbind_core::wire::{CreateUser, Role};

use crate::helpers::{PASSWORD, spawn_app};
use crate::presence::choose;

fn at(h: u32, m: u32, s: u32) -> Micros {
    Utc.with_ymd_and_hms(2026, 12, 3, h, m, s)
        .unwrap()
        .timestamp_micros()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_minute_counts_once_on_the_users_own_day_in_their_state() {
    let app = spawn_app().await;
    let berlin = app
        .admin
        .create_user(&CreateUser {
            email: "bea@acme.test".into(),
            display_name: "Bea".into(),
            role: Role::Salesperson,
            password: PASSWORD.into(),
            time_zone: Some("Europe/Berlin".into()),
            team_ids: vec![],
        })
        .await
        .unwrap();
    let bea = app.client();
    bea.login("bea@acme.test", PASSWORD).await.unwrap();
    // No app and no phone on this relay: offline, unless DND is chosen.
    let services = Services::new(app.db.clone(), Relay::local());

    // 23:58:30 in Berlin: offline, on 3 December.
    let first = presence_time::sample(&services, at(22, 58, 30))
        .await
        .unwrap();
    assert_eq!(first, Some(2), "the admin and Bea");
    // The same minute again counts nothing.
    assert_eq!(
        presence_time::sample(&services, at(22, 58, 59))
            .await
            .unwrap(),
        None
    );
    bea.set_my_presence(&choose("dnd")).await.unwrap();
    presence_time::sample(&services, at(22, 59, 30))
        .await
        .unwrap();
    // Past midnight in Berlin (still 3 December in UTC): twenty workers
    // race for the minute; one counts it.
    let racing: Vec<_> = (0..20)
        .map(|_| {
            let services = services.clone();
            tokio::spawn(async move { presence_time::sample(&services, at(23, 0, 30)).await })
        })
        .collect();
    let mut counted = 0;
    for task in racing {
        if task.await.unwrap().unwrap().is_some() {
            counted += 1;
        }
    }
    assert_eq!(counted, 1, "one sampler per minute");

    let org = app.admin.me().await.unwrap().org_id;
    let rows = app
        .db
        .run(move |conn| presence_minutes::of_days(conn, org, None, "2026-12-01", "2026-12-31"))
        .await
        .unwrap();
    let row = |user: &str, day: &str, state: &str, minutes: i64| MinutesRow {
        user_id: user.to_owned(),
        day: day.to_owned(),
        state: state.to_owned(),
        minutes,
    };
    let bea_id = berlin.id.to_string();
    let mine: Vec<MinutesRow> = rows
        .iter()
        .filter(|r| r.user_id == bea_id)
        .cloned()
        .collect();
    assert_eq!(
        mine,
        [
            row(&bea_id, "2026-12-03", "dnd", 1),
            row(&bea_id, "2026-12-03", "offline", 1),
            row(&bea_id, "2026-12-04", "dnd", 1),
        ]
    );
    let admin_id = app.admin.me().await.unwrap().id.to_string();
    let admins: Vec<MinutesRow> = rows.into_iter().filter(|r| r.user_id == admin_id).collect();
    assert_eq!(admins, [row(&admin_id, "2026-12-03", "offline", 3)]);
}
