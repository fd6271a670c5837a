//! How the blocklist use cases' refusals read on the wire (docs/errors.md,
//! docs/blocklist.md).

use deskbind_core::usecases::blocklist::BlocklistError;
use deskbind_core::wire::ErrorCode;

use crate::error::ApiError;

impl From<BlocklistError> for ApiError {
    fn from(err: BlocklistError) -> Self {
        match err {
            BlocklistError::Invalid(e) => e.into(),
            BlocklistError::Forbidden => ApiError::forbidden(),
            BlocklistError::NotFound => ApiError::NotFound,
            BlocklistError::Exists(row) => ApiError::Conflict {
                code: ErrorCode::BlocklistEntryExists,
                detail: format!(
                    "entry {} has this scope and match already; change it instead",
                    row.id
                ),
            },
            BlocklistError::Full => ApiError::Conflict {
                code: ErrorCode::BlocklistFull,
                detail: format!(
                    "the organisation has {} entries, the most it may have; delete some first",
                    deskbind_core::domain::blocklist::MAX_ENTRIES_PER_ORG
                ),
            },
            BlocklistError::Repo(e) => e.into(),
        }
    }
}
