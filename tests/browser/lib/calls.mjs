// Setting up calls to look at in the console, through the JSON API only:
// teams and people, provisioned phones bound to their users, call records
// the phones report, and a recording (a real PCM WAV made here).
import { createHash } from "node:crypto";
import { Api, provisionPhone } from "./api.mjs";

/** A mono 16-bit PCM WAV of `seconds` of a 440 Hz tone at 8 kHz. */
export function wav(seconds, rate = 8000) {
  const samples = Math.round(seconds * rate);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8);
  header.write("fmt ", 12);
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Registers and provisions a phone; returns { id, api } (the phone's own client). */
export async function provisionedPhone(admin, url, number, label) {
  const phone = await admin.createPhone({ number, label });
  const { code } = await admin.provisioningCode(phone.id);
  const provisioned = await provisionPhone(url, code);
  return { id: phone.id, number, label, api: provisioned.api };
}

/**
 * A user of the admin's organisation who may bind `phone` and has bound it
 * (as themselves, through the app's route). Returns { user, api, binding }.
 */
export async function boundUser(admin, url, { email, name, role = "salesperson", teamIds, phone, password = "user-password-123" }) {
  const user = await admin.createUser({ email, name, role, teamIds, password });
  await admin.put(`/v1/phones/${phone.id}/grants`, { user_ids: [user.id] });
  const api = await Api.login(url, email, password);
  const binding = await api.post("/v1/bindings", { phone_id: phone.id });
  return { user, api, binding, email, password };
}

/**
 * Calls the phone reports, attributed to whoever held it when they
 * started: each `spec` is { callId, number, direction?, result?, durationSecs? }.
 * They start, in order, between `after` (a Date, e.g. the binding's start)
 * and now, so they lie inside the binding and not in the future.
 * Returns the ingest results.
 */
export async function reportCalls(phone, after, specs) {
  const from = after.getTime() + 1;
  const span = Math.max(Date.now() - from, specs.length);
  const records = specs.map((spec, i) => {
    const started = new Date(from + Math.floor((span * i) / specs.length));
    const duration = spec.durationSecs ?? 30;
    const answered = (spec.result ?? "answered") === "answered";
    const record = {
      call_id: spec.callId,
      direction: spec.direction ?? "outbound",
      remote_number: spec.number,
      started_at: started.toISOString(),
      result: spec.result ?? "answered",
    };
    if (answered) {
      record.answered_at = started.toISOString();
      record.ended_at = new Date(started.getTime() + duration * 1000).toISOString();
      record.duration_secs = duration;
    }
    return record;
  });
  const results = await phone.api.post("/v1/phone/call-records", { records });
  for (const r of results.results) {
    if (r.outcome === "rejected") throw new Error(`record refused: ${JSON.stringify(r)}`);
  }
  return results;
}

/** Uploads `bytes` as the recording of the phone's call `callId`. */
export function uploadRecording(phone, callId, bytes) {
  const digest = createHash("sha256").update(bytes).digest("base64");
  return phone.api.put(`/v1/phone/recordings/${encodeURIComponent(callId)}`, bytes, {
    raw: true,
    headers: { "content-type": "audio/wav", "content-digest": `sha-256=:${digest}:` },
  });
}

/** The CSV the JSON API exports for `query` (a URLSearchParams-able object). */
export async function apiExport(api, query) {
  const params = new URLSearchParams(query).toString();
  return api.get(`/v1/calls/export.csv?${params}`);
}
