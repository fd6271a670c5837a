"""A power-mode call list worked to the end through the generated Python
bindings (module `deskbind`) and the real desk-phone simulator
(`deskbind-phone-sim`), against a live server.

An admin creates a power-mode list and imports 30 numbers (mixed formats,
one that cannot exist); the simulator provisions as a new desk phone with
an outcome scripted per number (answered, busy then answered, busy twice,
rejected, no answer, error, invalid number); a salesperson binds the phone,
opens the app's event stream and is available, and starts power mode the
documented way (`next`, then `dial`). The server then dials every task by
itself, retrying by the list's policy, until nothing is open. The list's
report and attempts must then say exactly what the script and the retry
policy imply, and the salesperson's stream must have carried a
`call_task` event for every dial and every outcome.

Managing lists is not in the SDK (it belongs to the console), so the admin
creates, imports and reads the report over plain HTTP with its token.
scripts/sdk-e2e starts the server, builds the simulator and runs this:

    DESKBIND_PHONE_SIM=target/debug/deskbind-phone-sim \\
        python3 tests/sdk/call_list_e2e.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
"""

import asyncio
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

import deskbind

from e2e import Events, MemoryStore, until_presence

# How long the whole list may take to run out. It takes about a minute:
# the retries wait the least delay the API allows (60 s).
DEADLINE = 150

# The list's retry policy: a busy line (or a rejected call) is tried once
# more; no answer and failures are not.
RETRY = {
    "busy": {"delay_secs": 60, "max_retries": 1},
    "no_answer": {"delay_secs": 60, "max_retries": 0},
    "failed": {"delay_secs": 60, "max_retries": 0},
}

# The rows imported, in order, and how the simulated phone answers each
# number: one outcome per call to it, the last repeating. Numbers are
# E.164 or national (the list's region is DE).
ROWS = [
    ("+49305550201", "busy,answered"),
    ("+49305550202", "busy,answered"),
    ("030 5550203", "busy,answered"),
    ("+49305550204", "busy,answered"),
    ("+49305550205", "busy"),
    ("+49 30 5550206", "busy"),
    ("+49305550207", "rejected,answered"),
    ("+49305550208", "rejected,answered"),
    ("+49305550209", "busy,error"),
    ("+49305550301", "no_answer"),
    ("+49305550302", "no_answer"),
    ("030 5550303", "no_answer"),
    ("+49305550401", "error"),
    ("+49305550402", "error"),
    ("+49305550501", "invalid_number"),
    ("+49305550502", "invalid_number"),
    ("+49 1", None),  # cannot exist: dropped at import, never dialled
] + [
    (f"+493055501{n:02d}" if n % 4 else f"030 55501{n:02d}", "answered")
    for n in range(1, 14)
]

# What the phone's outcome makes of an attempt (docs/call-lists.md,
# "Dialling and outcomes"), and the retry budget it draws on.
ATTEMPT_OUTCOME = {
    "answered": "answered",
    "busy": "busy",
    "rejected": "busy",
    "no_answer": "no_answer",
    "error": "failed",
    "invalid_number": "invalid_number",
}
ALL_OUTCOMES = ["answered", "busy", "cancelled", "dialing", "failed", "invalid_number", "no_answer", "skipped"]


def e164(number):
    digits = number.replace(" ", "")
    return "+49" + digits[1:] if digits.startswith("0") else digits


def expected_run(script):
    """The attempts one number gets (their outcomes, in order) and the
    task's final state, from its script and the retry policy."""
    if script is None:
        return [], "dropped"
    plays = script.split(",")
    used = collections.Counter()
    outcomes = []
    while True:
        outcome = ATTEMPT_OUTCOME[plays[min(len(outcomes), len(plays) - 1)]]
        outcomes.append(outcome)
        if outcome == "answered":
            return outcomes, "completed"
        if outcome == "invalid_number":
            return outcomes, "dropped"
        if used[outcome] < RETRY[outcome]["max_retries"]:
            used[outcome] += 1
            continue
        return outcomes, "gave_up"


class Http:
    """The admin's plain HTTP calls (routes the SDK leaves to the console)."""

    def __init__(self, base, store):
        self.base = base
        self.store = store

    def _call(self, method, path, body):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "authorization": f"Bearer {self.store.tokens.access_token}",
                "content-type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: {e.code} {e.read().decode()}") from None

    async def __call__(self, method, path, body=None):
        return await asyncio.to_thread(self._call, method, path, body)


