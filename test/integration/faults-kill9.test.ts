// kill -9 right after acknowledged writes: every write that got a 2xx (register, update, rate, delete, token
// rotation) is there after a restart on the same database, each with its event row. Heartbeats are soft state
// (contract §3): their last_seen/user_count are written behind, so up to one FLUSH_INTERVAL_MS of them may be lost
// by a crash; only what the contract promises for them is asserted.
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { spawnRegistrar, type ChildRegistrar } from "../support/registrar.js";

type Expected = { name: string; token: string; oldTokens: string[]; ratings: Map<string, number>; registeredLastSeen: string };

describe("kill -9 right after acknowledged writes", () => {
  const dbUrl = freshDatabaseUrl("fkill9");
  const env = { DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true", RATE_LIMIT_LIST: "off", FLUSH_INTERVAL_MS: "60000" };
  const children: ChildRegistrar[] = [];
  afterAll(async () => {
    for (const c of children) await c.kill("SIGKILL");
    await dropDatabase(dbUrl);
  });

  it("loses no acknowledged registration, update, rating, deletion or rotation", async () => {
    const first = await spawnRegistrar(env);
    children.push(first);
    const c = api(first.url);
    const live = new Map<string, Expected>();
    const removed: string[] = [];
    let acked = 0;
    const ok = (status: number) => {
      expect(status).toBeGreaterThanOrEqual(200);
      expect(status).toBeLessThan(300);
      acked++;
    };

    for (let i = 0; i < 10; i++) {
      const body = newServer();
      const r = await c.post("/v1/servers", body);
      ok(r.status);
      live.set(body.domain, { name: body.name, token: r.body.token, oldTokens: [], ratings: new Map(), registeredLastSeen: r.body.server.last_seen });
    }
    const domains = [...live.keys()];
    for (const [i, d] of domains.slice(0, 6).entries()) {
      const name = `Renamed ${i}`;
      ok((await c.put(`/v1/servers/${d}`, { name, description: `updated ${i}` }, { token: live.get(d)!.token })).status);
      live.get(d)!.name = name;
    }
    for (const [i, d] of domains.slice(2, 8).entries()) {
      const rating = (i % 5) + 1;
      ok((await c.post(`/v1/servers/${d}/rate`, { user_id: `u${i}`, rating })).status);
      live.get(d)!.ratings.set(`u${i}`, rating);
    }
    // A replaced rating counts once, with its new value.
    ok((await c.post(`/v1/servers/${domains[2]}/rate`, { user_id: "u0", rating: 5, comment: "changed my mind" })).status);
    live.get(domains[2])!.ratings.set("u0", 5);
    for (const d of domains.slice(6, 8)) {
      const e = live.get(d)!;
      const r = await c.post(`/v1/servers/${d}/token`, undefined, { token: e.token });
      ok(r.status);
      e.oldTokens.push(e.token);
      e.token = r.body.token;
    }
    for (const d of domains.slice(8, 10)) {
      ok((await c.post(`/v1/servers/${d}/heartbeat`, { user_count: 42 }, { token: live.get(d)!.token })).status);
    }
    for (const d of [domains[0], domains[7], domains[9]]) {
      ok((await c.del(`/v1/servers/${d}`, { token: live.get(d)!.token })).status);
      live.delete(d);
      removed.push(d);
    }
    expect(acked).toBe(30);

    // A last burst in flight: kill the moment the first of them is acknowledged; the rest may go either way.
    const burst = [...live.keys()].map((d, i) =>
      c.put(`/v1/servers/${d}`, { name: `Burst ${i}` }, { token: live.get(d)!.token }).then(
        (r) => ({ d, name: `Burst ${i}`, status: r.status }),
        () => ({ d, name: `Burst ${i}`, status: 0 }),
      ),
    );
    const firstAcked = await Promise.race(burst);
    expect(firstAcked.status).toBe(200);
    await first.kill("SIGKILL");
    const outcomes = await Promise.all(burst);
    for (const o of outcomes) if (o.status === 200) live.get(o.d)!.name = o.name;
    const unknown = new Set(outcomes.filter((o) => o.status !== 200).map((o) => o.d));

    const second = await spawnRegistrar(env);
    children.push(second);
    const c2 = api(second.url);
    for (const d of removed) expect((await c2.get(`/v1/servers/${d}`)).status, d).toBe(404);
    const list = await c2.get("/v1/servers?limit=100");
    expect(list.body.servers.map((s: any) => s.domain).sort()).toEqual([...live.keys()].sort());
    for (const [d, e] of live) {
      const got = await c2.get(`/v1/servers/${d}`);
      expect(got.status).toBe(200);
      if (unknown.has(d)) expect([e.name, expect.stringMatching(/^Burst /)]).toContainEqual(got.body.server.name);
      else expect(got.body.server.name, d).toBe(e.name);
      const values = [...e.ratings.values()];
      const average = values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100 : null;
      expect(got.body.server.rating, d).toMatchObject({ average, count: values.length });
      // Contract §8.4: the summary also counts stars; it survives the kill like the average.
      expect(got.body.server.rating.distribution.reduce((a: number, b: number) => a + b, 0), d).toBe(values.length);
      const ratings = await c2.get(`/v1/servers/${d}/ratings`);
      expect(Object.fromEntries(ratings.body.ratings.map((r: any) => [r.user_id, r.rating]))).toEqual(Object.fromEntries(e.ratings));
      // Soft state: last_seen is at least the registration's; user_count may have lost the last flush interval.
      expect(Date.parse(got.body.server.last_seen)).toBeGreaterThanOrEqual(Date.parse(e.registeredLastSeen));
      expect([0, 42]).toContain(got.body.server.user_count);
      // The token that was acknowledged last is the one that works; rotated-away tokens do not.
      expect((await c2.post(`/v1/servers/${d}/heartbeat`, {}, { token: e.token })).status, d).toBe(200);
      for (const old of e.oldTokens) expect((await c2.post(`/v1/servers/${d}/heartbeat`, {}, { token: old })).status).toBe(401);
    }

    // Nothing half-written: every acknowledged change has its event row and nothing more than was attempted.
    const db = await connect(dbUrl);
    try {
      const [rows] = await db.query<RowDataPacket[]>("SELECT type, COUNT(*) AS n FROM events GROUP BY type");
      const counts = Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
      expect(counts["server.registered"]).toBe(10);
      expect(counts["server.removed"]).toBe(3);
      expect(counts["rating.created"]).toBe(7);
      const burstCommitted = outcomes.filter((o) => o.status === 200).length;
      expect(counts["server.updated"]).toBeGreaterThanOrEqual(6 + burstCommitted);
      expect(counts["server.updated"]).toBeLessThanOrEqual(6 + outcomes.length);
      const [[orphans]] = await db.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM events e LEFT JOIN servers s ON s.domain = e.domain WHERE s.domain IS NULL AND e.type <> 'server.removed' AND e.domain NOT IN (SELECT domain FROM events WHERE type = 'server.removed')",
      );
      expect(Number(orphans.n)).toBe(0);
    } finally {
      await db.end();
    }
    expect(await second.kill("SIGTERM")).toBe(0);
  }, 50_000);
});
