// The team statistics page: a manager reads the figures of calls seeded
// through the JSON API, in their own time zone; a salesperson sees only
// their own; charts are drawn; an empty period says so.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { personWithPhone, callRecord, uploadCalls, duration, clock, weekdayHour } from "../lib/stats.mjs";

const ZONE = "Europe/Berlin";

let server;
let browser;
let team;
let manager;
let anna;
let ben;
const seeded = [];

before(async () => {
  server = await startServer();
  browser = await launch();
  const admin = await Api.login(server.url, server.admin.email, server.admin.password);
  team = await admin.createTeam("Inside sales");
  const other = await admin.createTeam("Field sales");
  manager = await personWithPhone(admin, server.url, {
    email: "mia@acme.example", name: "Mia Manager", role: "manager", teamIds: [team.id], timeZone: ZONE, number: "+4930555100",
  });
  anna = await personWithPhone(admin, server.url, {
    email: "anna@acme.example", name: "Anna Alder", teamIds: [team.id], timeZone: ZONE, number: "+4930555101",
  });
  ben = await personWithPhone(admin, server.url, {
    email: "ben@acme.example", name: "Ben Brook", teamIds: [team.id], timeZone: ZONE, number: "+4930555102",
  });
  // Someone outside the manager's teams, whose calls must not show.
  const olga = await personWithPhone(admin, server.url, {
    email: "olga@acme.example", name: "Olga Other", teamIds: [other.id], timeZone: ZONE, number: "+4930555103",
  });
  // Every phone is bound now: calls start after this instant and before
  // the uploads (a few milliseconds apart, all today).
  const t0 = Date.now();
  const at = (ms) => new Date(t0 + ms);
  const annas = [
    callRecord({ id: "a1", at: at(10), direction: "outbound", number: "+4930111001", talk: 120 }),
    callRecord({ id: "a2", at: at(20), direction: "outbound", number: "+4930111002", result: "no_answer" }),
    callRecord({ id: "a3", at: at(30), direction: "inbound", number: "+4930111003", talk: 60 }),
    // Called back by Ben below: not counted as missed-not-called-back.
    callRecord({ id: "a4", at: at(40), direction: "missed", number: "+4930111004" }),
    // Never called back.
    callRecord({ id: "a5", at: at(50), direction: "missed", number: "+4930111005" }),
  ];
  const bens = [
    callRecord({ id: "b1", at: at(60), direction: "outbound", number: "+4930111004", talk: 300 }),
    callRecord({ id: "b2", at: at(70), direction: "outbound", number: "+4930111006", talk: 240 }),
    callRecord({ id: "b3", at: at(80), direction: "missed", number: "+4930111007" }),
  ];
  await uploadCalls(anna.phone, annas);
  await uploadCalls(ben.phone, bens);
  await uploadCalls(olga.phone, [callRecord({ id: "o1", at: at(90), direction: "outbound", number: "+4930111008", talk: 30 })]);
  seeded.push(...[...annas, ...bens].map((r) => new Date(r.started_at)));
  // The seeded records are visible to the manager through the API too.
  const listed = await manager.api.get(`/v1/calls?team_id=${team.id}&limit=50`);
  assert.equal(listed.items.length, 8);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The figures of one person's summary row. */
async function rowOf(page, userId) {
  const row = page.locator(`table.stats-people tbody tr[data-user-id="${userId}"]`);
  const cell = (col) => row.locator(`[data-col="${col}"]`).textContent();
  return {
    name: await row.locator("th").textContent(),
    calls: await cell("calls"),
    answered: await cell("answered"),
    connectRate: await cell("connect-rate"),
    talkTotal: await cell("talk-total"),
    talkAverage: await cell("talk-average"),
    missed: await cell("missed"),
    first: await cell("first"),
    last: await cell("last"),
  };
}

async function leader(page, metric) {
  const card = page.locator(`.leader[data-metric="${metric}"]`);
  return {
    name: await card.locator(".leader-name").textContent(),
    value: await card.locator(".leader-value").textContent(),
    versus: await card.locator(".leader-versus").textContent(),
  };
}

test("a manager filters to their team and today and reads the seeded figures", async () => {
  const page = await newPage(browser, { timezoneId: ZONE });
  await signIn(page, server.url, manager.email, manager.password);
  await page.goto(`${server.url}/stats`);
  await page.getByLabel("Team").selectOption(team.id);
  await page.getByLabel("Period").selectOption("today");
  await Promise.all([page.waitForURL(/\/stats\?/), page.getByRole("button", { name: "Show" }).click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("team_id"), team.id);
  assert.equal(url.searchParams.get("period"), "today");
  assert.equal(await page.title(), "Statistics · deskbind");

  const names = await page.locator("table.stats-people tbody th").allTextContents();
  assert.deepEqual(names, ["Anna Alder", "Ben Brook"], "only the team's people with calls, by name");
  const a = await rowOf(page, anna.user.id);
  assert.deepEqual(a, {
    name: "Anna Alder",
    calls: "5",
    answered: "2",
    connectRate: "40 %",
    talkTotal: duration(180),
    talkAverage: duration(90),
    missed: "1",
    first: clock(seeded[0], ZONE),
    last: clock(seeded[4], ZONE),
  });
  const b = await rowOf(page, ben.user.id);
  assert.deepEqual(b, {
    name: "Ben Brook",
    calls: "3",
    answered: "2",
    connectRate: "67 %",
    talkTotal: duration(540),
    talkAverage: duration(270),
    missed: "1",
    first: clock(seeded[5], ZONE),
    last: clock(seeded[7], ZONE),
  });
  const total = page.locator("table.stats-people tfoot tr");
  assert.equal(await total.locator('[data-col="calls"]').textContent(), "8");
  assert.equal(await total.locator('[data-col="missed"]').textContent(), "2");

  // Leaders against the mean of the two.
  assert.deepEqual(await leader(page, "Most calls"), { name: "Anna Alder", value: "5", versus: "+25 % vs team average" });
  assert.deepEqual(await leader(page, "Best connect rate"), { name: "Ben Brook", value: "67 %", versus: "+25 % vs team average" });
  assert.deepEqual(await leader(page, "Most talk time"), { name: "Ben Brook", value: duration(540), versus: "+50 % vs team average" });

  // Calls per day: one bar (today) with the day's calls, answered stacked.
  const bars = page.locator("svg.chart-bars g.bar");
  assert.equal(await bars.count(), 1);
  assert.equal(await bars.first().getAttribute("data-calls"), "8");
  assert.equal(await bars.first().getAttribute("data-answered"), "4");
  assert.ok(Number(await bars.first().locator("rect.bar-answered").getAttribute("height")) > 0);
  // Heat map: 7 x 24 cells; the seeded calls' hours carry them.
  const cells = page.locator("svg.chart-heat rect.heat");
  assert.equal(await cells.count(), 7 * 24);
  const withData = await page.locator("svg.chart-heat rect.heat:not([data-count='0'])").count();
  const hours = new Set(seeded.map((d) => weekdayHour(d, ZONE).join(":")));
  assert.equal(withData, hours.size);
  const counted = await page.locator("svg.chart-heat rect.heat").evaluateAll((els) => els.reduce((n, e) => n + Number(e.dataset.count), 0));
  assert.equal(counted, 8);
  // The heat map's text alternative.
  await page.getByText("Calls by weekday and hour as a table").click();
  const [weekday, hour] = weekdayHour(seeded[0], ZONE);
  const tableRow = page.locator("details.heat-table tbody tr").nth(weekday);
  assert.ok(Number(await tableRow.locator("td").nth(hour).textContent()) > 0);

  // The per-day table has a row per person today.
  assert.equal(await page.locator("table.stats-days tbody tr").count(), 2);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "stats-manager-today");
  await page.context().close();
});

test("a manager without a filter sees their teams only, and an empty period says so", async () => {
  const page = await newPage(browser, { timezoneId: ZONE });
  await signIn(page, server.url, manager.email, manager.password);
  await page.goto(`${server.url}/stats?period=today`);
  const names = await page.locator("table.stats-people tbody th").allTextContents();
  assert.deepEqual(names, ["Anna Alder", "Ben Brook"], "Olga's team is not the manager's");
  const options = await page.locator("#team_id option").allTextContents();
  assert.deepEqual(options, ["All teams", "Inside sales"]);

  // Thirty local days: a bar for each, today's carrying the calls.
  await page.goto(`${server.url}/stats?period=last_30_days`);
  const bars = page.locator("svg.chart-bars g.bar");
  assert.equal(await bars.count(), 30);
  const busy = await bars.evaluateAll((els) => els.filter((e) => e.dataset.calls !== "0").map((e) => e.dataset.calls));
  assert.deepEqual(busy, ["8"]);
  assert.equal(await page.locator("svg.chart-bars g.bar").last().getAttribute("data-calls"), "8");
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "stats-last-30-days");

  await page.goto(`${server.url}/stats?period=yesterday`);
  await page.getByRole("status").filter({ hasText: "No calls in this period." }).waitFor();
  assert.equal(await page.locator("svg").count(), 0);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "stats-empty");

  // A custom range that ends before it starts is refused on the form.
  const res = await page.goto(`${server.url}/stats?period=custom&from=2026-05-10&until=2026-05-01`);
  assert.equal(res.status(), 422);
  assert.match(await page.getByRole("alert").textContent(), /must not be before/);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "stats-invalid-range");
  await page.context().close();
});