class Simulator:
    """`deskbind-phone-sim` in the background; its log is kept and shown
    when the test fails."""

    def __init__(self, binary, base, code, outcomes_file, work):
        self.log_path = os.path.join(work, "sim.log")
        self.ready = threading.Event()
        env = dict(os.environ, NO_COLOR="1", DESKBIND_LOG="info", RUST_BACKTRACE="0")
        self.process = subprocess.Popen(
            [
                binary,
                "--server", base,
                "--code", code,
                "--save-credential", os.path.join(work, "phone.cred"),
                "--outcomes", outcomes_file,
                "--dial-ms", "50",
                "--ring-ms", "100",
                "--talk-ms", "300",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        with open(self.log_path, "w") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                if "phone ready" in line:
                    self.ready.set()

    async def until_ready(self, seconds=20):
        deadline = time.monotonic() + seconds
        while not await asyncio.to_thread(self.ready.wait, 0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the simulator did not get ready:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        try:
            with open(self.log_path) as f:
                tail = "".join(f.readlines()[-lines:])
        except OSError:
            tail = ""
        return f"{tail}(exit status: {self.process.poll()})"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class CallTaskEvents(deskbind.AppEventListener):
    """The salesperson's stream: `call_task` events kept, each arrival
    signalled to the loop (the wait below reads the report on each)."""

    def __init__(self, loop):
        self.loop = loop
        self.seen = []
        self.closed = None
        self.arrived = asyncio.Event()

    def on_event(self, event):
        if event.kind == "call_task":
            self.loop.call_soon_threadsafe(self._add, event.call_task)

    def on_closed(self, error):
        self.closed = error
        self.loop.call_soon_threadsafe(self.arrived.set)

    def _add(self, call_task):
        self.seen.append(call_task)
        self.arrived.set()

    async def next_arrival(self, seconds):
        try:
            await asyncio.wait_for(self.arrived.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self.arrived.clear()


async def all_attempts(http, list_id):
    items, cursor = [], None
    while True:
        query = f"?limit=100&cursor={cursor}" if cursor else "?limit=100"
        page = await http("GET", f"/v1/call-lists/{list_id}/attempts{query}")
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def main(base, admin_email, admin_password):
    loop = asyncio.get_running_loop()
    work = tempfile.mkdtemp()
    binary = os.environ["DESKBIND_PHONE_SIM"]

    # What the run must come to, from the script and the retry policy.
    runs = {e164(number): expected_run(script) for number, script in ROWS}
    assert len(ROWS) == 30 and len(runs) == 30
    want_states = collections.Counter(state for _, state in runs.values())
    want_outcomes = dict.fromkeys(ALL_OUTCOMES, 0)
    for outcomes, _ in runs.values():
        for outcome in outcomes:
            want_outcomes[outcome] += 1
    want_attempts = sum(len(outcomes) for outcomes, _ in runs.values())

    # The admin sets up: a salesperson, a desk phone and its code.
    admin_store = MemoryStore()
    admin = await deskbind.AppClient.open(base, admin_store)
    await admin.login(admin_email, admin_password)
    http = Http(base, admin_store)
    password = "correct-horse-battery"
    pat = await admin.create_user("pat@sdk.test", "Pat", "salesperson", password)
    phone = await admin.create_phone("+4930901299", "Power desk")
    await admin.set_phone_grants(phone.id, True, [])
    code = await admin.create_provisioning_code(phone.id)

    # A power-mode list for Pat, its numbers imported.
    created = await http("POST", "/v1/call-lists", {
        "name": "SDK power run",
        "mode": "power",
        "order": "import",
        "gap_secs": 0,
        "min_recall_gap_secs": 0,
        "region": "DE",
        "retry": RETRY,
        "pool": {"user_ids": [pat.id]},
    })
    list_id = created["id"]
    imported = await http("POST", f"/v1/call-lists/{list_id}/tasks", {
        "tasks": [{"number": number, "name": f"Lead {i}"} for i, (number, _) in enumerate(ROWS)],
    })
    assert (imported["created"], imported["dropped"]) == (29, 1), imported
    await http("PATCH", f"/v1/call-lists/{list_id}", {"version": created["version"], "state": "active"})

    # The simulator, with each number's outcomes.
    outcomes_file = os.path.join(work, "outcomes.csv")
    with open(outcomes_file, "w") as f:
        f.write("number,outcome\n# one outcome per call to the number, the last repeating\n")
        for number, script in ROWS:
            if script:
                f.write(f"{e164(number)},{script}\n")
    sim = Simulator(binary, base, code, outcomes_file, work)
    try:
        await sim.until_ready()
        await work_the_list(loop, base, http, sim, pat, phone, password, list_id)
    except BaseException:
        print(f"simulator log (tail):\n{sim.log_tail()}", file=sys.stderr)
        raise
    finally:
        sim.stop()

    report = await http("GET", f"/v1/call-lists/{list_id}/report")
    states = {k: v for k, v in report["tasks"].items() if v}
    assert states == dict(want_states), (states, dict(want_states))
    assert report["outcomes"] == want_outcomes, (report["outcomes"], want_outcomes)
    assert report["attempts"] == want_attempts, (report["attempts"], want_attempts)
    assert report["completed_at"], report
    assert [(u["user_id"], u["attempts"], u["answered"], u["skipped"]) for u in report["users"]] == [
        (pat.id, want_attempts, want_outcomes["answered"], 0)], report["users"]

    # The attempts, number by number, in the order they were made.
    attempts = await all_attempts(http, list_id)
    # Tasks page in import order: the rows' order.
    tasks = (await http("GET", f"/v1/call-lists/{list_id}/tasks?limit=100"))["items"]
    assert len(tasks) == len(ROWS), tasks
    number_of = {t["id"]: e164(number) for t, (number, _) in zip(tasks, ROWS)}
    made = collections.defaultdict(list)
    for a in attempts:
        assert a["user_id"] == pat.id and a.get("dial_id") and a.get("settled_at"), a
        made[number_of[a["task_id"]]].append(a["outcome"])
    assert dict(made) == {n: o for n, (o, _) in runs.items() if o}, dict(made)
    final = {number_of[t["id"]]: t["state"] for t in tasks}
    assert final == {n: state for n, (_, state) in runs.items()}, final
    print(f"sdk e2e: call list ok ({want_attempts} attempts over {len(ROWS)} tasks)")
    return attempts


async def work_the_list(loop, base, http, sim, pat, phone, password, list_id):
    # Pat signs in, takes the phone, opens the app's stream and is available.
    app = await deskbind.AppClient.open(base, MemoryStore())
    await app.login("pat@sdk.test", password)
    binding = await app.bind_phone(phone.id, False)
    assert (binding.user_id, binding.active) == (pat.id, True), binding
    events = CallTaskEvents(loop)
    subscription = await app.subscribe_events(None, events)
    await app.set_my_presence("available", None, None)
    me = await until_presence(app, lambda p: p.phone_online and p.app_connected and p.state == "available")
    assert me.state == "available", me

    # Power mode starts the documented way: the first task, then its dial.
    started = loop.time()
    nxt = await app.next_call_task(list_id)
    assert nxt.task is not None and nxt.task.number_e164 == e164(ROWS[0][0]), nxt
    dialled = await app.dial_call_task(nxt.task.id, None)
    assert (dialled.task.open_dial_id, dialled.dial.number) == (dialled.dial.id, e164(ROWS[0][0])), dialled

    # From here the server dials by itself. Each call_task event (or every
    # few seconds) the report is read, until nothing is open.
    deadline = started + DEADLINE
    while True:
        report = await http("GET", f"/v1/call-lists/{list_id}/report")
        if report.get("completed_at"):
            break
        if events.closed is not None:
            raise AssertionError(f"the event stream closed: {events.closed}")
        if loop.time() > deadline:
            raise AssertionError(f"the list did not run out within {DEADLINE} s: {report}")
        await events.next_arrival(5)
    took = loop.time() - started
    print(f"sdk e2e: the power-mode list ran out in {took:.1f} s")

    # Every attempt was announced on the stream when dialled and when
    # settled (the last may still be on its way).
    attempts = await all_attempts(http, list_id)
    want = {(a["id"], "dialing") for a in attempts} | {(a["id"], a["outcome"]) for a in attempts}
    stream_deadline = loop.time() + 10
    while True:
        seen = {(e.attempt_id, e.outcome) for e in events.seen if e.attempt_id}
        if seen == want or loop.time() > stream_deadline:
            break
        await events.next_arrival(1)
    assert seen == want, (sorted(want - seen), sorted(seen - want))
    assert all(e.task.list_id == list_id for e in events.seen), events.seen
    subscription.cancel()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    status = 0
    try:
        asyncio.run(main(*sys.argv[1:]))
    except BaseException:
        traceback.print_exc()
        status = 1
    # As tests/sdk/e2e.py: leave without finalizing the interpreter (the
    # SDK's runtime threads may still deliver a last callback), also when
    # the test failed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
