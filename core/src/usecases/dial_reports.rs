//! What a phone reports outside its dial commands' states: a call ringing
//! in, which becomes the holder's `incoming_call` event with its screen pop
//! (docs/screen-pop.md). (Acks and call reports of commands are
//! [`super::dials::advance`].)

use super::contact_lookup::{Reader, lookup_in};
use super::{AfterCommit, Services, app_events};
use crate::db::DbConn;
use crate::domain::E164;
use crate::domain::push_message::screen_pop_message;
use crate::domain::{best_effort_e164, region_of};
use crate::ids::{OrgId, PhoneId, UserId};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, bindings, jobs, phones};
use crate::time::{Micros, now_micros, to_datetime};
use crate::wire::{AppEvent, PopContact};

/// Tells the phone's holder (if any) that call `call_id` from `caller`
/// rings in, with what they may know of the number: their event is
/// written, then their streams wake. A number blocked for the holder is
/// not popped. Without an open app stream on any node, the pop also goes
/// out as a high-priority push, queued with the event.
pub async fn incoming_call(
    services: &Services,
    org: OrgId,
    phone: PhoneId,
    call_id: String,
    caller: String,
) -> Result<(), RepoError> {
    let now = now_micros();
    // Read on the pool, not in the write: the pop is a snapshot of what the
    // holder may see now, and the writer stays free for others.
    let pop = services
        .db
        .run(move |conn| screen_pop(conn, org, phone, call_id, caller, now))
        .await?;
    let Some((user, event)) = pop else {
        return Ok(());
    };
    let push = !services.relay.app_streams().is_live(user).await;
    services
        .db
        .write(move |conn| record_pop(conn, org, user, &event, push, now))
        .await?;
    let mut after = AfterCommit::new();
    after.wake_user(user);
    after.run(services).await;
    Ok(())
}

/// The holder and their `incoming_call` event; `None` when the phone has no
/// holder or the number is blocked for them.
fn screen_pop(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    call_id: String,
    caller: String,
    now: Micros,
) -> Result<Option<(UserId, AppEvent)>, RepoError> {
    let key = phone.to_string();
    let Some(holder) = bindings::holders(conn, std::slice::from_ref(&key))?
        .into_values()
        .next()
    else {
        return Ok(None);
    };
    let user = holder.user_id;
    // National numbers are read in the phone's own region, as ingest does.
    let phone_row = phones::get(conn, org, phone)?;
    let from_e164 = best_effort_e164(&caller, region_of(&phone_row.number_e164));
    let number = from_e164
        .as_deref()
        .and_then(|n| E164::parse_international("from", n).ok());
    let role = users::get(conn, org, user, Visibility::Org)?.role()?;
    let lookup = match number {
        Some(number) => Some(lookup_in(conn, Reader { org, user, role }, number, now)?),
        None => None,
    };
    if lookup.as_ref().is_some_and(|found| found.blocked) {
        tracing::debug!(%phone, %user, call_id, "incoming call from a blocked number: no screen pop");
        return Ok(None);
    }
    let (contact, score, recent_calls) = match lookup {
        Some(found) => (
            found.contact.map(|c| PopContact {
                id: c.id,
                name: c.name,
                company: c.company,
            }),
            found.score,
            found.recent_calls,
        ),
        None => (None, None, Vec::new()),
    };
    let event = AppEvent::IncomingCall {
        phone_id: phone,
        call_id,
        from: caller,
        at: to_datetime(now),
        from_e164,
        contact,
        score,
        recent_calls,
    };
    Ok(Some((user, event)))
}

/// Writes the event, and the push when the app is not streaming.
fn record_pop(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    event: &AppEvent,
    push: bool,
    now: Micros,
) -> Result<(), RepoError> {
    let (org, user) = (org.to_string(), user.to_string());
    app_events::record(conn, &org, &user, event, now)?;
    if push && let Some(message) = screen_pop_message(event) {
        jobs::enqueue_push(conn, &org, &user, event.kind(), &message, now)?;
    }
    Ok(())
}
