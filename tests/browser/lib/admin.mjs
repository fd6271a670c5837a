// Helpers of the administration pages' browser test: posting a form as a
// person would (and reading the status the server answered), and a
// manager or salesperson made through the JSON API.
import assert from "node:assert/strict";

/** Clicks a submit button and waits for the page it leads to; returns
 * the HTTP status of that page (a redirect's target for a 303, the form
 * re-shown for a refusal). Dialogs (data-confirm) are accepted. */
export async function submit(page, buttonName) {
  const accept = (dialog) => dialog.accept();
  page.once("dialog", accept);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name: buttonName, exact: true }).click(),
  ]);
  page.off("dialog", accept);
  return response.status();
}

/** The id at the end of a page's path, such as /admin/users/{id}. */
export function idFromUrl(page) {
  const parts = new URL(page.url()).pathname.split("/");
  return parts[parts.length - 1];
}

/** The text of the page's alert (a refusal shown on the form). */
export async function alertText(page) {
  const alert = page.getByRole("alert");
  await alert.first().waitFor();
  return (await alert.first().textContent()).trim();
}

/** The text of the page's notice (after a change was saved). */
export async function noticeText(page) {
  const notice = page.getByRole("status");
  await notice.first().waitFor();
  return (await notice.first().textContent()).trim();
}

/** Fails unless exactly the administration item `label` is marked current. */
export async function assertAdminNavCurrent(page, label) {
  const nav = page.getByRole("navigation", { name: "Administration" });
  const current = await nav.locator('[aria-current="page"]').allTextContents();
  assert.deepEqual(current.map((t) => t.trim()), [label]);
}
