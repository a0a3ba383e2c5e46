// Restart with deadlines (contract §3 "Status"): servers whose deadline passed while the registrar was down turn
// offline at start-up; the others keep their remaining time (offline at last_seen + OFFLINE_AFTER_S).
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { spawnRegistrar, type ChildRegistrar } from "../support/registrar.js";

// Long enough that a restart under a loaded CI machine (tsx cold start) finishes inside the fresh server's window.
const OFFLINE_AFTER_MS = 12_000;

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

describe("a registrar restarted after deadlines passed (OFFLINE_AFTER_S=12)", () => {
  const dbUrl = freshDatabaseUrl("lcrestart");
  const env = { DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "12", FLUSH_INTERVAL_MS: "60000", RATE_LIMIT_REGISTER: "off" };
  const children: ChildRegistrar[] = [];
  let db: Connection;
  afterAll(async () => {
    for (const c of children) await c.kill("SIGKILL");
    await db?.end();
    await dropDatabase(dbUrl);
  });

  async function statusEvents(domain: string) {
    const [rows] = await db.query<RowDataPacket[]>("SELECT at, data FROM events WHERE type = 'server.status' AND domain = ? ORDER BY seq", [domain]);
    return rows.map((r) => ({ atMs: (r.at as Date).getTime(), ...JSON.parse(r.data) }));
  }

  it("turns the overdue server offline at start-up and the other one at its own last_seen + OFFLINE_AFTER_S", async () => {
    const first = await spawnRegistrar(env);
    children.push(first);
    db = await connect(dbUrl); // the registrar created the database
    let c = api(first.url);
    const overdue = newServer();
    const fresh = newServer();
    const o = await c.post("/v1/servers", overdue);
    const f = await c.post("/v1/servers", fresh);
    expect([o.status, f.status]).toEqual([201, 201]);
    const overdueDeadline = Date.parse(o.body.server.last_seen) + OFFLINE_AFTER_MS;

    await sleepUntil(Date.parse(f.body.server.last_seen) + 8_000);
    const hb = await c.post(`/v1/servers/${fresh.domain}/heartbeat`, { user_count: 4 }, { token: f.body.token });
    expect(hb.status).toBe(200);
    const freshDeadline = Date.parse(hb.body.last_seen) + OFFLINE_AFTER_MS;
    expect(await first.kill("SIGTERM")).toBe(0);

    // The heartbeat's last_seen reached MySQL on shutdown (FLUSH_INTERVAL_MS is far away), so it can be trusted.
    const [[row]] = await db.query<RowDataPacket[]>("SELECT last_seen, user_count, status FROM servers WHERE domain = ?", [fresh.domain]);
    expect({ lastSeen: (row.last_seen as Date).toISOString(), users: row.user_count, status: row.status }).toEqual({ lastSeen: hb.body.last_seen, users: 4, status: "online" });

    await sleepUntil(overdueDeadline + 100);
    const spawnedAt = Date.now();
    const second = await spawnRegistrar(env);
    children.push(second);
    const listeningAt = Date.now();
    // If start-up took so long that the fresh server is overdue too, this run proves nothing: say so.
    expect(listeningAt, "restart must finish before the fresh server's deadline for this test to mean anything").toBeLessThan(freshDeadline - 500);
    c = api(second.url);

    expect((await c.get(`/v1/servers/${overdue.domain}`)).body.server.status).toBe("offline");
    expect((await c.get(`/v1/servers/${fresh.domain}`)).body.server).toMatchObject({ status: "online", last_seen: hb.body.last_seen, user_count: 4 });
    await vi.waitFor(async () => expect(await statusEvents(overdue.domain)).toHaveLength(1), { timeout: 1_000, interval: 25 });
    const [overdueEv] = await statusEvents(overdue.domain);
    expect(overdueEv).toMatchObject({ status: "offline", last_seen: o.body.server.last_seen });
    expect(overdueEv.atMs).toBeGreaterThanOrEqual(spawnedAt);
    expect(overdueEv.atMs).toBeLessThanOrEqual(listeningAt + 1_000);

    await vi.waitFor(async () => expect(await statusEvents(fresh.domain)).toHaveLength(1), { timeout: freshDeadline + 2_000 - Date.now(), interval: 50 });
    const [freshEv] = await statusEvents(fresh.domain);
    expect(freshEv).toMatchObject({ status: "offline", last_seen: hb.body.last_seen });
    expect(freshEv.atMs).toBeGreaterThanOrEqual(freshDeadline);
    expect(freshEv.atMs).toBeLessThanOrEqual(freshDeadline + 1_000);
    // Not restart + OFFLINE_AFTER_S: the remaining time was kept.
    expect(freshEv.atMs).toBeLessThan(spawnedAt + OFFLINE_AFTER_MS);
    expect((await c.get(`/v1/servers/${fresh.domain}`)).body.server.status).toBe("offline");
    expect(await statusEvents(overdue.domain)).toHaveLength(1);
    expect(await second.kill("SIGTERM")).toBe(0);
  }, 60_000);
});
