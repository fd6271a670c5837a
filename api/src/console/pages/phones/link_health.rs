//! What the server knows of a phone's link right now: whether a
//! connection (the phone's own, or an office relay's for a vendor phone)
//! is live on any node, and the line it last reported. Nothing here is
//! stored: when a phone was last connected is not kept, and a relay's own
//! trouble with a phone (a refused login, an unreachable address) stays in
//! the relay's log.

use chrono_tz::Tz;
use deskbind_core::ids::PhoneId;
use deskbind_core::relay::Line;
use deskbind_core::time::to_datetime;
use deskbind_core::wire::LineState;

use crate::console::time::local_time;
use crate::state::AppState;

#[derive(Debug)]
pub struct LinkHealth {
    pub online: bool,
    /// The reported line while online ("Idle", "Talking since ...").
    pub line: Option<String>,
}

/// The link of phone `id`, as the relay (and Redis) tell it.
pub async fn read(state: &AppState, id: PhoneId, zone: Tz) -> LinkHealth {
    let online = state.relay.online_among(&[id]).await.contains(&id);
    let line = if online {
        state.relay.lines_of(&[id]).await.remove(&id)
    } else {
        None
    };
    LinkHealth {
        online,
        line: line.map(|l| describe(l, zone)),
    }
}

fn describe(line: Line, zone: Tz) -> String {
    let state = match line.state {
        LineState::Idle => "Idle",
        LineState::Ringing => "Ringing",
        LineState::Dialing => "Dialing",
        LineState::Talking => "Talking",
        LineState::Held => "On hold",
    };
    match line.since {
        Some(since) => format!("{state} since {}", local_time(to_datetime(since), zone)),
        None => state.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_reads_with_its_start_in_the_viewers_zone() {
        let idle = Line {
            state: LineState::Idle,
            since: None,
        };
        assert_eq!(describe(idle, Tz::UTC), "Idle");
        let talking = Line {
            state: LineState::Talking,
            since: Some(1_800_000_000_000_000),
        };
        assert_eq!(
            describe(talking, Tz::Europe__Berlin),
            "Talking since 2027-01-15 09:00:00"
        );
    }
}
