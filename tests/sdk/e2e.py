"""End-to-end through the generated Python bindings (module `deskbind`)
against a live server: an admin sets up; a phone provisions and connects; a
salesperson binds by NFC, dials (by the relay and by an NFC dial payload);
the phone reports the call, uploads its record through the offline queue
and its recording; the app syncs and downloads the recording, then sends a
call and recording the phone handed it (the NFC path). scripts/sdk-e2e starts the server and runs this.

    python3 tests/sdk/e2e.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
"""

import asyncio
import datetime
import json
import os
import struct
import sys
import tempfile
import threading
import uuid

import deskbind

TIMEOUT = 20


class MemoryStore(deskbind.TokenStore):
    """The app's secure storage, in memory."""

    def __init__(self):
        self.tokens = None
        self.saves = 0

    def load(self):
        return self.tokens

    def save(self, tokens):
        self.tokens = tokens
        self.saves += 1


class Inbox:
    """Hands callbacks (called on SDK threads) to the asyncio loop."""

    def __init__(self, loop):
        self.loop = loop
        self.queue = asyncio.Queue()

    def put(self, item):
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    async def next(self, what):
        try:
            return await asyncio.wait_for(self.queue.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {TIMEOUT} s") from None


class Commands(deskbind.PhoneCommandListener):
    def __init__(self, inbox):
        self.inbox = inbox

    def on_dial(self, command):
        self.inbox.put(("dial", command))

    def on_hangup(self, dial_id, reason):
        self.inbox.put(("hangup", dial_id))

    def on_holder(self, user_id, display_name):
        self.inbox.put(("holder", user_id))

    def on_refused(self, code, detail):
        self.inbox.put(("refused", code))


class Events(deskbind.AppEventListener):
    def __init__(self, inbox):
        self.inbox = inbox

    def on_event(self, event):
        self.inbox.put(event)

    def on_closed(self, error):
        self.inbox.put(("closed", error))


def wav(path, seconds=1):
    """A PCM WAV file: 8 kHz, mono, 16 bit."""
    rate, samples = 8000, 8000 * seconds
    data = b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(samples))
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(data))
    with open(path, "wb") as f:
        f.write(header + data)
    return header + data


async def expect(error_type, call):
    try:
        await call
    except error_type as e:
        return e
    raise AssertionError(f"expected {error_type.__name__}")


async def next_dial(commands):
    """The next dial command the phone gets (holder changes skipped)."""
    while True:
        kind, command = await commands.next("dial command")
        if kind == "dial":
            return command


async def dial_states(events, dial_id, last):
    """States of one dial from the app's stream, up to `last`."""
    seen = []
    while last not in seen:
        event = await events.next("dial event")
        if isinstance(event, tuple):
            raise AssertionError(f"event stream closed: {event}")
        if event.kind == "dial" and event.dial.id == dial_id:
            seen.append(event.dial.state)
    return seen


def pushes():
    """The messages the FCM stand-in (fcm-standin) delivered so far, oldest
    first, each with its device `token`."""
    out = []
    with open(os.environ["FCM_STANDIN_LOG"]) as f:
        for line in f:
            if line.startswith("delivery "):
                delivery = json.loads(line[len("delivery "):])
                out.append(dict(delivery["message"], token=delivery["device_token"]))
    return out


async def next_push(loop, kind, timeout=20.0):
    """The first accepted message of `kind` not returned before. The log
    is a file another process appends to, so this polls it."""
    seen = next_push.seen
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for i, message in enumerate(pushes()):
            if i not in seen and message["data"].get("type") == kind:
                seen.add(i)
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} push within {timeout} s: {pushes()}")


next_push.seen = set()


async def until_app_disconnected(app, timeout=60.0):
    """Waits until the server no longer counts an app stream of the user.
    The server notices a closed stream when a write to it fails: its
    keep-alive comes every 15 s, and the first write after the client left
    may still succeed, so this can take up to about 30 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await app.my_presence()).app_connected:
        if loop.time() > deadline:
            raise AssertionError("the server still counts a closed app stream")

async def until_presence(app, done, seconds=10):
    """Polls the caller's presence until `done` holds (the server learns a
    line from a phone frame, which the app cannot await)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        mine = await app.my_presence()
        if done(mine):
            return mine
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"presence stayed {mine}")
        await asyncio.sleep(0.05)


