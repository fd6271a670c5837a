// The administration pages in a real browser against a real server: users
// and teams, the binding and dial policies, push defaults, bindings and
// their audit log, who may open them, and CSRF on every change. What the
// pages change is read back through the JSON API (the contract).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";
import { submit, idFromUrl, alertText, noticeText, assertAdminNavCurrent } from "../lib/admin.mjs";

let server;
let browser;
let admin;

before(async () => {
  server = await startServer();
  browser = await launch();
  admin = await Api.login(server.url, server.admin.email, server.admin.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function adminPage() {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  return page;
}

/** The checks every visited page gets. */
async function checkPage(page, name, navItem) {
  await assertAdminNavCurrent(page, navItem);
  await assertAccessible(page);
  await screenshot(page, `admin-${name}`);
  assertNoProblems(page);
}

test("an admin creates a team and a user in it, changes the role, disables and re-enables them", async () => {
  const page = await adminPage();
  const opened = await page.goto(server.url + "/admin");
  assert.equal(opened.status(), 200);
  assert.match(page.url(), /\/admin\/users$/);
  await checkPage(page, "users", "Users");

  // A team, through its page.
  await page.goto(server.url + "/admin/teams");
  await checkPage(page, "teams-empty", "Teams");
  await page.getByLabel("Team name").fill("Closers");
  assert.equal(await submit(page, "Create team"), 200);
  const teamId = idFromUrl(page);
  assert.equal(await noticeText(page), "Created.");
  await checkPage(page, "team", "Teams");
  const team = await admin.get(`/v1/teams/${teamId}`);
  assert.equal(team.name, "Closers");

  // A refused user: the form comes back with the API's message, 422, and
  // nothing is created.
  await page.goto(server.url + "/admin/users");
  const form = page.locator('form[action="/admin/users"]');
  await form.getByLabel("Email").fill("nina@acme.example");
  await form.getByLabel("Name").fill("Nina Novak");
  await form.getByLabel("Password").fill("short");
  await form.getByLabel("Time zone").fill("Europe/Berlin");
  await form.getByLabel("Closers").check();
  assert.equal(await submit(page, "Create user"), 422);
  assert.match(await alertText(page), /^Password: must be at least \d+ characters/);
  assert.equal(await form.getByLabel("Email").inputValue(), "nina@acme.example");
  assert.equal(await form.getByLabel("Closers").isChecked(), true);
  await assertAccessible(page);
  await screenshot(page, "admin-users-refused");
  let everyone = await admin.get("/v1/users?limit=200");
  assert.equal(everyone.items.some((u) => u.email === "nina@acme.example"), false);

  // Now a good password: created in the team.
  await form.getByLabel("Password").fill("nina-password-123");
  assert.equal(await submit(page, "Create user"), 200);
  assert.match(page.url(), /\/admin\/users\/[0-9a-f-]{36}\?notice=created$/);
  const userId = idFromUrl(page);
  await checkPage(page, "user", "Users");
  let nina = await admin.get(`/v1/users/${userId}`);
  assert.equal(nina.display_name, "Nina Novak");
  assert.equal(nina.role, "salesperson");
  assert.equal(nina.time_zone, "Europe/Berlin");
  assert.deepEqual(nina.team_ids, [teamId]);

  // The list shows her with her team; the team counts her.
  await page.goto(server.url + "/admin/users");
  const row = page.getByRole("row", { name: /Nina Novak/ });
  assert.match(await row.textContent(), /nina@acme\.example.*Salesperson.*Closers.*Enabled/s);
  await page.goto(server.url + "/admin/teams");
  assert.match(await page.getByRole("row", { name: /Closers/ }).textContent(), /Closers\s*1/);
  await checkPage(page, "teams", "Teams");

  // Role: salesperson -> manager.
  await page.goto(`${server.url}/admin/users/${userId}`);
  await page.getByLabel("Role").selectOption("manager");
  assert.equal(await submit(page, "Save profile"), 200);
  assert.equal(await noticeText(page), "Saved.");
  nina = await admin.get(`/v1/users/${userId}`);
  assert.equal(nina.role, "manager");

  // Disable: she can no longer sign in.
  assert.equal(await submit(page, "Disable user"), 200);
  assert.match(await noticeText(page), /disabled/);
  assert.equal((await admin.get(`/v1/users/${userId}`)).disabled, true);
  const hers = await newPage(browser);
  await signIn(hers, server.url, "nina@acme.example", "nina-password-123");
  assert.match(hers.url(), /\/sign-in$/);
  assert.match(await alertText(hers), /do not match an active account/);

  // Enable: she can.
  assert.equal(await submit(page, "Enable user"), 200);
  assert.equal((await admin.get(`/v1/users/${userId}`)).disabled, false);
  await signIn(hers, server.url, "nina@acme.example", "nina-password-123");
  assert.doesNotMatch(hers.url(), /\/sign-in/);
  await hers.context().close();

  // Teams from the user's page: out of Closers, and the team shows it.
  await page.getByLabel("Closers").uncheck();
  assert.equal(await submit(page, "Save teams"), 200);
  assert.deepEqual((await admin.get(`/v1/users/${userId}`)).team_ids, []);
  await page.goto(`${server.url}/admin/teams/${teamId}`);
  assert.match(await page.locator("main").textContent(), /No members yet/);
  await page.getByLabel("Add a member").selectOption(userId);
  assert.equal(await submit(page, "Add member"), 200);
  assert.deepEqual((await admin.get(`/v1/users/${userId}`)).team_ids, [teamId]);
  await page.getByLabel("Team name").fill("Top Closers");
  assert.equal(await submit(page, "Rename team"), 200);
  assert.equal((await admin.get(`/v1/teams/${teamId}`)).name, "Top Closers");
  await checkPage(page, "team-members", "Teams");
  assertNoProblems(page);
  await page.context().close();
});

test("the last admin cannot demote themselves: the use case's message is shown", async () => {
  const page = await adminPage();
  const me = await admin.get("/v1/me");
  await page.goto(`${server.url}/admin/users/${me.id}`);
  await page.getByLabel("Role").selectOption("salesperson");
  assert.equal(await submit(page, "Save profile"), 409);
  assert.match(await alertText(page), /last active admin/);
  assert.equal((await admin.get("/v1/me")).role, "admin");
  await assertAccessible(page);
  await screenshot(page, "admin-user-last-admin");
  assertNoProblems(page);
  await page.context().close();
});

test("a team is deleted after confirming; its members stay", async () => {
  const team = await admin.createTeam("Short-lived");
  const member = await admin.createUser({ email: "sam@acme.example", name: "Sam", teamIds: [team.id] });
  const page = await adminPage();
  await page.goto(`${server.url}/admin/teams/${team.id}`);
  assert.equal(await submit(page, "Delete team"), 200);
  assert.match(page.url(), /\/admin\/teams\?notice=deleted$/);
  await admin.get(`/v1/teams/${team.id}`, { expect: [404] });
  assert.deepEqual((await admin.get(`/v1/users/${member.id}`)).team_ids, []);
  // Gone is gone: its page is the 404 page.
  const gone = await page.goto(`${server.url}/admin/teams/${team.id}`);
  assert.equal(gone.status(), 404);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not found");
  assertNoProblems(page);
  await page.context().close();
});

test("the dial policy refuses a bad prefix line by line and saves a good one", async () => {
  const page = await adminPage();
  await page.goto(server.url + "/admin/policies");
  await checkPage(page, "policies", "Policies");
  await page.getByLabel(/Blocked prefixes/).fill("+1900\n+12a\n\n+44 70");
  await page.getByLabel(/Do-not-call numbers/).fill("+4930123456\n12345");
  assert.equal(await submit(page, "Save dial policy"), 422);
  const refused = await alertText(page);
  assert.match(refused, /Nothing was saved/);
  assert.match(refused, /Blocked prefixes, line 2: "\+12a" is not an E\.164 prefix/);
  assert.match(refused, /Do-not-call numbers, line 2 \(12345\)/);
  assert.doesNotMatch(refused, /line 1/);
  // What was typed stays in the form; nothing changed.
  assert.equal(await page.getByLabel(/Blocked prefixes/).inputValue(), "+1900\n+12a\n\n+44 70");
  let policy = await admin.get("/v1/dial-policy");
  assert.deepEqual(policy.blocked_prefixes, []);
  assert.deepEqual(policy.do_not_call, []);
  await assertAccessible(page);
  await screenshot(page, "admin-policies-refused");

  await page.getByLabel(/Blocked prefixes/).fill("+1900\n+44 70");
  await page.getByLabel(/Do-not-call numbers/).fill("+4930123456");
  assert.equal(await submit(page, "Save dial policy"), 200);
  assert.equal(await noticeText(page), "Saved.");
  policy = await admin.get("/v1/dial-policy");
  assert.deepEqual(policy.blocked_prefixes, ["+1900", "+4470"]);
  assert.deepEqual(policy.do_not_call, ["+4930123456"]);
  assert.equal(await page.getByLabel(/Blocked prefixes/).inputValue(), "+1900\n+4470");
  assertNoProblems(page);
  await page.context().close();
});

test("the binding policy and push defaults are saved and the API shows them", async () => {
  const page = await adminPage();
  await page.goto(server.url + "/admin/policies");
  // Hours without a number of hours: the API's rule, shown on the form.
  await page.getByLabel("Binding lasts").selectOption("hours");
  await page.getByLabel(/^Hours/).fill("");
  assert.equal(await submit(page, "Save binding policy"), 422);
  assert.match(await alertText(page), /^Hours: duration hours needs duration_hours from 1 to 720/);
  assert.equal((await admin.get("/v1/binding-policy")).duration, "until_unbound");

  await page.getByLabel("Takeover").selectOption("admins");
  await page.getByLabel("Binding lasts").selectOption("hours");
  await page.getByLabel(/^Hours/).fill("8");
  await page.getByLabel(/Phones per user/).fill("2");
  assert.equal(await submit(page, "Save binding policy"), 200);
  const binding = await admin.get("/v1/binding-policy");
  assert.equal(binding.takeover, "admins");
  assert.equal(binding.duration, "hours");
  assert.equal(binding.duration_hours, 8);
  assert.equal(binding.max_phones_per_user, 2);
  assert.ok(binding.updated_at);

  await page.goto(server.url + "/admin/push");
  await checkPage(page, "push", "Push defaults");
  await page.getByLabel(/Every \(minutes/).fill("2");
  assert.equal(await submit(page, "Save push defaults"), 422);
  assert.match(await alertText(page), /^Every \(minutes\): must be between 5 and 1440/);
  const before = await admin.get("/v1/push/default-schedule");
  assert.equal(before.every_minutes ?? null, null);

  await page.getByLabel(/Daily at/).fill("09:30");
  await page.getByLabel(/Every \(minutes/).fill("");
  await page.getByLabel("On each missed call").uncheck();
  await page.getByLabel("When new call records arrive").check();
  assert.equal(await submit(page, "Save push defaults"), 200);
  const rule = await admin.get("/v1/push/default-schedule");
  assert.equal(rule.daily_at, "09:30");
  assert.equal(rule.every_minutes ?? null, null);
  assert.equal(rule.on_missed_call, false);
  assert.equal(rule.on_new_records, true);
  assert.equal(await page.getByLabel(/Daily at/).inputValue(), "09:30");
  assertNoProblems(page);
  await page.context().close();
});

test("a bind made through the API shows in the bindings and the audit log, and ends from the page", async () => {
  const phone = await admin.createPhone({ number: "+4930555001", label: "Desk 7" });
  const bound = await admin.post("/v1/bindings", { phone_id: phone.id });
  const me = await admin.get("/v1/me");
  const page = await adminPage();
  await page.goto(server.url + "/admin/bindings");
  await checkPage(page, "bindings", "Bindings");
  const row = page.getByRole("row", { name: /Desk 7/ });
  assert.match(await row.textContent(), /Desk 7 \(\+4930555001\).*admin@acme\.example.*App/s);

  await page.getByRole("link", { name: "Binding audit log" }).click();
  await page.waitForURL(/\/admin\/bindings\/log$/);
  await checkPage(page, "binding-log", "Bindings");
  const entry = page.getByRole("row", { name: /Desk 7/ });
  assert.match(await entry.textContent(), /Bound.*Desk 7.*admin@acme\.example.*App/s);

  // Ended from the page: the API says so, and the log has both entries.
  await page.goto(server.url + "/admin/bindings");
  assert.equal(await submit(page, `End the binding of ${me.display_name} <${me.email}> to Desk 7 (+4930555001)`), 200);
  assert.match(await noticeText(page), /binding has ended/);
  assert.equal((await admin.get(`/v1/bindings/${bound.id}`)).active, false);
  const other = await admin.createPhone({ number: "+4930555002", label: "Desk 8" });
  await page.goto(`${server.url}/admin/bindings/log?phone_id=${phone.id}`);
  const rows = await page.locator("tbody tr").allTextContents();
  assert.equal(rows.length, 2);
  assert.match(rows[0], /Bound/);
  assert.match(rows[1], /Ended.*unbound/s);
  // The filters are the API's: another phone's log is empty, a bad id is a 400 page.
  await page.getByLabel("Phone").selectOption(other.id);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Filter" }).click()]);
  assert.equal(await page.locator("tbody tr").count(), 0);
  const bad = await page.goto(`${server.url}/admin/bindings/log?user_id=nope`);
  assert.equal(bad.status(), 400);
  assertNoProblems(page);
  await page.context().close();
});

test("the audit log pages by keyset, filters kept", async () => {
  const phone = await admin.createPhone({ number: "+4930555003", label: "Desk 9" });
  // 3 binds and 3 ends: 6 entries of this phone, 4 per page -> 2 pages.
  for (let i = 0; i < 3; i++) {
    const b = await admin.post("/v1/bindings", { phone_id: phone.id });
    await admin.delete(`/v1/bindings/${b.id}`);
  }
  const page = await adminPage();
  await page.goto(`${server.url}/admin/bindings/log?phone_id=${phone.id}&limit=4`);
  assert.equal(await page.locator("tbody tr").count(), 4);
  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "Next page" }).click()]);
  assert.match(page.url(), new RegExp(`phone_id=${phone.id}.*cursor=\\d+`));
  // The next page keeps the phone filter and the limit.
  assert.match(page.url(), /limit=4/);
  const rest = await page.locator("tbody tr").allTextContents();
  assert.equal(rest.length, 2);
  for (const r of rest) assert.match(r, /Desk 9/);
  assertNoProblems(page);
  await page.context().close();
});

test("a manager gets the 403 page on the administration pages, and sees only their own teams, read-only", async () => {
  const mine = await admin.createTeam("Mona's team");
  const theirs = await admin.createTeam("Someone else's team");
  await admin.createUser({ email: "mona@acme.example", name: "Mona", role: "manager", teamIds: [mine.id] });
  await admin.createUser({ email: "sid@acme.example", name: "Sid", teamIds: [mine.id] });
  await admin.createUser({ email: "sal@acme.example", name: "Sal", teamIds: [mine.id] });
  const page = await newPage(browser);
  await signIn(page, server.url, "mona@acme.example", "user-password-123");
  for (const path of ["/admin", "/admin/users", "/admin/bindings", "/admin/bindings/log", "/admin/policies", "/admin/push"]) {
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), 403, path);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not allowed");
  }
  await assertAccessible(page);
  await screenshot(page, "admin-forbidden");

  // Her teams: only hers, and no way to change them.
  await page.goto(server.url + "/admin/teams");
  const names = await page.locator("tbody th").allTextContents();
  assert.deepEqual(names.map((n) => n.trim()), ["Mona's team"]);
  assert.equal(await page.getByRole("button", { name: "Create team" }).count(), 0);
  await checkPage(page, "teams-manager", "Teams");
  await page.getByRole("link", { name: "Mona's team" }).click();
  await page.waitForURL(new RegExp(`/admin/teams/${mine.id}$`));
  assert.equal(await page.locator("tbody tr").count(), 3);
  assert.equal(await page.locator("main form").count(), 0);
  await checkPage(page, "team-manager", "Teams");
  const other = await page.goto(`${server.url}/admin/teams/${theirs.id}`);
  assert.equal(other.status(), 404);

  // Her form posts are refused the same way, and change nothing.
  await page.goto(server.url + "/admin/teams");
  const status = await page.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]')?.content || "";
    const res = await fetch("/admin/teams", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${encodeURIComponent(token)}&name=Managers+Own`,
    });
    return res.status;
  });
  assert.equal(status, 403);
  const teams = await admin.get("/v1/teams?limit=200");
  assert.equal(teams.items.some((t) => t.name === "Managers Own"), false);
  await page.context().close();

  // A salesperson has no administration page at all.
  const sals = await newPage(browser);
  await signIn(sals, server.url, "sal@acme.example", "user-password-123");
  const refused = await sals.goto(server.url + "/admin/teams");
  assert.equal(refused.status(), 403);
  await sals.context().close();
});

test("an admin form posted without the CSRF token is refused with 403 and changes nothing", async () => {
  const page = await adminPage();
  // By script, without the token.
  await page.goto(server.url + "/admin/teams");
  const status = await page.evaluate(async () => {
    const res = await fetch("/admin/teams", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=Forged",
    });
    return res.status;
  });
  assert.equal(status, 403);
  // By the page's own form, its hidden field removed.
  await page.goto(server.url + "/admin/policies");
  await page.locator('form[action="/admin/policies/dial"] input[name="_csrf"]').evaluate((el) => el.remove());
  await page.getByLabel(/Blocked prefixes/).fill("+1555");
  assert.equal(await submit(page, "Save dial policy"), 403);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "This form has expired");
  const teams = await admin.get("/v1/teams?limit=200");
  assert.equal(teams.items.some((t) => t.name === "Forged"), false);
  assert.equal((await admin.get("/v1/dial-policy")).blocked_prefixes.includes("+1555"), false);
  await page.context().close();
});

test("ids not of this organisation, and ids that are not ids, are the 404 page", async () => {
  const page = await adminPage();
  await page.goto(server.url + "/admin/bindings");
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  for (const path of [
    "/admin/users/0190f0c0-0000-7000-8000-000000000000",
    "/admin/teams/0190f0c0-0000-7000-8000-000000000000",
    "/admin/users/not-an-id",
  ]) {
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), 404, path);
  }
  const status = await page.evaluate(async (token) => {
    const res = await fetch("/admin/bindings/0190f0c0-0000-7000-8000-000000000000/end", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${encodeURIComponent(token)}`,
    });
    return res.status;
  }, token);
  assert.equal(status, 404);
  await page.context().close();
});
