// Call lists in the console: a manager creates a list (a bad lease is
// refused next to its field, nothing saved), uploads a CSV of tasks (a
// number that cannot exist is dropped and shown), activates the list,
// follows its report live while tasks arrive through the API, meets a
// stale version after someone else paused it, resumes and pauses, and
// moves a salesperson's tasks to the pool. A salesperson gets the 403
// pages; another organisation's list is the 404 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, secondOrganisation } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText, alertText, idFromUrl } from "../lib/admin.mjs";

let server;
let browser;
let admin;
let anna;
let foreignList;
let adminList;
let listId;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  const team = await admin.createTeam("Outbound");
  await admin.createUser({ email: "mia@acme.example", name: "Mia Manager", role: "manager", teamIds: [team.id] });
  anna = await admin.createUser({ email: "anna@acme.example", name: "Anna Alder", teamIds: [team.id] });
  await admin.createUser({ email: "ben@acme.example", name: "Ben Berg", teamIds: [team.id] });
  adminList = await admin.post("/v1/call-lists", { name: "Admin's own list" });
  const globex = await secondOrganisation(server);
  foreignList = await globex.post("/v1/call-lists", { name: "Globex renewals" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const outcomes = (page) =>
  page.locator("table.import-results tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.outcome));

const count = async (page, state) =>
  Number((await page.locator(`[data-task-count="${state}"] strong`).textContent()).trim());

test("a manager creates a list, imports a CSV, activates it, follows it live and reassigns", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  await page.goto(`${server.url}/calls`);
  await page.getByRole("link", { name: "Call lists" }).click();
  await page.waitForURL(/\/call-lists$/);
  assert.equal(await page.getByRole("link", { name: "Call lists" }).getAttribute("aria-current"), "page");

  // A lease out of range: refused next to its field, nothing saved.
  await page.getByLabel("Name", { exact: true }).fill("December renewals");
  await page.getByLabel("Mode", { exact: true }).selectOption("power");
  await page.getByLabel("Order", { exact: true }).selectOption("import");
  await page.getByLabel(/^Gap between/).fill("20");
  await page.getByLabel(/^Lease/).fill("5");
  await page.getByLabel(/^Pool team/).selectOption({ label: "Outbound" });
  assert.equal(await submit(page, "Create list"), 422);
  assert.match(await page.locator("#err-lease").textContent(), /lease_secs|30/i);
  assert.equal((await admin.get("/v1/call-lists")).items.length, 1);
  // What was typed is still there.
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "December renewals");
  await assertAccessible(page);

  await page.getByLabel(/^Lease/).fill("300");
  assert.equal(await submit(page, "Create list"), 200);
  assert.match(await noticeText(page), /created as a draft/);
  listId = idFromUrl(page);
  const created = await admin.get(`/v1/call-lists/${listId}`);
  assert.equal(created.state, "draft");
  assert.deepEqual([created.mode, created.order, created.gap_secs], ["power", "import", 20]);

  // A CSV file: one number cannot exist, it is dropped and shown.
  const dir = await mkdtemp(join(tmpdir(), "deskbind-call-list-"));
  const file = join(dir, "tasks.csv");
  await writeFile(
    file,
    "number,name,assignee_email,company\n" +
      "+4930901820,Ada,anna@acme.example,Analytical\n" +
      "+49 1,Nobody,,\n" +
      "+4930901821,Bob,anna@acme.example,\n" +
      "+4930901822,Cy,,Navy\n",
  );
  await page.locator("#csv-file").setInputFiles(file);
  await page.waitForFunction(() => document.getElementById("csv").value.includes("Navy"));
  assert.equal(await submit(page, "Import"), 200);
  assert.deepEqual(await outcomes(page), ["created", "dropped", "created", "created"]);
  assert.equal((await page.locator("[data-summary]").textContent()).trim(), "3 created, 1 dropped");
  assert.match(await page.locator("table.import-results tbody tr").nth(1).textContent(), /invalid_phone_number/);
  assert.deepEqual([await count(page, "queued"), await count(page, "dropped")], [3, 1]);
  const tasks = (await admin.get(`/v1/call-lists/${listId}/tasks`)).items;
  assert.equal(tasks[0].payload.company, "Analytical");
  assert.equal(tasks[0].assignee_id, anna.id);
  await assertAccessible(page);
  await screenshot(page, "call-list-imported");

  // A file of the wrong shape imports nothing and says why.
  await page.locator("#csv").fill("phone\n+4930901823\n");
  assert.equal(await submit(page, "Import"), 422);
  assert.match(await alertText(page), /number column/);
  assert.equal((await admin.get(`/v1/call-lists/${listId}`)).counts.queued, 3);

  assert.equal(await submit(page, "Activate"), 200);
  assert.equal(await noticeText(page), "The list is active.");
  assert.equal(await page.locator("[data-list-state]").getAttribute("data-list-state"), "active");

  // The report follows tasks imported elsewhere, without a reload.
  await page.locator("#live-status", { hasText: "Live" }).waitFor();
  await admin.post(`/v1/call-lists/${listId}/tasks`, { tasks: [{ number: "+4930901824" }] });
  await page.waitForFunction(
    () => document.querySelector('[data-task-count="queued"] strong')?.textContent.trim() === "4",
    null,
    { timeout: 15000 },
  );

  // Someone else pauses it: this page's version is stale.
  const now = await admin.get(`/v1/call-lists/${listId}`);
  await admin.patch(`/v1/call-lists/${listId}`, { version: now.version, state: "paused" });
  assert.equal(await submit(page, "Pause"), 409);
  assert.match(await alertText(page), /changed by someone else/);
  assert.equal(await page.locator("[data-list-state]").getAttribute("data-list-state"), "paused");
  assert.equal(await submit(page, "Resume"), 200);
  assert.equal(await noticeText(page), "The list is active.");
  assert.equal(await submit(page, "Pause"), 200);
  assert.equal(await noticeText(page), "The list is paused.");
  assert.equal(await submit(page, "Resume"), 200);

  // Reassign: a person not chosen is refused next to the field.
  await page.getByLabel("Tasks of").selectOption({ label: "Anna Alder <anna@acme.example>" });
  await page.getByLabel("Move them to").selectOption("user");
  assert.equal(await submit(page, "Move tasks"), 422);
  assert.ok((await page.locator("#err-to-user").textContent()).trim().length > 0);
  await page.getByLabel("Move them to").selectOption("pool");
  assert.equal(await submit(page, "Move tasks"), 200);
  assert.equal(await noticeText(page), "2 tasks moved.");
  const after = (await admin.get(`/v1/call-lists/${listId}/tasks`)).items;
  assert.ok(after.every((t) => !t.assignee_id));
  assert.equal(after.filter((t) => t.state_reason === "reassigned").length, 2);

  // The tasks filter.
  await page.getByLabel("State", { exact: true }).selectOption("dropped");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Filter" }).click()]);
  const states = await page.locator("table.call-tasks tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.taskState));
  assert.deepEqual(states, ["dropped"]);
  await assertAccessible(page);

  // The list page lists it.
  await page.goto(`${server.url}/call-lists`);
  assert.match(await page.locator('tr[data-list="December renewals"]').textContent(), /active/);
  assertNoProblems(page);
  await page.context().close();
});

test("a salesperson gets the 403 page and no link", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "anna@acme.example", "user-password-123");
  assert.equal(await page.getByRole("link", { name: "Call lists" }).count(), 0);
  for (const path of ["/call-lists", `/call-lists/${adminList.id}`, `/call-lists/${adminList.id}/events`]) {
    const res = await page.goto(`${server.url}${path}`);
    assert.equal(res.status(), 403, path);
  }
  await page.context().close();
});

test("another organisation's list, or another manager's, is the 404 page", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  for (const path of [`/call-lists/${foreignList.id}`, `/call-lists/${foreignList.id}/events`]) {
    const res = await page.goto(`${server.url}${path}`);
    assert.equal(res.status(), 404, path);
  }
  // A state move posted at it changes nothing.
  await page.goto(`${server.url}/call-lists/${adminList.id}`);
  const status = await page.evaluate(async (id) => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const res = await fetch(`/call-lists/${id}/state`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: token, version: "1", state: "archived" }),
    });
    return res.status;
  }, foreignList.id);
  assert.equal(status, 404);
  await page.context().close();

  // A manager sees only the lists they own.
  const mia = await newPage(browser);
  await signIn(mia, server.url, "mia@acme.example", "user-password-123");
  const res = await mia.goto(`${server.url}/call-lists/${adminList.id}`);
  assert.equal(res.status(), 404);
  await mia.goto(`${server.url}/call-lists`);
  assert.equal(await mia.locator(`tr[data-list="Admin's own list"]`).count(), 0);
  await mia.context().close();
});
