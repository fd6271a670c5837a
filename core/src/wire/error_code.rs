//! Every error code the server sends, each with its one HTTP status, in one
//! place. A problem document's `code` is `as_str()` and its status is
//! `status()`; the per-record errors of a call-record upload use the same
//! codes (inside a 200, so only the code travels). docs/errors.md lists them
//! all, and api/tests/error_codes.rs fails when the two disagree or a code is
//! never sent. Codes the SDK raises itself (`nfc_dial_*`) and the `error`
//! frames of the phone WebSocket (docs/phone-protocol.md) are not here.

/// Defines `ErrorCode` from `Variant = "snake_case", status;` lines so the
/// name, the text and the status of a code can never be listed apart.
macro_rules! error_codes {
    ($($variant:ident = $text:literal, $status:literal;)+) => {
        /// A stable, snake_case error code and its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant),+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code as clients see it (`code` and the `type` URI).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text),+
                }
            }

            /// The HTTP status a problem document with this code has.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // 400 Bad Request: the request cannot be honoured as sent
    MalformedJson = "malformed_json", 400;
    InvalidQuery = "invalid_query", 400;
    InvalidProvisioningCode = "invalid_provisioning_code", 400;
    BindingTokenInvalid = "binding_token_invalid", 400;
    BindingTokenExpired = "binding_token_expired", 400;
    BindingCodeInvalid = "binding_code_invalid", 400;
    DigestRequired = "digest_required", 400;
    EmptyRecording = "empty_recording", 400;
    SizeMismatch = "size_mismatch", 400;
    UploadInterrupted = "upload_interrupted", 400;
    WebsocketUpgradeRequired = "websocket_upgrade_required", 400;

    // 401 Unauthorized: credentials missing or refused (with WWW-Authenticate)
    MissingCredentials = "missing_credentials", 401;
    InvalidToken = "invalid_token", 401;
    TokenExpired = "token_expired", 401;
    InvalidCredentials = "invalid_credentials", 401;
    InvalidRefreshToken = "invalid_refresh_token", 401;
    RefreshTokenReused = "refresh_token_reused", 401;

    // 403 Forbidden: the caller may ask, but a role or policy refuses
    Forbidden = "forbidden", 403;
    NumberBlocked = "number_blocked", 403;
    NumberDoNotCall = "number_do_not_call", 403;
    NotYourDial = "not_your_dial", 403;
    NotYourCall = "not_your_call", 403;
    NotGranted = "not_granted", 403;
    PhoneBoundToOther = "phone_bound_to_other", 403;
    TakeoverNotPermitted = "takeover_not_permitted", 403;
    LimitReached = "limit_reached", 403;
    PhoneDisabled = "phone_disabled", 403;
    UserDisabled = "user_disabled", 403;
    CsrfFailed = "csrf_failed", 403;
    ApiKeyNotAllowed = "api_key_not_allowed", 403;
    InsufficientScope = "insufficient_scope", 403;

    // 404 Not Found
    NotFound = "not_found", 404;

    // 405 Method Not Allowed
    MethodNotAllowed = "method_not_allowed", 405;

    // 409 Conflict: the current state refuses it
    EmailTaken = "email_taken", 409;
    TeamNameTaken = "team_name_taken", 409;
    PhoneNumberTaken = "phone_number_taken", 409;
    NoVendorDriver = "no_vendor_driver", 409;
    BindingTokenUsed = "binding_token_used", 409;
    BindingAlreadyEnded = "binding_already_ended", 409;
    NoBinding = "no_binding", 409;
    PhoneNotHeld = "phone_not_held", 409;
    DialFinished = "dial_finished", 409;
    DialDelivered = "dial_delivered", 409;
    BindingEnded = "binding_ended", 409;
    RecordingExists = "recording_exists", 409;
    PresignedUploadUnavailable = "presigned_upload_unavailable", 409;
    UploadIncomplete = "upload_incomplete", 409;
    UploadExpired = "upload_expired", 409;
    PushDeviceLimit = "push_device_limit", 409;
    LastAdmin = "last_admin", 409;
    NoPushDevice = "no_push_device", 409;
    Conflict = "conflict", 409;
    BlocklistEntryExists = "blocklist_entry_exists", 409;
    BlocklistFull = "blocklist_full", 409;
    // contacts (docs/contacts.md)
    ContactNumberTaken = "contact_number_taken", 409;
    ExternalIdTaken = "external_id_taken", 409;
    ExportLimitReached = "export_limit_reached", 409;
    ExportNotReady = "export_not_ready", 409;

    // 410 Gone: it existed, and is deleted for good
    ExportExpired = "export_expired", 410;

    // 411 Length Required
    LengthRequired = "length_required", 411;

    // 413 Content Too Large
    PayloadTooLarge = "payload_too_large", 413;

    // 415 Unsupported Media Type
    UnsupportedMediaType = "unsupported_media_type", 415;
    NotAudio = "not_audio", 415;

    // 416 Range Not Satisfiable (with Content-Range)
    RangeNotSatisfiable = "range_not_satisfiable", 416;

    // 422 Unprocessable Content: a value is not acceptable; `field` names it.
    // The last seven are sent only per record in a call-record upload.
    InvalidBody = "invalid_body", 422;
    MissingField = "missing_field", 422;
    UnknownField = "unknown_field", 422;
    InvalidField = "invalid_field", 422;
    InvalidEmail = "invalid_email", 422;
    InvalidPhoneNumber = "invalid_phone_number", 422;
    InvalidRegion = "invalid_region", 422;
    InvalidExtension = "invalid_extension", 422;
    UnknownPhoneModel = "unknown_phone_model", 422;
    InvalidTimeZone = "invalid_time_zone", 422;
    WeakPassword = "weak_password", 422;
    Blank = "blank", 422;
    TooLong = "too_long", 422;
    InvalidCharacters = "invalid_characters", 422;
    UnknownTeam = "unknown_team", 422;
    UnknownUser = "unknown_user", 422;
    UnknownScope = "unknown_scope", 422;
    UnknownEventType = "unknown_event_type", 422;
    InvalidWebhookUrl = "invalid_webhook_url", 422;
    WebhookTargetRefused = "webhook_target_refused", 422;
    UnknownHoldSubject = "unknown_hold_subject", 422;
    SelfLockout = "self_lockout", 422;
    OneOfRequired = "one_of_required", 422;
    UnknownGrantee = "unknown_grantee", 422;
    TooManyGrantees = "too_many_grantees", 422;
    InvalidDurationHours = "invalid_duration_hours", 422;
    InvalidWorkdayEnd = "invalid_workday_end", 422;
    InvalidMaxPhonesPerUser = "invalid_max_phones_per_user", 422;
    InvalidPrefix = "invalid_prefix", 422;
    TooMany = "too_many", 422;
    PhoneRequired = "phone_required", 422;
    IdempotencyKeyReused = "idempotency_key_reused", 422;
    InvalidIdempotencyKey = "invalid_idempotency_key", 422;
    TooManyEvents = "too_many_events", 422;
    UnsupportedVersion = "unsupported_version", 422;
    InvalidBatchSize = "invalid_batch_size", 422;
    InvalidCallId = "invalid_call_id", 422;
    InvalidSize = "invalid_size", 422;
    InvalidSha256 = "invalid_sha256", 422;
    InvalidPushToken = "invalid_push_token", 422;
    InvalidSchedule = "invalid_schedule", 422;
    StartedAtInFuture = "started_at_in_future", 422;
    PushTokenUnregistered = "push_token_unregistered", 422;
    InvalidAudio = "invalid_audio", 422;
    ChecksumMismatch = "checksum_mismatch", 422;
    InvalidDuration = "invalid_duration", 422;
    InvalidTime = "invalid_time", 422;
    InvalidTimeOrder = "invalid_time_order", 422;
    CallTooLong = "call_too_long", 422;
    InconsistentCall = "inconsistent_call", 422;
    ConflictsWithStored = "conflicts_with_stored", 422;
    DialNotFound = "dial_not_found", 422;
    NumberSearchTooShort = "number_search_too_short", 422;
    // contacts (docs/contacts.md)
    UnknownOwner = "unknown_owner", 422;
    InvalidCsv = "invalid_csv", 422;

    // What came of a call (docs/call-outcomes.md)
    PrivateCallsDisabled = "private_calls_disabled", 403;
    DispositionCodeTaken = "disposition_code_taken", 409;
    DispositionLimit = "disposition_limit", 409;
    ApiKeyLimit = "api_key_limit", 409;
    WebhookEndpointLimit = "webhook_endpoint_limit", 409;
    LegalHoldExists = "legal_hold_exists", 409;
    LegalHoldLimit = "legal_hold_limit", 409;
    ContactHeld = "contact_held", 409;
    AnnotationChanged = "annotation_changed", 409;
    UnknownDisposition = "unknown_disposition", 422;
    DispositionArchived = "disposition_archived", 422;
    CallbackRequired = "callback_required", 422;
    CallbackInPast = "callback_in_past", 422;
    // contact merge (docs/contacts.md, "Merge")
    MergeIntoSelf = "merge_into_self", 422;

    // 429 Too Many Requests (with Retry-After)
    RateLimited = "rate_limited", 429;

    // 500 Internal Server Error
    Internal = "internal", 500;

    // 503 Service Unavailable
    Unavailable = "unavailable", 503;
    RecordingOnOtherNode = "recording_on_other_node", 503;
    NodeDraining = "node_draining", 503;

    // Dial authorisation (docs/dialing.md, "Dial authorisation")
    DialClassNotAllowed = "dial_class_not_allowed", 403;
    OutsideCallingHours = "outside_calling_hours", 403;
    OutsideCalleeHours = "outside_callee_hours", 403;
    DialRulesChanged = "dial_rules_changed", 409;
    InvalidDialClass = "invalid_dial_class", 422;
    InvalidDate = "invalid_date", 422;
    DuplicateRule = "duplicate_rule", 422;

    // Contact scoring (docs/scoring.md).
    InvalidScoreRule = "invalid_score_rule", 422;
    TooManyScoreRules = "too_many_score_rules", 422;
    ScoreRulesChanged = "score_rules_changed", 409;
    // presence (docs/presence.md)
    PresenceStateDerived = "presence_state_derived", 422;
    UntilWithoutDnd = "until_without_dnd", 422;
    UntilInPast = "until_in_past", 422;
    // call lists (docs/call-lists.md)
    CallListChanged = "call_list_changed", 409;
    InvalidStateTransition = "invalid_state_transition", 409;
    CallListClosed = "call_list_closed", 409;
    TaskNotLeased = "task_not_leased", 409;
    TaskOnCall = "task_on_call", 409;
    CallerUnavailable = "caller_unavailable", 409;
    InvalidPayload = "invalid_payload", 422;
    EmptyTeam = "empty_team", 422;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests compare a code with the text a client sees.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_parses_back_and_is_snake_case() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{code} is not snake_case"
            );
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }
}
