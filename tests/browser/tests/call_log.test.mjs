// The call log in a real browser: a manager filters it to their team and a
// number, pages, opens a call and plays its recording (duration, seeking,
// skip, speed, download), exports the filtered CSV (the API's rows); a bad
// filter is a 400 page with the form; a salesperson of another team gets
// the 404 page for a call they may not see.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { wav, provisionedPhone, boundUser, reportCalls, uploadRecording, apiExport } from "../lib/calls.mjs";

let server;
let browser;
const org = {};
const PAGE = 3;
// Team North's calls to numbers containing SEARCH: more than two pages of PAGE.
const SEARCH = "555123";

before(async () => {
  server = await startServer();
  browser = await launch();
  const admin = await Api.login(server.url, server.admin.email, server.admin.password);
  org.admin = admin;
  org.north = await admin.createTeam("Team North");
  org.south = await admin.createTeam("Team South");
  const phoneNorth = await provisionedPhone(admin, server.url, "+493011100001", "North desk");
  const phoneSouth = await provisionedPhone(admin, server.url, "+493022200002", "South desk");
  org.manager = { email: "mia.manager@acme.example", password: "manager-password-123" };
  const manager = await admin.createUser({
    email: org.manager.email,
    name: "Mia Manager",
    role: "manager",
    teamIds: [org.north.id],
    password: org.manager.password,
    timeZone: "Europe/Berlin",
  });
  org.manager.api = await Api.login(server.url, org.manager.email, org.manager.password);
  org.manager.user = manager;
  org.anna = await boundUser(admin, server.url, {
    email: "anna.north@acme.example",
    name: "Anna North",
    teamIds: [org.north.id],
    phone: phoneNorth,
  });
  org.sven = await boundUser(admin, server.url, {
    email: "sven.south@acme.example",
    name: "Sven South",
    teamIds: [org.south.id],
    phone: phoneSouth,
  });
  const north = [];
  for (let i = 0; i < 7; i++) {
    north.push({ callId: `north-match-${i}`, number: `+4930${SEARCH}${10 + i}`, durationSecs: 20 + i });
  }
  for (let i = 0; i < 5; i++) {
    north.push({ callId: `north-other-${i}`, number: `+494099900${10 + i}`, direction: "inbound" });
  }
  north.push({ callId: "north-missed", number: `+4930${SEARCH}99`, direction: "missed", result: "no_answer" });
  await reportCalls(phoneNorth, new Date(org.anna.binding.started_at), north);
  await reportCalls(phoneSouth, new Date(org.sven.binding.started_at), [
    { callId: "south-1", number: `+4930${SEARCH}01` },
    { callId: "south-2", number: `+4930${SEARCH}02` },
  ]);
  org.audio = wav(25);
  await uploadRecording(phoneNorth, "north-match-3", org.audio);
  const calls = await org.manager.api.get(`/v1/calls?team_id=${org.north.id}&number=${SEARCH}&limit=200`);
  org.expected = calls.items;
  org.recorded = calls.items.find((c) => c.call_id === "north-match-3");
  assert.equal(org.expected.length, 8, "seven matching calls and the missed one");
  assert.ok(org.recorded.recording, "the recording is linked");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The call record ids in the table, top to bottom. */
function rowIds(page) {
  return page.locator("table.calls tbody tr td:first-child a").evaluateAll((links) =>
    links.map((a) => a.getAttribute("href").replace("/calls/", "")),
  );
}

test("a manager filters the log to their team and a number, pages, and exports the API's CSV", async () => {
  const page = await newPage(browser, { timezoneId: "America/New_York" });
  await signIn(page, server.url, org.manager.email, org.manager.password);
  assert.match(page.url(), /\/calls$/);
  assert.equal(await page.title(), "Call log · deskbind");
  // Everything the manager may see: team North's calls, none of South's.
  const all = await rowIds(page);
  assert.equal(all.length, 13);
  await assertAccessible(page);
  await screenshot(page, "call-log-all");

  // The team select offers only the manager's own team.
  const teams = await page.getByLabel("Team").locator("option").allTextContents();
  assert.deepEqual(teams, ["Any team", "Team North"]);

  await page.goto(`${server.url}/calls?limit=${PAGE}`);
  await page.getByLabel("Team").selectOption({ label: "Team North" });
  await page.getByLabel("Number contains").fill(SEARCH);
  await Promise.all([page.waitForURL(/number=/), page.getByRole("button", { name: "Show calls" }).click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("team_id"), org.north.id);
  assert.equal(url.searchParams.get("limit"), String(PAGE));
  const seen = [];
  for (let n = 1; ; n++) {
    const ids = await rowIds(page);
    assert.ok(ids.length > 0 && ids.length <= PAGE, `page ${n} has ${ids.length} rows`);
    seen.push(...ids);
    await assertAccessible(page);
    await screenshot(page, `call-log-page-${n}`);
    const next = page.getByRole("link", { name: "Next page" });
    if ((await next.count()) === 0) break;
    await Promise.all([page.waitForURL(/cursor=/), next.click()]);
    await page.getByRole("link", { name: "First page" }).waitFor();
  }
  assert.deepEqual(seen, org.expected.map((c) => c.id), "the pages walk the API's list in order");
  // Times show in the viewer's zone (the manager's profile zone), not the browser's.
  const last = org.expected[org.expected.length - 1];
  const berlin = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Europe/Berlin",
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).format(new Date(last.started_at));
  assert.equal(await page.locator("table.calls time").last().textContent(), berlin);
  await page.getByText("Days and times are in Europe/Berlin").waitFor();

  // Back to the first page, then export what the filter selects.
  await Promise.all([page.waitForURL((u) => !u.searchParams.has("cursor")), page.getByRole("link", { name: "First page" }).click()]);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  assert.equal(download.suggestedFilename(), "calls.csv");
  const csv = await readFile(await download.path(), "utf8");
  const expected = await apiExport(org.manager.api, { team_id: org.north.id, number: SEARCH });
  assert.equal(csv, expected, "the console's CSV is the API's for the same filter");
  assert.equal(csv.trim().split("\r\n").length, 1 + org.expected.length);
  assertNoProblems(page);
  await page.context().close();
});

test("presets, recording and duration filters narrow the log; a bad filter re-shows the form with 400", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, org.manager.email, org.manager.password);
  await page.getByLabel("When").selectOption({ label: "Today" });
  await page.getByLabel("Recording").selectOption({ label: "With a recording" });
  await Promise.all([page.waitForURL(/has_recording=true/), page.getByRole("button", { name: "Show calls" }).click()]);
  assert.deepEqual(await rowIds(page), [org.recorded.id]);
  assert.equal(await page.locator("table.calls tbody tr").first().getByText("Recorded").count(), 1);

  await page.goto(`${server.url}/calls?min_duration_secs=24&max_duration_secs=25&direction=outbound`);
  const durations = org.expected.filter((c) => c.duration_secs >= 24 && c.duration_secs <= 25).map((c) => c.id);
  assert.equal(durations.length, 2);
  assert.deepEqual(await rowIds(page), durations);

  // Last week holds none of today's calls.
  await page.goto(`${server.url}/calls?window=last_week`);
  assert.equal((await rowIds(page)).length, 0);
  await page.getByText("No calls match these filters").waitFor();

  const res = await page.goto(`${server.url}/calls?min_duration_secs=soon&number=${SEARCH}`);
  assert.equal(res.status(), 400);
  const alert = page.getByRole("alert");
  assert.match(await alert.textContent(), /min_duration_secs/);
  assert.equal(await page.getByLabel("Number contains").inputValue(), SEARCH, "the form keeps what was typed");
  await assertAccessible(page);
  await screenshot(page, "call-log-bad-filter");

  // Too few digits for a number search: the API's 422, as a form error.
  const short = await page.goto(`${server.url}/calls?number=%2B4%209`);
  assert.equal(short.status(), 422);
  assert.match(await page.getByRole("alert").textContent(), /number must contain at least 3 digits/);
  assert.equal(await page.getByLabel("Number contains").inputValue(), "+4 9", "the form keeps what was typed");
  assertNoProblems(page);

  const custom = await page.goto(`${server.url}/calls?from_date=2026-13-01`);
  assert.equal(custom.status(), 400);
  assertNoProblems(page);
  await page.context().close();
});

