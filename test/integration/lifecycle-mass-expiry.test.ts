// Mass-expiry protection seen from outside (contract §10): servers heartbeat over HTTP; when a large share goes
// silent at once the node holds their offline transitions (/v1/health "expiry":"held", a metric, a log line) and
// releases the hold when their heartbeats come back or when MASS_EXPIRY_HOLD_S ends; one silent server among
// heartbeating ones still goes offline on time.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const OFFLINE_AFTER_MS = 3_000;
/** The hold-ends case; the heartbeats-return case gets a long hold so a loaded machine cannot end it by time. */
const HOLD_S = 4;
const LONG_HOLD_S = 60;
const SERVERS = 20;

/** A registrar with OFFLINE_AFTER_S=3 and `SERVERS` servers registered, heartbeating the `alive` set every 250 ms. */
function fleet(tag: string, holdS = HOLD_S) {
  const dbUrl = freshDatabaseUrl(tag);
  const ctx = {
    reg: undefined as unknown as InProcessRegistrar,
    c: undefined as unknown as ReturnType<typeof api>,
    servers: [] as { domain: string; token: string }[],
    alive: new Set<string>(),
    timer: null as NodeJS.Timeout | null,
    beats: Promise.resolve() as Promise<unknown>,
    async status(domain: string): Promise<string> {
      return (await ctx.c.get(`/v1/servers/${domain}/health`)).body.status;
    },
    async offline(): Promise<string[]> {
      const out: string[] = [];
      for (const s of ctx.servers) if ((await ctx.status(s.domain)) === "offline") out.push(s.domain);
      return out;
    },
    async expiry(): Promise<string> {
      return (await ctx.c.get("/v1/health")).body.expiry;
    },
    async metric(name: string): Promise<number> {
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec((await ctx.c.get("/metrics")).text);
      return m ? Number(m[1]) : NaN;
    },
  };
  beforeAll(async () => {
    ctx.reg = await startRegistrar({
      DATABASE_URL: dbUrl, OFFLINE_AFTER_S: String(OFFLINE_AFTER_MS / 1000), RATE_LIMIT_REGISTER: "off",
      MASS_EXPIRY_RATIO: "0.2", MASS_EXPIRY_MIN: "5", MASS_EXPIRY_HOLD_S: String(holdS),
    });
    ctx.c = api(ctx.reg.url);
    // The servers' own heartbeat loops (clients, not a wait of the test), from their registration on.
    ctx.timer = setInterval(() => {
      ctx.beats = Promise.all(
        ctx.servers.filter((s) => ctx.alive.has(s.domain)).map((s) => ctx.c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: s.token })),
      );
    }, 250);
    for (let i = 0; i < SERVERS; i++) {
      const s = newServer();
      const r = await ctx.c.post("/v1/servers", s);
      expect(r.status).toBe(201);
      ctx.servers.push({ domain: s.domain, token: r.body.token });
      ctx.alive.add(s.domain);
    }
  });
  afterAll(async () => {
    if (ctx.timer) clearInterval(ctx.timer);
    await ctx.beats.catch(() => undefined);
    await ctx.reg?.stop();
    await dropDatabase(dbUrl);
  });
  return ctx;
}

describe("mass expiry: normal operation", () => {
  const f = fleet("mexnormal");

  it("turns one silent server offline on time while the others heartbeat, holding nothing", async () => {
    expect(await f.offline()).toEqual([]);
    const silent = f.servers[0].domain;
    f.alive.delete(silent);
    const since = Date.now();
    await vi.waitFor(async () => expect(await f.status(silent)).toBe("offline"), { timeout: OFFLINE_AFTER_MS + 5_000, interval: 50 });
    // Its last heartbeat was at most 250 ms before `since`; the deadline is OFFLINE_AFTER_S after it (+1 s, §3).
    expect(Date.now() - since).toBeLessThan(OFFLINE_AFTER_MS + 1_000 + 1_000);
    expect(await f.expiry()).toBe("normal");
    expect(await f.offline()).toEqual([silent]);
    expect(await f.metric("registrar_mass_expiry_holds_total")).toBe(0);
  });
});

describe("mass expiry: held, then released when heartbeats come back", () => {
  const f = fleet("mexreturn", LONG_HOLD_S);
  afterEach(() => f.servers.forEach((s) => f.alive.add(s.domain)));

  it("holds when most servers go silent at once and releases when they heartbeat again, without turning the held ones offline", async () => {
    const silent = f.servers.slice(0, 15).map((s) => s.domain);
    for (const d of silent) f.alive.delete(d);
    await vi.waitFor(async () => expect(await f.expiry()).toBe("held"), { timeout: OFFLINE_AFTER_MS + 5_000, interval: 50 });
    expect(await f.metric("registrar_mass_expiry_held")).toBe(1);
    expect(await f.metric("registrar_mass_expiry_held_servers")).toBeGreaterThan(0);
    expect(f.reg.logs.some((l) => String(l.msg).startsWith("mass expiry: holding offline transitions"))).toBe(true);
    // Only those before the threshold was crossed went offline (fewer than 20 % of 20, plus the one crossing it).
    const flapped = await f.offline();
    expect(flapped.length).toBeLessThanOrEqual(4);
    // The hold keeps the rest online past their deadlines.
    const heldAt = Date.now();
    await vi.waitFor(() => expect(Date.now() - heldAt).toBeGreaterThan(1_000), { timeout: 2_000, interval: 100 });
    expect(await f.offline()).toEqual(flapped);

    for (const d of silent) f.alive.add(d);
    await vi.waitFor(async () => expect(await f.expiry()).toBe("normal"), { timeout: 5_000, interval: 50 });
    // The few that went offline before the hold are back with their next heartbeat.
    await vi.waitFor(async () => expect(await f.offline()).toEqual([]), { timeout: 2_000, interval: 50 });
    expect(Date.now() - heldAt).toBeLessThan(LONG_HOLD_S * 1000);
    expect(f.reg.logs.find((l) => l.msg === "mass expiry: hold released")).toMatchObject({ reason: "heartbeats" });
    expect(await f.metric("registrar_mass_expiry_held")).toBe(0);
  });
});

describe("mass expiry: held, then released when the hold ends", () => {
  const f = fleet("mextimeout");

  it("releases by itself after MASS_EXPIRY_HOLD_S when the servers stay silent (a scale-down), turning them offline", async () => {
    const silent = f.servers.slice(0, 10).map((s) => s.domain);
    for (const d of silent) f.alive.delete(d);
    await vi.waitFor(async () => expect(await f.expiry()).toBe("held"), { timeout: OFFLINE_AFTER_MS + 5_000, interval: 50 });
    const heldAt = Date.now();
    await vi.waitFor(async () => expect(await f.expiry()).toBe("normal"), { timeout: HOLD_S * 1000 + 5_000, interval: 100 });
    expect(Date.now() - heldAt).toBeGreaterThan(HOLD_S * 1000 - 1_000);
    await vi.waitFor(async () => expect((await f.offline()).sort()).toEqual([...silent].sort()), { timeout: 3_000, interval: 100 });
    expect(f.reg.logs.find((l) => l.msg === "mass expiry: hold released")).toMatchObject({ reason: "timeout" });
    expect((await f.c.get("/metrics")).text).toMatch(/^registrar_mass_expiry_releases_total\{reason="timeout"\} 1$/m);
    // The heartbeating half was never affected.
    for (const s of f.servers.slice(10)) expect(await f.status(s.domain)).toBe("online");
  });
});
