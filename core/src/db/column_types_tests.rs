#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Round trips through both backends (each test needs PostgreSQL from
//! DESKBIND_TEST_POSTGRES_URL, whatever DESKBIND_TEST_BACKEND says).

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::UnreadableValue;
use crate::db::{Backend, Database, DbConn};
use crate::ids::{BindingId, OrgId, PhoneId, UserId};
use crate::testing::TestDb;
use crate::wire::{
    ActorKind, BindingAction, BindingDuration, BindingEndReason, BindingVia, CallDirection,
    CallResult, DialFailure, DialState, PushPlatform, RecordingFormat, Role, TakeoverRule,
};

fn on_both_backends(check: impl Fn(&mut DbConn, Backend)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let test_db = TestDb::on(backend);
        let database = Database::connect(&test_db.url, 1).expect("connect");
        let mut conn = database.get().expect("connection");
        check(&mut conn, backend);
    }
}

/// `$value` sent as a bind parameter and read back as `$ty`.
macro_rules! echoed {
    ($conn:expr, $value:expr, $ty:ty) => {
        diesel::select($value.into_sql::<Text>())
            .get_result::<$ty>($conn)
            .expect("round trip")
    };
}

macro_rules! round_trips_every_value {
    ($conn:expr, $backend:expr, $($ty:ident),+ $(,)?) => {$(
        for value in $ty::ALL {
            assert_eq!(echoed!($conn, *value, $ty), *value, "{} on {:?}", stringify!($ty), $backend);
        }
    )+};
}

#[test]
fn stored_enums_round_trip_on_both_backends() {
    on_both_backends(|conn, backend| {
        round_trips_every_value!(
            conn,
            backend,
            ActorKind,
            BindingAction,
            BindingDuration,
            BindingEndReason,
            BindingVia,
            CallDirection,
            CallResult,
            DialFailure,
            DialState,
            PushPlatform,
            RecordingFormat,
            Role,
            TakeoverRule,
        );
    });
}

#[test]
fn ids_round_trip_as_their_hyphenated_text_on_both_backends() {
    on_both_backends(|conn, backend| {
        let phone = PhoneId::new();
        assert_eq!(echoed!(conn, phone, PhoneId), phone, "{backend:?}");
        let binding = BindingId::new();
        assert_eq!(echoed!(conn, binding, BindingId), binding, "{backend:?}");

        // Stored as the same text the String-typed rows hold today, so typed
        // and untyped reads of one column agree.
        let org = OrgId::new();
        let text: String = diesel::select(org.into_sql::<Text>())
            .get_result(conn)
            .expect("as text");
        assert_eq!(text, org.to_string(), "{backend:?}");
        let typed: OrgId = diesel::select(org.to_string().into_sql::<Text>())
            .get_result(conn)
            .expect("from text");
        assert_eq!(typed, org, "{backend:?}");

        // Nullable columns read as Option.
        let none: Option<PhoneId> = diesel::select(None::<PhoneId>.into_sql::<Nullable<Text>>())
            .get_result(conn)
            .expect("null");
        assert_eq!(none, None, "{backend:?}");
        let some: Option<PhoneId> = diesel::select(Some(phone).into_sql::<Nullable<Text>>())
            .get_result(conn)
            .expect("some");
        assert_eq!(some, Some(phone), "{backend:?}");
    });
}

#[test]
fn an_unreadable_stored_value_is_an_error_naming_type_and_value() {
    on_both_backends(|conn, backend| {
        let err = diesel::select("ringing_maybe".into_sql::<Text>())
            .get_result::<DialState>(conn)
            .expect_err("not a dial state");
        let unreadable = UnreadableValue::find(&err)
            .unwrap_or_else(|| panic!("{backend:?}: not an unreadable value: {err:?}"));
        assert_eq!(unreadable.what, "DialState");
        assert_eq!(unreadable.value, "ringing_maybe");
        assert_eq!(
            unreadable.to_string(),
            "stored value \"ringing_maybe\" is not a valid DialState",
            "{backend:?}"
        );

        let err = diesel::select("not-a-uuid".into_sql::<Text>())
            .get_result::<PhoneId>(conn)
            .expect_err("not an id");
        assert_eq!(
            UnreadableValue::find(&err)
                .map(ToString::to_string)
                .as_deref(),
            Some("stored value \"not-a-uuid\" is not a valid PhoneId"),
            "{backend:?}"
        );
    });
}

#[test]
fn typed_values_filter_insert_and_load_schema_columns_on_both_backends() {
    use crate::db::schema::{bindings, organisations, phones, users};
    on_both_backends(|conn, backend| {
        crate::db::run_pending(conn).expect("migrate");
        let org = OrgId::new();
        diesel::insert_into(organisations::table)
            .values((
                organisations::id.eq(org),
                organisations::name.eq("typed"),
                organisations::created_at.eq(0_i64),
            ))
            .execute(conn)
            .expect("insert organisation");
        let found: OrgId = organisations::table
            .filter(organisations::id.eq(org))
            .select(organisations::id)
            .get_result(conn)
            .expect("typed filter and load");
        assert_eq!(found, org, "{backend:?}");
        let none: Vec<OrgId> = organisations::table
            .filter(organisations::id.eq_any([OrgId::new(), OrgId::new()]))
            .select(organisations::id)
            .load(conn)
            .expect("eq_any");
        assert!(none.is_empty(), "{backend:?}");

        let (user, phone, binding) = (UserId::new(), PhoneId::new(), BindingId::new());
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user),
                users::org_id.eq(org),
                users::email.eq(format!("{user}@example.com")),
                users::display_name.eq("U"),
                users::role.eq(Role::Salesperson),
                users::password_hash.eq("x"),
                users::time_zone.eq("UTC"),
                users::created_at.eq(0_i64),
                users::updated_at.eq(0_i64),
            ))
            .execute(conn)
            .expect("insert user");
        diesel::insert_into(phones::table)
            .values((
                phones::id.eq(phone),
                phones::org_id.eq(org),
                phones::number_e164.eq("+4930555000"),
                phones::extension.eq(""),
                phones::label.eq("desk"),
                phones::created_at.eq(0_i64),
                phones::updated_at.eq(0_i64),
            ))
            .execute(conn)
            .expect("insert phone");
        diesel::insert_into(bindings::table)
            .values((
                bindings::id.eq(binding),
                bindings::org_id.eq(org),
                bindings::phone_id.eq(phone),
                bindings::user_id.eq(user),
                bindings::via.eq(BindingVia::App),
                bindings::started_at.eq(0_i64),
                bindings::ended_at.eq(Some(1_i64)),
                bindings::end_reason.eq(Some(BindingEndReason::TakenOver)),
            ))
            .execute(conn)
            .expect("insert binding: the typed values pass the CHECK constraints");
        let read: (BindingId, PhoneId, BindingVia, Option<BindingEndReason>) = bindings::table
            .filter(bindings::user_id.eq(user))
            .select((
                bindings::id,
                bindings::phone_id,
                bindings::via,
                bindings::end_reason,
            ))
            .get_result(conn)
            .expect("typed row");
        assert_eq!(
            read,
            (
                binding,
                phone,
                BindingVia::App,
                Some(BindingEndReason::TakenOver)
            ),
            "{backend:?}"
        );
    });
}
