//! What a phone reports outside its dial commands' states: a call ringing
//! in, which becomes the holder's `incoming_call` event. (Acks and call
//! reports of commands are [`super::dials::advance`].)

use super::app_events;
use super::{AfterCommit, Services};
use crate::db::DbConn;
use crate::ids::{OrgId, PhoneId, UserId};
use crate::repo::{RepoError, bindings};
use crate::time::{Micros, now_micros, to_datetime};
use crate::wire::AppEvent;

/// Tells the phone's holder (if any) that call `call_id` from `caller`
/// rings in: their event is written, then their streams wake.
pub async fn incoming_call(
    services: &Services,
    org: OrgId,
    phone: PhoneId,
    call_id: String,
    caller: String,
) -> Result<(), RepoError> {
    let now = now_micros();
    let holder = services
        .db
        .write(move |conn| incoming_event(conn, org, phone, call_id, caller, now))
        .await?;
    let mut after = AfterCommit::new();
    if let Some(user) = holder {
        after.wake_user(user);
    }
    after.run(services).await;
    Ok(())
}

/// Records `incoming_call` for the holder, if the phone has one.
fn incoming_event(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    call_id: String,
    caller: String,
    now: Micros,
) -> Result<Option<UserId>, RepoError> {
    let key = phone.to_string();
    let Some(holder) = bindings::holders(conn, std::slice::from_ref(&key))?
        .into_values()
        .next()
    else {
        return Ok(None);
    };
    let event = AppEvent::IncomingCall {
        phone_id: phone,
        call_id,
        from: caller,
        at: to_datetime(now),
    };
    app_events::record(
        conn,
        &org.to_string(),
        &holder.user_id.to_string(),
        &event,
        now,
    )?;
    Ok(Some(holder.user_id))
}
