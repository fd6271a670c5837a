#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Number search by index (docs/decisions/0014-number-search.md) finds
//! exactly the records a brute-force substring filter over the digits of
//! the remote number (as reported or in E.164) finds: for rows written
//! before migration 000013 (its backfill), after it (the column and, on
//! SQLite, the FTS5 triggers), and after an update that changes the number;
//! on both of SQLite's plans (rowid list and walk); combined with keyset
//! paging, the other filters, a user scope and another organisation's rows.
//! Runs on the backend chosen by DESKBIND_TEST_BACKEND.

use std::collections::BTreeSet;

use deskbind_core::db::schema::users;
use deskbind_core::db::{self, Database, DbConn};
use deskbind_core::domain::call_facts::{CallFacts, Reporter};
use deskbind_core::domain::number_search::{digits_of, stored_digits};
use deskbind_core::ids::{OrgId, PhoneId, UserId};
use deskbind_core::repo::call_records::{self, CallFilter, CallRecordRow, ListCursor, Scope};
use deskbind_core::repo::phones::{self, PhoneRow};
use deskbind_core::testing::TestDb;
use deskbind_core::time::{Micros, now_micros};
use deskbind_core::wire::{CallDirection, CallResult};
use diesel::prelude::*;

const MIGRATION: &str = "20261202000013";
const PAGE: i64 = 7;

/// A small deterministic generator (the test needs no crate for this).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn digits(&mut self, len: usize) -> String {
        // Few distinct digits, so that patterns match many rows and overlap.
        const ALPHABET: &[u8] = b"0113345579";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

/// A remote number as phones report it, and its E.164 form if any.
fn remote(rng: &mut Lcg) -> (String, Option<String>) {
    let len = 5 + rng.below(4) as usize;
    let sub = rng.digits(len);
    let area = ["30", "40", "151", "89"][rng.below(4) as usize];
    match rng.below(12) {
        0 => (format!("+49 {area} {sub}"), Some(format!("+49{area}{sub}"))),
        1 => (format!("0{area} {sub}"), Some(format!("+49{area}{sub}"))),
        2 => (
            format!("(0{area}) {sub}-1"),
            Some(format!("+49{area}{sub}1")),
        ),
        3 => (
            format!("0049.{area}.{sub}"),
            Some(format!("+49{area}{sub}")),
        ),
        4 => (format!("0{area}/{sub}"), None),
        5 => ("anonymous".into(), None),
        6 => (format!("{}", 200 + rng.below(40)), None),
        7 => {
            let extra = rng.digits(2);
            (format!("Büro {sub} a{extra}"), None)
        }
        8 => ("0301111111".into(), Some("+49301111111".into())),
        9 => (format!("+1 (555) {sub}"), Some(format!("+1555{sub}"))),
        10 => (format!("{sub}{sub}"), None),
        _ => (format!("0800 {sub}"), Some(format!("+49800{sub}"))),
    }
}

struct Org {
    id: OrgId,
    users: Vec<String>,
    phone: String,
}

fn create_org(conn: &mut DbConn, name: &str) -> Org {
    let now = now_micros();
    let id = deskbind_core::usecases::orgs::create(conn, name).unwrap();
    let phone = PhoneId::new().to_string();
    phones::insert(
        conn,
        &PhoneRow {
            id: phone.clone(),
            org_id: id.to_string(),
            number_e164: "+4930100".into(),
            extension: "100".into(),
            label: "Desk".into(),
            vendor: None,
            model: None,
            disabled_at: None,
            created_at: now,
            updated_at: now,
            driver: None,
        },
    )
    .unwrap();
    let users: Vec<String> = (0..2).map(|_| UserId::new().to_string()).collect();
    for (k, user) in users.iter().enumerate() {
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user.clone()),
                users::org_id.eq(id.to_string()),
                users::email.eq(format!("u{k}@{name}.example")),
                users::display_name.eq(format!("User {k}")),
                users::role.eq("salesperson"),
                users::password_hash.eq("not-a-hash"),
                users::time_zone.eq("Europe/Berlin"),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
    }
    Org { id, users, phone }
}

/// `n` records numbered from `first`, started a minute apart (some at the
/// same microsecond, so the keyset's id tie-break is exercised).
fn insert_records(conn: &mut DbConn, org: &Org, rng: &mut Lcg, first: usize, n: usize) {
    let base: Micros = 1_700_000_000_000_000;
    let rows: Vec<CallRecordRow> = (first..first + n)
        .map(|i| {
            let (remote_number, remote_e164) = remote(rng);
            let started_at = base + (i as i64 / 2) * 60_000_000;
            let answered = rng.below(3) != 0;
            let facts = CallFacts {
                call_id: format!("call-{i}"),
                direction: [
                    CallDirection::Outbound,
                    CallDirection::Inbound,
                    CallDirection::Missed,
                ][rng.below(3) as usize],
                local_number: None,
                local_e164: None,
                remote_number,
                remote_e164,
                started_at,
                answered_at: answered.then_some(started_at + 1_000_000),
                ended_at: answered.then_some(started_at + 61_000_000),
                duration_secs: answered.then(|| 1 + rng.below(120) as i64),
                result: Some(if answered {
                    CallResult::Answered
                } else {
                    CallResult::NoAnswer
                }),
                dial_id: None,
            };
            let user = org.users[i % org.users.len()].clone();
            let mut row = CallRecordRow::new(
                org.id.to_string(),
                org.phone.clone(),
                Some(user),
                &facts,
                Reporter::Phone,
                started_at,
            );
            row.sync_seq = i as i64 + 1;
            row
        })
        .collect();
    for chunk in rows.chunks(20) {
        call_records::insert_many(conn, chunk).unwrap();
    }
}

