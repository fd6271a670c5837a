// Setting up calls for the statistics page through the JSON API: a desk
// phone per person (registered, provisioned with its one-time code), bound
// by that person in the app, and call records the phone uploads. Records
// are attributed to whoever held the phone when the call started, so
// callers start their calls after `bindPhone` returned.
import { Api, provisionPhone } from "./api.mjs";

/**
 * Registers and provisions a phone that `userIds` may bind; returns
 * { id, api } (the phone's credential).
 */
export async function provisionedPhone(admin, url, number, label, userIds) {
  const phone = await admin.createPhone({ number, label });
  await admin.put(`/v1/phones/${phone.id}/grants`, { user_ids: userIds });
  const { code } = await admin.provisioningCode(phone.id);
  return provisionPhone(url, code);
}

/** Creates a user, signs them in to the API and binds them to a new phone. */
export async function personWithPhone(admin, url, { email, name, role = "salesperson", teamIds, timeZone, number }) {
  const password = "user-password-123";
  const user = await admin.createUser({ email, name, role, password, teamIds, timeZone });
  const api = await Api.login(url, email, password);
  const phone = await provisionedPhone(admin, url, number, `${name}'s desk`, [user.id]);
  await api.post("/v1/bindings", { phone_id: phone.id });
  return { user, api, phone, email, password, name };
}

/**
 * One call record as a phone uploads it. `at` is a Date; `talk` seconds
 * makes it answered.
 */
export function callRecord({ id, at, direction, number, talk, result }) {
  const record = {
    call_id: id,
    direction,
    remote_number: number,
    started_at: at.toISOString(),
  };
  if (talk !== undefined) {
    record.answered_at = at.toISOString();
    record.duration_secs = talk;
    record.result = "answered";
  } else if (result) {
    record.result = result;
  }
  return record;
}

/** Uploads records from a phone; fails unless every one was accepted. */
export async function uploadCalls(phone, records) {
  const res = await phone.api.post("/v1/phone/call-records", { records });
  for (const r of res.results) {
    if (r.outcome !== "created") throw new Error(`record not created: ${JSON.stringify(r)}`);
  }
  return res;
}

/** "h:mm:ss", as the page writes durations. */
export function duration(secs) {
  const h = Math.floor(secs / 3600);
  const m = String(Math.floor(secs / 60) % 60).padStart(2, "0");
  const s = String(secs % 60).padStart(2, "0");
  return `${h}:${m}:${s}`;
}

/** "HH:MM" of `at` in `timeZone`. */
export function clock(at, timeZone) {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at);
}

/** Monday-first weekday index and hour of `at` in `timeZone`. */
export function weekdayHour(at, timeZone) {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, weekday: "short", hour: "2-digit", hourCycle: "h23" }).formatToParts(at);
  const weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.find((p) => p.type === "weekday").value);
  return [weekday, Number(parts.find((p) => p.type === "hour").value)];
}
