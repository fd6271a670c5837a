// A call's outcome on its page: the call's user picks "Call back" without
// a time (refused next to the callback field, nothing saved), then with
// one, adds notes and tags and reads the edit history; they mark the call
// private and their manager then sees it redacted, without the form.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText } from "../lib/admin.mjs";
import { personWithPhone, callRecord, uploadCalls } from "../lib/stats.mjs";

let server;
let browser;
let admin;
let manager;
let anna;
let callId;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  const team = await admin.createTeam("Inside sales");
  manager = await personWithPhone(admin, server.url, {
    email: "mia@acme.example", name: "Mia Manager", role: "manager", teamIds: [team.id], number: "+4930555400",
  });
  anna = await personWithPhone(admin, server.url, {
    email: "anna@acme.example", name: "Anna Alder", teamIds: [team.id], number: "+4930555401",
  });
  await admin.put("/v1/call-settings", { allow_private: true });
  await uploadCalls(anna.phone, [
    callRecord({ id: "c-out-1", at: new Date(), direction: "outbound", number: "+16502530042", talk: 42 }),
  ]);
  callId = (await anna.api.get("/v1/calls")).items[0].id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the call's user records the outcome; a callback needs its time", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, anna.email, anna.password);
  await page.goto(`${server.url}/calls/${callId}`);
  await page.getByLabel("Disposition", { exact: true }).selectOption({ label: "Call back (needs a callback time)" });
  await page.getByLabel("Notes").fill("Wants a quote");
  assert.equal(await submit(page, "Save outcome"), 422);
  assert.ok((await page.locator("#err-callback").textContent()).trim().length > 0);
  assert.equal(await page.getByLabel("Notes").inputValue(), "Wants a quote");
  assert.equal((await anna.api.get(`/v1/calls/${callId}`)).annotation_version, 0);
  await assertAccessible(page);
  await screenshot(page, "call-outcome-refused");

  await page.getByLabel(/^Callback/).fill("2031-01-15 09:30");
  await page.getByLabel("Tags (comma-separated)").fill("quote, q1");
  assert.equal(await submit(page, "Save outcome"), 200);
  assert.equal(await noticeText(page), "Saved.");
  const call = await anna.api.get(`/v1/calls/${callId}`);
  assert.equal(call.disposition.code, "callback");
  assert.equal(call.notes, "Wants a quote");
  assert.deepEqual(call.tags, ["quote", "q1"]);
  assert.equal(call.callback_at, "2031-01-15T09:30:00Z");
  const history = await page.locator("ol.history").textContent();
  assert.match(history, /Version 1/);
  assert.match(history, /notes: — → Wants a quote/);
  assert.match(history, /disposition_id: — → Call back/);
  assert.match(history, /tags: — → quote, q1/);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "call-outcome");

  await page.getByLabel(/Private: others see/).check();
  assert.equal(await submit(page, "Save outcome"), 200);
  assert.equal((await anna.api.get(`/v1/calls/${callId}`)).private, true);
  await page.context().close();
});

test("a manager sees their member's private call redacted, without the form", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, manager.email, manager.password);
  const res = await page.goto(`${server.url}/calls/${callId}`);
  assert.equal(res.status(), 200);
  assert.equal(await page.locator("[data-redacted]").count(), 1);
  assert.equal(await page.getByRole("button", { name: "Save outcome" }).count(), 0);
  assert.doesNotMatch(await page.locator("main").textContent(), /Wants a quote/);
  await assertAccessible(page);
  await screenshot(page, "call-outcome-redacted");
  await page.context().close();
});