fn all_rows(conn: &mut DbConn, org: &Org) -> Vec<CallRecordRow> {
    call_records::list(conn, org.id, &None, &CallFilter::default(), None, 100_000).unwrap()
}

/// What the search must find: the filter's other conditions, and the
/// digits inside the digits of either form of the number.
fn brute_force(rows: &[CallRecordRow], scope: &Scope, filter: &CallFilter) -> Vec<String> {
    let digits = digits_of(filter.number.as_deref().unwrap_or(""));
    rows.iter()
        .filter(|r| {
            let number = digits_of(&r.remote_number).contains(&digits)
                || r.remote_e164
                    .as_deref()
                    .is_some_and(|e| digits_of(e).contains(&digits));
            let user_ok =
                |users: &Vec<String>| r.user_id.as_ref().is_some_and(|u| users.contains(u));
            number
                && scope.as_ref().is_none_or(user_ok)
                && filter.users.as_ref().is_none_or(user_ok)
                && filter.direction.is_none_or(|d| r.direction == d.as_str())
                && filter
                    .result
                    .is_none_or(|x| r.result.as_deref() == Some(x.as_str()))
                && filter.from.is_none_or(|f| r.started_at >= f)
                && filter.until.is_none_or(|u| r.started_at < u)
                && filter
                    .has_recording
                    .is_none_or(|h| r.recording_id.is_some() == h)
                && filter
                    .min_duration_secs
                    .is_none_or(|m| r.duration_secs.is_some_and(|d| d >= m))
                && filter
                    .max_duration_secs
                    .is_none_or(|m| r.duration_secs.is_some_and(|d| d <= m))
        })
        .map(|r| r.id.clone())
        .collect()
}

/// Every page of the search, following the keyset cursor, in list order.
fn searched(
    conn: &mut DbConn,
    org: &Org,
    scope: &Scope,
    filter: &CallFilter,
    rowid_cap: Option<i64>,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<ListCursor> = None;
    loop {
        let page = match rowid_cap {
            None => call_records::list(conn, org.id, scope, filter, cursor.as_ref(), PAGE),
            Some(cap) => call_records::list_with_rowid_cap(
                conn,
                org.id,
                scope,
                filter,
                cursor.as_ref(),
                PAGE,
                cap,
            ),
        }
        .unwrap();
        ids.extend(page.iter().map(|r| r.id.clone()));
        if (page.len() as i64) < PAGE {
            return ids;
        }
        cursor = page.last().map(ListCursor::of);
    }
}

/// Patterns: every 3-digit string over the generator's digits, digits cut
/// from stored numbers (4 to 11 long), ones that match nothing, and queries
/// with the punctuation people type.
fn patterns(rows: &[CallRecordRow], rng: &mut Lcg) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for a in ['0', '1', '3', '5', '9'] {
        for b in ['0', '1', '3', '4', '9'] {
            for c in ['1', '3', '7'] {
                out.insert(format!("{a}{b}{c}"));
            }
        }
    }
    for _ in 0..60 {
        let row = &rows[rng.below(rows.len() as u64) as usize];
        let digits = digits_of(&row.remote_number);
        if digits.len() >= 4 {
            let len = 4 + rng.below((digits.len() - 3).min(8) as u64) as usize;
            let start = rng.below((digits.len() - len + 1) as u64) as usize;
            out.insert(digits[start..start + len].to_owned());
        }
    }
    for p in [
        "4930",
        "0301111111",
        "1111",
        "888",
        "2468024680",
        "+49 30",
        "(030) 1",
        "0049.151",
    ] {
        out.insert(p.to_owned());
    }
    out.into_iter().collect()
}

