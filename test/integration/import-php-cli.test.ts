// `npm run import:php` as an operator runs it: its own process, this registrar's settings from the environment,
// a text or JSON report on stdout, exit codes, and no password in anything it prints.
import { spawn } from "node:child_process";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl, mysqlBaseUrl } from "../support/db.js";
import { createPhpDatabase, insertPhpRows, phpSample } from "../support/php-db.js";
import { ROOT } from "../support/registrar.js";

type Run = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/import-cli.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("the import:php command", () => {
  const phpUrl = freshDatabaseUrl("phpcli");
  const targetUrl = freshDatabaseUrl("impcli");
  const env = { DATABASE_URL: targetUrl, OFFLINE_AFTER_S: "300" };

  beforeAll(async () => {
    const sample = phpSample(Date.now());
    await createPhpDatabase(phpUrl);
    await insertPhpRows(phpUrl, Object.values(sample.servers), sample.ratings);
  });
  afterAll(async () => {
    await dropDatabase(phpUrl);
    await dropDatabase(targetUrl);
  });

  it("on --dry-run against a database that does not exist yet, reports in text what it would do and creates nothing", async () => {
    const run = await cli([phpUrl, "--dry-run"], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("DRY RUN: nothing was written");
    expect(run.stdout).toMatch(/servers: 7 read, 7 imported \(5 online, 2 offline\)/);
    expect(run.stdout).toContain("migrations a real run applies first: 001_init.sql");
    expect(run.stdout).toMatch(/long\.example\.com: name: /);
    expect(run.stdout).toMatch(/Ratings not imported:\n  #\d+ of gamers\.example\.net: rating 9 is not 1–5/);
    const probe = await connect(`${mysqlBaseUrl()}/information_schema`);
    const [rows] = await probe.query<RowDataPacket[]>("SELECT 1 FROM schemata WHERE schema_name = ?", [new URL(targetUrl).pathname.slice(1)]);
    await probe.end();
    expect(rows).toHaveLength(0);
  });

  it("imports with --json: migrates the database first and prints the report as JSON", async () => {
    const run = await cli([phpUrl, "--json", "--batch=3"], env);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.servers).toMatchObject({ read: 7, imported: 7, online: 5, offline: 2 });
    expect(report.pendingMigrations).toContain("009_legacy_import.sql");
    expect(run.stderr).toContain("7/7 PHP rows read, 7 servers imported");
    const db = await connect(targetUrl);
    const [[n]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM servers");
    await db.end();
    expect(Number(n.n)).toBe(7);
  });

  it("exits 2 with the usage for a missing URL, an unknown option or a bad value", async () => {
    for (const args of [[], [phpUrl, "--frobnicate"], [phpUrl, "--batch=0"], [phpUrl, "--source-tz=Europe/Paris"]]) {
      const run = await cli(args, env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("usage: import:php");
    }
  });

  it("exits 1 with one line, never the password, when the PHP database cannot be reached or is not one", async () => {
    const secret = "s3cret-Pa55";
    const u = new URL(phpUrl);
    u.username = "nobody";
    u.password = secret;
    const denied = await cli([u.toString()], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^import failed: cannot connect to the PHP database mysql:\/\/nobody@/);
    expect(denied.stderr + denied.stdout).not.toContain(secret);
    const notPhp = await cli([targetUrl], env);
    expect(notPhp.code).toBe(1);
    expect(notPhp.stderr).toContain("is not a PHP registrar database: table servers lacks server_token");
  });

  it("exits 1 naming the variable when this registrar's configuration is invalid", async () => {
    const run = await cli([phpUrl], { ...env, OFFLINE_AFTER_S: "soon" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^config error: invalid OFFLINE_AFTER_S/);
  });
});
