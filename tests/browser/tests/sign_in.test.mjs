// Signing in and out of the console, the session cookie, CSRF refusals and
// the security headers, in a real browser against a real server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { Api } from "../lib/api.mjs";
import { launch, newPage, signIn, screenshot, assertAccessible, assertNoProblems } from "../lib/browser.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the sign-in page is accessible and signing in lands on the call log", async () => {
  const page = await newPage(browser);
  await page.goto(server.url + "/");
  assert.match(page.url(), /\/sign-in\?next=%2F$/);
  assert.equal(await page.title(), "Sign in · deskbind");
  await assertAccessible(page);
  await screenshot(page, "sign-in");
  await signIn(page, server.url, server.admin.email, server.admin.password);
  assert.match(page.url(), /\/calls$/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "deskbind_console");
  assert.ok(session, "a session cookie is set");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Lax");
  assertNoProblems(page);
  await page.context().close();
});

test("a wrong password is refused on the page, without a session", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, "not-the-password");
  assert.match(page.url(), /\/sign-in$/);
  await assert.doesNotReject(page.getByRole("alert").waitFor());
  assert.match(await page.getByRole("alert").textContent(), /do not match/);
  const cookies = await page.context().cookies();
  assert.equal(cookies.find((c) => c.name === "deskbind_console"), undefined);
  await page.context().close();
});

test("after sign-in the browser returns to the page it asked for, and only to this server", async () => {
  const page = await newPage(browser);
  await page.goto(server.url + "/sign-in?next=//evil.example/x");
  await page.getByLabel("Email").fill(server.admin.email);
  await page.getByLabel("Password").fill(server.admin.password);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Sign in" }).click()]);
  assert.equal(new URL(page.url()).host, `127.0.0.1:${server.port}`);
  await page.context().close();
});

test("a state change without the CSRF token is refused and changes nothing", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  // Sign-out is a state change: post it without the token, from the page.
  const status = await page.evaluate(async () => {
    const res = await fetch("/sign-out", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    return res.status;
  });
  assert.equal(status, 403);
  // With a wrong token too.
  const wrong = await page.evaluate(async () => {
    const res = await fetch("/sign-out", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "_csrf=not-the-token",
    });
    return res.status;
  });
  assert.equal(wrong, 403);
  // The session is still alive: the console still opens.
  await page.goto(server.url + "/calls");
  assert.match(page.url(), /\/calls$/);
  await page.context().close();
});

test("a form posted from another origin is refused even with a valid-looking token", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  const cookie = (await page.context().cookies()).find((c) => c.name === "deskbind_console");
  const res = await fetch(server.url + "/sign-out", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: "https://evil.example",
      cookie: `deskbind_console=${cookie.value}`,
    },
    body: `_csrf=${encodeURIComponent(token)}`,
  });
  assert.equal(res.status, 403);
  await page.context().close();
});

test("signing out ends the session on the server, not just in this browser", async () => {
  const page = await newPage(browser);
  await signIn(page, server.url, server.admin.email, server.admin.password);
  const cookie = (await page.context().cookies()).find((c) => c.name === "deskbind_console");
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Sign out" }).click()]);
  assert.match(page.url(), /\/sign-in$/);
  // The old cookie, replayed, no longer opens anything.
  const res = await fetch(server.url + "/calls", {
    headers: { cookie: `deskbind_console=${cookie.value}` },
    redirect: "manual",
  });
  assert.equal(res.status, 303);
  assert.match(res.headers.get("location"), /^\/sign-in/);
  await page.context().close();
});

test("a disabled user's console session ends at once", async () => {
  const admin = await Api.login(server.url, server.admin.email, server.admin.password);
  const user = await admin.createUser({ email: "leaver@acme.example", name: "Leaver", role: "manager" });
  const page = await newPage(browser);
  await signIn(page, server.url, "leaver@acme.example", "user-password-123");
  assert.match(page.url(), /\/calls$/);
  await admin.patch(`/v1/users/${user.id}`, { disabled: true });
  await page.goto(server.url + "/calls");
  assert.match(page.url(), /\/sign-in/);
  await page.context().close();
});

test("pages carry the security headers and an unknown page is an HTML 404", async () => {
  const res = await fetch(server.url + "/sign-in");
  const csp = res.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const page = await newPage(browser);
  const missing = await page.goto(server.url + "/no-such-page");
  assert.equal(missing.status(), 404);
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Not found");
  // The JSON API's unknown paths stay problem documents.
  const api = await fetch(server.url + "/v1/no-such-thing", { headers: { accept: "text/html" } });
  assert.equal(api.status, 404);
  assert.match(api.headers.get("content-type"), /problem\+json/);
  await page.context().close();
});
