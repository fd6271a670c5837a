// The dial-rules administration page: an admin allows destination classes
// per role, edits a rule in place, sets calling hours with a holiday and a
// callee's-time rule, and removes a rule; each change is a new version of
// GET /v1/dial-rules. A bad window and a page left open while another admin
// changed the rules are refused with nothing changed; a manager gets the
// 403 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText, alertText, assertAdminNavCurrent } from "../lib/admin.mjs";

let server;
let browser;
let admin;
const manager = { email: "mia@acme.example", name: "Mia Manager", password: "user-password-123" };

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  await admin.createUser({ email: manager.email, name: manager.name, role: "manager", password: manager.password });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rules = () => admin.get("/v1/dial-rules");

test("an admin sets classes, hours and the callee's time; each change is a new version", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/dial-rules`);
  assert.equal(await page.title(), "Dial rules · Administration · deskbind");
  await assertAdminNavCurrent(page, "Dial rules");
  assert.equal((await rules()).version, 0);
  await assertAccessible(page);
  await screenshot(page, "dial-rules-empty");

  // Salespeople: domestic and mobile.
  await page.locator("#class-role").selectOption("salesperson");
  await page.locator("#new-domestic").check();
  await page.locator("#new-mobile").check();
  assert.equal(await submit(page, "Add class rule"), 200);
  assert.equal(await noticeText(page), "Saved.");
  let now = await rules();
  assert.equal(now.version, 1);
  assert.deepEqual(now.classes, [{ role: "salesperson", allowed: ["domestic", "mobile"] }]);

  // The row edits the same rule in place.
  await page.locator('tr[data-class-rule="/salesperson"] input[value="international"]').check();
  assert.equal(await submit(page, "Save classes of Organisation, Salesperson"), 200);
  now = await rules();
  assert.equal(now.version, 2);
  assert.deepEqual(now.classes, [{ role: "salesperson", allowed: ["domestic", "mobile", "international"] }]);

  // Calling hours with a holiday; a bad window first.
  await page.locator("#add-mon").fill("9am-5pm");
  assert.equal(await submit(page, "Add calling hours"), 422);
  assert.match(await alertText(page), /time|HH:MM/i);
  assert.equal((await rules()).version, 2);
  await page.locator("#add-mon").fill("09:00-12:00, 13:00-17:30");
  await page.locator("#add-fri").fill("09:00-15:00");
  await page.locator("#add-holidays").fill("2026-12-25 2026-12-26");
  assert.equal(await submit(page, "Add calling hours"), 200);
  now = await rules();
  assert.equal(now.version, 3);
  const hours = now.calling_hours[0];
  assert.deepEqual(hours.weekly.mon, [{ from: "09:00", to: "12:00" }, { from: "13:00", to: "17:30" }]);
  assert.deepEqual(hours.weekly.fri, [{ from: "09:00", to: "15:00" }]);
  assert.deepEqual(hours.holidays, ["2026-12-25", "2026-12-26"]);
  // The page shows them back as typed.
  assert.equal(await page.locator('[data-hours-rule=""] input[name="mon"]').inputValue(), "09:00-12:00, 13:00-17:30");

  // The callee's local time.
  assert.equal(await submit(page, "Add callee rule"), 200);
  now = await rules();
  assert.deepEqual(now.callee_hours, [{ enabled: true, from: "09:00", to: "20:00" }]);
  await assertAccessible(page);
  await screenshot(page, "dial-rules-set");

  // A page left open while another admin changed the rules: 409, no change.
  await admin.put("/v1/dial-rules", { ...now, version: now.version, updated_at: undefined, time_zone: "Europe/Berlin" });
  const changed = await rules();
  await page.locator('tr[data-class-rule="/salesperson"] input[value="premium_rate"]').check();
  assert.equal(await submit(page, "Save classes of Organisation, Salesperson"), 409);
  assert.match(await alertText(page), /changed|again/i);
  assert.deepEqual(await rules(), changed);

  // After a reload the change goes through; then the rule is removed.
  await page.goto(`${server.url}/admin/dial-rules`);
  assert.equal(await page.locator("#time-zone").inputValue(), "Europe/Berlin");
  assert.equal(await submit(page, "Remove classes of Organisation, Salesperson"), 200);
  now = await rules();
  assert.equal(now.version, changed.version + 1);
  assert.deepEqual(now.classes, []);
  assert.equal(now.calling_hours.length, 1);
  assertNoProblems(page);
  await page.context().close();
});

test("a manager gets the 403 page and cannot post the form", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, manager.email, manager.password);
  const res = await page.goto(`${server.url}/admin/dial-rules`);
  assert.equal(res.status(), 403);
  await assertAccessible(page);
  const before = await rules();
  // A valid token from a page the manager may see: the role refuses, not the token.
  await page.goto(`${server.url}/calls`);
  const csrf = await page.locator('input[name="_csrf"]').first().getAttribute("value");
  const status = await page.evaluate(async (token) => {
    const body = new URLSearchParams({ _csrf: token, version: "0", action: "zone", time_zone: "UTC" });
    const r = await fetch("/admin/dial-rules", { method: "POST", body });
    return r.status;
  }, csrf);
  assert.equal(status, 403);
  assert.deepEqual(await rules(), before);
  await page.context().close();
});
