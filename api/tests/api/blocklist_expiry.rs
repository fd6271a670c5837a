//! Housekeeping purges blocklist entries a week past their expiry
//! (docs/blocklist.md, "Expired entries"), in bounded batches, driven
//! with a controllable clock; entries without an expiry, or not yet a week
//! past it, stay.

use chrono::{Duration, Utc};
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::housekeeping::{self, BLOCKLIST_BATCH};
use serde_json::{Value, json};

use crate::contact_http::Http;
use crate::helpers::{TestApp, spawn_app};

async fn purge_at(app: &TestApp, now: i64) -> usize {
    app.db
        .run(move |conn| housekeeping::purge(conn, now))
        .await
        .unwrap()
        .blocklist_entries
}

#[tokio::test]
async fn housekeeping_purges_entries_a_week_past_their_expiry_in_batches() {
    let app = spawn_app().await;
    let admin = Http::of(&app, &app.admin).await;
    let t0 = now_micros();
    let soon = (Utc::now() + Duration::hours(1)).to_rfc3339();
    // More expiring entries than one batch deletes.
    let expiring = usize::try_from(BLOCKLIST_BATCH).unwrap() + 100;
    let mut csv = String::from("kind,scope,pattern,value,label,expires_at\n");
    for i in 0..expiring {
        csv.push_str(&format!(
            "block,organisation,number,+4930777{i:04},temp,{soon}\n"
        ));
    }
    let (status, body) = admin
        .post_text("/v1/blocklist/import", "text/csv", &csv)
        .await;
    assert_eq!(status, 200, "{body}");
    let later = (Utc::now() + Duration::days(30)).to_rfc3339();
    for (value, expires_at) in [("+4930888001", Value::Null), ("+4930888002", json!(later))] {
        let (status, entry) = admin
            .post(
                "/v1/blocklist",
                json!({"kind": "block", "scope": "organisation", "pattern": "number",
                       "value": value, "label": "kept", "expires_at": expires_at}),
            )
            .await;
        assert_eq!(status, 201, "{entry}");
    }
    assert_eq!(app.count("blocklist_entries").await, expiring as i64 + 2);

    // An hour later they no longer apply, but are kept for a week.
    let expired = t0 + seconds(3600);
    assert_eq!(
        purge_at(
            &app,
            expired + seconds(housekeeping::RETENTION_SECS) - seconds(60)
        )
        .await,
        0
    );
    assert_eq!(
        purge_at(
            &app,
            expired + seconds(housekeeping::RETENTION_SECS) + seconds(60)
        )
        .await,
        expiring
    );
    assert_eq!(app.count("blocklist_entries").await, 2);
    let kept = app
        .scalar("SELECT COUNT(*) AS n FROM blocklist_entries WHERE label = 'kept'".into())
        .await;
    assert_eq!(kept, 2);
    // Nothing is left to purge.
    assert_eq!(
        purge_at(
            &app,
            expired + seconds(housekeeping::RETENTION_SECS) + seconds(120)
        )
        .await,
        0
    );
}
