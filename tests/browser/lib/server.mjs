// Starts a real deskbind-api (the binary scripts/browser-tests built) on a
// free port with its own data directory and database, and stops it. Each
// test file gets its own server, so files never see each other's data.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export const ROOT = resolve(new URL("../../..", import.meta.url).pathname);
const API_BIN = process.env.DESKBIND_API_BIN || join(ROOT, "target/debug/deskbind-api");
export const WORKER_BIN = process.env.DESKBIND_WORKER_BIN || join(ROOT, "target/debug/deskbind-worker");
export const PHONE_SIM_BIN = process.env.DESKBIND_PHONE_SIM_BIN || join(ROOT, "target/debug/deskbind-phone-sim");

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** The environment of a server: its data directory, port and database. */
function serverEnv(dataDir, port, extra) {
  const env = {
    ...process.env,
    DESKBIND_DATA_DIR: dataDir,
    DESKBIND_LISTEN: `127.0.0.1:${port}`,
    DESKBIND_LOG: process.env.DESKBIND_BROWSER_LOG || "warn",
    ...extra,
  };
  // DESKBIND_BROWSER_DATABASE_URL: a database of its own on PostgreSQL
  // (scripts/browser-tests makes one per file); default SQLite in dataDir.
  delete env.DATABASE_URL;
  if (extra && extra.DATABASE_URL) env.DATABASE_URL = extra.DATABASE_URL;
  return env;
}

function run(bin, args, env, input) {
  return new Promise((ok, fail) => {
    const child = spawn(bin, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", fail);
    child.on("close", (code) =>
      code === 0 ? ok(out) : fail(new Error(`${bin} ${args.join(" ")} exited ${code}: ${err}`)),
    );
    child.stdin.end(input || "");
  });
}

/**
 * Starts a server with a first admin. Returns { url, port, admin, stop }.
 * `admin` is { email, password, org }.
 */
export async function startServer({ env: extra = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "deskbind-browser-"));
  const port = await freePort();
  const databaseUrl = await freshDatabase();
  const env = serverEnv(dataDir, port, { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...extra });
  const admin = { email: "admin@acme.example", password: "admin-password-123", org: "Acme Sales" };
  await run(API_BIN, ["init-admin", "--org", admin.org, "--email", admin.email], {
    ...env,
    DESKBIND_ADMIN_PASSWORD: admin.password,
  });
  const child = spawn(API_BIN, [], { env, stdio: ["ignore", "inherit", "inherit"] });
  let exited = null;
  child.on("exit", (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  // Wait until the listener answers (the process is starting, not sleeping
  // on a guess: each try is a real request, bounded overall).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) throw new Error(`deskbind-api exited with ${exited} before listening`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error("deskbind-api did not become ready in 30 s");
    await delay(50);
  }
  return {
    url,
    port,
    dataDir,
    env,
    admin,
    async stop() {
      if (exited === null) {
        const gone = new Promise((ok) => child.on("exit", ok));
        child.kill("SIGTERM");
        await gone;
      }
      if (!process.env.DESKBIND_TEST_KEEP_DB) rmSync(dataDir, { recursive: true, force: true });
      if (databaseUrl) await dropDatabase(databaseUrl);
    },
  };
}

// On PostgreSQL (DESKBIND_TEST_BACKEND=postgres) every server gets a fresh
// database, made and dropped with psql.
const PG_URL = process.env.DESKBIND_TEST_POSTGRES_URL || "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

async function freshDatabase() {
  if (process.env.DESKBIND_TEST_BACKEND !== "postgres") return null;
  const name = `deskbind_browser_${process.pid}_${Date.now()}`;
  await run("psql", [PG_URL, "-Atqc", `CREATE DATABASE ${name}`], process.env);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(databaseUrl) {
  if (process.env.DESKBIND_TEST_KEEP_DB) return;
  const name = new URL(databaseUrl).pathname.slice(1);
  await run("psql", [PG_URL, "-Atqc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], process.env);
}

/**
 * A second organisation with its own first admin, on `server`'s database
 * (for tenancy checks); returns an API client signed in as that admin.
 */
export async function secondOrganisation(server, { org = "Globex", email = "admin@globex.example", password = "globex-password-123" } = {}) {
  await run(API_BIN, ["init-admin", "--org", org, "--email", email], {
    ...server.env,
    DESKBIND_ADMIN_PASSWORD: password,
  });
  const { Api } = await import("./api.mjs");
  return Api.login(server.url, email, password);
}