async def next_presence(inbox, user_id, state):
    """Reads the stream until a presence event says `user_id` is in `state`."""
    while True:
        event = await inbox.next(f"presence {state}")
        if isinstance(event, tuple):
            raise AssertionError(f"event stream closed: {event}")
        if event.kind == "presence" and event.presence.user_id == user_id and event.presence.state == state:
            return event.presence


async def main(base, admin_email, admin_password):
    loop = asyncio.get_running_loop()
    work = tempfile.mkdtemp()

    # An admin sets up: a salesperson, a desk phone, a provisioning code.
    admin = await deskbind.AppClient.open(base, MemoryStore())
    me = await admin.login(admin_email, admin_password)
    assert me.role == "admin", me
    password = "correct-horse-battery"
    sam = await admin.create_user("sam@sdk.test", "Sam", "salesperson", password)
    phone = await admin.create_phone("+4930901234", "Desk 1")
    await admin.set_phone_grants(phone.id, True, [])
    code = await admin.create_provisioning_code(phone.id)

    # The phone provisions and connects.
    queue_path = os.path.join(work, "records.json")
    device = await deskbind.PhoneClient.provision(base, code, queue_path)
    assert (await device.me()).id == phone.id
    commands = Inbox(loop)
    connection = await device.connect(Commands(commands))

    # The salesperson signs in (the session lands in the app's store) ...
    store = MemoryStore()
    app = await deskbind.AppClient.open(base, store)
    assert (await app.login("sam@sdk.test", password)).id == sam.id
    assert store.tokens is not None and store.tokens.access_token
    # ... and a client opened from that store is signed in too.
    again = await deskbind.AppClient.open(base, store)
    assert (await again.me()).id == sam.id

    # Bind by NFC: the phone's NDEF message, as the app's reader gets it.
    token = await device.binding_token()
    assert deskbind.decode_binding_token_ndef(token.ndef) == token.token
    binding = await app.bind_with_ndef(token.ndef, False)
    assert (binding.via, binding.user_id, binding.active) == ("nfc", sam.id, True), binding
    # The phone hears of its new holder (after the holder it had on connect).
    kind, holder = await commands.next("holder change")
    while (kind, holder) != ("holder", sam.id):
        kind, holder = await commands.next("holder change")

    # Errors arrive as DeskbindError variants.
    await expect(deskbind.DeskbindError.NotFound, app.get_call(str(uuid.uuid4())))
    refused = await expect(deskbind.DeskbindError.Validation, app.dial("not a number", None, None))
    assert refused.field == "number", refused
    used = await expect(deskbind.DeskbindError.Conflict, app.bind_with_token(token.token, False))
    assert used.code == "binding_token_used", used

    # Dial: the phone gets the command, acknowledges and reports the call.
    events = Inbox(loop)
    subscription = await app.subscribe_events(None, Events(events))
    dial = await app.dial("+4930555123", None, "sdk-e2e-1")
    command = await next_dial(commands)
    assert (command.dial_id, command.number) == (dial.id, "+4930555123")
    call_id = "call-1"
    connection.ack(command.dial_id)
    for state in ["dialing", "ringing", "answered", "ended"]:
        connection.report_call(call_id, command.dial_id, state, None)
    seen = await dial_states(events, dial.id, "ended")
    assert seen[-1] == "ended", seen
    assert (await app.get_dial(dial.id)).state == "ended"

    # Dial over NFC: the app hands the phone a signed payload; the phone
    # verifies it with its own key and dials it once, although the server
    # relays the same command to it too.
    keys_json = await device.fetch_dial_keys()
    tapped = await app.dial("+4930555124", None, None)
    offer = await app.dial_nfc(tapped.id)
    assert (offer.dial_id, offer.phone_id) == (tapped.id, phone.id), offer
    forged = bytearray(offer.ndef)
    forged[-10] = ord("A") if forged[-10] != ord("A") else ord("B")
    bad = await expect(deskbind.DeskbindError.Validation, connection.dial_ndef(bytes(forged)))
    assert (bad.code, bad.field) == ("nfc_dial_invalid", "ndef"), bad
    unreadable = await expect(deskbind.DeskbindError.Validation, connection.dial_payload("x.y.z"))
    assert unreadable.code == "nfc_dial_unreadable", unreadable
    verified = await connection.dial_ndef(offer.ndef)
    assert (verified.dial_id, verified.number) == (tapped.id, "+4930555124"), verified
    assert (await next_dial(commands)).dial_id == tapped.id
    connection.ack(tapped.id)
    connection.report_call("call-nfc", tapped.id, "failed", "busy")
    seen = await dial_states(events, tapped.id, "failed")
    assert seen == ["queued", "delivered", "failed"], seen
    subscription.cancel()
    # The next command the phone gets is the next dial, not the tapped one again.
    relayed = await app.dial("+4930555125", None, None)
    assert (await next_dial(commands)).dial_id == relayed.id
    connection.ack(relayed.id)
    await expect(deskbind.DeskbindError.Conflict, app.cancel_dial(tapped.id))

    # The record goes through the offline queue, which survives a restart.
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30)
    record = deskbind.CallRecordInput(
        call_id=call_id,
        direction="outbound",
        remote_number="+4930555123",
        local_number=None,
        started_at=started,
        answered_at=started + datetime.timedelta(seconds=4),
        ended_at=started + datetime.timedelta(seconds=25),
        result="answered",
        dial_id=dial.id,
    )
    assert await device.enqueue_call_records([record]) == 1
    restarted = deskbind.PhoneClient.with_credential(base, device.credential(), queue_path)
    assert await restarted.pending_call_records() == 1
    # Dial keys kept in storage let a restarted phone verify taps offline.
    await expect(deskbind.DeskbindError.Validation, restarted.restore_dial_keys("{}"))
    await restarted.restore_dial_keys(keys_json)
    assert (await restarted.verify_dial_ndef(offer.ndef)).dial_id == tapped.id
    outcomes = await restarted.flush_call_records()
    assert [(o.call_id, o.outcome) for o in outcomes] == [(call_id, "created")], outcomes
    assert await restarted.pending_call_records() == 0
    audio_path = os.path.join(work, "call-1.wav")
    audio = wav(audio_path)
    recording = await restarted.upload_recording(call_id, audio_path)
    assert (recording.format, recording.size_bytes) == ("wav", len(audio)), recording

    # The app syncs (keeping the cursor) and downloads the recording.
    page = await app.sync_calls(None, None)
    calls = [c for c in page.items if c.call_id == call_id]
    assert len(calls) == 1, page
    call = calls[0]
    assert (call.dial_id, call.user_id, call.direction) == (dial.id, sam.id, "outbound"), call
    assert call.recording is not None and call.recording.sha256 == recording.sha256
    later = await app.sync_calls(page.next_cursor, None)
    assert later.items == [] and not later.has_more, later
    saved = os.path.join(work, "downloaded.wav")
    assert await app.download_recording(call.id, saved) == len(audio)
    with open(saved, "rb") as f:
        assert f.read() == audio

    # The NFC path: the phone hands a call and its recording to the app,
    # which sends both on, the recording first; they link either way.
    handed_id = "call-handed"
    # Now: the user holds the phone (bound a moment ago, so not earlier).
    handed_start = datetime.datetime.now(datetime.timezone.utc)
    handed_path = os.path.join(work, "call-2.wav")
    handed_audio = wav(handed_path, seconds=2)
    handed = await app.upload_recording(phone.id, handed_id, handed_start, handed_path)
    assert (handed.format, handed.size_bytes, handed.duration_ms) == ("wav", len(handed_audio), 2000), handed
    handed_record = deskbind.CallRecordInput(
        call_id=handed_id,
        direction="inbound",
        remote_number="+4930555126",
        local_number=None,
        started_at=handed_start,
        answered_at=handed_start + datetime.timedelta(seconds=2),
        ended_at=handed_start + datetime.timedelta(seconds=9),
        result="answered",
        dial_id=None,
    )
    outcomes = await app.upload_call_records(phone.id, [handed_record])
    assert [o.outcome for o in outcomes] == ["created"], outcomes
    handed_call = [c for c in (await app.sync_calls(later.next_cursor, None)).items if c.call_id == handed_id]
    assert handed_call and handed_call[0].recording.id == handed.id, handed_call
    # A call from before the user held the phone is not theirs to send.
    long_ago = started - datetime.timedelta(days=3)
    refused = await expect(
        deskbind.DeskbindError.Forbidden,
        app.upload_recording(phone.id, "call-before", long_ago, handed_path),
    )
    assert refused.code == "not_your_call", refused

    # Review: statistics per user and day, and the organisation's policies.
    stats = await app.call_stats(deskbind.CallFilter(user_id=sam.id), "Europe/Berlin")
    assert stats.time_zone == "Europe/Berlin", stats
    assert [(r.user_id, r.calls, r.answered, r.talk_secs) for r in stats.items] == [(sam.id, 2, 2, 28)], stats
    policy = await app.binding_policy()
    assert policy.updated_at is None and policy.max_phones_per_user >= 1, policy
    assert (await app.dial_policy()).blocked_prefixes == []

    # Screen pop: the caller of the handed call is a contact; when they
    # call again, the app's stream pops the contact, its score and the
    # salesperson's last calls with the number; then the new record of the
    # call arrives on the stream as a `call_record` event.
    # The handed call's unknown caller became a provisional contact; the
    # salesperson completes it.
    found = await app.lookup_contact("+4930555126", None)
    assert found.contact is not None and found.contact.source == "auto", found
    assert found.contact.owner_id == sam.id, (found.contact, sam.id)
    assert not found.blocked, found
    contact = await app.update_contact(
        found.contact.id,
        deskbind.ContactUpdateInput(name="Dana Client", company="Client GmbH"),
    )
    assert contact.source == "auto" and contact.score == found.score, contact
    pops = Inbox(loop)
    pop_subscription = await app.subscribe_events(None, Events(pops))
    connection.incoming("call-pop", "+4930555126")
    pop = await pops.next("screen pop")
    while isinstance(pop, tuple) or pop.kind != "incoming_call":
        if isinstance(pop, tuple):
            raise AssertionError(f"event stream closed: {pop}")
        pop = await pops.next("screen pop")
    ring = pop.incoming_call
    assert (ring.call_id, ring.from_e164, ring.contact_id, ring.contact_name) == (
        "call-pop", "+4930555126", contact.id, "Dana Client"), ring
    assert ring.score == contact.score, ring
    assert [c.call_id for c in ring.recent_calls] == [handed_id], ring.recent_calls
    pop_start = datetime.datetime.now(datetime.timezone.utc)
    pop_record = deskbind.CallRecordInput(
        call_id="call-pop",
        direction="missed",
        remote_number="+4930555126",
        local_number=None,
        started_at=pop_start,
        answered_at=None,
        ended_at=pop_start + datetime.timedelta(seconds=5),
        result="no_answer",
        dial_id=None,
    )
    assert [o.outcome for o in await app.upload_call_records(phone.id, [pop_record])] == ["created"]
    announced = await pops.next("call_record event")
    while isinstance(announced, tuple) or announced.kind != "call_record":
        if isinstance(announced, tuple):
            raise AssertionError(f"event stream closed: {announced}")
        announced = await pops.next("call_record event")
    assert (announced.call_record.change, announced.call_record.record.call_id) == (
        "created", "call-pop"), announced
    pop_subscription.cancel()

    # Push registration.
    device_info = await app.register_push_device("android", "fcm-token-sdk-e2e-123456")
    assert device_info.token_hint == "123456"

    # Presence. With no app stream open, a call ringing in is pushed ...
    waited = loop.time()
    await until_app_disconnected(app)
    print(f"sdk e2e: the server let go of the closed stream after {loop.time() - waited:.1f} s")
    connection.incoming("call-pushed", "+4930555127")
    pushed = await next_push(loop, "incoming_call")
    assert (pushed["token"], pushed["data"]["call_id"]) == ("fcm-token-sdk-e2e-123456", "call-pushed"), pushed
    # ... but under DND it raises no push, although the pop is in the
    # stream's history; the user's own digests still go out. The admin
    # follows presence on their own stream and sees the DND come.
    watch = Inbox(loop)
    watch_subscription = await admin.subscribe_events_with_presence(None, Events(watch))
    me_now = await app.set_my_presence("dnd", "In a meeting", None)
    assert (me_now.state, me_now.chosen, me_now.status_text) == ("dnd", "dnd", "In a meeting"), me_now
    seen_dnd = await next_presence(watch, sam.id, "dnd")
    assert seen_dnd.status_text == "In a meeting", seen_dnd
    history_from = announced.seq
    connection.incoming("call-quiet", "+4930555128")
    history = Inbox(loop)
    history_subscription = await app.subscribe_events(history_from, Events(history))
    quiet = await history.next("pop in the history")
    while isinstance(quiet, tuple) or quiet.kind != "incoming_call" or quiet.incoming_call.call_id != "call-quiet":
        if isinstance(quiet, tuple):
            raise AssertionError(f"event stream closed: {quiet}")
        quiet = await history.next("pop in the history")
    assert await app.request_push() == 0
    digest = await next_push(loop, "digest")
    assert digest["token"] == "fcm-token-sdk-e2e-123456", digest
    calls_pushed = [m["data"].get("call_id") for m in pushes() if m["data"].get("type") == "incoming_call"]
    assert calls_pushed == ["call-pushed"], calls_pushed
    # The user's own dial goes through under DND; the line shows the call.
    own = await app.dial("+4930555129", None, "sdk-e2e-dnd")
    own_command = await next_dial(commands)
    assert own_command.dial_id == own.id
    connection.ack(own.id)
    for state in ["dialing", "ringing", "answered"]:
        connection.report_call("call-dnd", own.id, state, None)
    assert (await dial_states(history, own.id, "answered"))[-1] == "answered"
    me_now = await app.my_presence()
    assert (me_now.state, me_now.line_state) == ("dnd", "talking"), me_now
    # Out of DND while the call runs: busy; when it ends: available.
    me_now = await app.set_my_presence("available", None, None)
    assert (me_now.state, me_now.line_state, me_now.phone_online) == ("busy", "talking", True), me_now
    connection.report_call("call-dnd", own.id, "ended", None)
    assert (await dial_states(history, own.id, "ended"))[-1] == "ended"
    me_now = await app.my_presence()
    assert (me_now.state, me_now.line_state) == ("available", "idle"), me_now
    # The admin saw it end (and nothing older is left to read).
    await next_presence(watch, sam.id, "available")
    team_view = await admin.list_presences(None, None, None, None)
    assert [p.state for p in team_view.items if p.user_id == sam.id] == ["available"], team_view
    history_subscription.cancel()

    # The push schedule.
    schedule = await app.set_push_schedule(
        deskbind.PushScheduleRule(daily_at="17:30", every_minutes=None, on_missed_call=True, on_new_records=False)
    )
    assert (schedule.source, schedule.rule.daily_at) == ("custom", "17:30"), schedule
    # The push cursor starts at registration: the call above is not news.
    assert await app.request_push() == 0

    # The phone's own line_state frames move the presence too, and the
    # admin's stream hears each change.
    connection.line_state("talking")
    assert (await next_presence(watch, sam.id, "busy")).line_state == "talking"
    await until_presence(app, lambda p: p.state == "busy")
    connection.line_state("idle")
    assert (await next_presence(watch, sam.id, "available")).line_state == "idle"
    await until_presence(app, lambda p: p.state == "available")
    watch_subscription.cancel()
    seen = await app.list_presences(None, None, None, None)
    assert [p.user_id for p in seen.items] == [sam.id], seen

    connection.close()
    await app.logout()
    assert store.tokens is None
    await expect(deskbind.DeskbindError.Unauthorized, app.me())
    print("sdk e2e: ok")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main(*sys.argv[1:]))
    # Leave without finalizing the interpreter. During finalization Python
    # ends (pthread_exit) any native thread that calls into it, and the
    # SDK's runtime threads may still deliver a last callback then (a
    # cancelled stream's on_closed, a closing link); the forced unwind
    # through Rust frames aborts the process ("FATAL: exception not
    # rethrown") after the test has passed. Apps on Android and iOS never
    # finalize an interpreter, so this is the test harness's concern only.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
