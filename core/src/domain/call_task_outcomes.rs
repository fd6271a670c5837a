//! What a dialled attempt makes of its task (docs/call-lists.md,
//! "Dialling and outcomes"): the call's outcome and its disposition go
//! through the list's retry policy. Without I/O.

use super::retry_policy::{Kind, Next, Outcome, RetryPolicy, Used, after_attempt};
use crate::time::Micros;
use crate::wire::{CallAttemptOutcome, CallTaskState};

/// What the call's disposition says about the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No disposition (yet): an answered call completes the task.
    None,
    /// Reached (or do not call): the task is done.
    Completes,
    /// Answered but not reached (a wrong person, a voicemail): the
    /// "reached but not completed" budget.
    NotCompleted,
    /// The callee asked to be called back at this time: the task comes
    /// back to the same salesperson then, without using a retry.
    Callback(Micros),
}

/// The task after the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub state: CallTaskState,
    /// Also the attempt's `reason`: `completed`, `retry_busy`,
    /// `gave_up_no_answer`, `invalid_number`, `callback`.
    pub reason: &'static str,
    /// When it may be leased again (a retry or a callback).
    pub due_at: Option<Micros>,
    pub used: Used,
    /// A callback: it goes back to the one who made the call.
    pub to_caller: bool,
}

/// The retry kind a settled attempt's `reason` used, to undo it when a
/// later disposition decides again.
pub fn kind_used(reason: &str) -> Option<Kind> {
    reason.strip_prefix("retry_").and_then(Kind::parse)
}

/// The attempt's outcome for the retry policy; `None` for outcomes that
/// are not a call (dialing, skipped, cancelled).
pub fn policy_outcome(outcome: CallAttemptOutcome) -> Option<Outcome> {
    Some(match outcome {
        CallAttemptOutcome::Answered => Outcome::Answered,
        CallAttemptOutcome::Busy => Outcome::Busy,
        CallAttemptOutcome::NoAnswer => Outcome::NoAnswer,
        CallAttemptOutcome::Failed => Outcome::Failed,
        CallAttemptOutcome::InvalidNumber => Outcome::InvalidNumber,
        CallAttemptOutcome::Dialing
        | CallAttemptOutcome::Skipped
        | CallAttemptOutcome::Cancelled => {
            return None;
        }
    })
}

/// What `outcome` (with the disposition's `verdict`) makes of a task whose
/// counters were `used` before the attempt.
pub fn decide(
    policy: &RetryPolicy,
    outcome: Outcome,
    verdict: Verdict,
    used: Used,
    now: Micros,
) -> Decision {
    if let (Outcome::Answered, Verdict::Callback(at)) = (outcome, verdict) {
        return Decision {
            state: CallTaskState::Queued,
            reason: "callback",
            due_at: Some(at),
            used,
            to_caller: true,
        };
    }
    let completes = verdict != Verdict::NotCompleted;
    let done = |state, reason| Decision {
        state,
        reason,
        due_at: None,
        used,
        to_caller: false,
    };
    match after_attempt(policy, outcome, completes, used, now) {
        Next::Completed => done(CallTaskState::Completed, "completed"),
        Next::Dropped => done(CallTaskState::Dropped, "invalid_number"),
        Next::GaveUp { kind } => done(CallTaskState::GaveUp, gave_up_reason(kind)),
        Next::Retry { at, kind } => Decision {
            state: CallTaskState::Queued,
            reason: retry_reason(kind),
            due_at: Some(at),
            used: used.plus(kind),
            to_caller: false,
        },
    }
}

fn retry_reason(kind: Kind) -> &'static str {
    match kind {
        Kind::Busy => "retry_busy",
        Kind::NoAnswer => "retry_no_answer",
        Kind::Failed => "retry_failed",
        Kind::NotCompleted => "retry_not_completed",
    }
}

fn gave_up_reason(kind: Kind) -> &'static str {
    match kind {
        Kind::Busy => "gave_up_busy",
        Kind::NoAnswer => "gave_up_no_answer",
        Kind::Failed => "gave_up_failed",
        Kind::NotCompleted => "gave_up_not_completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::seconds;

    const NOW: Micros = 1_000_000_000_000;

    #[test]
    fn a_reason_names_the_retry_it_used_so_a_later_disposition_can_undo_it() {
        let p = RetryPolicy::default();
        let d = decide(
            &p,
            Outcome::Answered,
            Verdict::NotCompleted,
            Used::default(),
            NOW,
        );
        assert_eq!(d.state, CallTaskState::Queued);
        assert_eq!(d.used.not_completed, 1);
        assert_eq!(kind_used(d.reason), Some(Kind::NotCompleted));
        assert_eq!(d.used.minus(Kind::NotCompleted), Used::default());
        let done = decide(&p, Outcome::Answered, Verdict::None, Used::default(), NOW);
        assert_eq!(
            (done.state, done.reason),
            (CallTaskState::Completed, "completed")
        );
        assert_eq!(kind_used(done.reason), None);
    }

    #[test]
    fn a_callback_returns_to_the_caller_at_its_time_without_a_retry() {
        let p = RetryPolicy::default();
        let at = NOW + seconds(7200);
        let d = decide(
            &p,
            Outcome::Answered,
            Verdict::Callback(at),
            Used::default(),
            NOW,
        );
        assert_eq!(d.due_at, Some(at));
        assert!(d.to_caller);
        assert_eq!(d.used, Used::default());
        // Only an answered call can ask for one.
        let busy = decide(
            &p,
            Outcome::Busy,
            Verdict::Callback(at),
            Used::default(),
            NOW,
        );
        assert_eq!(busy.reason, "retry_busy");
    }

    #[test]
    fn a_spent_budget_gives_up_and_an_invalid_number_drops() {
        let p = RetryPolicy::default();
        let spent = Used {
            busy: p.busy.max_retries,
            ..Used::default()
        };
        let d = decide(&p, Outcome::Busy, Verdict::None, spent, NOW);
        assert_eq!((d.state, d.reason), (CallTaskState::GaveUp, "gave_up_busy"));
        let d = decide(
            &p,
            Outcome::InvalidNumber,
            Verdict::None,
            Used::default(),
            NOW,
        );
        assert_eq!(d.state, CallTaskState::Dropped);
    }
}
