// The blocklist page: a manager adds a team entry (a bad number is refused
// next to its field, nothing saved), filters, changes and removes it; a
// salesperson reads the entry that applies to them but may not change it
// (the 403 page); another organisation's entry is the 404 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, secondOrganisation } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText } from "../lib/admin.mjs";

let server;
let browser;
let admin;
let team;
let foreign;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  team = await admin.createTeam("Inside sales");
  await admin.createUser({ email: "mia@acme.example", name: "Mia Manager", role: "manager", teamIds: [team.id] });
  await admin.createUser({ email: "anna@acme.example", name: "Anna Alder", teamIds: [team.id] });
  await admin.post("/v1/blocklist", { kind: "block", scope: "organisation", pattern: "prefix", value: "+1900", label: "Premium" });
  const globex = await secondOrganisation(server);
  foreign = await globex.post("/v1/blocklist", { kind: "block", scope: "organisation", pattern: "number", value: "+12025550199" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function values(page) {
  return page.locator("table.blocklist-table tbody th a").allTextContents();
}

test("a manager adds, filters, changes and removes a team entry", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  await page.goto(`${server.url}/blocklist`);
  assert.equal(await page.getByRole("link", { name: "Blocklist" }).getAttribute("aria-current"), "page");
  const before = (await admin.get("/v1/blocklist")).items.length;
  await page.getByLabel("Number or prefix (E.164)").fill("12ab");
  await page.getByLabel("Applies to", { exact: true }).last().selectOption("team");
  await page.getByLabel('Team (for "A team")').selectOption({ label: "Inside sales" });
  assert.equal(await submit(page, "Add entry"), 422);
  assert.ok((await page.locator("#err-value").textContent()).trim().length > 0);
  assert.equal((await admin.get("/v1/blocklist")).items.length, before);
  await assertAccessible(page);
  await screenshot(page, "blocklist-refused");

  await page.getByLabel("Number or prefix (E.164)").fill("+4930123456");
  await page.getByLabel("Label").fill("Angry customer");
  await page.getByLabel("Reason").fill("Asked us to stop");
  assert.equal(await submit(page, "Add entry"), 200);
  assert.equal(await noticeText(page), "Created.");
  assert.deepEqual((await values(page)).sort(), ["+1900", "+4930123456"]);

  const csv = await (await page.request.get(`${server.url}/blocklist/export.csv`)).text();
  assert.match(csv, /\+4930123456/);
  assert.match(csv, /Angry customer/);

  await page.goto(`${server.url}/blocklist?number=%2B4930123456`);
  assert.deepEqual(await values(page), ["+4930123456"]);
  await assertAccessible(page);
  await screenshot(page, "blocklist");

  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "+4930123456" }).click()]);
  await page.getByLabel("Kind").selectOption("allow");
  await page.getByLabel("Label").fill("Friendly now");
  assert.equal(await submit(page, "Save entry"), 200);
  const entry = (await admin.get("/v1/blocklist?number=%2B4930123456")).items.find((e) => e.scope === "team");
  assert.equal(entry.kind, "allow");
  assert.equal(entry.label, "Friendly now");
  assert.equal(entry.team_id, team.id);

  assert.equal(await submit(page, "Remove entry"), 200);
  assert.equal(await noticeText(page), "Deleted.");
  await admin.get(`/v1/blocklist/${entry.id}`, { expect: [404] });
  assertNoProblems(page);
  await page.context().close();
});

test("a salesperson may not change the organisation's entry; another organisation's is not found", async () => {
  const orgEntry = (await admin.get("/v1/blocklist?scope=organisation")).items[0];
  const page = await newPage(browser);
  await signIn(page, server.url, "anna@acme.example", "user-password-123");
  await page.goto(`${server.url}/blocklist`);
  // Salespeople add only their own entries.
  assert.deepEqual(await page.getByLabel("Applies to", { exact: true }).last().locator("option").allTextContents(), ["Me"]);
  await page.goto(`${server.url}/blocklist/${orgEntry.id}`);
  await page.getByLabel("Label").fill("Mine now");
  assert.equal(await submit(page, "Save entry"), 403);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  assert.equal((await admin.get(`/v1/blocklist/${orgEntry.id}`)).label, "Premium");
  const res = await page.goto(`${server.url}/blocklist/${foreign.id}`);
  assert.equal(res.status(), 404);
  await assertAccessible(page);
  await page.context().close();
});
