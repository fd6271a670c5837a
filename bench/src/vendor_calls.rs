//! Handsets that place the calls they are told to, like a real phone whose
//! user gives up before an answer: on each dial request the handset
//! reports the outgoing call through its Action URLs at once and its end a
//! moment later. The relay's tracker then matches the call to its dial,
//! writes its state file and sends the frames and the call record, the
//! traffic a real office makes between dials.

use std::time::Duration;

use deskbind_vendor_emulator::{Command, EmulatedPhone, Handled, PhoneEvent};
use tokio::task::JoinSet;

/// How long each call rings before the handset gives it up.
pub const CALL_LENGTH: Duration = Duration::from_millis(500);

/// Follows every handset until dropped (the tasks are aborted with it).
#[derive(Debug)]
pub struct CallingHandsets {
    _tasks: JoinSet<()>,
}

pub fn follow(handsets: &[EmulatedPhone]) -> CallingHandsets {
    let mut tasks = JoinSet::new();
    for handset in handsets {
        tasks.spawn(follow_one(handset.clone()));
    }
    CallingHandsets { _tasks: tasks }
}

async fn follow_one(handset: EmulatedPhone) {
    let mut seen = handset.received().len();
    let mut calls = JoinSet::new();
    loop {
        let received = handset.wait_for_requests(seen + 1).await;
        for request in &received[seen..] {
            if let Handled::Done(Command::Dial(number)) = &request.handled {
                calls.spawn(place(handset.clone(), number.clone()));
            }
        }
        seen = received.len();
        while calls.try_join_next().is_some() {}
    }
}

async fn place(handset: EmulatedPhone, number: String) {
    let call = handset.new_call(&number);
    handset.report(PhoneEvent::Outgoing, &call).await;
    tokio::time::sleep(CALL_LENGTH).await;
    handset.report(PhoneEvent::Cancelled, &call).await;
}
