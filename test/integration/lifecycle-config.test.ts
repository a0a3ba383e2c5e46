// Start-up refusals: a bad setting, the uWebSockets.js JavaScript fallback or an edited migration stops the process
// with exit code 1 and one line on stderr naming the cause, before it listens or (for settings) opens anything.
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { migrate } from "../../src/store/migrate.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { ROOT, spawnRegistrar } from "../support/registrar.js";

// Nothing listens on port 1: if start-up got as far as MySQL, the error would be a connection error instead.
const NO_DB = "mysql://root@127.0.0.1:1/zent_never_opened";

function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: "0", HOST: "127.0.0.1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

describe("start-up refuses bad settings with exit 1 and one line naming the variable", () => {
  // Through the real entry point: exit code, exactly one stderr line, nothing opened or logged first.
  it.each([
    ["OFFLINE_AFTER_S", "abc"],
    ["PORT", "70000"],
    ["RATE_LIMIT_LIST", "5 per minute"],
    ["TRUSTED_PROXIES", "not-a-cidr"],
    ["CORS_ORIGINS", "ftp://x/y"],
  ])("main.ts with %s=%s", async (name, value) => {
    const { code, stdout, stderr } = await runToExit({ DATABASE_URL: NO_DB, [name]: value });
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([expect.stringContaining(`${name}=`)]);
    expect(stdout).toBe(""); // refused before the logger said anything
  });

  // The same check in-process for more values: loadConfig is what main.ts turns into that one line.
  it.each([
    ["OFFLINE_AFTER_S", "-5"],
    ["OFFLINE_AFTER_S", "Infinity"],
    ["FLUSH_INTERVAL_MS", "1.5"],
    // Pass the N/seconds shape but not the limiter's own bounds: must still be named here, not fail later (issue 2).
    ["RATE_LIMIT_REGISTER", "5000000000/60"],
    ["RATE_LIMIT_RATE", "10/99999999"],
    ["WS_RATE_LIMIT", "0/60"],
    ["TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.300"],
    ["TRUSTED_PROXIES", "10.0.0.0/33"],
    ["CORS_ORIGINS", "https://ok.example.com,https://bad.example.com/path"],
    ["CORS_ORIGINS", "*"],
    ["DATABASE_URL", "postgres://localhost/x"],
  ])("loadConfig with %s=%s", (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message.startsWith(`invalid ${name}=`)).toBe(true);
    expect(message).not.toContain("\n");
  });

  it("accepts the documented forms of the same settings", () => {
    const c = loadConfig({
      OFFLINE_AFTER_S: "2.5", RATE_LIMIT_LIST: "off", RATE_LIMIT_RATE: "OFF", TRUSTED_PROXIES: "cloudflare, 10.0.0.0/8,",
      CORS_ORIGINS: "https://a.example.com,HTTPS://b.example.com:443", WS_RATE_LIMIT: "120/60",
    });
    expect(c.offlineAfterMs).toBe(2_500);
  });
});

describe("other start-up refusals", () => {
  const urls: string[] = [];
  afterAll(async () => {
    for (const u of urls) await dropDatabase(u);
  });

  it("refuses to run on the uWebSockets.js JavaScript fallback (UWS_USE_FALLBACK=1)", async () => {
    const { code, stdout, stderr } = await runToExit({ DATABASE_URL: NO_DB, UWS_USE_FALLBACK: "1" });
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([expect.stringMatching(/UWS_USE_FALLBACK.*fallback.*refusing to start/)]);
    expect(stdout).not.toContain("registrar listening");
  });

  it("starts normally with UWS_USE_FALLBACK=0, which the package itself ignores", async () => {
    const url = freshDatabaseUrl("cfgfb0");
    urls.push(url);
    const child = await spawnRegistrar({ DATABASE_URL: url, UWS_USE_FALLBACK: "0" });
    expect(await child.kill("SIGTERM")).toBe(0);
  });

  it("stops at start-up when an applied migration's checksum does not match", async () => {
    const url = freshDatabaseUrl("cfgmigsum");
    urls.push(url);
    await migrate(url);
    const db = await connect(url);
    await db.query("UPDATE schema_migrations SET checksum = REPEAT('0', 64) WHERE version = 1");
    await db.end();
    const { code, stdout, stderr } = await runToExit({ DATABASE_URL: url });
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([expect.stringMatching(/migration 001_\w+\.sql changed after it was applied \(checksum mismatch\)/)]);
    expect(stdout).not.toContain("registrar listening");
  });
});
