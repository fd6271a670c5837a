// Background exports in a real browser: an admin asks for the call log of
// a filter from the call log page, a real deskbind-worker process writes
// it, the exports page (left open, not reloaded) shows it ready and its
// download is the API's CSV for the same filter; another user gets the 404
// page for its link.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startServer, WORKER_BIN } from "../lib/server.mjs";
import { provisionedPhone, callRecord, uploadCalls } from "../lib/stats.mjs";
import { apiExport } from "../lib/calls.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText } from "../lib/admin.mjs";

let server;
let browser;
let admin;
const sam = { email: "sam@acme.example", password: "sam-password-12345" };

before(async () => {
  // No worker inside the API: exports wait until the test starts one, so
  // the limit of three waiting exports is reached for sure.
  server = await startServer({ env: { DESKBIND_EMBEDDED_WORKER: "false" } });
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  sam.user = await admin.createUser({ email: sam.email, name: "Sam Seller", password: sam.password });
  sam.api = await Api.login(server.url, sam.email, sam.password);
  const phone = await provisionedPhone(admin, server.url, "+4930555200", "Export desk", [sam.user.id]);
  const now = Date.now();
  await uploadCalls(phone, [
    callRecord({ id: "x-1", at: new Date(now - 60 * 60_000), direction: "outbound", number: "+4930555201", talk: 30 }),
    callRecord({ id: "x-2", at: new Date(now - 50 * 60_000), direction: "inbound", number: "+4930555202", talk: 20 }),
    callRecord({ id: "x-3", at: new Date(now - 40 * 60_000), direction: "outbound", number: "+4930555203", talk: 10 }),
  ]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an export asked for on the call log is written by the worker and downloads", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/calls?direction=outbound`);
  assert.equal(await submit(page, "Export CSV in the background"), 200);
  assert.match(await noticeText(page), /Export queued/);
  const queued = page.locator("tr[data-export]");
  assert.equal(await queued.count(), 1);
  assert.equal(await queued.getAttribute("data-state"), "queued");
  assert.match(await page.locator("#exports-status").textContent(), /updates by itself/);
  await assertAccessible(page);

  // A worker process of its own writes it; the page shows it ready.
  const worker = spawn(WORKER_BIN, [], { env: server.env, stdio: ["ignore", "inherit", "inherit"] });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { items } = await admin.get("/v1/exports");
      if (items[0].state === "ready") break;
      if (worker.exitCode !== null) throw new Error(`deskbind-worker exited with ${worker.exitCode}`);
      if (Date.now() > deadline) throw new Error("the worker wrote no export in 30 s");
      await new Promise((ok) => setTimeout(ok, 100));
    }
  } finally {
    const gone = new Promise((ok) => (worker.exitCode !== null ? ok() : worker.on("exit", ok)));
    worker.kill("SIGTERM");
    await gone;
  }
  // The open page follows it: no reload.
  const ready = page.locator('tr[data-state="ready"]');
  await ready.waitFor({ timeout: 10_000 });
  assert.equal(await ready.count(), 1);
  assert.ok(Number(await page.locator("#exports-table").getAttribute("data-updates")) >= 1);
  await page.locator("#exports-status", { hasText: "Every export here is finished." }).waitFor({ timeout: 5_000 });
  assert.equal((await ready.locator("td").nth(2).textContent()).trim(), "2 of 2");
  const [download] = await Promise.all([page.waitForEvent("download"), ready.getByRole("link", { name: "Download" }).click()]);
  const body = await (await import("node:fs/promises")).readFile(await download.path(), "utf8");
  assert.equal(body, await apiExport(admin, { direction: "outbound" }), "the export is the API's CSV for the filter");
  assert.equal(body.trim().split("\r\n").length, 3);
  assertNoProblems(page);

  // The export is the admin's alone: Sam gets the 404 page for its link.
  const href = await ready.getByRole("link", { name: "Download" }).getAttribute("href");
  const samPage = await newPage(browser);
  await signIn(samPage, server.url, sam.email, sam.password);
  assert.equal((await samPage.request.get(`${server.url}${href}`)).status(), 404);
  await samPage.goto(`${server.url}/exports`);
  assert.equal(await samPage.locator("tr[data-export]").count(), 0);
  await assertAccessible(samPage);
  await samPage.context().close();
  await page.context().close();
});

test("a fourth export while three wait is refused on the page", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, sam.email, sam.password);
  for (let i = 0; i < 3; i++) {
    await page.goto(`${server.url}/calls`);
    assert.equal(await submit(page, "Export recordings (zip)"), 200);
  }
  await page.goto(`${server.url}/calls`);
  assert.equal(await submit(page, "Export recordings (zip)"), 409);
  assert.match(await page.getByRole("alert").textContent(), /already have 3 exports/);
  assert.equal((await sam.api.get("/v1/exports")).items.length, 3);
  await page.context().close();
});
