// Contract §10: the database pool running dry is a 503 `unavailable` (with Retry-After), never a 500, and a refused
// write changes nothing. Review M4: mysql2's "Queue limit reached." had no code and came out as 500 `internal`.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl, mysqlBaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

function expectCreatedOr503(res: ApiResponse): void {
  expect([201, 503], res.text).toContain(res.status);
  if (res.status !== 503) return;
  expect(res.body.error.code).toBe("unavailable");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
}

async function storedDomains(url: string, domains: string[]): Promise<Set<string>> {
  const db = await connect(url);
  try {
    const [rows] = (await db.query("SELECT domain FROM servers WHERE domain IN (?)", [domains])) as any;
    return new Set(rows.map((r: { domain: string }) => r.domain));
  } finally {
    await db.end();
  }
}

describe("a pool with one connection and a queue of one", () => {
  const dbUrl = freshDatabaseUrl("pooldry");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, DB_POOL_SIZE: "1", DB_QUEUE_LIMIT: "1", RATE_LIMIT_REGISTER: "off", LOG_LEVEL: "warn" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers a burst of registrations with 201 or 503 unavailable, never 500, and stores exactly the 201s", async () => {
    const bodies = Array.from({ length: 40 }, () => newServer());
    const answers = await Promise.all(bodies.map((b) => c.post("/v1/servers", b)));
    for (const res of answers) expectCreatedOr503(res);
    const refused = bodies.filter((_, i) => answers[i].status === 503).map((b) => b.domain);
    const created = bodies.filter((_, i) => answers[i].status === 201).map((b) => b.domain);
    expect(refused.length).toBeGreaterThan(0);
    // Nothing half-written: a refused registration is in neither MySQL nor the directory.
    expect([...(await storedDomains(dbUrl, bodies.map((b) => b.domain)))].sort()).toEqual(created.sort());
    for (const domain of refused.slice(0, 5)) expect((await c.get(`/v1/servers/${domain}`)).status).toBe(404);
    expect(reg.logs.some((l) => l.msg === "unhandled error")).toBe(false);
    // The pool recovers once the burst is over (background work shares the one connection: allow it a turn).
    await vi.waitFor(async () => expect((await c.post("/v1/servers", newServer())).status).toBe(201), { timeout: 10_000, interval: 100 });
  });
});

describe("a pool whose MySQL hangs", () => {
  const direct = freshDatabaseUrl("poolhang");
  let proxy: TcpProxy;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    const base = new URL(mysqlBaseUrl());
    proxy = await startTcpProxy({ host: base.hostname, port: Number(base.port || 3306) });
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    reg = await startRegistrar({
      DATABASE_URL: viaProxy.toString(), DB_POOL_SIZE: "2", DB_QUEUE_LIMIT: "4", DB_ACQUIRE_TIMEOUT_MS: "1000",
      RATE_LIMIT_REGISTER: "off", LOG_LEVEL: "warn",
    });
    c = api(reg.url);
  });
  afterAll(async () => {
    await proxy?.resume();
    await reg?.stop();
    await proxy?.close();
    await dropDatabase(direct);
  });

  it("answers concurrent writes with 503 unavailable within the deadlines, never 500, then takes writes again", async () => {
    const before = newServer();
    expect((await c.post("/v1/servers", before)).status).toBe(201);
    await proxy.stall();
    const bodies = Array.from({ length: 12 }, () => newServer());
    const startedAt = Date.now();
    const answers = await Promise.all(bodies.map((b) => c.post("/v1/servers", b)));
    // Statement deadline (5 s) + connect timeout (2 s) + acquire deadline (1 s), with room for a loaded machine.
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    for (const res of answers) {
      expect(res.status, res.text).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(res.headers.get("retry-after")).toBe("1");
    }
    expect(reg.logs.some((l) => l.msg === "unhandled error")).toBe(false);
    await proxy.resume();
    await vi.waitFor(async () => expect((await c.post("/v1/servers", newServer())).status).toBe(201), { timeout: 15_000, interval: 200 });
    // None of the refused registrations landed.
    expect((await storedDomains(direct, bodies.map((b) => b.domain))).size).toBe(0);
  }, 60_000);
});
