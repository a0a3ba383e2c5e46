// Contract §1/§3 over real HTTP: CORS (also on errors), client IP behind trusted proxies, rate limits, audit IPs.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const APP = "https://app.example.com";
const DEV = "http://localhost:3000";
const EVIL = "https://evil.example.com";

/**
 * Rate-limit windows are fixed and aligned to the wall clock: start a test file well inside one hour-long window, so
 * no assertion about counts can straddle a window boundary (waits at most 15 s, only near the full hour).
 */
async function awayFromWindowEdge(windowS = 3600, marginMs = 15_000) {
  const windowMs = windowS * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left > marginMs) return;
  const boundary = Date.now() + left;
  await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(boundary), { timeout: marginMs + 5000, interval: 100 });
}

function corsHeaderNames(res: { headers: Headers }): string[] {
  return [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
}

function expectRateHeaders(res: ApiResponse, limit: number, remaining: number, windowS: number) {
  expect(res.headers.get("ratelimit-limit")).toBe(String(limit));
  expect(res.headers.get("ratelimit-remaining")).toBe(String(remaining));
  const reset = Number(res.headers.get("ratelimit-reset"));
  expect(Number.isInteger(reset) && reset >= 1 && reset <= windowS).toBe(true);
}

function expect429(res: ApiResponse, limit: number, windowS: number) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe("rate_limited");
  const retry = res.headers.get("retry-after");
  expect(retry).toMatch(/^[1-9][0-9]*$/);
  expect(Number(retry)).toBeLessThanOrEqual(windowS);
  expectRateHeaders(res, limit, 0, windowS);
}

