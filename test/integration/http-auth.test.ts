// Contract §1/§3 auth over real HTTP: Bearer parsing, wrong and foreign tokens, sliding and absolute token expiry.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const DAY_MS = 86_400_000;

function expect401(res: { status: number; body: any; text: string }, code: "unauthorized" | "token_expired", token?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(401);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
  if (token) expect(res.text).not.toContain(token);
}

/** Resolves once the wall clock has passed `ms` (polling, no fixed sleep). */
async function clockPast(ms: number) {
  await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(ms), { timeout: 15_000, interval: 20 });
}

describe("auth", () => {
  const dbUrl = freshDatabaseUrl("auth");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  const register = async () => {
    const body = newServer();
    const res = await c.post("/v1/servers", body);
    expect(res.status).toBe(201);
    return { domain: body.domain, token: res.body.token as string, record: res.body.server };
  };
  /** Every authenticated route, with a body that would change something if accepted. */
  const authRoutes = (domain: string) =>
    [
      ["PUT", `/v1/servers/${domain}`, { name: "Hijacked" }],
      ["POST", `/v1/servers/${domain}/heartbeat`, { user_count: 666 }],
      ["POST", `/v1/servers/${domain}/token`, undefined],
      ["DELETE", `/v1/servers/${domain}`, undefined],
    ] as const;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off" });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers 401 unauthorized on every authenticated route when the Authorization header is missing", async () => {
    const { domain, record } = await register();
    for (const [method, path, body] of authRoutes(domain)) expect401(await c.call(method, path, { body }), "unauthorized");
    expect((await c.get(`/v1/servers/${domain}`)).body.server).toEqual(record);
  });

  it("answers 401, not validation_failed, when the token is missing and the body breaks the field rules", async () => {
    const { domain } = await register();
    expect401(await c.put(`/v1/servers/${domain}`, { verified: true }), "unauthorized");
    expect401(await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: -1 }), "unauthorized");
    expect401(await c.post(`/v1/servers/${domain}/token`, { extra: 1 }), "unauthorized");
  });

  it("answers 401 unauthorized for malformed Authorization headers", async () => {
    const { domain, token, record } = await register();
    const malformed = [
      "Bearer",
      "Bearer ",
      `Basic ${Buffer.from(`${domain}:${token}`).toString("base64")}`,
      token,
      `Token ${token}`,
      `Bearer ${token.slice(1)}`,
      `Bearer ${token}0`,
      `Bearer ${token.toUpperCase()}`,
      `Bearer ${token} ${token}`,
      `Bearer "${token}"`,
      `Bearer ${token.slice(0, 32)}`,
    ];
    for (const authorization of malformed) {
      for (const [method, path, body] of authRoutes(domain)) {
        expect401(await c.call(method, path, { body, headers: { authorization } }), "unauthorized", token);
      }
    }
    expect((await c.get(`/v1/servers/${domain}`)).body.server).toEqual(record);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    const lower = await c.post(`/v1/servers/${domain}/heartbeat`, {}, { headers: { authorization: `bearer ${token}` } });
    expect(lower.status).toBe(200);
  });

  it("answers 401 unauthorized for a well-formed but wrong token and changes nothing", async () => {
    const { domain, record } = await register();
    const wrong = randomBytes(32).toString("hex");
    for (const [method, path, body] of authRoutes(domain)) expect401(await c.call(method, path, { body, token: wrong }), "unauthorized");
    expect((await c.get(`/v1/servers/${domain}`)).body.server).toEqual(record);
  });

  it("answers 401 unauthorized, not 404, for an unknown or impossible domain on authenticated routes", async () => {
    const { token } = await register();
    for (const domain of ["never-registered.example.com", "not_a_domain", "UPPER-unknown.example.com", "%ZZ"]) {
      for (const [method, path, body] of authRoutes(domain)) {
        expect401(await c.call(method, path, { body, token }), "unauthorized");
        expect401(await c.call(method, path, { body }), "unauthorized");
      }
    }
  });

  it("gives a token of domain A no power over domain B: 401 and nothing changed, in memory or in MySQL", async () => {
    const a = await register();
    const b = await register();
    const [[rowBefore]] = (await db.query("SELECT * FROM servers WHERE domain = ?", [b.domain])) as any;
    const [[events]] = (await db.query("SELECT COUNT(*) AS n FROM events")) as any;
    for (const [method, path, body] of authRoutes(b.domain)) expect401(await c.call(method, path, { body, token: a.token }), "unauthorized", a.token);
    expect((await c.get(`/v1/servers/${b.domain}`)).body.server).toEqual(b.record);
    // Let any write-behind flush happen, then compare the row byte for byte. A flush is due every FLUSH_INTERVAL_MS
    // (1 s by default), so the wait allows a few of them on a loaded machine.
    await c.post(`/v1/servers/${a.domain}/heartbeat`, {}, { token: a.token });
    await vi.waitFor(async () => {
      const [[row]] = (await db.query("SELECT last_seen FROM servers WHERE domain = ?", [a.domain])) as any;
      expect(row.last_seen.getTime()).toBeGreaterThan(Date.parse(a.record.last_seen));
    }, { timeout: 5000, interval: 20 });
    const [[rowAfter]] = (await db.query("SELECT * FROM servers WHERE domain = ?", [b.domain])) as any;
    expect(rowAfter).toEqual(rowBefore);
    const [[eventsAfter]] = (await db.query("SELECT COUNT(*) AS n FROM events")) as any;
    expect(eventsAfter.n).toBe(events.n);
    // Both tokens still work on their own domains.
    expect((await c.post(`/v1/servers/${a.domain}/heartbeat`, {}, { token: a.token })).status).toBe(200);
    expect((await c.post(`/v1/servers/${b.domain}/heartbeat`, {}, { token: b.token })).status).toBe(200);
  });

  it("stores only a hash of the token", async () => {
    const { domain, token } = await register();
    const [rows] = (await db.query("SELECT * FROM servers WHERE domain = ?", [domain])) as any;
    const dump = JSON.stringify(rows, (_k, v) => (v && v.type === "Buffer" ? Buffer.from(v.data).toString("hex") : v));
    expect(dump).not.toContain(token);
    const [events] = (await db.query("SELECT data FROM events WHERE domain = ?", [domain])) as any;
    expect(JSON.stringify(events)).not.toContain(token);
  });

  describe("token expiry (TOKEN_TTL_DAYS=0.00002 ≈ 1.7 s sliding, TOKEN_MAX_AGE_DAYS=0.00006 ≈ 5.2 s absolute)", () => {
    const TTL_MS = 0.00002 * DAY_MS;
    const MAX_AGE_MS = 0.00006 * DAY_MS;
    const expUrl = freshDatabaseUrl("expiry");
    let exp: InProcessRegistrar;
    let e: ReturnType<typeof api>;
    beforeAll(async () => {
      exp = await startRegistrar({
        DATABASE_URL: expUrl, TOKEN_TTL_DAYS: "0.00002", TOKEN_MAX_AGE_DAYS: "0.00006", RATE_LIMIT_REGISTER: "off",
      });
      e = api(exp.url);
    });
    afterAll(async () => {
      await exp?.stop();
      await dropDatabase(expUrl);
    });

    const registerShort = async () => {
      const before = Date.now();
      const body = newServer();
      const res = await e.post("/v1/servers", body);
      expect(res.status).toBe(201);
      const expires = Date.parse(res.body.token_expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + TTL_MS - 5);
      expect(expires).toBeLessThanOrEqual(Date.now() + TTL_MS + 5);
      return { domain: body.domain, token: res.body.token as string, expires, record: res.body.server };
    };

    it.concurrent("slides the expiry with each heartbeat and update, then answers 401 token_expired once idle past TOKEN_TTL_DAYS", async () => {
      const { domain, token, expires: firstExpiry } = await registerShort();
      // A heartbeat half-way through the lifetime moves the expiry one TTL past it.
      await clockPast(firstExpiry - TTL_MS / 2);
      const hb = await e.post(`/v1/servers/${domain}/heartbeat`, {}, { token });
      expect(hb.status).toBe(200);
      const secondExpiry = Date.parse(hb.body.token_expires_at);
      expect(secondExpiry).toBeGreaterThan(firstExpiry + TTL_MS / 3);
      // An update counts too: after it, the token outlives the expiry the heartbeat announced.
      await clockPast(secondExpiry - TTL_MS / 2);
      expect((await e.put(`/v1/servers/${domain}`, { name: "Updated while alive" }, { token })).status).toBe(200);
      await clockPast(secondExpiry + 50);
      const late = await e.post(`/v1/servers/${domain}/heartbeat`, { user_count: 1 }, { token });
      expect(late.status).toBe(200);
      const lastExpiry = Date.parse(late.body.token_expires_at);
      expect(lastExpiry).toBeGreaterThan(secondExpiry);
      // Idle now: once the announced expiry has passed, every authenticated route says token_expired.
      await clockPast(lastExpiry + 50);
      const wrong = randomBytes(32).toString("hex");
      for (const [method, path, body] of authRoutes(domain)) {
        expect401(await e.call(method, path, { body, token }), "token_expired", token);
        // A wrong token is still just wrong, not expired.
        expect401(await e.call(method, path, { body, token: wrong }), "unauthorized");
      }
      const s = (await e.get(`/v1/servers/${domain}`)).body.server;
      expect(s.name).toBe("Updated while alive");
      expect(s.user_count).toBe(1);
    });

    it.concurrent("answers 401 token_expired after TOKEN_MAX_AGE_DAYS from issue, however active the token was", async () => {
      const { domain, token, expires: firstExpiry } = await registerShort();
      const issuedMs = firstExpiry - TTL_MS;
      let expires = firstExpiry;
      let lastOkMs = 0;
      // Heartbeat every half TTL until the announced expiry stops moving: it is then the absolute one.
      for (;;) {
        await clockPast(Math.min(expires - TTL_MS / 2, issuedMs + MAX_AGE_MS - 300));
        const hb = await e.post(`/v1/servers/${domain}/heartbeat`, {}, { token });
        expect(hb.status).toBe(200);
        lastOkMs = Date.now();
        const next = Date.parse(hb.body.token_expires_at);
        if (next === expires) break;
        expires = next;
        expect(lastOkMs).toBeLessThan(issuedMs + MAX_AGE_MS);
      }
      expect(Math.abs(expires - (issuedMs + MAX_AGE_MS))).toBeLessThanOrEqual(10);
      await clockPast(expires + 50);
      // The last heartbeat was less than one TTL ago: only the absolute limit can have expired it.
      expect(Date.now() - lastOkMs).toBeLessThan(TTL_MS);
      for (const [method, path, body] of authRoutes(domain)) expect401(await e.call(method, path, { body, token }), "token_expired", token);
      expect((await e.get(`/v1/servers/${domain}`)).body.server.user_count).toBe(0);
    });

    it.concurrent("keeps a rotated token working past the old token's expiry while the old token stops at once", async () => {
      const { domain, token, expires: firstExpiry } = await registerShort();
      const issuedMs = firstExpiry - TTL_MS;
      await clockPast(firstExpiry - TTL_MS / 2);
      const rot = await e.post(`/v1/servers/${domain}/token`, undefined, { token });
      expect(rot.status).toBe(200);
      const fresh = rot.body.token as string;
      expect(Date.parse(rot.body.token_expires_at)).toBeGreaterThan(firstExpiry);
      expect401(await e.post(`/v1/servers/${domain}/heartbeat`, {}, { token }), "unauthorized");
      // Past the first token's sliding expiry, the new one works.
      await clockPast(firstExpiry + 50);
      expect((await e.post(`/v1/servers/${domain}/heartbeat`, {}, { token: fresh })).status).toBe(200);
      expect(Date.now()).toBeLessThan(issuedMs + MAX_AGE_MS);
    });
  });
});
