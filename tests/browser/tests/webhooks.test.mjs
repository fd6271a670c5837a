// Webhook endpoints on the administration pages: an admin adds one (an
// inward address is refused next to the URL and nothing is made), sees
// its signing secret once, sends a test event that shows in the delivery
// log, rotates the secret, disables and deletes the endpoint; a manager
// gets the 403 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText, assertAdminNavCurrent } from "../lib/admin.mjs";

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

test("an admin adds an endpoint, tests it, rotates its secret and deletes it", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/webhooks`);
  await assertAdminNavCurrent(page, "Webhooks");
  await page.getByLabel("URL").fill("http://127.0.0.1:9/hooks");
  await page.getByLabel(/A call is stored/).check();
  assert.equal(await submit(page, "Add endpoint"), 422);
  assert.match(await page.locator("#err-url").textContent(), /not a public address/);
  assert.equal((await admin.get("/v1/webhook-endpoints")).items.length, 0);
  await assertAccessible(page);

  await page.getByLabel("URL").fill("https://crm.example.com/deskbind");
  await page.getByLabel("Description").fill("HubSpot");
  assert.equal(await submit(page, "Add endpoint"), 200);
  const secret = await page.getByLabel("Signing secret", { exact: true }).inputValue();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const [endpoint] = (await admin.get("/v1/webhook-endpoints")).items;
  assert.deepEqual([endpoint.url, endpoint.event_types], ["https://crm.example.com/deskbind", ["call.created"]]);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "webhooks");

  await page.getByRole("link", { name: "https://crm.example.com/deskbind" }).click();
  assert.ok(!(await page.content()).includes(secret), "the secret is shown once");
  assert.equal(await submit(page, "Send test event"), 200);
  assert.match(await noticeText(page), /test event is queued/);
  assert.equal(await page.locator(".deliveries-table tbody tr").count(), 1);
  assert.match(await page.locator(".deliveries-table tbody tr").first().textContent(), /webhook\.test/);
  assert.equal(await submit(page, "Rotate secret"), 200);
  const rotated = await page.getByLabel("Signing secret", { exact: true }).inputValue();
  assert.notEqual(rotated, secret);
  assert.ok((await admin.get(`/v1/webhook-endpoints/${endpoint.id}`)).previous_secret_until);
  await page.getByLabel(/Disabled/).check();
  assert.equal(await submit(page, "Save endpoint"), 200);
  assert.equal(await noticeText(page), "Saved.");
  assert.equal((await admin.get(`/v1/webhook-endpoints/${endpoint.id}`)).disabled, true);
  await assertAccessible(page);
  await screenshot(page, "webhook-endpoint");
  assert.equal(await submit(page, "Delete endpoint"), 200);
  assert.equal(await noticeText(page), "Deleted.");
  assert.equal((await admin.get("/v1/webhook-endpoints")).items.length, 0);
  await page.context().close();
});

test("a manager gets the 403 page for webhooks", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  const res = await page.goto(`${server.url}/admin/webhooks`);
  assert.equal(res.status(), 403);
  await page.context().close();
});
