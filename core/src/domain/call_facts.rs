//! What one call record says, checked, and how two reports of the same call
//! merge. A record arrives from the phone and, on the NFC path, from the app;
//! both are reports of the same call keyed by the phone's call id.
//!
//! Merge rule: a report never erases a known fact. The phone is the
//! authority: its report replaces what it states, while the app's copy only
//! fills what is still unknown once the phone has reported. The merged
//! record must still be consistent, or the report is refused.

use std::collections::HashMap;

use super::FieldError;
use super::phone_number::best_effort_e164;
use crate::ids::DialId;
use crate::time::{Micros, seconds};
use crate::wire::ErrorCode;
use crate::wire::{CallDirection, CallRecordUpload, CallResult};

const MAX_CALL_ID_CHARS: usize = 128;
const MAX_NUMBER_CHARS: usize = 64;
/// Longest call accepted; anything longer is a clock or a phone bug.
const MAX_CALL_SECS: i64 = 24 * 3600;
/// How far a phone's clock may run ahead of ours.
const CLOCK_SKEW_SECS: i64 = 300;
/// 2000-01-01T00:00:00Z: a phone reporting earlier has lost its clock.
const EARLIEST: Micros = 946_684_800_000_000;

/// Which copy a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    Phone,
    App,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFacts {
    pub call_id: String,
    pub direction: CallDirection,
    pub local_number: Option<String>,
    pub local_e164: Option<String>,
    pub remote_number: String,
    pub remote_e164: Option<String>,
    pub started_at: Micros,
    pub answered_at: Option<Micros>,
    pub ended_at: Option<Micros>,
    pub duration_secs: Option<i64>,
    pub result: Option<CallResult>,
    pub dial_id: Option<DialId>,
}

/// E.164 forms already worked out, for one batch's numbers (one region).
/// Parsing a number costs about 3 µs; a phone's batch repeats its own
/// number in every record and its customers' numbers often, so each
/// distinct number is parsed once per batch.
#[derive(Debug)]
pub struct NumberMemo {
    region: Option<phonenumber::country::Id>,
    known: HashMap<String, Option<String>>,
}

impl NumberMemo {
    pub fn new(region: Option<phonenumber::country::Id>) -> Self {
        Self {
            region,
            known: HashMap::new(),
        }
    }

    /// [`best_effort_e164`] of `raw` in this memo's region.
    pub fn e164(&mut self, raw: &str) -> Option<String> {
        if let Some(known) = self.known.get(raw) {
            return known.clone();
        }
        let found = best_effort_e164(raw, self.region);
        self.known.insert(raw.to_owned(), found.clone());
        found
    }
}

impl CallFacts {
    /// Checks one uploaded record. National numbers are read in `region`,
    /// the country of the phone's own number.
    pub fn parse(
        upload: &CallRecordUpload,
        region: Option<phonenumber::country::Id>,
        now: Micros,
    ) -> Result<Self, FieldError> {
        Self::parse_with(upload, &mut NumberMemo::new(region), now)
    }

    /// Checks a batch of uploaded records, one result per record in order;
    /// each distinct number is parsed once.
    pub fn parse_batch(
        uploads: &[CallRecordUpload],
        region: Option<phonenumber::country::Id>,
        now: Micros,
    ) -> Vec<Result<Self, FieldError>> {
        let mut memo = NumberMemo::new(region);
        uploads
            .iter()
            .map(|upload| Self::parse_with(upload, &mut memo, now))
            .collect()
    }

    /// [`CallFacts::parse`] with numbers looked up in `memo` (its region).
    pub fn parse_with(
        upload: &CallRecordUpload,
        memo: &mut NumberMemo,
        now: Micros,
    ) -> Result<Self, FieldError> {
        let call_id = parse_call_id(&upload.call_id)?;
        let remote_number = printable(
            "remote_number",
            &upload.remote_number,
            MAX_NUMBER_CHARS,
            ErrorCode::InvalidPhoneNumber,
        )?;
        let local_number = upload
            .local_number
            .as_deref()
            .map(|n| {
                printable(
                    "local_number",
                    n,
                    MAX_NUMBER_CHARS,
                    ErrorCode::InvalidPhoneNumber,
                )
            })
            .transpose()?;
        if upload
            .duration_secs
            .is_some_and(|d| !(0..=MAX_CALL_SECS).contains(&d))
        {
            return Err(FieldError::new(
                "duration_secs",
                ErrorCode::InvalidDuration,
                format!("must be between 0 and {MAX_CALL_SECS}"),
            ));
        }
        let facts = Self {
            remote_e164: memo.e164(&remote_number),
            local_e164: local_number.as_deref().and_then(|n| memo.e164(n)),
            call_id,
            direction: upload.direction,
            local_number,
            remote_number,
            started_at: upload.started_at.timestamp_micros(),
            answered_at: upload.answered_at.map(|t| t.timestamp_micros()),
            ended_at: upload.ended_at.map(|t| t.timestamp_micros()),
            duration_secs: upload.duration_secs,
            result: upload.result,
            dial_id: upload.dial_id,
        };
        facts.check(now)?;
        Ok(facts.with_derived_duration())
    }

