// MySQL unreachable (contract §1 503 unavailable, §3 Status): through a TCP proxy that is cut and restored, health
// says degraded, writes answer 503 fast and leave nothing half-written, reads and heartbeats keep working from
// memory, and the soft state and status transitions taken meanwhile reach MySQL once it is back.
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl, mysqlBaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { letTimePass } from "../support/wait.js";

/** Answered at all within this long: "fails fast" rather than hanging on a dead pool. */
const FAST_MS = 3_000;

async function timed<T>(p: Promise<T>): Promise<{ ms: number; r: T }> {
  const t = performance.now();
  const r = await p;
  return { ms: performance.now() - t, r };
}

function expectUnavailable(res: ApiResponse, ms: number, what: string) {
  expect({ what, status: res.status, code: res.body?.error?.code }).toEqual({ what, status: 503, code: "unavailable" });
  expect(ms, `${what} took ${ms} ms`).toBeLessThan(FAST_MS);
  expect(res.text).not.toMatch(/ECONN|SELECT|INSERT|UPDATE|at .*\.ts/);
}

describe("MySQL unreachable", () => {
  const direct = freshDatabaseUrl("fmysqldown");
  let proxy: TcpProxy;
  let reg: InProcessRegistrar;
  let db: Connection;
  let viaProxy: string;
  beforeAll(async () => {
    const base = new URL(mysqlBaseUrl());
    proxy = await startTcpProxy({ host: base.hostname, port: Number(base.port || 3306) });
    viaProxy = direct.replace(`${base.hostname}:${base.port || 3306}`, `127.0.0.1:${proxy.port}`);
    expect(viaProxy).not.toBe(direct);
    reg = await startRegistrar({
      // MASS_EXPIRY_HOLD_S=0: the many servers of the bursts below fall silent together, a mass expiry that would hold
      // the transition the last test waits for (mass expiry has its own tests).
      DATABASE_URL: viaProxy, OFFLINE_AFTER_S: "3", FLUSH_INTERVAL_MS: "200", MASS_EXPIRY_HOLD_S: "0",
      RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATE_LIMIT_LIST: "off", LOG_LEVEL: "warn", RATINGS_ANONYMOUS: "true",
    });
    expect(proxy.accepted).toBeGreaterThan(0);
    db = await connect(direct);
  });
  afterAll(async () => {
    await proxy?.resume();
    await reg?.stop();
    await proxy?.close();
    await db?.end();
    await dropDatabase(direct);
  });

  it("answers writes 503 fast, serves reads and heartbeats from memory, and writes the heartbeats once MySQL is back", async () => {
    const c = api(reg.url);
    const [a, b, k] = [newServer(), newServer(), newServer()];
    const tokens: Record<string, string> = {};
    for (const s of [a, b, k]) {
      const r = await c.post("/v1/servers", s);
      expect(r.status).toBe(201);
      tokens[s.domain] = r.body.token;
    }
    expect((await c.post(`/v1/servers/${a.domain}/rate`, { user_id: "before", rating: 4 })).status).toBe(201);
    expect((await c.get("/v1/health")).status).toBe(200);

    await proxy.pause();

    const health = await timed(c.get("/v1/health"));
    expect(health.r.status).toBe(503);
    expect(health.r.body).toMatchObject({ status: "degraded", checks: { mysql: "down" } });
    expect(health.ms).toBeLessThan(FAST_MS);

    const lost = newServer();
    const writes: [string, () => Promise<ApiResponse>][] = [
      ["register", () => c.post("/v1/servers", lost)],
      ["update", () => c.put(`/v1/servers/${a.domain}`, { name: "Never stored" }, { token: tokens[a.domain] })],
      ["delete", () => c.del(`/v1/servers/${b.domain}`, { token: tokens[b.domain] })],
      ["rate", () => c.post(`/v1/servers/${a.domain}/rate`, { user_id: "during", rating: 1 })],
      ["rotate", () => c.post(`/v1/servers/${k.domain}/token`, undefined, { token: tokens[k.domain] })],
    ];
    // Twice: the first attempt meets the pool's dead connections, the second has to open new ones.
    for (let round = 0; round < 2; round++) {
      for (const [what, write] of writes) {
        const { r, ms } = await timed(write());
        expectUnavailable(r, ms, `${what} #${round + 1}`);
      }
    }

    const list = await c.get("/v1/servers");
    expect(list.status).toBe(200);
    expect(list.body.servers.map((s: any) => s.domain).sort()).toEqual([a.domain, b.domain, k.domain].sort());
    const detail = await c.get(`/v1/servers/${a.domain}`);
    expect(detail.status).toBe(200);
    expect(detail.body.server).toMatchObject({ name: a.name, rating: { average: 4, count: 1 } });

    const beats: Record<string, string> = {};
    for (const [s, users] of [[a, 11], [b, 12], [k, 13]] as const) {
      const { r, ms } = await timed(c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: users }, { token: tokens[s.domain] }));
      expect(r.status).toBe(200);
      expect(ms).toBeLessThan(FAST_MS);
      beats[s.domain] = r.body.last_seen;
    }
    // The refused rotation changed nothing: the old token still works (the heartbeat above used it).
    expect((await c.get(`/v1/servers/${a.domain}`)).body.server.user_count).toBe(11);

    await proxy.resume();
    await vi.waitFor(async () => expect((await c.get("/v1/health")).status).toBe(200), { timeout: 5_000, interval: 100 });
    await vi.waitFor(
      async () => {
        const [rows] = await db.query<RowDataPacket[]>("SELECT domain, user_count, last_seen FROM servers ORDER BY domain");
        expect(rows.map((r) => [r.domain, r.user_count, (r.last_seen as Date).toISOString()])).toEqual(
          [[a.domain, 11], [b.domain, 12], [k.domain, 13]].sort().map(([d, u]) => [d, u, beats[d as string]]),
        );
      },
      { timeout: 5_000, interval: 100 },
    );

    // Nothing half-written: no row for the refused registration, no event for any refused write.
    const [events] = await db.query<RowDataPacket[]>("SELECT type, domain FROM events WHERE type <> 'server.status' ORDER BY seq");
    expect(events.map((e) => `${e.type} ${e.domain}`)).toEqual([
      `server.registered ${a.domain}`, `server.registered ${b.domain}`, `server.registered ${k.domain}`, `rating.created ${a.domain}`,
    ]);
    const [[srv]] = await db.query<RowDataPacket[]>("SELECT name FROM servers WHERE domain = ?", [a.domain]);
    expect(srv.name).toBe(a.name);
    const [ratings] = await db.query<RowDataPacket[]>("SELECT user_id FROM ratings");
    expect(ratings.map((r) => r.user_id)).toEqual(["before"]);
    const [audit] = await db.query<RowDataPacket[]>("SELECT action FROM audit_log ORDER BY id");
    expect(audit.map((r) => r.action)).toEqual(["server.register", "server.register", "server.register", "rating.create"]);

    // And the store takes writes again, including the registration that was refused.
    expect((await c.post("/v1/servers", lost)).status).toBe(201);
    expect((await c.put(`/v1/servers/${a.domain}`, { name: "Stored now" }, { token: tokens[a.domain] })).status).toBe(200);
    expect((await c.post(`/v1/servers/${k.domain}/token`, undefined, { token: tokens[k.domain] })).status).toBe(200);
  });

  it("answers 503 within a few seconds when MySQL stops answering without resetting connections (a partition)", async () => {
    const c = api(reg.url);
    const s = newServer();
    const r = await c.post("/v1/servers", s);
    expect(r.status).toBe(201);
    await proxy.stall();
    try {
      // Health and writes in parallel, as clients would send them; each must come back, not hang on the pool.
      const started = performance.now();
      const [health, update, register, rate] = await Promise.all([
        timed(c.get("/v1/health")),
        timed(c.put(`/v1/servers/${s.domain}`, { name: "Partitioned" }, { token: r.body.token })),
        timed(c.post("/v1/servers", newServer())),
        timed(c.post(`/v1/servers/${s.domain}/rate`, { user_id: "p", rating: 3 })),
      ]);
      expect(health.r.status).toBe(503);
      expect(health.r.body.checks.mysql).toBe("down");
      const slow = 2 * FAST_MS; // a statement deadline, or a connect timeout, then the answer
      expect(health.ms).toBeLessThan(slow);
      for (const [what, x] of [["update", update], ["register", register], ["rate", rate]] as const) {
        expectUnavailable(x.r, 0, what);
        expect(x.ms, what).toBeLessThan(slow);
      }
      expect(performance.now() - started).toBeLessThan(slow);
      const hb = await timed(c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: 1 }, { token: r.body.token }));
      expect(hb.r.status).toBe(200);
      expect(hb.ms).toBeLessThan(500);
      expect((await c.get(`/v1/servers/${s.domain}`)).body.server.name).toBe(s.name);
    } finally {
      await proxy.resume();
    }
    await vi.waitFor(async () => expect((await c.get("/v1/health")).status).toBe(200), { timeout: 10_000, interval: 100 });
    expect((await c.put(`/v1/servers/${s.domain}`, { name: "Healed" }, { token: r.body.token })).status).toBe(200);
    const [[row]] = await db.query<RowDataPacket[]>("SELECT name FROM servers WHERE domain = ?", [s.domain]);
    expect(row.name).toBe("Healed");
  }, 40_000);

  it("answers a write whose connection died around COMMIT by what MySQL really did: 2xx means stored, 503 means not", async () => {
    // Issue 2 regression: a registration whose COMMIT reached MySQL but whose answer was lost was reported 503 while
    // the row stayed in MySQL and not in memory: the domain was then "taken" with a token nobody had.
    const c = api(reg.url);
    const owners: { domain: string; token: string; name: string }[] = [];
    for (let i = 0; i < 10; i++) {
      const s = newServer();
      const r = await c.post("/v1/servers", s);
      owners.push({ domain: s.domain, token: r.body.token, name: s.name });
    }
    const rowCount = async () => Number((await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM servers"))[0][0].n);
    for (let round = 0; round < 6; round++) {
      const before = await rowCount();
      const fresh = Array.from({ length: 30 }, () => newServer());
      const regs = fresh.map((s) => c.post("/v1/servers", s).then((r) => ({ domain: s.domain, status: r.status })));
      const upds = owners.map((o, i) => {
        const name = `Round ${round} ${i}`;
        return c.put(`/v1/servers/${o.domain}`, { name }, { token: o.token }).then((r) => ({ o, name, status: r.status }));
      });
      // Cut MySQL off while this burst is committing, and bring it back while requests still wait.
      await vi.waitFor(async () => expect(await rowCount()).toBeGreaterThan(before), { timeout: 5_000, interval: 2 });
      await proxy.pause();
      await letTimePass(300); // MySQL stays cut off this long
      await proxy.resume();
      const [regResults, updResults] = await Promise.all([Promise.all(regs), Promise.all(upds)]);

      const [rows] = await db.query<RowDataPacket[]>("SELECT domain, name FROM servers");
      const stored = new Map(rows.map((r) => [r.domain as string, r.name as string]));
      for (const r of regResults) {
        expect([201, 503], r.domain).toContain(r.status);
        const inMemory = (await c.get(`/v1/servers/${r.domain}`)).status === 200;
        expect({ domain: r.domain, status: r.status, stored: stored.has(r.domain), inMemory }).toEqual({
          domain: r.domain, status: r.status, stored: r.status === 201, inMemory: r.status === 201,
        });
      }
      for (const u of updResults) {
        expect([200, 503], u.o.domain).toContain(u.status);
        if (u.status === 200) u.o.name = u.name;
        const shown = (await c.get(`/v1/servers/${u.o.domain}`)).body.server.name;
        expect({ domain: u.o.domain, stored: stored.get(u.o.domain), shown }).toEqual({ domain: u.o.domain, stored: u.o.name, shown: u.o.name });
      }
    }
  }, 50_000);

  it("persists a status transition decided while MySQL is down, with its one event, once MySQL is back", async () => {
    const c = api(reg.url);
    const s = newServer();
    const r = await c.post("/v1/servers", s);
    expect(r.status).toBe(201);
    await proxy.pause();
    await vi.waitFor(async () => expect((await c.get(`/v1/servers/${s.domain}`)).body.server.status).toBe("offline"), { timeout: 6_000, interval: 100 });
    // Let StatusSync fail a few times against the closed port before the store comes back.
    await vi.waitFor(() => expect(reg.logs.filter((l) => l.op === "status").length).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 50 });
    await proxy.resume();
    await vi.waitFor(
      async () => {
        const [[row]] = await db.query<RowDataPacket[]>("SELECT status FROM servers WHERE domain = ?", [s.domain]);
        expect(row.status).toBe("offline");
      },
      { timeout: 5_000, interval: 100 },
    );
    const [evs] = await db.query<RowDataPacket[]>("SELECT data FROM events WHERE type = 'server.status' AND domain = ?", [s.domain]);
    expect(evs.map((e) => JSON.parse(e.data))).toEqual([{ status: "offline", last_seen: r.body.server.last_seen }]);
  });
});
