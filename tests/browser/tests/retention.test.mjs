// Retention on the administration pages: an admin sees the defaults and
// what applies, sets days (a bad value is refused and nothing is saved),
// places a legal hold on a user (an unknown id is refused with the API's
// words) and releases it; a manager gets the 403 page. A worker process
// purges an old call: the page lists its month, and the link downloads
// the archive (gzip NDJSON holding the call).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { startServer, WORKER_BIN } from "../lib/server.mjs";
import { provisionedPhone, callRecord, uploadCalls } from "../lib/stats.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, noticeText, assertAdminNavCurrent } from "../lib/admin.mjs";

let server;
let browser;
let admin;
let sam;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
  await admin.createUser({ email: "mia@acme.example", name: "Mia Manager", role: "manager" });
  sam = await admin.createUser({ email: "sam@acme.example", name: "Sam Seller" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an admin sets the days and places and releases a legal hold", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/retention`);
  await assertAdminNavCurrent(page, "Retention");
  assert.equal(await page.locator('[data-effective="call_record_days"]').textContent(), "forever");
  await assertAccessible(page);

  await page.getByLabel("Call records (days)").fill("0");
  assert.equal(await submit(page, "Save retention"), 422);
  assert.match(await page.locator(".field-error").first().textContent(), /1 to 36500/);
  assert.equal((await admin.get("/v1/retention")).chosen.call_record_days, null);

  await page.getByLabel("Call records (days)").fill("730");
  await page.getByLabel("Recordings (days)").fill("90");
  assert.equal(await page.locator('[data-effective="export_days"]').textContent(), "7 days");
  await page.getByLabel("Export files (days)").fill("91");
  assert.equal(await submit(page, "Save retention"), 422);
  assert.match(await page.locator("#err-exports").textContent(), /1 to 90/);
  await page.getByLabel("Export files (days)").fill("3");
  assert.equal(await submit(page, "Save retention"), 200);
  assert.equal(await noticeText(page), "Saved.");
  assert.equal(await page.locator('[data-effective="recording_days"]').textContent(), "90 days");
  assert.equal(await page.locator('[data-effective="export_days"]').textContent(), "3 days");
  const stored = await admin.get("/v1/retention");
  assert.deepEqual(stored.chosen, { call_record_days: 730, recording_days: 90, export_days: 3 });

  await page.getByLabel("Its id").fill("00000000-0000-7000-8000-000000000000");
  await page.getByLabel("Reason").fill("Dispute 14");
  assert.equal(await submit(page, "Place hold"), 422);
  assert.match(await page.locator(".field-error").first().textContent(), /no user, contact or call/i);
  assert.equal((await admin.get("/v1/legal-holds")).items.length, 0);

  await page.getByLabel("Its id").fill(sam.id);
  assert.equal(await submit(page, "Place hold"), 200);
  assert.match(await noticeText(page), /legal hold is placed/);
  const holds = (await admin.get("/v1/legal-holds")).items;
  assert.deepEqual(holds.map((h) => [h.subject_type, h.subject_id, h.reason]), [["user", sam.id, "Dispute 14"]]);
  assert.match(await page.locator(`[data-hold="${sam.id}"]`).textContent(), /Sam Seller <sam@acme\.example>/);
  await assertAccessible(page);
  assertNoProblems(page);
  await screenshot(page, "retention");

  assert.equal(await submit(page, `Release hold on ${sam.id}`), 200);
  assert.match(await noticeText(page), /released/);
  assert.equal((await admin.get("/v1/legal-holds")).items.length, 0);
  await page.context().close();
});

test("a manager gets the 403 page for retention", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, "mia@acme.example", "user-password-123");
  const res = await page.goto(`${server.url}/admin/retention`);
  assert.equal(res.status(), 403);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  await page.context().close();
});

test("a purged call's month is listed and its archive downloads", async () => {
  const phone = await provisionedPhone(admin, server.url, "+4930555100", "Archive desk", [sam.id]);
  await uploadCalls(phone, [
    callRecord({ id: "old-1", at: new Date("2025-03-03T12:00:00Z"), direction: "outbound", number: "+4930555101", talk: 42 }),
  ]);
  await admin.put("/v1/retention", { call_record_days: 30, recording_days: null });
  // A worker process of its own runs the purge when it starts; the API
  // answers once the archive is there.
  const worker = spawn(WORKER_BIN, [], { env: server.env, stdio: ["ignore", "inherit", "inherit"] });
  try {
    const deadline = Date.now() + 30_000;
    let listed;
    for (;;) {
      listed = await admin.get("/v1/archives");
      if (listed.items.length > 0) break;
      if (worker.exitCode !== null) throw new Error(`deskbind-worker exited with ${worker.exitCode}`);
      if (Date.now() > deadline) throw new Error("the worker archived nothing in 30 s");
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.deepEqual(listed.items.map((m) => [m.month, m.records]), [["2025-03", 1]]);
  } finally {
    const gone = new Promise((ok) => (worker.exitCode !== null ? ok() : worker.on("exit", ok)));
    worker.kill("SIGTERM");
    await gone;
  }

  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  await page.goto(`${server.url}/admin/retention`);
  const row = page.locator('[data-archive="2025-03"]');
  assert.equal((await row.getByRole("link").textContent()).trim(), "calls-2025-03.ndjson.gz");
  assert.equal((await row.locator("td").first().textContent()).trim(), "1");
  await assertAccessible(page);
  const href = await row.getByRole("link").getAttribute("href");
  assert.equal(href, "/admin/archives/2025-03");
  const res = await page.request.get(`${server.url}${href}`);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()["content-type"], "application/gzip");
  const lines = gunzipSync(await res.body()).toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((c) => [c.call_id, c.duration_secs]), [["old-1", 42]]);
  assert.equal((await page.request.get(`${server.url}/admin/archives/2025-04`)).status(), 404);
  await page.context().close();
});
