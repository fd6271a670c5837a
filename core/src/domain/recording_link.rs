//! Which record a recording may be linked to. A recording is keyed like its
//! record (the phone's call id), so it links whichever arrives first; but an
//! app user's upload belongs only with that user's own call.

/// A recording uploaded by `uploaded_by` (`None`: the phone) may be linked
/// to a record owned by `record_user`: the phone's go with any record, an
/// app user's only with that user's own calls.
pub fn may_link(uploaded_by: Option<&str>, record_user: Option<&str>) -> bool {
    uploaded_by.is_none_or(|u| record_user == Some(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phones_recording_links_to_any_record() {
        assert!(may_link(None, Some("ann")));
        assert!(may_link(None, None));
    }

    #[test]
    fn an_app_users_recording_links_only_to_their_own_call() {
        assert!(may_link(Some("ann"), Some("ann")));
        assert!(!may_link(Some("ann"), Some("bob")));
        assert!(!may_link(Some("ann"), None));
    }
}
