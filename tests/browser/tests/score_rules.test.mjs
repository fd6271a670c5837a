// The score-rules administration page: an admin changes a rule's points,
// adds a disposition rule and a group, and each change stores a new
// version with a recompute the page reports; a bad key and a page left
// open while another admin changed the rules are refused without a
// change; a group that still bounds a rule is not removed; a manager gets
// the 403 page.
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

const rules = () => admin.get("/v1/score-rules");

test("an admin edits, adds and groups score rules; each change is a new version", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/score-rules`);
  await assertAdminNavCurrent(page, "Score rules");
  const start = await rules();
  assert.equal(await page.locator("[data-version]").textContent(), String(start.version));
  await assertAccessible(page);

  await page.locator("#p-call_placed").fill("7");
  assert.equal(await submit(page, "Save call_placed"), 200);
  assert.equal(await noticeText(page), "Saved.");
  let now = await rules();
  assert.equal(now.version, start.version + 1);
  assert.equal(now.rules.find((r) => r.key === "call_placed").points, 7);
  assert.equal(now.rules.length, start.rules.length);
  // The recompute the change started is on the page.
  assert.match(await page.locator("[data-recompute-state]").textContent(), new RegExp(`version ${now.version}`));

  await page.locator("#n-key").fill("Bad Key");
  await page.locator("#n-label").fill("Sale bonus");
  await page.locator("#n-points").fill("50");
  assert.equal(await submit(page, "Add rule"), 422);
  assert.match(await alertText(page), /key/i);
  assert.equal((await rules()).version, now.version);
  // The add form keeps what was typed.
  assert.equal(await page.locator("#n-label").inputValue(), "Sale bonus");

  await page.locator("#n-key").fill("sale_bonus");
  await page.locator("#n-trigger").selectOption("disposition");
  await page.locator("#n-disposition").selectOption("sale");
  await page.locator("#n-repeat").selectOption("each");
  assert.equal(await submit(page, "Add rule"), 200);
  now = await rules();
  const bonus = now.rules.find((r) => r.key === "sale_bonus");
  assert.deepEqual(
    [bonus.trigger, bonus.disposition, bonus.points, bonus.repeat],
    ["disposition", "sale", 50, "each"],
  );

  await page.locator("#g-new-name").fill("calls");
  await page.locator("#g-new-cap").fill("40");
  assert.equal(await submit(page, "Add group"), 200);
  await page.locator("#g-call_placed").selectOption("calls");
  assert.equal(await submit(page, "Save call_placed"), 200);
  now = await rules();
  assert.deepEqual(now.groups, [{ name: "calls", cap: 40 }]);
  assert.equal(now.rules.find((r) => r.key === "call_placed").group, "calls");

  assert.equal(await submit(page, "Remove group calls"), 422);
  assert.match(await alertText(page), /still bounds/);
  assert.deepEqual((await rules()).groups, [{ name: "calls", cap: 40 }]);

  assert.equal(await submit(page, "Remove sale_bonus"), 200);
  assert.equal((await rules()).rules.some((r) => r.key === "sale_bonus"), false);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "score-rules");
  await page.context().close();
});

test("a page left open while another admin changed the rules is refused", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/score-rules`);
  const seen = await rules();
  const { version, updated_at, ...set } = seen;
  await admin.put("/v1/score-rules", { ...set, version, total_cap: 5000 });
  await page.locator("#p-call_answered").fill("99");
  assert.equal(await submit(page, "Save call_answered"), 409);
  assert.match(await alertText(page), /changed/);
  const after = await rules();
  assert.equal(after.version, version + 1);
  assert.notEqual(after.rules.find((r) => r.key === "call_answered").points, 99);
  // The page now shows the newer set; saving from it works.
  await page.locator("#p-call_answered").fill("25");
  assert.equal(await submit(page, "Save call_answered"), 200);
  assert.equal((await rules()).rules.find((r) => r.key === "call_answered").points, 25);
  assert.equal((await rules()).total_cap, 5000);
  await page.context().close();
});

test("a manager gets the 403 page for the score rules", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  const res = await page.goto(`${server.url}/admin/score-rules`);
  assert.equal(res.status(), 403);
  await page.context().close();
});
