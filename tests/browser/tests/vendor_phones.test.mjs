// Vendor desk phones on the phone administration pages: an admin registers
// a Yealink with its model (another vendor's model is refused at the field
// and nothing is registered), opens its page, sees its driver and
// capabilities and the relay mode configuration for a typed relay URL,
// issues a direct-mode token and sees it once, and revokes it. What the
// pages change is read back through the JSON API (the contract).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, idFromUrl, noticeText, assertAdminNavCurrent } from "../lib/admin.mjs";

let server;
let browser;
let admin;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an admin sets up a Yealink: relay configuration, a direct-mode token shown once, revoked", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);

  // Another vendor's model: refused at the model, nothing registered.
  await page.goto(server.url + "/admin/phones");
  await page.getByLabel("Label", { exact: true }).fill("Reception Yealink");
  await page.getByLabel("Number", { exact: true }).fill("+49 30 7654321");
  await page.getByLabel("Driver").selectOption("yealink");
  await page.getByLabel("Model").selectOption("D315");
  assert.equal(await submit(page, "Register phone"), 422);
  assert.match(await page.locator("#err-model").textContent(), /is not a Yealink model/);
  assert.equal(await page.getByLabel("Driver").inputValue(), "yealink");
  assert.equal((await admin.get("/v1/phones")).items.length, 0);
  await assertAccessible(page);
  await screenshot(page, "vendor-phone-refused");

  // Its own model: registered, and its page shows what it can do.
  await page.getByLabel("Model").selectOption("T54W");
  assert.equal(await submit(page, "Register phone"), 200);
  const id = idFromUrl(page);
  const phone = await admin.get(`/v1/phones/${id}`);
  assert.deepEqual([phone.driver, phone.vendor, phone.model], ["yealink", "Yealink", "T54W"]);
  assert.deepEqual(phone.capabilities, ["dial", "hangup", "dnd"]);
  assert.equal(await page.locator("[data-driver]").textContent(), "Yealink");
  assert.equal(await page.locator("[data-capabilities]").textContent(), "dial, hang up, do not disturb");
  assert.match(await page.locator("#direct-snippet").textContent(), /\/v1\/vendor-events\/<token>\?event=outgoing/);
  await assertAdminNavCurrent(page, "Phones");
  await assertAccessible(page);
  await screenshot(page, "vendor-phone");

  // Relay mode for the relay's LAN address.
  await page.getByLabel("Relay URL").fill("http://10.0.0.5:8089");
  assert.equal(await submit(page, "Show relay configuration"), 200);
  const relay = await page.locator("#relay-snippet").textContent();
  assert.match(relay, /features\.action_uri_limit_ip = 10\.0\.0\.5\n/);
  assert.ok(relay.includes(`http://10.0.0.5:8089/phones/${id}/events?event=outgoing`), relay);
  await assertAccessible(page);
  await screenshot(page, "vendor-phone-relay");

  // A direct-mode token: on this page only, in the snippet that carries it.
  assert.equal(await submit(page, "Issue a direct-mode token"), 200);
  const token = await page.getByLabel("Token", { exact: true }).inputValue();
  assert.match(token, /^dbv_[A-Za-z0-9_-]{43}$/);
  assert.ok((await page.locator("#token-snippet").textContent()).includes(`/v1/vendor-events/${token}?event=outgoing`));
  assert.match(await page.locator("[data-issued-token] [role=status]").textContent(), /shown only once/);
  await assertAccessible(page);
  await screenshot(page, "vendor-phone-token");
  assertNoProblems(page);
  const heard = await fetch(`${server.url}/v1/vendor-events/${token}?event=incoming&call_id=1&remote=%2B4930123456&mac=00:15:65:ab:cd:ef`);
  assert.equal(heard.status, 200);

  // Read again: direct mode's state, the token nowhere.
  await page.goto(`${server.url}/admin/phones/${id}`);
  assert.ok(!(await page.content()).includes(token));
  assert.equal(await page.getByLabel("Token", { exact: true }).count(), 0);
  const state = await page.locator("[data-direct-state]").textContent();
  assert.match(state, /00:15:65:ab:cd:ef/);
  assert.match(state, /Events accepted\s*1/);

  // Revoked (after a confirmation): direct mode ends.
  assert.equal(await submit(page, "Revoke the direct-mode token"), 200);
  assert.match(await noticeText(page), /Direct-mode token revoked/);
  const config = await admin.get(`/v1/phones/${id}/vendor-config`);
  assert.equal(config.direct, undefined);
  assert.match(await page.locator("[data-direct-state]").textContent(), /No direct-mode token/);
  await assertAccessible(page);
  await screenshot(page, "vendor-phone-revoked");
  assertNoProblems(page);
  await page.context().close();
});
