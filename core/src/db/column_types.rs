//! Typed ids and stored enums as diesel `Text` columns, on both backends and
//! on the multi-backend connection. Both are stored as text (ids in their
//! hyphenated form, enums as their wire names; see
//! docs/decisions/0001-storage-types.md), so a row struct can hold `PhoneId`
//! or `DialState` instead of a `String` it parses at every read. A stored
//! value that does not parse is a deserialization error naming the type and
//! the value; the `AsExpression`/`FromSqlRow` derives sit on the types
//! themselves (ids.rs, wire/str_enum.rs), behind the `server` feature.
//! docs/decisions/0011-typed-rows.md says which rows use them.

use std::borrow::Cow;
use std::io::Write as _;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use super::DbBackend;
use crate::ids::*;
use crate::wire::{
    ActorKind, BindingAction, BindingDuration, BindingEndReason, BindingVia, BlocklistKind,
    BlocklistPattern, BlocklistScope, CallDirection, CallResult, ContactSource, ContactVisibility,
    DialFailure, DialState, PushPlatform, RecordingFormat, Role, ScoreRecomputeState, TakeoverRule,
};

/// A type stored as text: what is written, and how it is read back.
trait StoredText: Sized {
    fn text(&self) -> Cow<'static, str>;
    fn read(text: &str) -> Option<Self>;
}

/// The error for a stored value that is not one of the type's values: the
/// row is corrupt (or written by a newer version), and the error says where.
#[derive(Debug, thiserror::Error)]
#[error("stored value {value:?} is not a valid {what}")]
pub struct UnreadableValue {
    pub what: &'static str,
    pub value: String,
}

impl UnreadableValue {
    /// The unreadable value behind a query error, if that is what failed
    /// (diesel wraps it in its own deserialization errors).
    pub fn find(err: &diesel::result::Error) -> Option<&Self> {
        let diesel::result::Error::DeserializationError(cause) = err else {
            return None;
        };
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(cause.as_ref());
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<Self>() {
                return Some(found);
            }
            current = e.source();
        }
        None
    }
}

macro_rules! text_column {
    ($($ty:ident),+ $(,)?) => {$(
        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.text().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                match self.text() {
                    Cow::Borrowed(text) => out.set_value(text),
                    Cow::Owned(text) => out.set_value(text),
                }
                Ok(IsNull::No)
            }
        }

        // The multi-backend connection hands the value to the backend it
        // talks to, which uses one of the two impls above.
        impl ToSql<Text, DbBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DbBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                match <$ty as StoredText>::read(&text) {
                    Some(value) => Ok(value),
                    None => Err(Box::new(UnreadableValue {
                        what: stringify!($ty),
                        value: text,
                    })),
                }
            }
        }
    )+};
}

macro_rules! id_text {
    ($($ty:ident),+ $(,)?) => {$(
        impl StoredText for $ty {
            fn text(&self) -> Cow<'static, str> {
                Cow::Owned(self.to_string())
            }
            fn read(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
        text_column!($ty);
    )+};
}

macro_rules! enum_text {
    ($($ty:ident),+ $(,)?) => {$(
        impl StoredText for $ty {
            fn text(&self) -> Cow<'static, str> {
                Cow::Borrowed(self.as_str())
            }
            fn read(text: &str) -> Option<Self> {
                Self::parse(text)
            }
        }
        text_column!($ty);
    )+};
}

id_text!(
    OrgId,
    UserId,
    TeamId,
    SessionId,
    PhoneId,
    CredentialId,
    RefreshTokenId,
    BindingId,
    GrantId,
    BindingTokenId,
    DialId,
    CallRecordId,
    RecordingId,
    RecordingUploadId,
    PushDeviceId,
    JobId,
    BlocklistEntryId,
    ContactId,
    DispositionId,
    CallEditId,
    ScoreRecomputeId,
    CallListId,
    CallTaskId,
    CallAttemptId,
);

// The wire enums that are stored in a column (IngestOutcome and
// PushScheduleSource never are).
enum_text!(
    ActorKind,
    BindingAction,
    BindingDuration,
    BindingEndReason,
    BindingVia,
    CallDirection,
    CallResult,
    ContactSource,
    ContactVisibility,
    DialFailure,
    DialState,
    PushPlatform,
    RecordingFormat,
    Role,
    TakeoverRule,
    BlocklistKind,
    BlocklistScope,
    BlocklistPattern,
    ScoreRecomputeState,
);

#[cfg(test)]
#[path = "column_types_tests.rs"]
mod tests;
