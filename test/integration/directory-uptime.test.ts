// Contract §9.2 uptime and dead servers over real HTTP: the daily rollup written at status transitions (scripted
// with a small OFFLINE_AFTER_S), the uptime route, uptime_30d and sort=uptime, a restart without the event log,
// and DEAD_AFTER_DAYS hiding long-offline servers unless include_dead=true.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const today = () => new Date().toISOString().slice(0, 10);

async function registerOn(c: ReturnType<typeof api>) {
  const s = newServer();
  const res = await c.post("/v1/servers", s);
  expect(res.status, res.text).toBe(201);
  return { domain: s.domain, token: res.body.token as string };
}
const statusOf = async (c: ReturnType<typeof api>, domain: string) => (await c.get(`/v1/servers/${domain}`)).body.server.status;

describe("uptime (§9.2)", () => {
  const dbUrl = freshDatabaseUrl("uptime");
  const env = { DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "1", RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_HEARTBEAT: "off" };
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let flappy: { domain: string; token: string };
  let steady: { domain: string; token: string };
  let gone: { domain: string; token: string };

  beforeAll(async () => {
    reg = await startRegistrar(env);
    c = api(reg.url);
    flappy = await registerOn(c);
    steady = await registerOn(c);
    gone = await registerOn(c);
    // steady keeps heartbeating; flappy and gone fall silent, go offline, and flappy comes back.
    const beat = setInterval(() => void c.post(`/v1/servers/${steady.domain}/heartbeat`, undefined, { token: steady.token }), 250);
    try {
      await vi.waitFor(async () => expect(await statusOf(c, flappy.domain)).toBe("offline"), { timeout: 10_000, interval: 100 });
      await vi.waitFor(async () => expect(await statusOf(c, gone.domain)).toBe("offline"), { timeout: 10_000, interval: 100 });
      expect((await c.post(`/v1/servers/${flappy.domain}/heartbeat`, undefined, { token: flappy.token })).status).toBe(200);
      await vi.waitFor(async () => expect(await statusOf(c, flappy.domain)).toBe("online"), { timeout: 5000, interval: 50 });
      expect(await statusOf(c, steady.domain)).toBe("online");
    } finally {
      clearInterval(beat);
    }
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers the last N UTC days, oldest first, null before the server was listed", async () => {
    const res = await c.get(`/v1/servers/${flappy.domain}/uptime?days=7`);
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["days", "domain", "ratio"]);
    expect(res.body.domain).toBe(flappy.domain);
    const days = res.body.days as { date: string; online_ratio: number | null }[];
    expect(days).toHaveLength(7);
    expect(days[6].date).toBe(today());
    for (let i = 1; i < 7; i++) expect(Date.parse(days[i].date) - Date.parse(days[i - 1].date)).toBe(86_400_000);
    expect(days.slice(0, 6).every((d) => d.online_ratio === null)).toBe(true);
    expect(days[6].online_ratio).toBeGreaterThan(0);
    expect(days[6].online_ratio).toBeLessThan(1);
    expect(res.body.ratio).toBe(days[6].online_ratio);
    expect((await c.get(`/v1/servers/${flappy.domain}/uptime`)).body.days).toHaveLength(30);
  });

  it("counts a server that never went offline as fully up and one that stays offline as falling", async () => {
    expect((await c.get(`/v1/servers/${steady.domain}/uptime?days=1`)).body.ratio).toBe(1);
    const first = (await c.get(`/v1/servers/${gone.domain}/uptime?days=1`)).body.ratio as number;
    expect(first).toBeLessThan(1);
    await vi.waitFor(async () => expect((await c.get(`/v1/servers/${gone.domain}/uptime?days=1`)).body.ratio).toBeLessThan(first), { timeout: 5000, interval: 200 });
  });

  it("writes the rollup when transitions are persisted: rows for the servers that changed, none for the steady one", async () => {
    const db = await connect(dbUrl);
    try {
      const [rows] = (await db.query("SELECT domain, day, observed_ms, online_ms FROM server_uptime_days ORDER BY domain")) as any;
      const by = new Map<string, any>(rows.map((r: any) => [r.domain, r]));
      expect(by.has(steady.domain)).toBe(false);
      // gone: one closed online stretch; flappy: an online stretch and an offline one.
      expect(Number(by.get(gone.domain).online_ms)).toBe(Number(by.get(gone.domain).observed_ms));
      expect(Number(by.get(flappy.domain).online_ms)).toBeLessThan(Number(by.get(flappy.domain).observed_ms));
      expect(Number(by.get(flappy.domain).online_ms)).toBeGreaterThanOrEqual(900);
    } finally {
      await db.end();
    }
  });

  it("shows uptime_30d in records and sorts by it, servers without data last in both orders", async () => {
    const rec = async (d: string) => (await c.get(`/v1/servers/${d}`)).body.server.uptime_30d as number | null;
    const f = await rec(flappy.domain);
    expect(f).toBeGreaterThan(0);
    expect(f).toBeLessThan(1);
    expect(await rec(gone.domain)).toBe(1); // counted when it went offline: online all along until then
    for (const order of ["asc", "desc"]) {
      const res = await c.get(`/v1/servers?sort=uptime&order=${order}&limit=100`);
      expect(res.status).toBe(200);
      const values = (res.body.servers as { uptime_30d: number | null }[]).map((s) => s.uptime_30d);
      const known = values.filter((v): v is number => v !== null);
      expect(values.slice(0, known.length)).toEqual(known); // nulls only at the end
      expect(known).toEqual([...known].sort((a, b) => (order === "asc" ? a - b : b - a)));
      expect(known.length).toBeGreaterThanOrEqual(2);
    }
  });

  it("refuses days outside 1–365 and answers 404 for an unknown server", async () => {
    for (const q of ["days=0", "days=366", "days=abc", "days=1.5", "days=-1", "days="]) {
      const res = await c.get(`/v1/servers/${flappy.domain}/uptime?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await c.get(`/v1/servers/${flappy.domain}/uptime?days=365`)).body.days).toHaveLength(365);
    const res = await c.get("/v1/servers/nobody-here.example/uptime");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });

  it("keeps uptime across a restart with the event log emptied: it comes from the rollup", async () => {
    const before = (await c.get(`/v1/servers/${flappy.domain}`)).body.server.uptime_30d;
    await reg.stop();
    const db = await connect(dbUrl);
    try {
      await db.query("DELETE FROM events");
    } finally {
      await db.end();
    }
    reg = await startRegistrar(env);
    c = api(reg.url);
    const after = (await c.get(`/v1/servers/${flappy.domain}`)).body.server.uptime_30d as number;
    // The open stretch kept growing (flappy went silent again and offline), so only the closed part is fixed.
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThan(1);
    expect(Math.abs(after - before)).toBeLessThan(0.5);
    const up = (await c.get(`/v1/servers/${flappy.domain}/uptime?days=2`)).body;
    expect(up.days[1].online_ratio).toBeGreaterThan(0);
    expect(up.days[1].online_ratio).toBeLessThan(1);
  });
});

describe("dead servers (§9.2 DEAD_AFTER_DAYS)", () => {
  const dbUrl = freshDatabaseUrl("dead");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;

  beforeAll(async () => {
    // 3 seconds: offline after 1 s of silence, dead 3 s after the last heartbeat.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "1", DEAD_AFTER_DAYS: String(3 / 86_400), RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_HEARTBEAT: "off" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("leaves a long-offline server out of listings unless include_dead=true, keeps it reachable, and lists it again when it returns", async () => {
    const dead = await registerOn(c);
    const alive = await registerOn(c);
    const beat = setInterval(() => void c.post(`/v1/servers/${alive.domain}/heartbeat`, undefined, { token: alive.token }), 250);
    const listed = async (q: string) => {
      const res = await c.get(`/v1/servers?limit=100&${q}`);
      expect(res.status).toBe(200);
      return { domains: (res.body.servers as { domain: string }[]).map((s) => s.domain), total: res.body.total as number };
    };
    try {
      await vi.waitFor(async () => expect(await statusOf(c, dead.domain)).toBe("offline"), { timeout: 10_000, interval: 100 });
      // Offline but not yet dead: still listed.
      expect((await listed("")).domains).toContain(dead.domain);
      await vi.waitFor(async () => expect((await listed("")).domains).not.toContain(dead.domain), { timeout: 10_000, interval: 200 });
      for (const q of ["", "status=offline", "sort=name", `q=${dead.domain}`]) expect((await listed(q)).domains, q).not.toContain(dead.domain);
      expect((await listed("")).total).toBe(1);
      const all = await listed("include_dead=true");
      expect(all.domains.sort()).toEqual([dead.domain, alive.domain].sort());
      expect(all.total).toBe(2);
      expect((await listed("include_dead=true&status=offline")).domains).toEqual([dead.domain]);
      const rec = await c.get(`/v1/servers/${dead.domain}`);
      expect(rec.status).toBe(200);
      expect(rec.body.server.status).toBe("offline");

      expect((await c.post(`/v1/servers/${dead.domain}/heartbeat`, undefined, { token: dead.token })).status).toBe(200);
      const back = await listed("");
      expect(back.domains).toContain(dead.domain);
      expect(back.total).toBe(2);
    } finally {
      clearInterval(beat);
    }
  });
});