    /// The consistency rules every stored record keeps.
    pub fn check(&self, now: Micros) -> Result<(), FieldError> {
        if self.started_at < EARLIEST || self.started_at > now + seconds(CLOCK_SKEW_SECS) {
            return Err(FieldError::new(
                "started_at",
                ErrorCode::InvalidTime,
                "must be after 2000 and not in the future",
            ));
        }
        let after_start = |field, at: Option<Micros>| match at {
            Some(at) if at < self.started_at => Err(FieldError::new(
                field,
                ErrorCode::InvalidTimeOrder,
                "must not be before started_at",
            )),
            Some(at) if at - self.started_at > seconds(MAX_CALL_SECS) => Err(FieldError::new(
                field,
                ErrorCode::CallTooLong,
                "a call may last at most 24 hours",
            )),
            _ => Ok(()),
        };
        after_start("answered_at", self.answered_at)?;
        after_start("ended_at", self.ended_at)?;
        if let (Some(answered), Some(ended)) = (self.answered_at, self.ended_at)
            && ended < answered
        {
            return Err(FieldError::new(
                "ended_at",
                ErrorCode::InvalidTimeOrder,
                "must not be before answered_at",
            ));
        }
        let answered = self.answered_at.is_some() || self.result == Some(CallResult::Answered);
        if self.direction == CallDirection::Missed && answered {
            return Err(FieldError::new(
                "direction",
                ErrorCode::InconsistentCall,
                "a missed call has no answered_at and no result answered",
            ));
        }
        if self.answered_at.is_some() && self.result.is_some_and(|r| r != CallResult::Answered) {
            return Err(FieldError::new(
                "result",
                ErrorCode::InconsistentCall,
                "a call with answered_at has result answered",
            ));
        }
        Ok(())
    }

    fn with_derived_duration(mut self) -> Self {
        if self.duration_secs.is_none()
            && let (Some(answered), Some(ended)) = (self.answered_at, self.ended_at)
        {
            self.duration_secs = Some((ended - answered) / 1_000_000);
        }
        self
    }

    /// `self` (stored) updated by `report`, or `None` when the report adds
    /// nothing. `phone_has_reported` says whether the stored copy includes
    /// the phone's own report.
    pub fn merge(
        &self,
        report: &CallFacts,
        reporter: Reporter,
        phone_has_reported: bool,
        now: Micros,
    ) -> Result<Option<CallFacts>, FieldError> {
        let report_wins = reporter == Reporter::Phone || !phone_has_reported;
        fn pick<T: Clone>(
            report_wins: bool,
            stored: &Option<T>,
            reported: &Option<T>,
        ) -> Option<T> {
            let (first, second) = if report_wins {
                (reported, stored)
            } else {
                (stored, reported)
            };
            first.clone().or_else(|| second.clone())
        }
        let (base, other) = if report_wins {
            (report, self)
        } else {
            (self, report)
        };
        let mut merged = CallFacts {
            call_id: self.call_id.clone(),
            direction: base.direction,
            local_number: pick(report_wins, &self.local_number, &report.local_number),
            local_e164: pick(report_wins, &self.local_e164, &report.local_e164),
            remote_number: base.remote_number.clone(),
            remote_e164: base
                .remote_e164
                .clone()
                .or_else(|| other.remote_e164.clone()),
            started_at: base.started_at,
            answered_at: pick(report_wins, &self.answered_at, &report.answered_at),
            ended_at: pick(report_wins, &self.ended_at, &report.ended_at),
            duration_secs: pick(report_wins, &self.duration_secs, &report.duration_secs),
            result: pick(report_wins, &self.result, &report.result),
            dial_id: pick(report_wins, &self.dial_id, &report.dial_id),
        };
        // New call times without a stated duration: derive it afresh
        // instead of keeping one computed from the old times.
        let times_moved =
            merged.answered_at != self.answered_at || merged.ended_at != self.ended_at;
        if times_moved && report_wins && report.duration_secs.is_none() {
            merged.duration_secs = None;
        }
        merged.check(now).map_err(|e| {
            FieldError::new(
                e.field,
                ErrorCode::ConflictsWithStored,
                format!("merged with the stored record: {}", e.message),
            )
        })?;
        let merged = merged.with_derived_duration();
        Ok((merged != *self).then_some(merged))
    }
}

/// The phone's call id, as records and recordings both key it: trimmed,
/// 1 to 128 characters, no control characters.
pub fn parse_call_id(raw: &str) -> Result<String, FieldError> {
    printable("call_id", raw, MAX_CALL_ID_CHARS, ErrorCode::InvalidCallId)
}