describe("CORS, client IP and rate limits", () => {
  describe("from an untrusted peer (no TRUSTED_PROXIES)", () => {
    const dbUrl = freshDatabaseUrl("security");
    let reg: InProcessRegistrar;
    let c: ReturnType<typeof api>;
    let db: Awaited<ReturnType<typeof connect>>;
    let domain: string;
    let token: string;

    beforeAll(async () => {
      await awayFromWindowEdge();
    reg = await startRegistrar({
        DATABASE_URL: dbUrl, CORS_ORIGINS: `${APP},${DEV}`,
        // Hour-long windows: a window boundary falling inside one test is then vanishingly unlikely.
        RATE_LIMIT_REGISTER: "2/3600", RATE_LIMIT_LIST: "3/3600", RATE_LIMIT_RATE: "2/3600", RATINGS_ANONYMOUS: "true",
      });
      c = api(reg.url);
      db = await connect(dbUrl);
      const s = newServer();
      const res = await c.post("/v1/servers", s);
      expect(res.status).toBe(201);
      domain = s.domain;
      token = res.body.token;
    });
    afterAll(async () => {
      await db?.end();
      await reg?.stop();
      await dropDatabase(dbUrl);
    });

    describe("CORS", () => {
      it("gives an allowed origin Access-Control-Allow-Origin and Vary: Origin", async () => {
        for (const origin of [APP, DEV]) {
          const res = await c.get(`/v1/servers/${domain}`, { headers: { origin } });
          expect(res.status).toBe(200);
          expect(res.headers.get("access-control-allow-origin")).toBe(origin);
          expect(res.headers.get("vary")).toMatch(/\bOrigin\b/i);
          expect(res.headers.get("access-control-allow-credentials")).toBeNull();
          expect((res.headers.get("access-control-expose-headers") ?? "").toLowerCase()).toContain("x-request-id");
        }
      });

      it("sends the CORS headers on error responses to allowed origins too", async () => {
        const headers = { origin: APP };
        const errors: ApiResponse[] = [
          await c.get("/v1/servers/unknown.example.com", { headers }),
          await c.get("/v1/nope", { headers }),
          // Error bodies on routes without a rate limit, so this test spends none of the budgets tested below.
          await c.put(`/v1/servers/${domain}`, "{", { token, headers }),
          await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: -1 }, { token, headers }),
          await c.put(`/v1/servers/${domain}`, { name: "x" }, { headers }),
          await c.call("PATCH", "/v1/servers", { headers }),
          await c.post(`/v1/servers/${domain}/heartbeat`, "{}", { token, headers: { ...headers, "content-type": "text/plain" } }),
          await c.post(`/v1/servers/${domain}/heartbeat`, " ".repeat(70_000), { token, headers }),
        ];
        expect(errors.map((r) => r.status)).toEqual([404, 404, 400, 400, 401, 405, 415, 413]);
        for (const res of errors) {
          expect(res.headers.get("access-control-allow-origin"), String(res.status)).toBe(APP);
          expect(res.headers.get("vary")).toMatch(/\bOrigin\b/i);
        }
      });

      it("gives other origins no Access-Control-* headers, on success, error and preflight", async () => {
        for (const origin of [EVIL, "null", `${APP}.evil.com`, "https://app.example.com:8443", "http://app.example.com"]) {
          const ok = await c.get(`/v1/servers/${domain}`, { headers: { origin } });
          expect(ok.status).toBe(200);
          expect(corsHeaderNames(ok), origin).toEqual([]);
          const err = await c.get("/v1/servers/unknown.example.com", { headers: { origin } });
          expect(corsHeaderNames(err)).toEqual([]);
          const pre = await c.call("OPTIONS", "/v1/servers", { headers: { origin, "access-control-request-method": "POST" } });
          expect(corsHeaderNames(pre)).toEqual([]);
        }
        expect(corsHeaderNames(await c.get(`/v1/servers/${domain}`))).toEqual([]);
      });

      it("answers a preflight OPTIONS from an allowed origin with 204, allowed methods and headers", async () => {
        for (const path of ["/v1/servers", `/v1/servers/${domain}`, `/v1/servers/${domain}/heartbeat`, `/servers/${domain}/rate`, "/v1/health"]) {
          const res = await c.call("OPTIONS", path, {
            headers: { origin: APP, "access-control-request-method": "PUT", "access-control-request-headers": "authorization, content-type, x-request-id" },
          });
          expect(res.status, path).toBe(204);
          expect(res.text).toBe("");
          expect(res.headers.get("access-control-allow-origin")).toBe(APP);
          expect(res.headers.get("vary")).toMatch(/\bOrigin\b/i);
          const methods = (res.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
          expect(methods).toEqual(expect.arrayContaining(["GET", "POST", "PUT", "DELETE"]));
          const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",").map((h) => h.trim());
          expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type", "x-request-id"]));
          expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
          expect(res.headers.get("x-request-id")).toBeTruthy();
        }
      });

      it("does not run any handler or spend any rate limit for a preflight", async () => {
        const before = await c.get(`/v1/servers/${domain}`);
        for (let i = 0; i < 5; i++) {
          await c.call("OPTIONS", "/v1/servers", { headers: { origin: APP, "access-control-request-method": "POST" } });
        }
        expect((await c.get(`/v1/servers/${domain}`)).body).toEqual(before.body);
        const [[n]] = (await db.query("SELECT COUNT(*) AS n FROM servers")) as any;
        expect(n.n).toBe(1);
      });
    });

    describe("rate limits", () => {
      it("limits registrations per client IP, and a spoofed X-Forwarded-For from an untrusted peer does not bypass it", async () => {
        // One registration was spent in beforeAll: one left.
        const second = await c.post("/v1/servers", newServer());
        expect(second.status).toBe(201);
        expectRateHeaders(second, 2, 0, 3600);
        const refused = newServer();
        const third = await c.post("/v1/servers", refused, { headers: { origin: APP } });
        expect429(third, 2, 3600);
        expect(third.headers.get("access-control-allow-origin")).toBe(APP);
        for (const xff of ["203.0.113.50", "198.51.100.1, 203.0.113.51", "127.0.0.2"]) {
          expect429(await c.post("/v1/servers", newServer(), { headers: { "x-forwarded-for": xff } }), 2, 3600);
        }
        const [[n]] = (await db.query("SELECT COUNT(*) AS n FROM servers WHERE domain = ?", [refused.domain])) as any;
        expect(n.n).toBe(0);
      });

      it("limits listings and answers 429 rate_limited with Retry-After and RateLimit-* headers", async () => {
        const first = await c.get("/v1/servers");
        expect(first.status).toBe(200);
        expectRateHeaders(first, 3, 2, 3600);
        expectRateHeaders(await c.get("/v1/servers?limit=1"), 3, 1, 3600);
        expectRateHeaders(await c.get("/servers"), 3, 0, 3600);
        expect429(await c.get("/v1/servers"), 3, 3600);
        expect429(await c.get("/v1/servers", { headers: { "x-forwarded-for": "192.0.2.1" } }), 3, 3600);
        // Other routes are not limited by the listing limit.
        expect((await c.get(`/v1/servers/${domain}`)).status).toBe(200);
        expect((await c.get("/v1/health")).status).toBe(200);
      });

      it("limits ratings per client IP and a refused rating writes nothing", async () => {
        const r1 = await c.post(`/v1/servers/${domain}/rate`, { user_id: "u1", rating: 5 });
        expect(r1.status).toBe(201);
        expectRateHeaders(r1, 2, 1, 3600);
        expect((await c.post(`/v1/servers/${domain}/rate`, { user_id: "u2", rating: 4 })).status).toBe(201);
        expect429(await c.post(`/v1/servers/${domain}/rate`, { user_id: "u3", rating: 1 }), 2, 3600);
        expect429(await c.post(`/v1/servers/${domain}/rate`, { user_id: "u3", rating: 1 }, { headers: { "x-forwarded-for": "192.0.2.9" } }), 2, 3600);
        const [[n]] = (await db.query("SELECT COUNT(*) AS n FROM ratings WHERE user_id = 'u3'")) as any;
        expect(n.n).toBe(0);
        expect((await c.get(`/v1/servers/${domain}/ratings`)).body.count).toBe(2);
      });

      it("records the socket peer, not a spoofed X-Forwarded-For, as the actor in the audit log", async () => {
        const [rows] = (await db.query("SELECT actor, action FROM audit_log WHERE action IN ('server.register', 'rating.create')")) as any;
        expect(rows.length).toBeGreaterThanOrEqual(4);
        for (const r of rows) expect(r.actor).toBe("ip:127.0.0.1");
      });
    });
  });

  describe("behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1/32)", () => {
    const dbUrl = freshDatabaseUrl("proxied");
    let reg: InProcessRegistrar;
    let c: ReturnType<typeof api>;
    let db: Awaited<ReturnType<typeof connect>>;

    beforeAll(async () => {
      await awayFromWindowEdge();
      reg = await startRegistrar({
        DATABASE_URL: dbUrl, TRUSTED_PROXIES: "127.0.0.1/32", RATE_LIMIT_REGISTER: "1/3600", RATE_LIMIT_LIST: "off", RATE_LIMIT_RATE: "1/3600", RATINGS_ANONYMOUS: "true",
      });
      c = api(reg.url);
      db = await connect(dbUrl);
    });
    afterAll(async () => {
      await db?.end();
      await reg?.stop();
      await dropDatabase(dbUrl);
    });

    const registerAs = (xff: string | undefined) => c.post("/v1/servers", newServer(), { headers: xff === undefined ? {} : { "x-forwarded-for": xff } });

    it("takes the right-most untrusted X-Forwarded-For address as the client: different addresses get separate buckets", async () => {
      const first = await registerAs("203.0.113.7");
      expect(first.status).toBe(201);
      expect429(await registerAs("203.0.113.7"), 1, 3600);
      expect((await registerAs("203.0.113.8")).status).toBe(201);
      // Left-hand entries are the client's own claims: changing them does not make a new client.
      expect429(await registerAs("10.9.9.9, 203.0.113.7"), 1, 3600);
      // A trusted hop on the right is skipped.
      expect429(await registerAs("203.0.113.8, 127.0.0.1"), 1, 3600);
      expect((await registerAs("192.0.2.44, 127.0.0.1")).status).toBe(201);
      // No X-Forwarded-For: the proxy itself is the client.
      expect((await registerAs(undefined)).status).toBe(201);
      expect429(await registerAs(undefined), 1, 3600);
    });

    it("writes the resolved client IP into the audit log", async () => {
      const [rows] = (await db.query("SELECT actor FROM audit_log WHERE action = 'server.register' ORDER BY id")) as any;
      expect(rows.map((r: any) => r.actor)).toEqual(["ip:203.0.113.7", "ip:203.0.113.8", "ip:192.0.2.44", "ip:127.0.0.1"]);
      const [[owner]] = (await db.query("SELECT domain FROM servers ORDER BY created_at LIMIT 1")) as any;
      const rated = await c.post(`/v1/servers/${owner.domain}/rate`, { user_id: "u", rating: 3 }, { headers: { "x-forwarded-for": "2001:db8::1" } });
      expect(rated.status).toBe(201);
      const [[audit]] = (await db.query("SELECT actor FROM audit_log WHERE action = 'rating.create'")) as any;
      expect(audit.actor).toBe("ip:2001:db8::1");
    });

    it("logs the resolved client IP on each request line", async () => {
      await c.get("/v1/health", { headers: { "x-forwarded-for": "198.51.100.23", "x-request-id": "ip-log-check" } });
      const line = reg.logs.find((l) => l.req_id === "ip-log-check");
      expect(line?.ip).toBe("198.51.100.23");
    });
  });
});
