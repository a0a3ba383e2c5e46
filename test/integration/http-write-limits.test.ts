// Contract §10 over real HTTP: per-domain limits on the routes that take a token (RATE_LIMIT_WRITE,
// RATE_LIMIT_HEARTBEAT), in both dialects; a limited request changes nothing; an update that changes nothing writes
// nothing; heartbeats that only move counts keep the listing page cache (issue 8, security review H1).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const WRITES = 3;
const BEATS = 4;
const WINDOW_S = 3600;

/** Windows are aligned to the wall clock: start well inside an hour-long one so no count straddles a boundary. */
async function awayFromWindowEdge(marginMs = 20_000) {
  const windowMs = WINDOW_S * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left > marginMs) return;
  const boundary = Date.now() + left;
  await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(boundary), { timeout: marginMs + 5000, interval: 100 });
}

function expect429(res: ApiResponse, limit: number) {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({ error: { code: "rate_limited", message: expect.any(String) } });
  const retry = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retry) && retry >= 1 && retry <= WINDOW_S).toBe(true);
  expect(res.headers.get("ratelimit-limit")).toBe(String(limit));
  expect(res.headers.get("ratelimit-remaining")).toBe("0");
}

/** Everything a write could have touched: the row, its events and audit rows. */
async function footprintOf(db: Awaited<ReturnType<typeof connect>>, domain: string) {
  const [rows] = await db.query<any[]>("SELECT name, description, updated_at, record_version, HEX(token_hash) AS token_hash FROM servers WHERE domain = ?", [domain]);
  const [events] = await db.query<any[]>("SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS last FROM events WHERE domain = ?", [domain]);
  const [audit] = await db.query<any[]>("SELECT COUNT(*) AS n FROM audit_log WHERE domain = ?", [domain]);
  return { row: rows[0] ?? null, events: Number(events[0].n), lastSeq: Number(events[0].last), audit: Number(audit[0].n) };
}

