// The live board and the phone administration pages, end to end: an admin
// registers a phone on /admin/phones, reads its provisioning code from the
// page, the phone simulator provisions with it and stays connected, the
// admin grants and binds the phone to a salesperson on the page, opens
// /live, and a dial made through the JSON API as that salesperson appears
// on the board without a reload and walks through its states to its end,
// while the board's people show the salesperson busy, then available, then
// in DND once they set it in the app.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { startPhoneSim, recordBoardStates, recordedStates } from "../lib/live.mjs";

let server;
let browser;
let admin;
let sim;
const seller = { email: "sam@acme.example", name: "Sam Seller", password: "user-password-123" };

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  const team = await admin.createTeam("North");
  await admin.createUser({ email: seller.email, name: seller.name, role: "salesperson", teamIds: [team.id] });
});

after(async () => {
  await sim?.stop();
  await browser?.close();
  await server?.stop();
});

// The dial states in the order they may follow each other (final ones last).
const RANK = { queued: 0, delivered: 1, dialing: 2, ringing: 3, answered: 4, ended: 5, failed: 5, expired: 5, cancelled: 5 };

test("an admin sets up a phone on the page and a dial walks across the live board", async (t) => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);

  // Register the phone.
  await page.goto(server.url + "/admin/phones");
  assert.equal(await page.title(), "Phones · Administration · deskbind");
  await assertAccessible(page);
  await screenshot(page, "live-admin-phones-empty");
  await page.getByLabel("Label", { exact: true }).fill("Front desk");
  await page.getByLabel("Number", { exact: true }).fill("+49 30 1234567");
  await page.getByLabel("Extension").fill("12");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Register phone" }).click()]);
  const phoneUrl = new URL(page.url());
  assert.match(phoneUrl.pathname, /^\/admin\/phones\/[0-9a-f-]{36}$/);
  assert.match(await page.getByRole("status").textContent(), /Phone registered/);
  assert.equal(await page.locator("[data-credential]").textContent(), "Not provisioned");

  // Issue the code and read it from the page, as text and as a QR code.
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Issue a provisioning code" }).click()]);
  const code = (await page.locator("#provisioning-code").textContent()).trim();
  // Crockford-style base 32 in three groups (a code may have no digit).
  assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}$/);
  const qr = page.getByRole("img", { name: "QR code of the provisioning code" });
  assert.equal(await qr.evaluate((el) => el.tagName.toLowerCase()), "svg");
  assert.equal(await qr.evaluate((el) => el.hasAttribute("style") || !!el.querySelector("[style]")), false);
  await assertAccessible(page);
  await screenshot(page, "live-admin-phone-code");

  // The simulator provisions with it and stays connected.
  sim = startPhoneSim(server.url, code, ["--dial-ms", "300", "--ring-ms", "1500", "--talk-ms", "1500"]);
  await sim.waitFor(/phone ready/);
  await sim.waitFor(/no one holds this phone/);
  await page.goto(phoneUrl.href);
  assert.equal(await page.locator("[data-credential]").textContent(), "Provisioned");
  await page.locator(".facts").getByText("Online").waitFor();

  // Let the salesperson bind it, then bind it to them.
  await page.getByLabel(`${seller.name} (${seller.email})`).check();
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Save grants" }).click()]);
  assert.match(await page.getByRole("status").textContent(), /Grants saved/);
  await page.getByLabel("User", { exact: true }).selectOption({ label: `${seller.name} (${seller.email})` });
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Bind", exact: true }).click()]);
  assert.match(await page.getByRole("status").textContent(), /Phone bound/);
  assert.match(await page.locator("dd[data-holder]").textContent(), new RegExp(seller.name));
  await sim.waitFor(new RegExp(`bound.*${seller.name}`));
  await assertAccessible(page);
  await screenshot(page, "live-admin-phone-bound");

  // The list shows it online, held, provisioned.
  await page.goto(server.url + "/admin/phones");
  const row = page.locator("#phones tbody tr", { hasText: "Front desk" });
  assert.match(await row.textContent(), /Online[\s\S]*Sam Seller[\s\S]*Provisioned/);
  await assertAccessible(page);
  await screenshot(page, "live-admin-phones");

  // The live board: who holds the phone, then a dial walking through.
  await page.goto(server.url + "/live");
  assert.equal(await page.title(), "Live board · deskbind");
  const phoneRow = page.locator('#live-phones tr[data-phone="Front desk"]');
  assert.match(await phoneRow.locator("[data-holder]").textContent(), /Sam Seller/);
  await phoneRow.locator('[data-online="true"]').waitFor();
  await page.getByRole("status").filter({ hasText: "Live:" }).waitFor();
  await assertAccessible(page);
  await screenshot(page, "live-board-idle");
  await recordBoardStates(page);

  const sam = await Api.login(server.url, seller.email, seller.password);
  // Sam's presence on the board: available, busy while the call runs.
  const person = page.locator('#live-people tr[data-person="Sam Seller"]');
  await person.locator('[data-presence="available"]').waitFor();
  const sawBusy = person.locator('[data-presence="busy"]').waitFor({ timeout: 30_000 });
  // While the call runs the board says since when (from the phone's line).
  const sawSince = person.locator("td.call-since:not(:empty)").waitFor({ timeout: 30_000 });
  const placedAt = Date.now();
  const dial = await sam.post("/v1/dials", { number: "+1 650 253 0000" }, { headers: { "Idempotency-Key": "live-board-1" } });
  const dialRow = page.locator(`tr[data-dial-id="${dial.id}"]`);
  await dialRow.waitFor({ timeout: 10_000 });
  t.diagnostic(`the dial was on the board ${Date.now() - placedAt} ms after it was posted`);
  await dialRow.locator('[data-state="ended"]').waitFor({ timeout: 30_000 });
  await sim.waitFor(/call ended/);
  const { states, notReloaded } = await recordedStates(page, dial.id);
  t.diagnostic(`the board showed ${states.join(" → ")}`);
  assert.ok(notReloaded, "the board updated without a reload");
  for (const expected of ["ringing", "answered", "ended"]) {
    assert.ok(states.includes(expected), `the board showed ${expected}: ${states.join(" → ")}`);
  }
  for (let i = 1; i < states.length; i++) {
    assert.ok(RANK[states[i]] > RANK[states[i - 1]], `states only move forward: ${states.join(" → ")}`);
  }
  assert.match(await dialRow.textContent(), /Sam Seller[\s\S]*Front desk/);
  await sawBusy;
  await sawSince;
  await person.locator('[data-presence="available"]').waitFor({ timeout: 10_000 });
  await screenshot(page, "live-board-dial-ended");
  // Sam turns on DND in the app: the board shows it without a reload.
  await sam.put("/v1/me/presence", { state: "dnd", status_text: "Focus time" });
  await person.locator('[data-presence="dnd"]').waitFor({ timeout: 10_000 });
  assert.match(await person.textContent(), /Focus time/);
  assert.equal(await page.locator('[data-count-state="dnd"] strong').textContent(), "1");
  const { notReloaded: stillLive } = await recordedStates(page, dial.id);
  assert.ok(stillLive, "the presence change arrived without a reload");
  await assertAccessible(page);
  await screenshot(page, "live-board-people-dnd");
  assertNoProblems(page);
  await page.context().close();
});

