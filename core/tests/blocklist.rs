#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The blocklist in the database (docs/blocklist.md, decision 0019):
//! migration 000015 carries the dial policy's rules into organisation-scope
//! block entries (and back on revert); matching by the loaded candidates
//! follows the domain rules for scopes, allows and expiry, for one number
//! and for a batch. Runs on the backend chosen by DESKBIND_TEST_BACKEND.

use deskbind_core::db::schema::{team_members, teams, users};
use deskbind_core::db::{self, Database, DbConn};
use deskbind_core::domain::E164;
use deskbind_core::domain::blocklist::NewEntry;
use deskbind_core::ids::{OrgId, TeamId, UserId};
use deskbind_core::repo::blocklist as entries;
use deskbind_core::testing::TestDb;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::blocklist::{self, Actor};
use deskbind_core::usecases::blocklist_check::{self, Screened};
use deskbind_core::usecases::dial_policy;
use deskbind_core::wire::{BlocklistKind, BlocklistPattern, BlocklistScope};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

const MIGRATION: &str = "20261202000015";

fn user(conn: &mut DbConn, org: OrgId, name: &str) -> UserId {
    let id = UserId::new();
    let now = now_micros();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id.to_string()),
            users::org_id.eq(org.to_string()),
            users::email.eq(format!("{name}@acme.example")),
            users::display_name.eq(name),
            users::role.eq("salesperson"),
            users::password_hash.eq("not-a-hash"),
            users::time_zone.eq("Europe/Berlin"),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    id
}

fn team_of(conn: &mut DbConn, org: OrgId, member: UserId) -> TeamId {
    let id = TeamId::new();
    let now = now_micros();
    diesel::insert_into(teams::table)
        .values((
            teams::id.eq(id.to_string()),
            teams::org_id.eq(org.to_string()),
            teams::name.eq(format!("team {id}")),
            teams::created_at.eq(now),
            teams::updated_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(id.to_string()),
            team_members::user_id.eq(member.to_string()),
            team_members::org_id.eq(org.to_string()),
            team_members::created_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    id
}

fn entry(
    kind: BlocklistKind,
    scope: BlocklistScope,
    scope_id: String,
    pattern: BlocklistPattern,
    value: &str,
    expires_at: Option<i64>,
) -> NewEntry {
    NewEntry {
        kind,
        scope,
        scope_id,
        pattern,
        value: value.into(),
        label: String::new(),
        reason: String::new(),
        expires_at,
    }
}

fn number(raw: &str) -> E164 {
    E164::parse_international("number", raw).unwrap()
}

#[test]
fn the_migration_carries_the_dial_policy_into_organisation_blocks() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 1).expect("connect");
    let mut conn = database.get().expect("connection");
    let conn: &mut DbConn = &mut conn;
    db::run_pending(conn).expect("migrations");
    let org = deskbind_core::usecases::orgs::create(conn, "acme").unwrap();
    let admin = user(conn, org, "ada");
    // Later migrations go first; this one is the last reverted.
    let reverted = db::revert_through(conn, MIGRATION).expect("revert");
    assert_eq!(reverted.last().map(String::as_str), Some(MIGRATION));

    // The policy as it was stored at 000014.
    conn.batch_execute(&format!(
        "INSERT INTO dial_rules (org_id, kind, value) VALUES
             ('{org}', 'blocked_prefix', '+1900'),
             ('{org}', 'do_not_call', '+16502530099');
         INSERT INTO dial_policies (org_id, updated_at, updated_by)
             VALUES ('{org}', 1700000000000000, '{admin}');"
    ))
    .unwrap();
    db::run_pending(conn).expect("migrate again");

    let (rules, updated_at) = dial_policy::read(conn, org, now_micros()).unwrap();
    assert_eq!(rules.blocked_prefixes.iter().collect::<Vec<_>>(), ["+1900"]);
    assert_eq!(
        rules.do_not_call.iter().collect::<Vec<_>>(),
        ["+16502530099"]
    );
    assert_eq!(updated_at, Some(1_700_000_000_000_000));
    let rows = entries::of_organisation(conn, org, BlocklistKind::Block).unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.scope, BlocklistScope::Organisation);
        assert_eq!(row.scope_id, org.to_string());
        assert_eq!(row.label, "dial policy");
        assert_eq!(row.created_by, Some(admin.to_string()));
        assert_eq!(row.created_at, 1_700_000_000_000_000);
    }
    // A dial to either is refused through the blocklist now.
    let blocked = blocklist_check::check_in(conn, org, None, &number("+19005550100"), now_micros())
        .unwrap()
        .unwrap();
    assert_eq!(
        (blocked.0, blocked.1.pattern),
        (BlocklistKind::Block, BlocklistPattern::Prefix)
    );

    // Reverting puts the organisation's permanent blocks back as rules.
    db::revert_through(conn, MIGRATION).expect("revert again");
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n = diesel::sql_query("SELECT COUNT(*) AS n FROM dial_rules")
        .get_result::<Count>(conn)
        .unwrap()
        .n;
    assert_eq!(n, 2);
    db::run_pending(conn).expect("up once more");
}