describe("per-domain limits on token routes", () => {
  const dbUrl = freshDatabaseUrl("writelimits");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  async function register(): Promise<{ domain: string; token: string }> {
    const s = newServer();
    const res = await c.post("/v1/servers", s);
    expect(res.status).toBe(201);
    return { domain: s.domain, token: res.body.token };
  }

  const footprint = (domain: string) => footprintOf(db, domain);

  beforeAll(async () => {
    await awayFromWindowEdge();
    reg = await startRegistrar({
      DATABASE_URL: dbUrl, RATE_LIMIT_WRITE: `${WRITES}/${WINDOW_S}`, RATE_LIMIT_HEARTBEAT: `${BEATS}/${WINDOW_S}`,
      RATE_LIMIT_REGISTER: "off", RATE_LIMIT_LIST: "off", RATE_LIMIT_RECOVERY: "off",
    });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers PUT over RATE_LIMIT_WRITE with 429 and Retry-After, and the refused update changes nothing", async () => {
    const { domain, token } = await register();
    for (let i = 1; i <= WRITES; i++) {
      const res = await c.put(`/v1/servers/${domain}`, { description: `take ${i}` }, { token });
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe(String(WRITES));
      expect(res.headers.get("ratelimit-remaining")).toBe(String(WRITES - i));
    }
    const before = await footprint(domain);
    expect429(await c.put(`/v1/servers/${domain}`, { description: "one too many", name: "Changed" }, { token }), WRITES);
    expect(await footprint(domain)).toEqual(before);
    expect((await c.get(`/v1/servers/${domain}`)).body.server).toMatchObject({ description: `take ${WRITES}` });
    // Rotation and removal draw on the same budget: refused too, the token and the record stay.
    expect429(await c.post(`/v1/servers/${domain}/token`, undefined, { token }), WRITES);
    expect429(await c.del(`/v1/servers/${domain}`, { token }), WRITES);
    expect(await footprint(domain)).toEqual(before);
    expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token })).status).toBe(200);
  });

  it("keeps one domain's budget its own: another domain still writes", async () => {
    const spent = await register();
    for (let i = 0; i < WRITES; i++) expect((await c.put(`/v1/servers/${spent.domain}`, { description: `d${i}` }, { token: spent.token })).status).toBe(200);
    expect((await c.put(`/v1/servers/${spent.domain}`, { description: "x" }, { token: spent.token })).status).toBe(429);
    const other = await register();
    expect((await c.put(`/v1/servers/${other.domain}`, { description: "fine" }, { token: other.token })).status).toBe(200);
  });

  it("lets nobody without the token spend a domain's budget: refused requests give their count back", async () => {
    const { domain, token } = await register();
    const stranger = await register();
    for (let i = 0; i < WRITES * 3; i++) {
      expect((await c.put(`/v1/servers/${domain}`, { description: "hijack" }, { token: "0".repeat(64) })).status).toBe(401);
      expect((await c.put(`/v1/servers/${domain}`, { description: "x" }, { token: stranger.token })).status).toBe(401);
      expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token: "f".repeat(64) })).status).toBe(401);
      expect((await c.put(`/v1/servers/${domain}`, { bogus: 1 }, { token })).status).toBe(400);
    }
    for (let i = 0; i < WRITES; i++) expect((await c.put(`/v1/servers/${domain}`, { description: `own ${i}` }, { token })).status).toBe(200);
    for (let i = 0; i < BEATS; i++) expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token })).status).toBe(200);
  });

  it("limits HTTP heartbeats by RATE_LIMIT_HEARTBEAT across both dialects, apart from the write budget", async () => {
    const { domain, token } = await register();
    const auth = { authorization: `Bearer ${token}` };
    for (let i = 0; i < BEATS / 2; i++) expect((await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: i }, { token })).status).toBe(200);
    for (let i = 0; i < BEATS / 2; i++) expect((await c.post(`/servers/${domain}/heartbeat`, { userCount: 7 }, { headers: auth })).status).toBe(204);
    const lastSeen = (await c.get(`/v1/servers/${domain}`)).body.server.last_seen;
    expect429(await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 99 }, { token }), BEATS);
    const legacy = await c.post(`/servers/${domain}/heartbeat`, { userCount: 99 }, { headers: auth });
    expect(legacy.status).toBe(429);
    expect(legacy.body).toEqual({ error: "Too many requests" });
    expect(Number(legacy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const server = (await c.get(`/v1/servers/${domain}`)).body.server;
    expect(server.last_seen).toBe(lastSeen);
    expect(server.user_count).toBe(7);
    // The write budget is untouched by heartbeats.
    expect((await c.put(`/v1/servers/${domain}`, { description: "still writable" }, { token })).status).toBe(200);
  });

  it("counts the legacy dialect's PUT and DELETE against the same write budget as /v1", async () => {
    const { domain, token } = await register();
    const auth = { authorization: `Bearer ${token}` };
    expect((await c.put(`/servers/${domain}`, { description: "legacy 1" }, { headers: auth })).status).toBe(200);
    expect((await c.put(`/v1/servers/${domain}`, { description: "v1 2" }, { token })).status).toBe(200);
    expect((await c.put(`/servers/${domain}`, { description: "legacy 3" }, { headers: auth })).status).toBe(200);
    const before = await footprint(domain);
    const put = await c.put(`/servers/${domain}`, { description: "legacy 4" }, { headers: auth });
    expect(put.status).toBe(429);
    expect(put.body).toEqual({ error: "Too many requests" });
    expect((await c.del(`/servers/${domain}`, { headers: auth })).status).toBe(429);
    expect(await footprint(domain)).toEqual(before);
  });

  it("limits the verification, recovery and webhook routes by the same per-domain write budget", async () => {
    const { domain, token } = await register();
    expect((await c.post(`/v1/servers/${domain}/verification`, undefined, { token })).status).toBe(200);
    expect((await c.get(`/v1/servers/${domain}/webhooks`, { token })).status).toBe(200);
    expect((await c.post(`/v1/servers/${domain}/recovery`)).status).toBe(200);
    const before = await footprint(domain);
    expect429(await c.post(`/v1/servers/${domain}/verification`, undefined, { token }), WRITES);
    expect429(await c.post(`/v1/servers/${domain}/verification/check`, undefined, { token }), WRITES);
    expect429(await c.post(`/v1/servers/${domain}/webhooks`, { url: "https://hooks.example.com/x" }, { token }), WRITES);
    expect429(await c.get(`/v1/servers/${domain}/webhooks`, { token }), WRITES);
    expect429(await c.post(`/v1/servers/${domain}/recovery`), WRITES);
    expect429(await c.post(`/v1/servers/${domain}/recovery/complete`), WRITES);
    expect(await footprint(domain)).toEqual(before);
    const [hooks] = await db.query<any[]>("SELECT COUNT(*) AS n FROM webhooks WHERE domain = ?", [domain]);
    expect(Number(hooks[0].n)).toBe(0);
  });
});

