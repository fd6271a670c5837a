// API keys on the administration pages: an admin creates a key (a key
// without scopes is refused and nothing is made), sees its secret once,
// the key reads calls through the API, and revoking it stops it at once;
// a manager gets the 403 page.
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

async function callsWith(key) {
  const res = await fetch(`${server.url}/v1/calls`, { headers: { authorization: `Bearer ${key}` } });
  return res.status;
}

test("an admin creates a key, sees its secret once and revokes it", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/api-keys`);
  await assertAdminNavCurrent(page, "API keys");
  await page.getByLabel("Name").fill("HubSpot");
  assert.equal(await submit(page, "Create key"), 422);
  assert.match(await page.locator(".field-error").first().textContent(), /at least one scope/);
  assert.equal((await admin.get("/v1/api-keys")).items.length, 0);
  await assertAccessible(page);

  await page.getByLabel("Read calls").check();
  assert.equal(await submit(page, "Create key"), 200);
  const secret = await page.getByLabel("Key", { exact: true }).inputValue();
  assert.match(secret, /^dbk_[A-Za-z0-9_-]{43}$/);
  const keys = (await admin.get("/v1/api-keys")).items;
  assert.deepEqual(keys.map((k) => [k.name, k.scopes]), [["HubSpot", ["calls:read"]]]);
  assert.equal(await callsWith(secret), 200);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "api-key-created");

  // Shown once: the page read again holds no secret.
  await page.goto(`${server.url}/admin/api-keys`);
  assert.equal(await page.getByLabel("Key", { exact: true }).count(), 0);
  assert.ok(!(await page.content()).includes(secret));
  assert.equal(await submit(page, "Revoke HubSpot"), 200);
  assert.equal(await noticeText(page), "The key is revoked: it no longer works.");
  assert.equal(await callsWith(secret), 401);
  assert.ok((await admin.get("/v1/api-keys")).items[0].revoked_at);
  await assertAccessible(page);
  await screenshot(page, "api-keys");
  await page.context().close();
});

test("a manager gets the 403 page for API keys", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  const res = await page.goto(`${server.url}/admin/api-keys`);
  assert.equal(res.status(), 403);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  await page.context().close();
});
