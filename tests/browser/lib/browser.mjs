// Debian's Chromium, headless, driven by playwright-core. Screenshots go to
// target/browser-artifacts/ (CI keeps them). The flags keep Chromium off
// the network this machine does not have (background updates, sync).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { ROOT } from "./server.mjs";

export const ARTIFACTS = join(ROOT, "target/browser-artifacts");
const CHROMIUM = process.env.DESKBIND_CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** A fresh browser context (its own cookies) and page, with errors from
 * the page's scripts and CSP violations turned into test failures. */
export async function newPage(browser, { timezoneId = "UTC", acceptDownloads = true } = {}) {
  const context = await browser.newContext({ timezoneId, acceptDownloads, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (err) => page.problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/status of (4|5)\d\d/.test(msg.text())) {
      page.problems.push(`console error: ${msg.text()}`);
    }
  });
  return page;
}

/** Fails when the page logged a script error or a CSP violation. */
export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], "the page reported errors");
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Signs in through the form, as a person would. */
export async function signIn(page, url, email, password) {
  await page.goto(`${url}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Sign in" }).click()]);
}

/**
 * Accessibility basics of the page as it is now: a title, one h1, a lang,
 * every form control with an accessible name (a <label>, aria-label or
 * aria-labelledby), no positive tabindex (keyboard order is the document's),
 * and every link and button reachable by Tab.
 */
export async function assertAccessible(page) {
  const report = await page.evaluate(() => {
    const problems = [];
    if (!document.title.trim()) problems.push("the page has no title");
    if (!document.documentElement.lang) problems.push("<html> has no lang");
    if (document.querySelectorAll("h1").length !== 1) problems.push("the page needs exactly one h1");
    const controls = document.querySelectorAll("input:not([type=hidden]), select, textarea");
    for (const el of controls) {
      const labelled =
        (el.labels && el.labels.length > 0) ||
        el.getAttribute("aria-label") ||
        el.getAttribute("aria-labelledby") ||
        el.getAttribute("title");
      if (!labelled) problems.push(`unlabelled control: ${el.outerHTML.slice(0, 120)}`);
    }
    for (const el of document.querySelectorAll("[tabindex]")) {
      if (Number(el.getAttribute("tabindex")) > 0) problems.push(`positive tabindex: ${el.outerHTML.slice(0, 80)}`);
    }
    for (const el of document.querySelectorAll("button, a[href]")) {
      if (!(el.textContent.trim() || el.getAttribute("aria-label") || el.getAttribute("title"))) {
        problems.push(`a link or button without a name: ${el.outerHTML.slice(0, 120)}`);
      }
    }
    const focusable = [...document.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])")]
      .filter((el) => el.getAttribute("tabindex") !== "-1" && el.getClientRects().length > 0);
    return { problems, focusable: focusable.length };
  });
  assert.deepEqual(report.problems, [], "accessibility basics");
  // Tab through the page: focus must move to as many distinct elements as
  // there are visible focusable ones (nothing traps or skips focus).
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const seen = new Set();
  for (let i = 0; i < report.focusable + 1; i++) {
    await page.keyboard.press("Tab");
    const id = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      if (!el.dataset.a11yId) el.dataset.a11yId = String(Math.random());
      return el.dataset.a11yId;
    });
    if (id) seen.add(id);
  }
  assert.ok(seen.size >= report.focusable, `Tab reached ${seen.size} of ${report.focusable} focusable elements`);
}
