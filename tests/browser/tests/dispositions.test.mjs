// The disposition catalogue and the contact and call settings, on the
// administration pages: an admin adds a disposition (a bad code is refused
// next to its field), renames and archives one, and sets the contact
// visibility and private calls; a manager gets the 403 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText, alertText, assertAdminNavCurrent } from "../lib/admin.mjs";

let server;
let browser;
let admin;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  await admin.createUser({ email: "mia@acme.example", name: "Mia Manager", role: "manager" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an admin adds, renames and archives dispositions", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/dispositions`);
  await assertAdminNavCurrent(page, "Dispositions");
  const count = (await admin.get("/v1/dispositions")).items.length;
  await page.getByLabel("Code (a-z, 0-9, _)").fill("Bad Code");
  await page.getByLabel("Label", { exact: true }).last().fill("Demo booked");
  assert.equal(await submit(page, "Add disposition"), 422);
  assert.ok((await page.locator("#err-code").textContent()).trim().length > 0);
  assert.equal((await admin.get("/v1/dispositions")).items.length, count);
  await assertAccessible(page);
  await screenshot(page, "dispositions-refused");

  await page.getByLabel("Code (a-z, 0-9, _)").fill("demo_booked");
  await page.locator("#d-reached").check();
  assert.equal(await submit(page, "Add disposition"), 200);
  assert.equal(await noticeText(page), "Created.");
  const added = (await admin.get("/v1/dispositions")).items.find((d) => d.code === "demo_booked");
  assert.equal(added.label, "Demo booked");
  assert.equal(added.reached, true);

  await page.locator("#l-demo_booked").fill("Demo scheduled");
  assert.equal(await submit(page, "Save demo_booked"), 200);
  assert.equal((await admin.get("/v1/dispositions")).items.find((d) => d.code === "demo_booked").label, "Demo scheduled");
  await page.locator("#a-wrong_number").check();
  assert.equal(await submit(page, "Save wrong_number"), 200);
  assert.equal((await admin.get("/v1/dispositions")).items.find((d) => d.code === "wrong_number").archived, true);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "dispositions");
  await page.context().close();
});

test("an admin sets contact visibility, private calls and presence", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/settings`);
  await assertAdminNavCurrent(page, "Contacts and calls");
  await page.getByLabel("Salespeople see").selectOption("own");
  assert.equal(await submit(page, "Save contact visibility"), 200);
  assert.equal((await admin.get("/v1/contact-settings")).visibility, "own");
  await page.getByLabel(/A call's user may mark it private/).check();
  assert.equal(await submit(page, "Save call settings"), 200);
  assert.equal((await admin.get("/v1/call-settings")).allow_private, true);
  // Presence: hide status texts from salespeople, away after 15 minutes.
  await page.getByLabel(/do not see their teammates' status texts/).check();
  await page.getByLabel(/Away after this many minutes/).fill("0");
  assert.equal(await submit(page, "Save presence settings"), 422);
  assert.match(await alertText(page), /Away after: between 1 and/);
  assert.deepEqual(await admin.get("/v1/presence-settings"), { hide_status_text: false });
  await page.getByLabel(/do not see their teammates' status texts/).check();
  await page.getByLabel(/Away after this many minutes/).fill("15");
  assert.equal(await submit(page, "Save presence settings"), 200);
  assert.deepEqual(await admin.get("/v1/presence-settings"), { hide_status_text: true, auto_away_after_secs: 900 });
  assert.equal(await page.getByLabel(/Away after this many minutes/).inputValue(), "15");
  await assertAccessible(page);
  await screenshot(page, "admin-settings");
  await page.context().close();
});

test("a manager gets the 403 page for the catalogue and the settings", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  for (const path of ["/admin/dispositions", "/admin/settings"]) {
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), 403);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  }
  await page.context().close();
});