test("a salesperson gets the 403 page on /live and its stream", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, seller.email, seller.password);
  const res = await page.goto(server.url + "/live");
  assert.equal(res.status(), 403);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  await assertAccessible(page);
  await screenshot(page, "live-board-forbidden");
  const stream = await page.evaluate(async () => (await fetch("/live/events")).status);
  assert.equal(stream, 403);
  // Nor may they open the phone administration.
  const phones = await page.goto(server.url + "/admin/phones");
  assert.equal(phones.status(), 403);
  await page.context().close();
});

test("a form on /admin/phones posted without the CSRF token is refused and registers nothing", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(server.url + "/admin/phones");
  const before = (await admin.get("/v1/phones")).items.length;
  const status = await page.evaluate(async () => {
    const res = await fetch("/admin/phones", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "label=Sneaky&number=%2B4930999999",
    });
    return res.status;
  });
  assert.equal(status, 403);
  assert.equal((await admin.get("/v1/phones")).items.length, before);
  // A bad number is the form again with the reason, nothing written.
  await page.getByLabel("Label", { exact: true }).fill("Broken");
  await page.getByLabel("Number", { exact: true }).fill("not a number");
  const [res] = await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Register phone" }).click()]);
  assert.equal(res.status(), 422);
  assert.match(await page.getByRole("alert").textContent(), /number/);
  assert.equal(await page.getByLabel("Label", { exact: true }).inputValue(), "Broken");
  assert.equal((await admin.get("/v1/phones")).items.length, before);
  await assertAccessible(page);
  await screenshot(page, "live-admin-phones-refused");
  // Another organisation's (or no) phone id is the 404 page.
  const missing = await page.goto(server.url + "/admin/phones/0190f2c4-0000-7000-8000-000000000000");
  assert.equal(missing.status(), 404);
  assertNoProblems(page);
  await page.context().close();
});