fn check_all(conn: &mut DbConn, org: &Org, rng: &mut Lcg, stage: &str) {
    let rows = all_rows(conn, org);
    for row in &rows {
        assert_eq!(
            row.remote_digits,
            stored_digits(&row.remote_number, row.remote_e164.as_deref()),
            "{stage}: the search column of {:?} / {:?}",
            row.remote_number,
            row.remote_e164
        );
    }
    let mut matched_some = 0;
    for pattern in patterns(&rows, rng) {
        let filter = CallFilter {
            number: Some(pattern.clone()),
            ..CallFilter::default()
        };
        let expected = brute_force(&rows, &None, &filter);
        matched_some += usize::from(!expected.is_empty());
        // The default plan, then a cap of 1 so that SQLite walks whenever
        // more than one row matches anywhere.
        for cap in [None, Some(1)] {
            assert_eq!(
                searched(conn, org, &None, &filter, cap),
                expected,
                "{stage}: number {pattern:?}, rowid cap {cap:?}"
            );
        }
        // Today's meaning for a digit query (LIKE over either raw form)
        // finds nothing the digit search misses.
        if pattern.chars().all(|c| c.is_ascii_digit()) {
            let found: BTreeSet<&String> = expected.iter().collect();
            for r in rows.iter().filter(|r| {
                r.remote_number.contains(&pattern)
                    || r.remote_e164
                        .as_deref()
                        .is_some_and(|e| e.contains(&pattern))
            }) {
                assert!(found.contains(&r.id), "{stage}: {pattern:?} misses {r:?}");
            }
        }
    }
    assert!(
        matched_some > 40,
        "{stage}: too few patterns matched ({matched_some})"
    );
}

fn combined_filters(org: &Org, rows: &[CallRecordRow], number: &str) -> Vec<(Scope, CallFilter)> {
    let number = Some(number.to_owned());
    let mid = rows[rows.len() / 2].started_at;
    vec![
        (
            Some(vec![org.users[0].clone()]),
            CallFilter {
                number: number.clone(),
                ..CallFilter::default()
            },
        ),
        (
            None,
            CallFilter {
                users: Some(vec![org.users[1].clone()]),
                direction: Some(CallDirection::Outbound),
                number: number.clone(),
                ..CallFilter::default()
            },
        ),
        (
            None,
            CallFilter {
                from: Some(mid),
                result: Some(CallResult::Answered),
                number: number.clone(),
                ..CallFilter::default()
            },
        ),
        (
            None,
            CallFilter {
                until: Some(mid),
                has_recording: Some(false),
                min_duration_secs: Some(30),
                max_duration_secs: Some(90),
                number: number.clone(),
                ..CallFilter::default()
            },
        ),
        (
            None,
            CallFilter {
                has_recording: Some(true),
                number,
                ..CallFilter::default()
            },
        ),
    ]
}

#[test]
fn number_search_finds_what_a_substring_filter_over_the_digits_finds() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 1).expect("connect");
    let mut conn = database.get().expect("connection");
    let conn: &mut DbConn = &mut conn;
    db::run_pending(conn).expect("migrations");
    let mut rng = Lcg(0x5EA2C4);

    let acme = create_org(conn, "acme");
    let other = create_org(conn, "other");
    insert_records(conn, &acme, &mut rng, 0, 200);
    insert_records(conn, &other, &mut rng, 0, 80);

    // Rows written before the migration: it computes their column in SQL.
    let reverted = db::revert_through(conn, MIGRATION).expect("revert");
    assert!(reverted.iter().any(|v| v == MIGRATION), "{reverted:?}");
    db::run_pending(conn).expect("migrate again");
    check_all(conn, &acme, &mut rng, "backfilled");

    // Rows written after it, and numbers changed by an update.
    insert_records(conn, &acme, &mut rng, 200, 150);
    let mut changed = 0;
    for mut row in all_rows(conn, &acme).into_iter().step_by(9) {
        let mut facts = row.facts().unwrap();
        (facts.remote_number, facts.remote_e164) = remote(&mut rng);
        row.set_facts(&facts);
        call_records::update(conn, &row).unwrap();
        changed += 1;
    }
    assert!(changed > 30);
    check_all(conn, &acme, &mut rng, "inserted and updated");

    // The other filters, a user scope and paging combine with the search;
    // the other organisation's matching rows never appear.
    let rows = all_rows(conn, &acme);
    let other_ids: BTreeSet<String> = all_rows(conn, &other).into_iter().map(|r| r.id).collect();
    for number in ["4930", "0301", "113", "5555", "+49 (151)"] {
        for (scope, filter) in combined_filters(&acme, &rows, number) {
            let expected = brute_force(&rows, &scope, &filter);
            for cap in [None, Some(1)] {
                let found = searched(conn, &acme, &scope, &filter, cap);
                assert_eq!(
                    found, expected,
                    "{number:?} {scope:?} {filter:?} cap {cap:?}"
                );
                assert!(found.iter().all(|id| !other_ids.contains(id)));
            }
        }
    }
    let in_other = CallFilter {
        number: Some("4930".into()),
        ..CallFilter::default()
    };
    let other_rows = all_rows(conn, &other);
    assert!(!brute_force(&other_rows, &None, &in_other).is_empty());
    assert_eq!(
        searched(conn, &other, &None, &in_other, None),
        brute_force(&other_rows, &None, &in_other)
    );
}
