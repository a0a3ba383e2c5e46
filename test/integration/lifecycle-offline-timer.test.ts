// Offline timers seen from outside (contract §3 "Status"): with OFFLINE_AFTER_S=2 a silent server turns offline
// in HTTP and MySQL with one server.status event within 1 s of its deadline; heartbeats keep or bring it back.
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { letTimePass, quietFor } from "../support/wait.js";

const OFFLINE_AFTER_MS = 2_000;

async function statusEvents(db: Connection, domain: string) {
  const [rows] = await db.query<RowDataPacket[]>("SELECT seq, at, data FROM events WHERE type = 'server.status' AND domain = ? ORDER BY seq", [domain]);
  return rows.map((r) => ({ seq: Number(r.seq), atMs: (r.at as Date).getTime(), data: JSON.parse(r.data) }));
}

async function dbStatus(db: Connection, domain: string) {
  const [[row]] = await db.query<RowDataPacket[]>("SELECT status, last_seen FROM servers WHERE domain = ?", [domain]);
  return { status: row.status as string, lastSeenMs: (row.last_seen as Date).getTime() };
}

describe("offline timer through HTTP (OFFLINE_AFTER_S=2)", () => {
  const dbUrl = freshDatabaseUrl("lcoffline");
  let reg: InProcessRegistrar;
  let db: Connection;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "2", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_LIST: "off" });
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("turns a silent server offline in GET, listing and MySQL with one server.status event within 1 s of its deadline, and keeps a heartbeating one online", async () => {
    const c = api(reg.url);
    const silent = newServer();
    const alive = newServer();
    const s = await c.post("/v1/servers", silent);
    const a = await c.post("/v1/servers", alive);
    expect([s.status, a.status]).toEqual([201, 201]);
    const deadlineMs = Date.parse(s.body.server.last_seen) + OFFLINE_AFTER_MS;

    let beating = true;
    const aliveBeats = (async () => {
      while (beating) {
        const hb = await c.post(`/v1/servers/${alive.domain}/heartbeat`, { user_count: 3 }, { token: a.body.token });
        expect(hb.status).toBe(200);
        await letTimePass(400);
      }
    })();

    // Watch MySQL from before the deadline so the moment the event row appears is measured, not guessed.
    let seenAtMs = 0;
    await vi.waitFor(
      async () => {
        const evs = await statusEvents(db, silent.domain);
        expect(evs).toHaveLength(1);
        seenAtMs ||= Date.now();
      },
      { timeout: OFFLINE_AFTER_MS + 3_000, interval: 25 },
    );
    expect(seenAtMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(seenAtMs - deadlineMs).toBeLessThanOrEqual(1_000 + 100); // + one poll round trip
    const [ev] = await statusEvents(db, silent.domain);
    expect(ev.atMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(ev.atMs - deadlineMs).toBeLessThanOrEqual(1_000);
    expect(ev.data).toEqual({ status: "offline", last_seen: s.body.server.last_seen });
    expect(await dbStatus(db, silent.domain)).toEqual({ status: "offline", lastSeenMs: deadlineMs - OFFLINE_AFTER_MS });

    const detail = await c.get(`/v1/servers/${silent.domain}`);
    expect(detail.body.server).toMatchObject({ status: "offline", last_seen: s.body.server.last_seen });
    const health = await c.get(`/v1/servers/${silent.domain}/health`);
    expect(health.body).toEqual({ domain: silent.domain, status: "offline", last_seen: s.body.server.last_seen, offline_after_s: 2 });
    const offline = await c.get("/v1/servers?status=offline");
    expect(offline.body.servers.map((x: any) => x.domain)).toEqual([silent.domain]);
    const online = await c.get("/v1/servers?status=online");
    expect(online.body.servers.map((x: any) => x.domain)).toEqual([alive.domain]);

    // The heartbeating one stays online past two of its would-be deadlines.
    await quietFor(Math.max(0, deadlineMs + 2 * OFFLINE_AFTER_MS - Date.now()));
    beating = false;
    await aliveBeats;
    expect((await c.get(`/v1/servers/${alive.domain}`)).body.server.status).toBe("online");
    expect((await dbStatus(db, alive.domain)).status).toBe("online");
    expect(await statusEvents(db, alive.domain)).toEqual([]);
    // Still exactly one event for the silent one: the timer fired once.
    expect(await statusEvents(db, silent.domain)).toHaveLength(1);
  });

  it("dates the transition when its timer fired, not when MySQL took it: event at and status_since stay on the deadline while the event lock is held", async () => {
    const c = api(reg.url);
    const body = newServer();
    const r = await c.post("/v1/servers", body);
    expect(r.status).toBe(201);
    const deadlineMs = Date.parse(r.body.server.last_seen) + OFFLINE_AFTER_MS;
    const HOLD_MS = 1_500;

    // Another session holds the event lock from before the deadline until HOLD_MS after it.
    const blocker = await connect(dbUrl);
    try {
      await blocker.beginTransaction();
      await blocker.query("SELECT id FROM event_lock WHERE id = 1 FOR UPDATE");
      await letTimePass(deadlineMs + 300 - Date.now());
      // In memory the timer has fired on time; the store has not taken it yet.
      expect((await c.get(`/v1/servers/${body.domain}`)).body.server.status).toBe("offline");
      expect(await statusEvents(db, body.domain)).toEqual([]);
      await letTimePass(deadlineMs + HOLD_MS - Date.now());
      await blocker.commit();
    } finally {
      await blocker.end();
    }
    const releasedMs = Date.now();

    await vi.waitFor(async () => expect(await statusEvents(db, body.domain)).toHaveLength(1), { timeout: 3_000, interval: 25 });
    const [ev] = await statusEvents(db, body.domain);
    expect(ev.data).toEqual({ status: "offline", last_seen: r.body.server.last_seen });
    expect(ev.atMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(ev.atMs - deadlineMs, "the event is dated by the timer, not by the commit").toBeLessThan(300);
    expect(releasedMs - ev.atMs).toBeGreaterThan(HOLD_MS - 300);
    const [[row]] = await db.query<RowDataPacket[]>("SELECT status, status_since FROM servers WHERE domain = ?", [body.domain]);
    expect([row.status, (row.status_since as Date).getTime()]).toEqual(["offline", ev.atMs]);
  });

  it("brings an offline server back online on its next heartbeat, with a second server.status event", async () => {
    const c = api(reg.url);
    const body = newServer();
    const r = await c.post("/v1/servers", body);
    await vi.waitFor(async () => expect(await statusEvents(db, body.domain)).toHaveLength(1), { timeout: OFFLINE_AFTER_MS + 3_000, interval: 50 });
    expect((await c.get(`/v1/servers/${body.domain}`)).body.server.status).toBe("offline");

    const hb = await c.post(`/v1/servers/${body.domain}/heartbeat`, { user_count: 5 }, { token: r.body.token });
    expect(hb.status).toBe(200);
    expect(hb.body.status).toBe("online");
    expect((await c.get(`/v1/servers/${body.domain}`)).body.server).toMatchObject({ status: "online", last_seen: hb.body.last_seen, user_count: 5 });
    await vi.waitFor(async () => expect((await statusEvents(db, body.domain)).map((e) => e.data)).toEqual([
      { status: "offline", last_seen: r.body.server.last_seen },
      { status: "online", last_seen: hb.body.last_seen },
    ]), { timeout: 2_000, interval: 50 });
    expect(await dbStatus(db, body.domain)).toEqual({ status: "online", lastSeenMs: Date.parse(hb.body.last_seen) });
  });
});