#[test]
fn scopes_allows_and_expiry_decide_one_number_and_a_batch() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 1).expect("connect");
    let mut conn = database.get().expect("connection");
    let conn: &mut DbConn = &mut conn;
    db::run_pending(conn).expect("migrations");
    let org = deskbind_core::usecases::orgs::create(conn, "acme").unwrap();
    let other = deskbind_core::usecases::orgs::create(conn, "other").unwrap();
    let (ann, bob) = (user(conn, org, "ann"), user(conn, org, "bob"));
    let stranger = user(conn, other, "sid");
    let team = team_of(conn, org, ann);
    let now = now_micros();
    let rule = Actor::Rule { user: ann };
    let add = |conn: &mut DbConn, e: NewEntry| blocklist::add_in(conn, org, e, rule, now).unwrap();

    use BlocklistKind::{Allow, Block};
    use BlocklistPattern::{Number, Prefix};
    use BlocklistScope::{Organisation, Team, User};
    let org_block = add(
        conn,
        entry(Block, Organisation, org.to_string(), Prefix, "+1900", None),
    );
    let team_block = add(
        conn,
        entry(Block, Team, team.to_string(), Number, "+4930901820", None),
    );
    let bob_allow = add(
        conn,
        entry(Allow, User, bob.to_string(), Prefix, "+1900555", None),
    );
    let expiring = add(
        conn,
        entry(
            Block,
            User,
            bob.to_string(),
            Number,
            "+4940123456",
            Some(now + 1_000),
        ),
    );
    // Another organisation's block of the same number never applies here.
    blocklist::add_in(
        conn,
        other,
        entry(Block, Organisation, other.to_string(), Prefix, "+44", None),
        Actor::Rule { user: stranger },
        now,
    )
    .unwrap();

    let check = |conn: &mut DbConn, who: Option<UserId>, n: &str, at: i64| {
        blocklist_check::check_in(conn, org, who, &number(n), at)
            .unwrap()
            .map(|(kind, row)| (kind, row.id))
    };
    assert_eq!(
        check(conn, Some(ann), "+19005550100", now),
        Some((Block, org_block.id))
    );
    assert_eq!(
        check(conn, Some(bob), "+19005550100", now),
        Some((Allow, bob_allow.id))
    );
    assert_eq!(
        check(conn, Some(ann), "+4930901820", now),
        Some((Block, team_block.id))
    );
    assert_eq!(check(conn, Some(bob), "+4930901820", now), None);
    assert_eq!(check(conn, None, "+4930901820", now), None);
    assert_eq!(
        check(conn, Some(bob), "+4940123456", now),
        Some((Block, expiring.id))
    );
    assert_eq!(check(conn, Some(bob), "+4940123456", now + 1_000), None);
    assert_eq!(check(conn, Some(ann), "+442071838750", now), None);

    // The same answers for a batch, however its calls mix users.
    let (a, b) = (ann.to_string(), bob.to_string());
    let calls = [
        Screened {
            user_id: Some(&a),
            number: "+19005550100",
        },
        Screened {
            user_id: Some(&b),
            number: "+19005550100",
        },
        Screened {
            user_id: Some(&a),
            number: "+4930901820",
        },
        Screened {
            user_id: None,
            number: "+4930901820",
        },
        Screened {
            user_id: Some(&b),
            number: "+4940123456",
        },
        Screened {
            user_id: Some(&a),
            number: "+442071838750",
        },
    ];
    assert_eq!(
        blocklist_check::blocked_calls(conn, org, &calls, now).unwrap(),
        [true, false, true, false, true, false]
    );
    assert_eq!(
        blocklist_check::blocked_calls(conn, org, &calls, now + 1_000).unwrap(),
        [true, false, true, false, false, false]
    );

    // The same scope and match twice is refused with the stored entry.
    let again = blocklist::add_in(
        conn,
        org,
        entry(Block, Organisation, org.to_string(), Prefix, "+1900", None),
        rule,
        now,
    );
    match again {
        Err(blocklist::BlocklistError::Exists(row)) => assert_eq!(row.id, org_block.id),
        other => panic!("expected Exists, got {other:?}"),
    }
}