test("a salesperson sees only their own row, and another person's by URL is not found", async () => {
  const page = await newPage(browser, { timezoneId: ZONE });
  await signIn(page, server.url, anna.email, anna.password);
  await page.goto(`${server.url}/stats`);
  const names = await page.locator("table.stats-people tbody th").allTextContents();
  assert.deepEqual(names, ["Anna Alder"]);
  assert.equal(await page.locator("#user_id").count(), 0, "no person picker for a salesperson");
  // Callbacks count when made by someone the viewer may see: Anna does
  // not see Ben's calls, so for her both missed calls are open.
  assert.equal((await rowOf(page, anna.user.id)).missed, "2");
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "stats-salesperson");

  const res = await page.goto(`${server.url}/stats?user_id=${ben.user.id}`);
  assert.equal(res.status(), 404);
  await assertAccessible(page);
  await page.context().close();
});

test("the time per presence state shows the worker's samples of the people in view", async () => {
  const page = await newPage(browser, { timezoneId: ZONE });
  await signIn(page, server.url, server.admin.email, server.admin.password);
  // The embedded worker samples at its start and then once a minute: the
  // admin existed at the start and was offline (a console session is not
  // the app).
  const adminRow = page.locator('#presence-time tbody tr[data-person="Administrator"]');
  for (let tries = 0; (await adminRow.count()) === 0; tries++) {
    assert.ok(tries < 50, "the admin's presence minutes appear");
    await page.goto(`${server.url}/stats?period=this_week`);
  }
  const cells = await adminRow.first().locator("td.num").allTextContents();
  assert.equal(cells.length, 5);
  assert.match(cells[4], /^\d+:\d\d$/);
  assert.notEqual(cells[4], "0:00", "offline minutes counted");
  await assertAccessible(page);
  await page.context().close();

  // A salesperson sees only their own rows.
  const own = await newPage(browser, { timezoneId: ZONE });
  await signIn(own, server.url, anna.email, anna.password);
  await own.goto(`${server.url}/stats?period=this_week`);
  const people = await own.locator("#presence-time tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.person));
  assert.ok(people.every((p) => p === "Anna Alder"), people.join(", "));
  await own.context().close();
});