describe("writes that change little", () => {
  const dbUrl = freshDatabaseUrl("noopwrites");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;
  const footprint = (domain: string) => footprintOf(db, domain);

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_HEARTBEAT: "off", RATE_LIMIT_WRITE: "off" });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers an update that changes nothing with 200 and the record, writing no row, event or audit entry", async () => {
    const s = newServer();
    const { token } = (await c.post("/v1/servers", s)).body;
    const domain = s.domain;
    const set = { name: "Same Name", description: "same", protocols: ["zent/1"] };
    const first = await c.put(`/v1/servers/${domain}`, set, { token });
    expect(first.status).toBe(200);
    const before = await footprint(domain);
    // Same values, in a different key order, and a subset of them.
    for (const body of [set, { protocols: ["zent/1"], description: "same", name: "Same Name" }, { description: "same" }]) {
      const again = await c.put(`/v1/servers/${domain}`, body, { token });
      expect(again.status).toBe(200);
      expect(again.body.server).toEqual(first.body.server);
    }
    const legacy = await c.put(`/servers/${domain}`, { description: "same" }, { headers: { authorization: `Bearer ${token}` } });
    expect(legacy.status).toBe(200);
    expect(await footprint(domain)).toEqual(before);
    // A real change still writes and publishes.
    expect((await c.put(`/v1/servers/${domain}`, { description: "different" }, { token })).status).toBe(200);
    const after = await footprint(domain);
    expect(after.events).toBe(before.events + 1);
    expect(after.audit).toBe(before.audit + 1);
    expect(after.row.record_version).toBe(before.row.record_version + 1);
  });

  // Issue 8: alternating user_count 1/2 emptied the listing page cache on every beat.
  it("leaves the listing cache alone for heartbeats that only move counts; listings show them within a second", async () => {
    const s = newServer();
    const { token } = (await c.post("/v1/servers", s)).body;
    const version = reg.node.directory.version;
    for (let i = 0; i < 20; i++) {
      expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: 1 + (i % 2), channel_count: i }, { token })).status).toBe(200);
    }
    expect(reg.node.directory.version).toBe(version);
    const started = Date.now();
    await vi.waitFor(async () => {
      const page = (await c.get("/v1/servers?sort=users&limit=5")).body.servers;
      expect(page.find((r: any) => r.domain === s.domain)).toMatchObject({ user_count: 2, channel_count: 19 });
    }, { timeout: 5000, interval: 20 });
    expect(Date.now() - started).toBeLessThan(1000);
    // A field change still moves the version at once.
    expect((await c.put(`/v1/servers/${s.domain}`, { name: "Renamed" }, { token })).status).toBe(200);
    expect(reg.node.directory.version).toBeGreaterThan(version);
  });
});
