//! What happens to a call-list task after an attempt (decision 0031,
//! docs/call-lists.md): retried after a delay, completed, given up or
//! dropped. Busy, no answer and failed calls each have a delay and a
//! maximum number of retries; an answered call whose disposition does not
//! complete the task has a budget of its own ("reached but not
//! completed"), as newfies-dialer keeps two budgets. Without I/O.

use crate::time::{Micros, seconds};

/// Shortest delay before a retry: a number that was just busy is not
/// called again within the minute.
pub const MIN_DELAY_SECS: u32 = 60;
/// Longest delay: thirty days.
pub const MAX_DELAY_SECS: u32 = 30 * 24 * 3600;
/// Most retries of one kind.
pub const MAX_RETRIES: u32 = 20;

/// How an attempt ended, from the call record (or the dial command when
/// no call came back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Answered,
    Busy,
    NoAnswer,
    Failed,
    /// The network said the number does not exist.
    InvalidNumber,
}

/// The retry rule of one kind of outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub delay_secs: u32,
    /// Retries after the first attempt; 0: never retried.
    pub max_retries: u32,
}

impl Retry {
    /// Whether the values are inside the limits above (the error names
    /// what is wrong).
    pub fn check(self) -> Result<Self, String> {
        if !(MIN_DELAY_SECS..=MAX_DELAY_SECS).contains(&self.delay_secs) {
            return Err(format!(
                "delay_secs must be from {MIN_DELAY_SECS} to {MAX_DELAY_SECS}"
            ));
        }
        if self.max_retries > MAX_RETRIES {
            return Err(format!("max_retries must be at most {MAX_RETRIES}"));
        }
        Ok(self)
    }
}

/// A list's retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub busy: Retry,
    pub no_answer: Retry,
    pub failed: Retry,
    /// Answered, but the disposition does not complete the task.
    pub not_completed: Retry,
}

impl Default for RetryPolicy {
    /// Busy lines clear soon; an unanswered number is tried at another
    /// time of day; a reached callee who asked for later gets a day.
    fn default() -> Self {
        Self {
            busy: Retry {
                delay_secs: 600,
                max_retries: 3,
            },
            no_answer: Retry {
                delay_secs: 3600,
                max_retries: 3,
            },
            failed: Retry {
                delay_secs: 1800,
                max_retries: 2,
            },
            not_completed: Retry {
                delay_secs: 24 * 3600,
                max_retries: 1,
            },
        }
    }
}

/// Retries already used, per kind (the task's counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Used {
    pub busy: u32,
    pub no_answer: u32,
    pub failed: u32,
    pub not_completed: u32,
}

/// Which budget an outcome draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Busy,
    NoAnswer,
    Failed,
    NotCompleted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
            Self::NotCompleted => "not_completed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Busy, Self::NoAnswer, Self::Failed, Self::NotCompleted]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

impl Used {
    fn of(self, kind: Kind) -> u32 {
        match kind {
            Kind::Busy => self.busy,
            Kind::NoAnswer => self.no_answer,
            Kind::Failed => self.failed,
            Kind::NotCompleted => self.not_completed,
        }
    }

    /// The counters after one more retry of `kind`.
    pub fn plus(mut self, kind: Kind) -> Self {
        let slot = match kind {
            Kind::Busy => &mut self.busy,
            Kind::NoAnswer => &mut self.no_answer,
            Kind::Failed => &mut self.failed,
            Kind::NotCompleted => &mut self.not_completed,
        };
        *slot = slot.saturating_add(1);
        self
    }

    /// The counters before one retry of `kind` (undoing [`Used::plus`]).
    pub fn minus(mut self, kind: Kind) -> Self {
        let slot = match kind {
            Kind::Busy => &mut self.busy,
            Kind::NoAnswer => &mut self.no_answer,
            Kind::Failed => &mut self.failed,
            Kind::NotCompleted => &mut self.not_completed,
        };
        *slot = slot.saturating_sub(1);
        self
    }
}

impl RetryPolicy {
    fn rule(&self, kind: Kind) -> Retry {
        match kind {
            Kind::Busy => self.busy,
            Kind::NoAnswer => self.no_answer,
            Kind::Failed => self.failed,
            Kind::NotCompleted => self.not_completed,
        }
    }
}

