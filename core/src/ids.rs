//! Typed ids: a `UserId` can never be passed where a `PhoneId` is expected.
//! All are UUIDv7, so their text form sorts in creation order, which keyset
//! pagination relies on.

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        // A diesel `Text` column (the hyphenated text form, see
        // docs/decisions/0001-storage-types.md); ToSql/FromSql in db::column_types.
        #[cfg_attr(feature = "server", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
        #[cfg_attr(feature = "server", diesel(sql_type = diesel::sql_types::Text))]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
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
    ApiKeyId,
    WebhookEndpointId,
    WebhookDeliveryId,
    LegalHoldId,
    CallArchiveId,
    ExportId
);

impl UserId {
    /// No person: the reader an API key reads as (`AuthUser::for_api_key`
    /// in the API). It owns no call and no contact and is in no team.
    pub const fn nobody() -> Self {
        Self(uuid::Uuid::nil())
    }

    pub fn is_nobody(&self) -> bool {
        self.0.is_nil()
    }
}
