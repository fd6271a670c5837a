// CSV imports in the console: an admin imports contacts from a chosen
// file and sees one result per row (a bad row rejected alone), the same
// file again changes nothing, a file with an unknown column imports
// nothing; blocklist entries import the same way, a salesperson's row
// for the whole organisation is rejected; a salesperson gets the 403 page
// for the contact import.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, alertText } from "../lib/admin.mjs";

let server;
let browser;
let admin;
let samUser;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  samUser = await admin.createUser({ email: "sam@acme.example", name: "Sam Seller" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const outcomes = (page) =>
  page.locator("table.import-results tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.outcome));

test("an admin imports contacts from a file, row by row, and again without change", async () => {
  const dir = await mkdtemp(join(tmpdir(), "deskbind-import-"));
  const file = join(dir, "contacts.csv");
  await writeFile(
    file,
    "external_id,name,company,numbers,tags\n" +
      "crm-1,Ada Lovelace,Analytical,+4930111222,vip;lead\n" +
      "crm-2,Charles Babbage,Difference,not a number,lead\n" +
      "crm-3,Grace Hopper,Navy,+4930111333;+4930111334,\n",
  );
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/contacts`);
  await page.getByRole("link", { name: "Import CSV" }).click();
  await page.locator("#csv-file").setInputFiles(file);
  await page.waitForFunction(() => document.getElementById("csv").value.includes("crm-3"));
  assert.equal(await submit(page, "Import"), 200);
  assert.deepEqual(await outcomes(page), ["created", "rejected", "created"]);
  assert.equal((await page.locator("[data-summary]").textContent()).trim(), "2 created, 1 rejected");
  assert.match(await page.locator("table.import-results tbody tr").nth(1).textContent(), /numbers/);
  const listed = await admin.get("/v1/contacts?q=Ada");
  assert.equal(listed.items[0].company, "Analytical");
  assert.equal((await admin.get("/v1/contacts?q=Babbage")).items.length, 0);
  await assertAccessible(page);
  await screenshot(page, "contacts-import");

  await page.locator("#csv-file").setInputFiles(file);
  await page.waitForFunction(() => document.getElementById("csv").value.includes("crm-3"));
  assert.equal(await submit(page, "Import"), 200);
  assert.deepEqual(await outcomes(page), ["unchanged", "rejected", "unchanged"]);

  // A created row links to the contact's page.
  await page.locator("table.import-results tbody tr").first().getByRole("link").click();
  await page.waitForURL(/\/contacts\/[0-9a-f-]+$/);
  assert.match(await page.getByRole("heading", { level: 1 }).textContent(), /Ada Lovelace/);
  assertNoProblems(page);
  await page.context().close();
});

test("a file with an unknown column imports nothing and says why", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/contacts/import`);
  await page.locator("#csv").fill("name,favourite_colour\nAlan Turing,green\n");
  assert.equal(await submit(page, "Import"), 422);
  assert.match(await alertText(page), /favourite_colour/);
  // What was pasted is still there to fix.
  assert.match(await page.locator("#csv").inputValue(), /Alan Turing/);
  assert.equal((await admin.get("/v1/contacts?q=Turing")).items.length, 0);
  await page.context().close();
});

test("blocklist entries import; a salesperson's organisation-wide row is rejected", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/blocklist`);
  await page.getByRole("link", { name: "Import CSV" }).click();
  await page.locator("#csv").fill("kind,pattern,value,label\nblock,number,+4930999000,Spam\nblock,prefix,+4990,Premium\n");
  assert.equal(await submit(page, "Import"), 200);
  assert.deepEqual(await outcomes(page), ["created", "created"]);
  const entries = await admin.get("/v1/blocklist");
  assert.ok(entries.items.some((e) => e.value === "+4930999000" && e.label === "Spam"));
  await page.context().close();

  const sam = await newPage(browser);
  await signIn(sam, server.url, "sam@acme.example", "user-password-123");
  await sam.goto(`${server.url}/blocklist/import`);
  await sam.locator("#csv").fill(`kind,scope,user_id,pattern,value\nblock,organisation,,number,+4930999111\nblock,user,${samUser.id},number,+4930999222\n`);
  assert.equal(await submit(sam, "Import"), 200);
  assert.deepEqual(await outcomes(sam), ["rejected", "created"]);
  const res = await sam.goto(`${server.url}/contacts/import`);
  assert.equal(res.status(), 403);
  await sam.context().close();
});