test("a manager opens a call and plays its recording: duration, seek, skip, speed, download", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, org.manager.email, org.manager.password);
  await page.goto(`${server.url}/calls?has_recording=true`);
  const ranges = [];
  page.on("response", (r) => {
    if (r.url().endsWith(`/calls/${org.recorded.id}/recording`)) ranges.push(r.status());
  });
  await Promise.all([page.waitForURL(new RegExp(`/calls/${org.recorded.id}$`)), page.locator("table.calls tbody tr td:first-child a").first().click()]);
  await page.getByRole("heading", { level: 1 }).waitFor();
  assert.match(await page.getByRole("heading", { level: 1 }).textContent(), /Outbound call, \+4930555123/);
  await page.getByText("north-match-3").waitFor();
  // Before anything is clicked: Tab order starts from the top of the page.
  await assertAccessible(page);

  const audio = page.locator("audio#player-audio");
  assert.equal(await audio.getAttribute("preload"), "metadata");
  const duration = await audio.evaluate(
    (el) =>
      new Promise((ok, fail) => {
        const done = () => ok(el.duration);
        if (el.readyState >= 1) done();
        el.addEventListener("loadedmetadata", done, { once: true });
        el.addEventListener("error", () => fail(new Error(`audio error ${el.error && el.error.code}`)), { once: true });
      }),
  );
  assert.ok(Number.isFinite(duration) && duration > 24 && duration < 26, `duration ${duration}`);

  // Skip +10 s seeks (the server answers the range the browser asks for).
  const seekedTo = (el) =>
    new Promise((ok) => el.addEventListener("seeked", () => ok(el.currentTime), { once: true }));
  const afterSkip = audio.evaluate(seekedTo);
  await page.getByRole("button", { name: "Forward 10 s" }).click();
  assert.ok((await afterSkip) >= 9.9, "skip forward moved the position");
  const afterBack = audio.evaluate(seekedTo);
  await page.getByRole("button", { name: "Back 10 s" }).click();
  assert.ok((await afterBack) < 1, "skip back returned to the start");

  await page.getByLabel("Speed").selectOption("1.5");
  assert.equal(await audio.evaluate((el) => el.playbackRate), 1.5);

  // Seek directly and play: the position moves on.
  const played = await audio.evaluate(
    (el) =>
      new Promise((ok, fail) => {
        el.currentTime = 12;
        el.addEventListener(
          "seeked",
          () => {
            const start = el.currentTime;
            const tick = () => {
              if (el.currentTime > start + 0.2) {
                el.removeEventListener("timeupdate", tick);
                el.pause();
                ok({ start, now: el.currentTime });
              }
            };
            el.addEventListener("timeupdate", tick);
            el.play().catch(fail);
          },
          { once: true },
        );
      }),
  );
  assert.ok(played.start >= 11.9 && played.now > played.start, JSON.stringify(played));
  assert.ok(ranges.includes(206), `a range was answered with 206: ${ranges}`);
  await screenshot(page, "call-detail");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download the recording" }).click()]);
  assert.match(download.suggestedFilename(), /\.wav$/);
  const saved = await readFile(await download.path());
  assert.ok(saved.equals(org.audio), "the download is the uploaded file");
  assertNoProblems(page);
  await page.context().close();
});

test("a salesperson of another team gets the 404 page for that call, and sees only their own", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, org.sven.email, org.sven.password);
  const own = await rowIds(page);
  assert.equal(own.length, 2, "only Sven's own calls");
  await assertAccessible(page);
  await screenshot(page, "call-log-salesperson");
  const teams = await page.getByLabel("Team").locator("option").allTextContents();
  assert.deepEqual(teams, ["Any team", "Team South"]);

  const res = await page.goto(`${server.url}/calls/${org.recorded.id}`);
  assert.equal(res.status(), 404);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not found");
  await assertAccessible(page);
  await screenshot(page, "call-detail-not-found");
  const audio = await page.request.get(`${server.url}/calls/${org.recorded.id}/recording`);
  assert.equal(audio.status(), 404, "nor its recording");
  const malformed = await page.goto(`${server.url}/calls/not-an-id`);
  assert.equal(malformed.status(), 404);
  // Filtering by another team's id gives nothing, not someone else's calls.
  await page.goto(`${server.url}/calls?team_id=${org.north.id}`);
  assert.equal((await rowIds(page)).length, 0);
  assertNoProblems(page);
  await page.context().close();
});
