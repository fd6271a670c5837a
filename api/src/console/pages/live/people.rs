//! The board's people: each person in the viewer's scope with their
//! presence (docs/presence.md) and how many are in each state. Read
//! through the same use case as `GET /v1/presences`, so the board and the
//! API agree on scope and state.

use std::collections::HashMap;

use chrono_tz::Tz;
use deskbind_core::time::Micros;
use deskbind_core::usecases::presence::{self, Filter, Reader};
use deskbind_core::wire::{LineState, PresenceState};

use super::board::Viewer;
use crate::console::error::ConsoleResult;
use crate::console::time::local_time;
use crate::state::AppState;

/// People on one board; a larger scope sees the first ones and a note.
pub const MAX_PEOPLE: u32 = 200;

#[derive(Debug)]
pub struct BoardPerson {
    pub name: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub state_class: &'static str,
    pub line: Option<&'static str>,
    pub status_text: Option<String>,
    /// When their current call began (the line left idle), whether the
    /// app placed it, it was dialled by hand or it rang in.
    pub call_since: Option<String>,
    pub app: bool,
    pub phone: bool,
}

#[derive(Debug)]
pub struct StateCount {
    pub state: &'static str,
    pub label: &'static str,
    pub class: &'static str,
    pub count: usize,
}

#[derive(Debug)]
pub struct People {
    pub people: Vec<BoardPerson>,
    pub counts: Vec<StateCount>,
    pub truncated: bool,
}

const STATES: [PresenceState; 5] = [
    PresenceState::Available,
    PresenceState::Busy,
    PresenceState::Away,
    PresenceState::Dnd,
    PresenceState::Offline,
];

fn state_label(state: PresenceState) -> (&'static str, &'static str) {
    match state {
        PresenceState::Available => ("Available", "ok"),
        PresenceState::Busy => ("On a call", "warn"),
        PresenceState::Away => ("Away", ""),
        PresenceState::Dnd => ("Do not disturb", "bad"),
        PresenceState::Offline => ("Offline", ""),
    }
}

fn line_label(line: LineState) -> &'static str {
    match line {
        LineState::Idle => "Idle",
        LineState::Ringing => "Ringing",
        LineState::Dialing => "Dialing",
        LineState::Talking => "Talking",
        LineState::Held => "On hold",
    }
}

/// The people in the viewer's scope, times shown in `zone`.
pub async fn load(
    state: &AppState,
    viewer: &Viewer,
    zone: Tz,
    now: Micros,
) -> ConsoleResult<People> {
    let reader = Reader {
        org: viewer.org,
        user: viewer.user,
        role: viewer.role,
    };
    let page = presence::list(
        &state.services(),
        reader,
        Filter::default(),
        None,
        MAX_PEOPLE,
        now,
    )
    .await?;
    let mut tally: HashMap<PresenceState, usize> = HashMap::new();
    let mut people: Vec<BoardPerson> = page
        .items
        .into_iter()
        .map(|p| {
            *tally.entry(p.state).or_default() += 1;
            let (state_label, state_class) = state_label(p.state);
            let in_call = p.line_state.is_some_and(LineState::in_call);
            BoardPerson {
                call_since: in_call
                    .then_some(p.line_since)
                    .flatten()
                    .map(|at| local_time(at, zone)),
                name: p.display_name,
                state: p.state.as_str(),
                state_label,
                state_class,
                line: p.line_state.map(line_label),
                status_text: p.status_text,
                app: p.app_connected,
                phone: p.phone_online,
            }
        })
        .collect();
    // Who is free first, then by name: the order a manager scans in.
    let rank = |s: &str| STATES.iter().position(|x| x.as_str() == s);
    people.sort_by(|a, b| rank(a.state).cmp(&rank(b.state)).then(a.name.cmp(&b.name)));
    let counts = STATES
        .iter()
        .map(|s| {
            let (label, class) = state_label(*s);
            StateCount {
                state: s.as_str(),
                label,
                class,
                count: tally.get(s).copied().unwrap_or(0),
            }
        })
        .collect();
    Ok(People {
        people,
        counts,
        truncated: page.next_cursor.is_some(),
    })
}