fn printable(
    field: &'static str,
    raw: &str,
    max: usize,
    code: ErrorCode,
) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        return Err(FieldError::new(
            field,
            code,
            format!("must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;

    const NOW: Micros = 1_800_000_000_000_000;

    fn upload(call_id: &str) -> CallRecordUpload {
        CallRecordUpload {
            call_id: call_id.into(),
            direction: CallDirection::Outbound,
            local_number: None,
            remote_number: "030 1234567".into(),
            started_at: Utc.timestamp_micros(NOW - seconds(600)).unwrap(),
            answered_at: None,
            ended_at: None,
            duration_secs: None,
            result: None,
            dial_id: None,
        }
    }

    fn parse(u: &CallRecordUpload) -> Result<CallFacts, FieldError> {
        CallFacts::parse(u, Some(phonenumber::country::Id::DE), NOW)
    }

    #[test]
    fn national_numbers_are_read_in_the_phones_region_and_raw_is_kept() {
        let facts = parse(&upload("c1")).unwrap();
        assert_eq!(facts.remote_number, "030 1234567");
        assert_eq!(facts.remote_e164.as_deref(), Some("+49301234567"));
        let mut anon = upload("c2");
        anon.remote_number = "anonymous".into();
        assert_eq!(parse(&anon).unwrap().remote_e164, None);
    }

    #[test]
    fn duration_is_derived_from_answer_and_end() {
        let mut u = upload("c1");
        u.answered_at = Some(u.started_at + chrono::Duration::seconds(5));
        u.ended_at = Some(u.started_at + chrono::Duration::seconds(65));
        assert_eq!(parse(&u).unwrap().duration_secs, Some(60));
    }

    #[test]
    fn inconsistent_reports_name_the_field() {
        let mut missed = upload("c1");
        missed.direction = CallDirection::Missed;
        missed.result = Some(CallResult::Answered);
        assert_eq!(parse(&missed).unwrap_err().code, "inconsistent_call");

        let mut backwards = upload("c2");
        backwards.ended_at = Some(backwards.started_at - chrono::Duration::seconds(1));
        assert_eq!(parse(&backwards).unwrap_err().field, "ended_at");

        let mut future = upload("c3");
        future.started_at = Utc.timestamp_micros(NOW + seconds(3600)).unwrap();
        assert_eq!(parse(&future).unwrap_err().code, "invalid_time");

        let mut blank = upload(" ");
        blank.call_id = "\u{7}".into();
        assert_eq!(parse(&blank).unwrap_err().code, "invalid_call_id");
    }

    #[test]
    fn a_replay_merges_to_nothing_and_later_facts_fill_in() {
        let first = parse(&upload("c1")).unwrap();
        assert_eq!(
            first.merge(&first, Reporter::Phone, true, NOW).unwrap(),
            None
        );

        let mut later = upload("c1");
        later.ended_at = Some(later.started_at + chrono::Duration::seconds(30));
        later.result = Some(CallResult::NoAnswer);
        let later = parse(&later).unwrap();
        let merged = first
            .merge(&later, Reporter::Phone, true, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(merged.result, Some(CallResult::NoAnswer));
        // The earlier, shorter report does not erase what the later one said.
        assert_eq!(
            merged.merge(&first, Reporter::Phone, true, NOW).unwrap(),
            None
        );
    }

    #[test]
    fn a_later_end_recomputes_the_derived_duration() {
        let mut first = upload("c1");
        first.answered_at = Some(first.started_at + chrono::Duration::seconds(5));
        first.ended_at = Some(first.started_at + chrono::Duration::seconds(65));
        let first = parse(&first).unwrap();
        assert_eq!(first.duration_secs, Some(60));
        let mut later = upload("c1");
        later.ended_at = Some(later.started_at + chrono::Duration::seconds(125));
        let later = parse(&later).unwrap();
        let merged = first
            .merge(&later, Reporter::Phone, true, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(merged.duration_secs, Some(120));
    }

    #[test]
    fn the_apps_copy_only_fills_gaps_in_the_phones() {
        let mut phone = upload("c1");
        phone.result = Some(CallResult::Busy);
        let phone = parse(&phone).unwrap();
        let mut app = upload("c1");
        app.result = Some(CallResult::NoAnswer);
        app.local_number = Some("+49301111111".into());
        let app = parse(&app).unwrap();
        let merged = phone
            .merge(&app, Reporter::App, true, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(merged.result, Some(CallResult::Busy));
        assert_eq!(merged.local_number.as_deref(), Some("+49301111111"));
        // Before the phone has reported, the app's copy is all there is.
        let replaced = app
            .merge(&phone, Reporter::Phone, false, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(replaced.result, Some(CallResult::Busy));
    }

    #[test]
    fn a_merge_that_breaks_consistency_is_refused() {
        let mut missed = upload("c1");
        missed.direction = CallDirection::Missed;
        let missed = parse(&missed).unwrap();
        let mut answered = upload("c1");
        answered.direction = CallDirection::Missed;
        let mut answered = parse(&answered).unwrap();
        answered.answered_at = Some(answered.started_at + seconds(1));
        let err = missed
            .merge(&answered, Reporter::App, true, NOW)
            .unwrap_err();
        assert_eq!(err.code, "conflicts_with_stored");
    }
}
