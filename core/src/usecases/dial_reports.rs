//! What a phone reports outside its dial commands' states: a call ringing
//! in, which becomes the holder's `incoming_call` event with its screen pop
//! (docs/screen-pop.md). (Acks and call reports of commands are
//! [`super::dials::advance`].)

use super::contact_lookup::{Reader, lookup_in};
use super::{AfterCommit, Services, app_events, contact_links};
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
/// not popped. An unknown caller with a valid number becomes a
/// provisional contact owned by the holder, in the event's transaction, so
/// the pop already names a contact they can complete during the call.
/// Without an open app stream on any node, the pop also goes out as a
/// high-priority push, queued with the event, unless the holder is in DND.
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
    let Some(Pop {
        user,
        mut event,
        unknown,
    }) = pop
    else {
        return Ok(());
    };
    let push = !services.relay.app_streams().is_live(user).await;
    services
        .db
        .write(move |conn| {
            if let Some(number) = &unknown {
                provision_caller(conn, org, user, number, &mut event, now)?;
            }
            // Under DND the pop stays in the stream history but raises no
            // push (docs/presence.md).
            let push = push && !super::presence::holds_pushes_in(conn, &user.to_string(), now)?;
            record_pop(conn, org, user, &event, push, now)
        })
        .await?;
    let mut after = AfterCommit::new();
    after.wake_user(user);
    after.run(services).await;
    Ok(())
}

/// A screen pop to write: whose it is, the event, and the caller's number
/// when no contact has it yet.
struct Pop {
    user: UserId,
    event: AppEvent,
    unknown: Option<E164>,
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
) -> Result<Option<Pop>, RepoError> {
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
    let lookup = match &number {
        Some(number) => Some(lookup_in(
            conn,
            Reader { org, user, role },
            number.clone(),
            now,
        )?),
        None => None,
    };
    if lookup.as_ref().is_some_and(|found| found.blocked) {
        tracing::debug!(%phone, %user, call_id, "incoming call from a blocked number: no screen pop");
        return Ok(None);
    }
    // A contact the holder may not see is not unknown: it is only hidden.
    let unknown = match (&lookup, number) {
        (Some(found), Some(number)) if found.contact.is_none() => {
            let owned = contact_links::resolve(conn, org, &[number.as_str()])?;
            owned.is_empty().then_some(number)
        }
        _ => None,
    };
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
    Ok(Some(Pop {
        user,
        event,
        unknown,
    }))
}

/// Makes the unknown caller a provisional contact of the holder (or finds
/// the one a concurrent writer just made) and names it in the pop.
fn provision_caller(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    number: &E164,
    event: &mut AppEvent,
    now: Micros,
) -> Result<(), RepoError> {
    let row = contact_links::provision(conn, org, number, Some(user), now)?;
    // A contact someone else made for the number meanwhile may be hidden
    // from the holder: only their own is named.
    if row.owner_id != Some(user) {
        return Ok(());
    }
    if let AppEvent::IncomingCall { contact, score, .. } = event {
        *contact = Some(PopContact {
            id: row.id,
            name: row.name,
            company: row.company,
        });
        *score = Some(row.score);
    }
    Ok(())
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
