//! The dial command state machine (docs/dialing.md). States only move
//! forward; a state reported twice changes nothing; final states never
//! change. Skipping ahead is allowed because a phone may lose its `ack` or
//! `ringing` report and send the next one.

use crate::wire::{CallState, DialState};

/// What applying a new state to a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Move to the new state.
    Apply,
    /// Already there: a repeated event; nothing changes.
    Repeat,
    /// Not allowed from the current state.
    Refuse,
}

fn rank(state: DialState) -> u8 {
    match state {
        DialState::Queued => 0,
        DialState::Delivered => 1,
        DialState::Dialing => 2,
        DialState::Ringing => 3,
        DialState::Answered => 4,
        DialState::Ended | DialState::Failed | DialState::Expired | DialState::Cancelled => 5,
    }
}

pub fn step(from: DialState, to: DialState) -> Step {
    if from == to {
        return Step::Repeat;
    }
    if from.is_final() {
        return Step::Refuse;
    }
    let allowed = match to {
        DialState::Queued => false,
        // Only a command that never reached the phone expires.
        DialState::Expired => from == DialState::Queued,
        // A call ends only once it was answered; before that it fails.
        DialState::Ended => from == DialState::Answered,
        DialState::Failed | DialState::Cancelled => true,
        DialState::Delivered | DialState::Dialing | DialState::Ringing | DialState::Answered => {
            rank(to) > rank(from)
        }
    };
    if allowed { Step::Apply } else { Step::Refuse }
}

/// The state a request to move a command to `to` really asks for: a
/// command still queued past its expiry must not be dialed, so whatever the
/// phone says about it first (an ack, a call report) expires it instead.
/// Cancelling stays cancelling.
pub fn target(from: DialState, to: DialState, past_expiry: bool) -> DialState {
    if from == DialState::Queued && past_expiry && to != DialState::Cancelled {
        DialState::Expired
    } else {
        to
    }
}

/// The command state a phone's call report moves to.
pub fn from_call_state(state: CallState) -> DialState {
    match state {
        CallState::Dialing => DialState::Dialing,
        CallState::Ringing => DialState::Ringing,
        CallState::Answered => DialState::Answered,
        CallState::Ended => DialState::Ended,
        CallState::Failed => DialState::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DialState as S;

    #[test]
    fn the_happy_path_moves_forward() {
        let path = [
            S::Queued,
            S::Delivered,
            S::Dialing,
            S::Ringing,
            S::Answered,
            S::Ended,
        ];
        for pair in path.windows(2) {
            assert_eq!(step(pair[0], pair[1]), Step::Apply, "{pair:?}");
        }
    }

    #[test]
    fn repeats_change_nothing_and_final_states_stay() {
        for &s in S::ALL {
            assert_eq!(step(s, s), Step::Repeat);
        }
        for &done in S::ALL.iter().filter(|s| s.is_final()) {
            for &to in S::ALL.iter().filter(|&&to| to != done) {
                assert_eq!(step(done, to), Step::Refuse, "{done} -> {to}");
            }
        }
    }

    #[test]
    fn backwards_and_impossible_moves_are_refused() {
        assert_eq!(step(S::Answered, S::Ringing), Step::Refuse);
        assert_eq!(step(S::Delivered, S::Queued), Step::Refuse);
        assert_eq!(step(S::Delivered, S::Expired), Step::Refuse);
        assert_eq!(step(S::Ringing, S::Ended), Step::Refuse);
    }

    #[test]
    fn lost_reports_may_be_skipped() {
        assert_eq!(step(S::Queued, S::Dialing), Step::Apply);
        assert_eq!(step(S::Delivered, S::Answered), Step::Apply);
        assert_eq!(step(S::Queued, S::Failed), Step::Apply);
        assert_eq!(step(S::Answered, S::Cancelled), Step::Apply);
    }

    #[test]
    fn a_queued_command_past_its_expiry_expires_instead() {
        assert_eq!(target(S::Queued, S::Delivered, true), S::Expired);
        assert_eq!(target(S::Queued, S::Cancelled, true), S::Cancelled);
        assert_eq!(target(S::Queued, S::Delivered, false), S::Delivered);
        assert_eq!(target(S::Delivered, S::Ringing, true), S::Ringing);
    }
}
