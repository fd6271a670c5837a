// The contacts pages: a manager searches, pages, opens a contact with its
// calls and score, creates and edits one (a bad number is refused next to
// its field, nothing saved), deletes one after confirming; a salesperson
// under the visibility "own" sees only their own contacts; another
// organisation's contact is the 404 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, secondOrganisation } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText, idFromUrl } from "../lib/admin.mjs";
import { personWithPhone, callRecord, uploadCalls } from "../lib/stats.mjs";

let server;
let browser;
let admin;
let manager;
let anna;
let ada;
let foreign;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  const team = await admin.createTeam("Inside sales");
  manager = await personWithPhone(admin, server.url, {
    email: "mia@acme.example", name: "Mia Manager", role: "manager", teamIds: [team.id], number: "+4930555300",
  });
  anna = await personWithPhone(admin, server.url, {
    email: "anna@acme.example", name: "Anna Alder", teamIds: [team.id], number: "+4930555301",
  });
  ada = await admin.post("/v1/contacts", {
    name: "Ada Lovelace", company: "Analytical Engines", email: "ada@engines.example",
    numbers: ["+442071234567"], tags: ["vip"], custom_fields: { plan: "gold" }, owner_id: anna.user.id,
  });
  for (let i = 0; i < 4; i++) {
    await admin.post("/v1/contacts", { name: `Lead ${i}`, numbers: [`+4930777000${i}`], tags: ["lead"] });
  }
  await uploadCalls(anna.phone, [
    callRecord({ id: "c-ada-1", at: new Date(), direction: "outbound", number: "+442071234567", talk: 95 }),
  ]);
  const globex = await secondOrganisation(server);
  foreign = await globex.post("/v1/contacts", { name: "Globex Secret", numbers: ["+12025550100"] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function names(page) {
  return page.locator("table.contacts-table tbody th").allTextContents().then((t) => t.map((s) => s.trim()));
}

test("a manager searches, pages and opens a contact with its calls and score", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, manager.email, manager.password);
  await page.goto(`${server.url}/contacts?tag=lead&limit=3`);
  assert.equal(await page.getByRole("link", { name: "Contacts" }).getAttribute("aria-current"), "page");
  const first = await names(page);
  assert.equal(first.length, 3);
  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "Next page" }).click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("tag"), "lead");
  assert.equal(url.searchParams.get("limit"), "3");
  const second = await names(page);
  assert.equal(second.length, 1);
  assert.deepEqual([...first, ...second].sort(), ["Lead 0", "Lead 1", "Lead 2", "Lead 3"]);

  await page.goto(`${server.url}/contacts`);
  await page.getByLabel("Number").fill("+44 20 7123 4567");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Search" }).click()]);
  assert.deepEqual(await names(page), ["Ada Lovelace"]);
  await assertAccessible(page);
  await screenshot(page, "contacts-list");

  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "Ada Lovelace" }).click()]);
  assert.equal(await page.title(), "Ada Lovelace · Contacts · deskbind");
  const facts = await page.locator("dl.facts").first().textContent();
  assert.match(facts, /\+442071234567/);
  assert.match(facts, /Analytical Engines/);
  assert.match(facts, /Anna Alder/);
  // Her one answered outbound call scored under the seed rules: 5 + 20.
  assert.match(await page.locator("section#score").textContent(), /Current score: 25/);
  const placed = page.locator('table.score-rules tr[data-rule="Call placed"] td');
  assert.deepEqual(await placed.allTextContents(), ["Call placed", "1", "5"]);
  const onAir = page.locator('table.score-rules tr[data-rule="Call on air"] td');
  assert.deepEqual(await onAir.allTextContents(), ["Call on air", "1", "20"]);
  assert.equal(await page.locator("table.score-ledger tbody tr").count(), 2);
  assert.match(await page.locator("table.contact-calls").textContent(), /Outbound/);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "contacts-detail");

  // The export link carries the filters; the file is the API's.
  await page.goto(`${server.url}/contacts?tag=vip`);
  const href = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
  assert.equal(href, "/contacts/export.csv?tag=vip");
  const csv = await (await page.request.get(server.url + href)).text();
  assert.equal(csv, await admin.get("/v1/contacts/export.csv?tag=vip"));
  assert.match(csv, /Ada Lovelace/);
  assert.doesNotMatch(csv, /Lead 0/);
  await page.context().close();
});

test("creating and editing a contact: a bad number is refused next to its field, nothing saved", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, manager.email, manager.password);
  const before = (await admin.get("/v1/contacts?limit=200")).items.length;
  await page.goto(`${server.url}/contacts/new`);
  await page.getByLabel("Name", { exact: true }).fill("Grace Hopper");
  await page.getByLabel("Numbers (one a line)").fill("not a number");
  assert.equal(await submit(page, "Save contact"), 422);
  const error = page.locator("#err-numbers");
  assert.ok((await error.textContent()).trim().length > 0);
  assert.equal(await page.getByLabel("Numbers (one a line)").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Grace Hopper");
  assert.equal((await admin.get("/v1/contacts?limit=200")).items.length, before);
  await assertAccessible(page);
  await screenshot(page, "contacts-refused");

  await page.getByLabel("Numbers (one a line)").fill("+14155550123");
  await page.getByLabel("Tags (comma-separated)").fill("navy, cobol");
  await page.getByLabel("Custom fields (name=value, one a line)").fill("rank=admiral");
  assert.equal(await submit(page, "Save contact"), 200);
  assert.equal(await noticeText(page), "Created.");
  const id = idFromUrl(page);
  const saved = await admin.get(`/v1/contacts/${id}`);
  assert.deepEqual(saved.tags, ["navy", "cobol"]);
  assert.deepEqual(saved.custom_fields, { rank: "admiral" });

  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "Edit", exact: true }).click()]);
  await page.getByLabel("Company").fill("US Navy");
  assert.equal(await submit(page, "Save contact"), 200);
  assert.equal(await noticeText(page), "Saved.");
  assert.equal((await admin.get(`/v1/contacts/${id}`)).company, "US Navy");

  assert.equal(await submit(page, "Delete contact"), 200);
  assert.equal(await noticeText(page), "Deleted.");
  await admin.get(`/v1/contacts/${id}`, { expect: [404] });
  assertNoProblems(page);
  await page.context().close();
});

test("another organisation's contact is the 404 page; visibility own hides others' contacts", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, manager.email, manager.password);
  const res = await page.goto(`${server.url}/contacts/${foreign.id}`);
  assert.equal(res.status(), 404);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not found");
  const edit = await page.goto(`${server.url}/contacts/${foreign.id}/edit`);
  assert.equal(edit.status(), 404);
  await page.context().close();

  await admin.put("/v1/contact-settings", { visibility: "own" });
  const sales = await newPage(browser);
  await signIn(sales, server.url, anna.email, anna.password);
  await sales.goto(`${server.url}/contacts`);
  assert.deepEqual(await names(sales), ["Ada Lovelace"]);
  const lead = (await admin.get("/v1/contacts?tag=lead")).items[0];
  const hidden = await sales.goto(`${server.url}/contacts/${lead.id}`);
  assert.equal(hidden.status(), 404);
  await assertAccessible(sales);
  await admin.put("/v1/contact-settings", { visibility: "organisation" });
  await sales.context().close();
});