/// The task's next step after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Due again at this time; the counter of `kind` goes up by one.
    Retry { at: Micros, kind: Kind },
    /// The callee was reached and the disposition completes the task.
    Completed,
    /// The budget of `kind` is spent.
    GaveUp { kind: Kind },
    /// The number cannot be reached at all.
    Dropped,
}

/// What follows an attempt that ended with `outcome` at `now`.
/// `completes`: for an answered call, whether its disposition completes
/// the task (an answered call without a disposition yet completes it: a
/// later disposition that does not may reopen it).
pub fn after_attempt(
    policy: &RetryPolicy,
    outcome: Outcome,
    completes: bool,
    used: Used,
    now: Micros,
) -> Next {
    let kind = match outcome {
        Outcome::InvalidNumber => return Next::Dropped,
        Outcome::Answered if completes => return Next::Completed,
        Outcome::Answered => Kind::NotCompleted,
        Outcome::Busy => Kind::Busy,
        Outcome::NoAnswer => Kind::NoAnswer,
        Outcome::Failed => Kind::Failed,
    };
    let rule = policy.rule(kind);
    if used.of(kind) >= rule.max_retries {
        return Next::GaveUp { kind };
    }
    Next::Retry {
        at: now + seconds(i64::from(rule.delay_secs)),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = 1_000_000_000_000;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            busy: Retry {
                delay_secs: 120,
                max_retries: 2,
            },
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn a_busy_number_is_retried_after_its_delay_up_to_its_maximum() {
        let p = policy();
        let first = after_attempt(&p, Outcome::Busy, false, Used::default(), NOW);
        assert_eq!(
            first,
            Next::Retry {
                at: NOW + seconds(120),
                kind: Kind::Busy
            }
        );
        let used = Used::default().plus(Kind::Busy);
        assert!(matches!(
            after_attempt(&p, Outcome::Busy, false, used, NOW),
            Next::Retry { .. }
        ));
        let spent = used.plus(Kind::Busy);
        assert_eq!(
            after_attempt(&p, Outcome::Busy, false, spent, NOW),
            Next::GaveUp { kind: Kind::Busy }
        );
    }

    #[test]
    fn each_outcome_draws_on_its_own_budget() {
        let p = policy();
        let spent_busy = Used::default().plus(Kind::Busy).plus(Kind::Busy);
        assert_eq!(
            after_attempt(&p, Outcome::NoAnswer, false, spent_busy, NOW),
            Next::Retry {
                at: NOW + seconds(3600),
                kind: Kind::NoAnswer
            }
        );
        assert_eq!(
            after_attempt(&p, Outcome::Answered, false, spent_busy, NOW),
            Next::Retry {
                at: NOW + seconds(24 * 3600),
                kind: Kind::NotCompleted
            }
        );
    }

    #[test]
    fn an_answered_call_that_completes_ends_the_task_and_an_invalid_number_is_dropped() {
        let p = policy();
        let used = Used::default();
        assert_eq!(
            after_attempt(&p, Outcome::Answered, true, used, NOW),
            Next::Completed
        );
        assert_eq!(
            after_attempt(&p, Outcome::InvalidNumber, false, used, NOW),
            Next::Dropped
        );
    }

    #[test]
    fn zero_retries_gives_up_at_once() {
        let p = RetryPolicy {
            failed: Retry {
                delay_secs: 60,
                max_retries: 0,
            },
            ..policy()
        };
        assert_eq!(
            after_attempt(&p, Outcome::Failed, false, Used::default(), NOW),
            Next::GaveUp { kind: Kind::Failed }
        );
    }

    #[test]
    fn limits_are_checked() {
        let ok = Retry {
            delay_secs: MIN_DELAY_SECS,
            max_retries: MAX_RETRIES,
        };
        assert_eq!(ok.check(), Ok(ok));
        for bad in [
            Retry {
                delay_secs: MIN_DELAY_SECS - 1,
                max_retries: 1,
            },
            Retry {
                delay_secs: MAX_DELAY_SECS + 1,
                max_retries: 1,
            },
            Retry {
                delay_secs: 600,
                max_retries: MAX_RETRIES + 1,
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
