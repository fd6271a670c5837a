//! What the server does with a frame from a phone, whichever way it came.
//! Every outcome is idempotent: a repeated ack or call event changes
//! nothing, so a phone may resend anything it is unsure about.

use deskbind_core::domain::dial_lifecycle::from_call_state;
use deskbind_core::ids::{DialId, OrgId, PhoneId};
use deskbind_core::repo::RepoError;
use deskbind_core::repo::dials::{DialRow, Scope};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::dials::{self as dialing, Moved};
use deskbind_core::usecases::{audit, dial_reports, presence};
use deskbind_core::wire::{
    CallState, DialFailure, DialState, FrameRefusal, HangupReason, LineState, PhoneFrame,
    ServerFrame,
};

use crate::state::AppState;

const MAX_CALL_ID: usize = 128;
const MAX_FROM: usize = 64;

/// The phone a frame came from.
#[derive(Debug, Clone, Copy)]
pub struct Sender {
    pub phone: PhoneId,
    pub org: OrgId,
}

fn refusal(code: &str, detail: impl Into<String>) -> FrameRefusal {
    FrameRefusal {
        code: code.into(),
        detail: detail.into(),
    }
}

fn internal(e: impl std::fmt::Display) -> FrameRefusal {
    tracing::error!(error = %e, "phone frame failed");
    refusal(
        "internal",
        "the server could not process the frame; send it again",
    )
}

/// Handles one frame; `Ok(Some(frame))` is a reply for the phone.
pub async fn handle(
    state: &AppState,
    from: Sender,
    frame: PhoneFrame,
) -> Result<Option<ServerFrame>, FrameRefusal> {
    match frame {
        PhoneFrame::Ack { command_id } => {
            let moved = advance(state, from, command_id, DialState::Delivered, None).await?;
            Ok(stopped(command_id, moved.row()))
        }
        PhoneFrame::CallEvent {
            call_id,
            command_id,
            state: call_state,
            result,
            at: _,
        } => {
            check_len("call_id", &call_id, MAX_CALL_ID)?;
            if (call_state == CallState::Failed) != result.is_some() {
                return Err(refusal(
                    "invalid_call_event",
                    "`result` is required with state `failed` and only then",
                ));
            }
            // Phones that never send `line_state` still make their holder busy.
            line(state, from, line_of_call(call_state)).await;
            let Some(command_id) = command_id else {
                // A call dialed by hand: call records (and their sync) carry it.
                tracing::debug!(phone = %from.phone, call_id, "call event without a command");
                return Ok(None);
            };
            let to = from_call_state(call_state);
            let moved = advance(state, from, command_id, to, result).await?;
            match (stopped(command_id, moved.row()), &moved) {
                (Some(hangup), _) => Ok(Some(hangup)),
                (None, Moved::Refused(row)) => Err(refusal(
                    "invalid_transition",
                    format!("the command is {} and cannot become {to}", row.state),
                )),
                (None, _) => Ok(None),
            }
        }
        PhoneFrame::Incoming {
            call_id,
            from: caller,
        } => {
            check_len("call_id", &call_id, MAX_CALL_ID)?;
            check_len("from", &caller, MAX_FROM)?;
            line(state, from, LineState::Ringing).await;
            dial_reports::incoming_call(&state.services(), from.org, from.phone, call_id, caller)
                .await
                .map_err(internal)?;
            Ok(None)
        }
        PhoneFrame::Pong => Ok(None),
        PhoneFrame::LineState { state: reported } => {
            line(state, from, reported).await;
            Ok(None)
        }
    }
}

/// The line a call event implies: a call dialing, ringing or answered
/// holds it; an ended or failed one frees it.
fn line_of_call(call: CallState) -> LineState {
    match call {
        CallState::Dialing => LineState::Dialing,
        CallState::Ringing => LineState::Ringing,
        CallState::Answered => LineState::Talking,
        CallState::Ended | CallState::Failed => LineState::Idle,
    }
}

/// Records the phone's line; its holder's presence is announced when it
/// changed.
async fn line(state: &AppState, from: Sender, line: LineState) {
    presence::line_changed(&state.services(), from.org, from.phone, line, now_micros()).await;
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), FrameRefusal> {
    if value.is_empty() || value.len() > max {
        return Err(refusal(
            "invalid_frame",
            format!("`{field}` must be 1 to {max} bytes"),
        ));
    }
    Ok(())
}

fn hangup(command_id: DialId, reason: HangupReason) -> ServerFrame {
    ServerFrame::Hangup { command_id, reason }
}

/// The hangup for a command that must not (or no longer) ring: an ack or a
/// report of one that expired or was cancelled meanwhile is answered so.
fn stopped(command_id: DialId, row: &DialRow) -> Option<ServerFrame> {
    match DialState::parse(&row.state) {
        Some(DialState::Expired) => Some(hangup(command_id, HangupReason::Expired)),
        Some(DialState::Cancelled) => Some(hangup(command_id, HangupReason::Cancelled)),
        _ => None,
    }
}

async fn advance(
    state: &AppState,
    from: Sender,
    id: DialId,
    to: DialState,
    failure: Option<DialFailure>,
) -> Result<Moved, FrameRefusal> {
    let scope = Scope::Phone(from.phone);
    let by = audit::by_phone(from.phone);
    match dialing::advance(&state.services(), scope, id, to, failure, by).await {
        Ok(moved) => Ok(moved),
        Err(RepoError::NotFound) => Err(refusal(
            "unknown_command",
            "no command with this id was sent to this phone",
        )),
        Err(e) => Err(internal(e)),
    }
}
