// The audit log page: a manager reads the entries about their team's
// members (a binding made, a dial placed) and not about others or the
// organisation's policies; filtering by change narrows it; an admin sees
// everything; a salesperson gets the 403 page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { personWithPhone } from "../lib/stats.mjs";

let server;
let browser;
let manager;
let anna;

before(async () => {
  server = await startServer();
  browser = await launch();
  const admin = await Api.login(server.url, server.admin.email, server.admin.password);
  const team = await admin.createTeam("Inside sales");
  const other = await admin.createTeam("Field sales");
  manager = await personWithPhone(admin, server.url, {
    email: "mia@acme.example", name: "Mia Manager", role: "manager", teamIds: [team.id], number: "+4930555200",
  });
  anna = await personWithPhone(admin, server.url, {
    email: "anna@acme.example", name: "Anna Alder", teamIds: [team.id], number: "+4930555201",
  });
  const olga = await personWithPhone(admin, server.url, {
    email: "olga@acme.example", name: "Olga Other", teamIds: [other.id], number: "+4930555202",
  });
  await anna.api.post("/v1/dials", { number: "+16502530020" });
  await olga.api.post("/v1/dials", { number: "+16502530021" });
  await admin.put("/v1/dial-policy", { blocked_prefixes: ["+1900"], do_not_call: [] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The page's rows as [change, concerning, by], people by name (the page adds their email). */
async function rows(page) {
  return page.locator("table.admin-table tbody tr").evaluateAll((trs) =>
    trs.map((tr) => {
      const cells = [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
      const name = (text) => text.replace(/ <[^>]*>$/, "");
      return [cells[1], name(cells[3]), name(cells[4])];
    }),
  );
}

test("a manager reads their team's entries and filters them by change", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, manager.email, manager.password);
  await page.goto(`${server.url}/audit`);
  assert.equal(await page.title(), "Audit log · deskbind");
  assert.equal(await page.getByRole("link", { name: "Audit log" }).getAttribute("aria-current"), "page");
  const all = await rows(page);
  assert.deepEqual(all, [
    ["Binding made", "Mia Manager", "Mia Manager"],
    ["Binding made", "Anna Alder", "Anna Alder"],
    ["Dial placed", "Anna Alder", "Anna Alder"],
  ]);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "audit-manager");

  await page.getByLabel("Change").selectOption("dial.created");
  await Promise.all([page.waitForURL(/\/audit\?/), page.getByRole("button", { name: "Filter" }).click()]);
  assert.equal(new URL(page.url()).searchParams.get("action"), "dial.created");
  assert.deepEqual(await rows(page), [["Dial placed", "Anna Alder", "Anna Alder"]]);
  const details = await page.locator("table.admin-table tbody td").nth(5).textContent();
  assert.match(details, /number: \+16502530020/);
  assertNoProblems(page);
  await page.context().close();
});

test("an admin sees every entry, the policy change included", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/audit?limit=200`);
  const all = await rows(page);
  const changes = all.map((r) => r[0]);
  assert.ok(changes.includes("Dial policy changed"), changes.join(", "));
  assert.ok(all.some((r) => r[0] === "Dial placed" && r[1] === "Olga Other"));
  assert.equal(all.filter((r) => r[0] === "Grants changed").length, 3);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "audit-admin");
  await page.context().close();
});

test("a salesperson gets the 403 page", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, anna.email, anna.password);
  const res = await page.goto(`${server.url}/audit`);
  assert.equal(res.status(), 403);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  assert.equal(await page.getByRole("link", { name: "Audit log" }).count(), 0);
  await assertAccessible(page);
  await page.context().close();
});
