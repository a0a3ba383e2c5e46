// The legacy dialect (contract §7) through real HTTP: every unversioned route and error, on the same records,
// actors and rules as /v1; tokens shared by both dialects and the WebSocket.
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { identified } from "../support/ws-test-client.js";

const LEGACY_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const ROW_KEYS = [
  "domain", "name", "api_url", "ws_url", "voice_url", "voice_provider", "cdn_url", "protocols", "capabilities", "description",
  "icon", "user_count", "channel_count", "verified", "status", "last_seen", "version", "created_at",
];

let n = 0;
/** A legacy registration body (camelCase, capabilities as the PHP's usual object) for a fresh domain. */
function legacyServer(over: Record<string, unknown> = {}) {
  const domain = `leg${Date.now().toString(36)}${(n++).toString(36)}.example.com`;
  return {
    domain, name: `Legacy ${domain}`, apiUrl: `https://${domain}/api`, wsUrl: `wss://${domain}/ws`, voiceProvider: "livekit",
    capabilities: { voice: true, video: false }, protocols: ["zent-v1"], description: "from a PHP-era client", ...over,
  };
}

/** Raw fetch: the legacy dialect is about exact bytes and headers. */
async function raw(base: string, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(base + path, { method, body: opts.body, headers: opts.headers });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

describe("legacy dialect on the unversioned routes", () => {
  const dbUrl = freshDatabaseUrl("legacy");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Connection;
  const registerLegacy = async (over: Record<string, unknown> = {}) => {
    const body = legacyServer(over);
    const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(201);
    return { body, token: res.json.serverToken as string };
  };
  const count = async (table: string) => Number(((await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0] as RowDataPacket[])[0].n);

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

  describe("POST /servers", () => {
    it("registers with camelCase keys and a capabilities object, answering 201 {domain, serverToken} with deprecation headers", async () => {
      const body = legacyServer({ domain: "Mixed.Example.COM", apiUrl: "https://mixed.example.com/api", wsUrl: "wss://mixed.example.com/ws" });
      const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(body), headers: { "content-type": "application/json" } });
      expect(res.status).toBe(201);
      expect(Object.keys(res.json)).toEqual(["domain", "serverToken"]);
      expect(res.json.domain).toBe("mixed.example.com");
      expect(res.json.serverToken).toMatch(/^[0-9a-f]{64}$/);
      expect(res.headers.get("deprecation")).toBe("true");
      expect(res.headers.get("link")).toBe('</v1/servers>; rel="successor-version"');
      const v1 = (await c.get("/v1/servers/mixed.example.com")).body.server;
      expect(v1).toMatchObject({ capabilities: ["voice"], protocols: ["zent-v1"], voice_provider: "livekit", ws_url: "wss://mixed.example.com/ws" });
    });

    it("reads the JSON body whatever its Content-Type says, or without one", async () => {
      for (const headers of [{ "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }, {} as Record<string, string>]) {
        const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(legacyServer()), headers });
        expect(res.status).toBe(201);
      }
    });

    it("answers a body that is not JSON with 400 Invalid JSON and creates nothing", async () => {
      const before = await count("servers");
      const res = await raw(reg.url, "POST", "/servers", { body: "domain=x.example.com&name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: "Invalid JSON" });
      expect(await count("servers")).toBe(before);
    });

    it("keeps the §2 rules, naming the legacy field; a missing required field is named too; nothing is created", async () => {
      const before = await count("servers");
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ apiUrl: "http://x.example.com/api" }, /^Invalid apiUrl: /],
        [{ wsUrl: "wss://elsewhere.example.org/ws" }, /^Invalid wsUrl: /],
        [{ name: "x".repeat(101) }, /^Invalid name: /],
        [{ capabilities: ["Screen Share"] }, /^Invalid capabilities/],
        [{ domain: "-bad-.example.com" }, /^Invalid domain: /],
        [{ wsUrl: undefined }, /^Invalid wsUrl: required$/],
      ];
      for (const [over, text] of cases) {
        const body = legacyServer(over);
        const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(body) });
        expect(res.status, JSON.stringify(over)).toBe(400);
        expect(Object.keys(res.json)).toEqual(["error"]);
        expect(res.json.error).toMatch(text);
      }
      expect(await count("servers")).toBe(before);
    });

    it("ignores unknown keys, even server-owned ones", async () => {
      const body = legacyServer({ verified: true, userCount: 99, serverToken: "f".repeat(64), status: "offline", bogus: [1] });
      const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      expect((await c.get(`/v1/servers/${body.domain}`)).body.server).toMatchObject({ verified: false, user_count: 0, status: "online" });
    });

    it("answers a second registration of a domain with 409 and a string error", async () => {
      const { body } = await registerLegacy();
      const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(body) });
      expect(res.status).toBe(409);
      expect(typeof res.json.error).toBe("string");
    });
  });

  describe("tokens across dialects", () => {
    it("accepts the legacy serverToken on /v1 and on the WebSocket, and a /v1 token on the legacy routes", async () => {
      const { body, token } = await registerLegacy();
      expect((await c.post(`/v1/servers/${body.domain}/heartbeat`, {}, { token })).status).toBe(200);
      const s = await identified(reg.url, body.domain, token);
      s.close();
      const v1 = await c.post("/v1/servers", { domain: `v1${body.domain}`, name: "V1", api_url: `https://v1${body.domain}/api` });
      expect(v1.status).toBe(201);
      const hb = await raw(reg.url, "POST", `/servers/v1${body.domain}/heartbeat`, { headers: { authorization: `Bearer ${v1.body.token}` } });
      expect(hb.status).toBe(204);
    });
  });

  describe("POST /servers/:domain/heartbeat", () => {
    it("answers 204 with no body and applies userCount and channelCount", async () => {
      const { body, token } = await registerLegacy();
      const res = await raw(reg.url, "POST", `/servers/${body.domain}/heartbeat`, {
        body: JSON.stringify({ userCount: 42, channelCount: 7 }), headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(204);
      expect(res.text).toBe("");
      const row = (await raw(reg.url, "GET", `/servers/${body.domain}`)).json;
      expect([row.user_count, row.channel_count]).toEqual([42, 7]);
    });

    it("answers the three 401 texts: Missing authorization, Invalid token, and (for another server's token) Invalid token", async () => {
      const { body } = await registerLegacy();
      const other = await registerLegacy();
      const none = await raw(reg.url, "POST", `/servers/${body.domain}/heartbeat`);
      expect([none.status, none.json]).toEqual([401, { error: "Missing authorization" }]);
      const wrong = await raw(reg.url, "POST", `/servers/${body.domain}/heartbeat`, { headers: { authorization: `Bearer ${"0".repeat(64)}` } });
      expect([wrong.status, wrong.json]).toEqual([401, { error: "Invalid token" }]);
      const foreign = await raw(reg.url, "POST", `/servers/${body.domain}/heartbeat`, { headers: { authorization: `Bearer ${other.token}` } });
      expect([foreign.status, foreign.json]).toEqual([401, { error: "Invalid token" }]);
      const unknown = await raw(reg.url, "POST", "/servers/nobody.example.com/heartbeat", { headers: { authorization: `Bearer ${other.token}` } });
      expect([unknown.status, unknown.json]).toEqual([401, { error: "Invalid token" }]);
    });

    it("refuses a bad count naming userCount, and changes nothing", async () => {
      const { body, token } = await registerLegacy();
      const res = await raw(reg.url, "POST", `/servers/${body.domain}/heartbeat`, {
        body: JSON.stringify({ userCount: -1 }), headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatch(/^Invalid userCount: /);
    });
  });

  describe("GET /servers/:domain and /servers/:domain/health", () => {
    it("answers a bare row with exactly the PHP keys in order and legacy times, under any case of the domain", async () => {
      const { body } = await registerLegacy({ voiceUrl: "", icon: null });
      const res = await raw(reg.url, "GET", `/servers/${body.domain.toUpperCase()}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.json)).toEqual(ROW_KEYS);
      expect(res.json).toMatchObject({ domain: body.domain, voice_url: null, icon: null, cdn_url: null, version: null, status: "online", verified: false });
      expect(res.json.last_seen).toMatch(LEGACY_TIME);
      expect(res.json.created_at).toMatch(LEGACY_TIME);
      expect(res.headers.get("link")).toBe(`</v1/servers/${body.domain.toUpperCase()}>; rel="successor-version"`);
    });

    it("answers an unknown domain with 404 Server not found", async () => {
      const res = await raw(reg.url, "GET", "/servers/nobody.example.com");
      expect([res.status, res.json]).toEqual([404, { error: "Server not found" }]);
    });

    it("answers the health of one server as {domain, status, last_seen}", async () => {
      const { body } = await registerLegacy();
      const res = await raw(reg.url, "GET", `/servers/${body.domain}/health`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.json)).toEqual(["domain", "status", "last_seen"]);
      expect(res.json.last_seen).toMatch(LEGACY_TIME);
    });
  });

  describe("PUT and DELETE /servers/:domain", () => {
    it("updates any legacy field with 200 {updated:true}; userCount is applied like a heartbeat's", async () => {
      const { body, token } = await registerLegacy();
      const auth = { authorization: `Bearer ${token}` };
      const res = await raw(reg.url, "PUT", `/servers/${body.domain}`, {
        body: JSON.stringify({ name: "Renamed", cdnUrl: "https://cdn.example.net", capabilities: { bots: true }, userCount: 5 }), headers: auth,
      });
      expect([res.status, res.json]).toEqual([200, { updated: true }]);
      const row = (await raw(reg.url, "GET", `/servers/${body.domain}`)).json;
      expect(row).toMatchObject({ name: "Renamed", cdn_url: "https://cdn.example.net", capabilities: ["bots"], user_count: 5 });
    });

    it("answers 400 No fields to update for an empty or unknown-keys-only body, and names a bad field", async () => {
      const { body, token } = await registerLegacy();
      const auth = { authorization: `Bearer ${token}` };
      for (const b of ["{}", JSON.stringify({ bogus: 1 })]) {
        const res = await raw(reg.url, "PUT", `/servers/${body.domain}`, { body: b, headers: auth });
        expect([res.status, res.json]).toEqual([400, { error: "No fields to update" }]);
      }
      const bad = await raw(reg.url, "PUT", `/servers/${body.domain}`, { body: JSON.stringify({ apiUrl: "https://elsewhere.example.org/api", name: "ok" }), headers: auth });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/^Invalid apiUrl: /);
      expect((await raw(reg.url, "GET", `/servers/${body.domain}`)).json.name).toBe(body.name);
    });

    it("deletes with 204 and no body", async () => {
      const { body, token } = await registerLegacy();
      const res = await raw(reg.url, "DELETE", `/servers/${body.domain}`, { headers: { authorization: `Bearer ${token}` } });
      expect([res.status, res.text]).toEqual([204, ""]);
      expect((await raw(reg.url, "GET", `/servers/${body.domain}`)).status).toBe(404);
    });
  });

  describe("GET /servers", () => {
    it("answers {servers:[row…], total} with bare rows", async () => {
      await registerLegacy();
      const res = await raw(reg.url, "GET", "/servers");
      expect(res.status).toBe(200);
      expect(Object.keys(res.json)).toEqual(["servers", "total"]);
      expect(Object.keys(res.json.servers[0])).toEqual(ROW_KEYS);
    });

    it("searches name or domain, case-insensitively and literally (not the description)", async () => {
      const tag = `zq${Date.now().toString(36)}`;
      const a = await registerLegacy({ name: `Alpha ${tag.toUpperCase()}` });
      const b = await registerLegacy({ domain: `${tag}.example.net`, apiUrl: `https://${tag}.example.net/api`, wsUrl: `wss://${tag}.example.net/ws` });
      await registerLegacy({ description: `mentions ${tag} only here` });
      await registerLegacy({ name: "100% pure" });
      const res = await raw(reg.url, "GET", `/servers?search=${tag}&limit=100`);
      expect(res.json.servers.map((s: any) => s.domain).sort()).toEqual([a.body.domain, b.body.domain].sort());
      expect(res.json.total).toBe(2);
      const pct = await raw(reg.url, "GET", "/servers?search=100%25&limit=100");
      expect(pct.json.servers.every((s: any) => s.name.includes("100%"))).toBe(true);
    });

    it("sorts by user_count (default, descending), created_at (descending) and name (ascending); any other sort is the default", async () => {
      const bySort = async (sort: string) => (await raw(reg.url, "GET", `/servers?limit=100&sort=${sort}`)).json.servers;
      const users = await bySort("user_count");
      expect(users.map((s: any) => s.user_count)).toEqual([...users.map((s: any) => s.user_count)].sort((x, y) => y - x));
      expect(await bySort("bogus")).toEqual(users);
      const created = await bySort("created_at");
      const times = created.map((s: any) => s.created_at);
      expect(times).toEqual([...times].sort().reverse());
      const names = (await bySort("name")).map((s: any) => s.name.toLowerCase());
      expect(names).toEqual([...names].sort());
    });

    it("clamps limit to 1–100 and offset to 0–10000, never refusing", async () => {
      for (let i = 0; i < 3; i++) await registerLegacy();
      const get = async (q: string) => raw(reg.url, "GET", `/servers?${q}`);
      expect((await get("limit=0")).json.servers).toHaveLength(1);
      expect((await get("limit=abc")).json.servers).toHaveLength(1);
      expect((await get("limit=2xyz")).json.servers).toHaveLength(2);
      const all = await get("limit=1000");
      expect(all.status).toBe(200);
      expect(all.json.servers.length).toBe(Math.min(100, all.json.total));
      expect((await get("offset=-5&limit=1")).json.servers).toEqual((await get("limit=1")).json.servers);
      const deep = await get("offset=99999999");
      expect([deep.status, deep.json.servers]).toEqual([200, []]);
    });

    it("refuses a search longer than the q rule allows with 400 naming search", async () => {
      const res = await raw(reg.url, "GET", `/servers?search=${"x".repeat(101)}`);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatch(/^Invalid search: /);
    });
  });

  describe("ratings", () => {
    it("takes a rating with userId and a numeric-string rating, answering 201 {created:true} also when it replaces one", async () => {
      const { body } = await registerLegacy();
      const rater = await registerLegacy();
      const rate = (b: unknown) => raw(reg.url, "POST", `/servers/${body.domain}/rate`, { body: JSON.stringify(b), headers: { authorization: `Bearer ${rater.token}` } });
      const first = await rate({ fromDomain: rater.body.domain, userId: "alice", rating: "4", comment: "good" });
      expect([first.status, first.json]).toEqual([201, { created: true }]);
      const again = await rate({ fromDomain: rater.body.domain, userId: "alice", rating: 2 });
      expect([again.status, again.json]).toEqual([201, { created: true }]);
      expect((await rate({ fromDomain: rater.body.domain, userId: "bob", rating: 9 })).json.error).toMatch(/^Invalid rating: /);
      expect((await rate({ fromDomain: rater.body.domain, userId: "", rating: 3 })).json.error).toMatch(/^Invalid userId: /);
      expect((await rate({ fromDomain: rater.body.domain, userId: "carol", rating: 3, comment: "c".repeat(501) })).json.error).toMatch(/^Invalid comment: /);
      const list = await raw(reg.url, "GET", `/servers/${body.domain}/ratings`);
      expect(list.json.total).toBe(1);
      expect(list.json.averageRating).toBe(2);
      expect(Object.keys(list.json.ratings[0])).toEqual(["id", "domain", "user_id", "rating", "comment", "created_at"]);
      expect(list.json.ratings[0]).toMatchObject({ domain: body.domain, rating: 2 });
      expect(list.json.ratings[0].created_at).toMatch(LEGACY_TIME);
    });

    it("clamps the ratings page instead of refusing it", async () => {
      const { body } = await registerLegacy();
      for (const q of ["limit=0", "limit=abc", "limit=5000&offset=-3"]) {
        expect((await raw(reg.url, "GET", `/servers/${body.domain}/ratings?${q}`)).status).toBe(200);
      }
    });

    it("lists ratings as {ratings, averageRating, total}; averageRating is null when unrated", async () => {
      const { body } = await registerLegacy();
      const res = await raw(reg.url, "GET", `/servers/${body.domain}/ratings`);
      expect([res.status, res.json]).toEqual([200, { ratings: [], averageRating: null, total: 0 }]);
      const missing = await raw(reg.url, "GET", "/servers/nobody.example.com/ratings");
      expect([missing.status, missing.json]).toEqual([404, { error: "Server not found" }]);
    });
  });

  describe("common rules", () => {
    it("answers GET /health as a liveness answer", async () => {
      const res = await raw(reg.url, "GET", "/health");
      expect([res.status, res.json]).toEqual([200, { status: "ok", service: "registrar" }]);
    });

    it("tolerates a trailing slash", async () => {
      const { body, token } = await registerLegacy();
      expect((await raw(reg.url, "GET", "/servers/")).status).toBe(200);
      expect((await raw(reg.url, "GET", `/servers/${body.domain}/`)).json.domain).toBe(body.domain);
      expect((await raw(reg.url, "POST", `/servers/${body.domain}/heartbeat/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(204);
      expect((await raw(reg.url, "GET", "/health/")).status).toBe(200);
    });

    it("answers a known path with a wrong method 404 Not found", async () => {
      const { body } = await registerLegacy();
      for (const [method, path] of [["PATCH", "/servers"], ["DELETE", "/servers"], ["GET", `/servers/${body.domain}/heartbeat`], ["POST", `/servers/${body.domain}/health`], ["PUT", "/health"]]) {
        const res = await raw(reg.url, method, path);
        expect([res.status, res.json], `${method} ${path}`).toEqual([404, { error: "Not found" }]);
      }
    });

    it("answers a body over 64 KiB with 413 and a string error", async () => {
      const res = await raw(reg.url, "POST", "/servers", { body: JSON.stringify({ ...legacyServer(), description: "x".repeat(70_000) }) });
      expect(res.status).toBe(413);
      expect(typeof res.json.error).toBe("string");
    });

    it("leaves the /v1 routes unchanged", async () => {
      const res = await c.post("/v1/servers", { domain: "strict.example.com", name: "S", api_url: "https://strict.example.com/api", apiUrl: "x" });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.headers.get("deprecation")).toBeNull();
    });
  });
});

describe("legacy dialect limits and expiry", () => {
  const dbUrl = freshDatabaseUrl("legacy2");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    // About 0.9 s of token life; one registration per hour per client.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, TOKEN_MAX_AGE_DAYS: "0.00001", RATE_LIMIT_REGISTER: "1/3600", RATE_LIMIT_LIST: "3/60" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("counts legacy listings against the listing limit: a flood gets 429 Too many requests", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await raw(reg.url, "GET", `/servers?search=x${i}&limit=${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await raw(reg.url, "GET", "/servers");
    expect(limited.json).toEqual({ error: "Too many requests" });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers 429 Too many requests with Retry-After over the registration limit", async () => {
    const first = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(legacyServer()) });
    expect(first.status).toBe(201);
    const second = await raw(reg.url, "POST", "/servers", { body: JSON.stringify(legacyServer()) });
    expect([second.status, second.json]).toEqual([429, { error: "Too many requests" }]);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    // The token works until its absolute lifetime ends, then answers Token expired.
    const beat = () => raw(reg.url, "POST", `/servers/${first.json.domain}/heartbeat`, { headers: { authorization: `Bearer ${first.json.serverToken}` } });
    await vi.waitFor(async () => expect((await beat()).json).toEqual({ error: "Token expired" }), { timeout: 5_000, interval: 100 });
    expect((await beat()).status).toBe(401);
  });
});
