// Helpers of the live-board test: the phone simulator as a child process
// (it stays connected so dials reach it) and a recorder of the states the
// live board shows.
import { spawn } from "node:child_process";
import { PHONE_SIM_BIN } from "./server.mjs";

const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Starts deskbind-phone-sim provisioning itself with `code`. Returns
 * { waitFor(regex), output(), stop() }; waitFor resolves with the first
 * log line matching, already printed or still to come.
 */
export function startPhoneSim(serverUrl, code, extraArgs = []) {
  const child = spawn(
    PHONE_SIM_BIN,
    ["--server", serverUrl, "--code", code, ...extraArgs],
    { env: { ...process.env, DESKBIND_LOG: "info", NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines = [];
  const waiters = [];
  let exited = null;
  const onData = (chunk) => {
    for (const raw of String(chunk).split("\n")) {
      const line = raw.replace(ANSI, "");
      if (!line.trim()) continue;
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.regex.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.ok(line);
        }
      }
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.on("exit", (code) => {
    exited = code;
    for (const w of waiters.splice(0)) w.fail(new Error(`the simulator exited (${code}) before logging ${w.regex}:\n${lines.join("\n")}`));
  });
  return {
    waitFor(regex, timeoutMs = 20_000) {
      const seen = lines.find((l) => regex.test(l));
      if (seen) return Promise.resolve(seen);
      if (exited !== null) return Promise.reject(new Error(`the simulator exited (${exited}):\n${lines.join("\n")}`));
      return new Promise((ok, fail) => {
        const w = { regex, ok, fail };
        waiters.push(w);
        setTimeout(() => {
          if (waiters.includes(w)) {
            waiters.splice(waiters.indexOf(w), 1);
            fail(new Error(`the simulator did not log ${regex} in ${timeoutMs} ms:\n${lines.join("\n")}`));
          }
        }, timeoutMs).unref();
      });
    },
    output: () => lines.join("\n"),
    async stop() {
      if (exited === null) {
        const gone = new Promise((ok) => child.on("exit", ok));
        child.kill("SIGTERM");
        await gone;
      }
    },
  };
}

/**
 * Records, in the page, every state each dial row of the live board shows
 * as the stream replaces the board, and marks the document so a reload
 * would be noticed. Read back with `recordedStates(page)`.
 */
export async function recordBoardStates(page) {
  await page.evaluate(() => {
    window.__liveMarker = "not reloaded";
    window.__liveStates = {};
    const board = document.getElementById("live-board");
    const collect = () => {
      for (const el of board.querySelectorAll("tr[data-dial-id] [data-state]")) {
        const id = el.closest("tr").getAttribute("data-dial-id");
        const state = el.getAttribute("data-state");
        const seen = (window.__liveStates[id] ||= []);
        if (seen[seen.length - 1] !== state) seen.push(state);
      }
    };
    collect();
    new MutationObserver(collect).observe(board, { childList: true, subtree: true });
  });
}

/** The states recorded for `dialId`, in the order shown, and whether the
 * page is still the one the recorder was installed in. */
export function recordedStates(page, dialId) {
  return page.evaluate((id) => ({
    states: (window.__liveStates && window.__liveStates[id]) || [],
    notReloaded: window.__liveMarker === "not reloaded",
  }), dialId);
}
