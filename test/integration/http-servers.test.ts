// Contract §2/§3 server routes over real HTTP against MariaDB: success shapes, field rules, conflicts, atomicity.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY_MS = 86_400_000;
const RECORD_KEYS = [
  "api_url", "capabilities", "cdn_url", "channel_count", "created_at", "description", "domain", "icon", "last_seen", "name",
  "origin", "protocols", "rating", "status", "user_count", "verified", "verified_at", "version", "voice_provider", "voice_url", "ws_url",
  // Contract §9.2.
  "languages", "registration", "uptime_30d", "web_url",
].sort();
const REGISTRAR_ID = "reg.test.example";

/** Asserts the public record shape of contract §2 (every field, its type, no token or internal field). */
function expectRecord(s: any) {
  expect(Object.keys(s).sort()).toEqual(RECORD_KEYS);
  expect(typeof s.domain).toBe("string");
  expect(typeof s.name).toBe("string");
  expect(typeof s.api_url).toBe("string");
  for (const k of ["description", "icon", "ws_url", "voice_url", "voice_provider", "cdn_url", "version"]) {
    expect(s[k] === null || typeof s[k] === "string", k).toBe(true);
  }
  expect(Array.isArray(s.protocols) && s.protocols.every((p: unknown) => typeof p === "string")).toBe(true);
  expect(Array.isArray(s.capabilities) && s.capabilities.every((p: unknown) => typeof p === "string")).toBe(true);
  expect(Number.isInteger(s.user_count) && s.user_count >= 0).toBe(true);
  expect(Number.isInteger(s.channel_count) && s.channel_count >= 0).toBe(true);
  expect(typeof s.verified).toBe("boolean");
  expect(["online", "offline"]).toContain(s.status);
  expect(s.last_seen).toMatch(ISO_MS);
  expect(s.created_at).toMatch(ISO_MS);
  expect(Object.keys(s.rating).sort()).toEqual(["average", "count", "distribution", "verified_count"]);
  expect(s.rating.distribution.length === 5 && s.rating.distribution.every((n: unknown) => Number.isInteger(n))).toBe(true);
  expect(Number.isInteger(s.rating.verified_count)).toBe(true);
  expect(s.verified_at === null || ISO_MS.test(s.verified_at)).toBe(true);
  expect(s.rating.average === null || typeof s.rating.average === "number").toBe(true);
  expect(Number.isInteger(s.rating.count)).toBe(true);
  expect(typeof s.origin).toBe("string");
  expect(s.web_url === null || typeof s.web_url === "string").toBe(true);
  expect(Array.isArray(s.languages) && s.languages.every((p: unknown) => typeof p === "string")).toBe(true);
  expect([null, "open", "approval", "invite", "closed"]).toContain(s.registration);
  expect(s.uptime_30d === null || (typeof s.uptime_30d === "number" && s.uptime_30d >= 0 && s.uptime_30d <= 1)).toBe(true);
}

function expectValidation(res: { status: number; body: any }, paths: string[]) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.error.code).toBe("validation_failed");
  expect(typeof res.body.error.message).toBe("string");
  const details = res.body.error.details as { path: string; message: string }[];
  expect(Array.isArray(details) && details.length > 0).toBe(true);
  for (const d of details) {
    expect(Object.keys(d).sort()).toEqual(["message", "path"]);
    expect(typeof d.path).toBe("string");
    expect(d.message.length).toBeGreaterThan(0);
  }
  for (const p of paths) expect(details.map((d) => d.path), JSON.stringify(details)).toContain(p);
}

describe("server routes", () => {
  const dbUrl = freshDatabaseUrl("servers");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  const count = async (table: string, domain?: string) => {
    const [[row]] = (await db.query(`SELECT COUNT(*) AS n FROM ${table}${domain ? " WHERE domain = ?" : ""}`, domain ? [domain] : [])) as any;
    return Number(row.n);
  };
  const register = async (overrides: Record<string, unknown> = {}) => {
    const body = newServer(overrides);
    const res = await c.post("/v1/servers", body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { body, domain: res.body.server.domain as string, token: res.body.token as string, res };
  };

  beforeAll(async () => {
    reg = await startRegistrar({
      DATABASE_URL: dbUrl, REGISTRAR_ID, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true",
    });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  describe("success paths", () => {
    it("registers a server with 201, the full public record, a 64-hex token and its expiry", async () => {
      const before = Date.now();
      const full = newServer({
        description: "A friendly place\nwith two lines",
        icon: "https://cdn.other.example/icon.png",
        voice_url: "https://voice.example.net",
        voice_provider: "mediasoup",
        cdn_url: "https://cdn.example.net",
        protocols: ["zent/1"],
        capabilities: ["voice", "federation"],
        version: "1.4.2",
      });
      full.api_url = `https://api.${full.domain}/v1`;
      (full as any).ws_url = `wss://${full.domain}/ws`;
      const res = await c.post("/v1/servers", full);
      expect(res.status).toBe(201);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(["server", "token", "token_expires_at"]);
      expect(res.body.token).toMatch(/^[0-9a-f]{64}$/);
      expect(res.body.token_expires_at).toMatch(ISO_MS);
      const expires = Date.parse(res.body.token_expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + 365 * DAY_MS - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 365 * DAY_MS + 1000);
      const s = res.body.server;
      expectRecord(s);
      const { domain: _d, ...fields } = full;
      expect(s).toMatchObject({ ...fields, domain: full.domain });
      expect(s).toMatchObject({
        user_count: 0, channel_count: 0, verified: false, status: "online", rating: { average: null, count: 0, distribution: [0, 0, 0, 0, 0], verified_count: 0 }, verified_at: null, origin: REGISTRAR_ID,
      });
      expect(Date.parse(s.created_at)).toBeGreaterThanOrEqual(before - 5);
      expect(s.last_seen).toBe(s.created_at);
    });

    it("fills optional fields of a minimal registration with null and empty lists", async () => {
      const { res } = await register();
      const s = res.body.server;
      expectRecord(s);
      for (const k of ["description", "icon", "ws_url", "voice_url", "voice_provider", "cdn_url", "version", "web_url", "registration"]) expect(s[k]).toBeNull();
      expect(s.protocols).toEqual([]);
      expect(s.capabilities).toEqual([]);
      expect(s.languages).toEqual([]);
    });

    it("returns the same record from GET /v1/servers/:domain, without any token", async () => {
      const { domain, token, res } = await register({ description: "hello" });
      const got = await c.get(`/v1/servers/${domain}`);
      expect(got.status).toBe(200);
      expect(Object.keys(got.body)).toEqual(["server"]);
      expect(got.body.server).toEqual(res.body.server);
      expect(got.text).not.toContain(token);
      expect(got.text).not.toMatch(/token|hash/i);
    });

    it("normalises the registered domain (case, IDN → punycode) and looks it up in any spelling", async () => {
      const idn = `Bücher${Date.now().toString(36)}.example`;
      const ascii = new URL(`https://${idn}/`).hostname; // what a WHATWG URL parser makes of it
      const res = await c.post("/v1/servers", { domain: idn, name: "Books", api_url: `https://${idn.toLowerCase()}/api` });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const domain = res.body.server.domain as string;
      expect(domain).toBe(ascii);
      expect(domain).toMatch(/^xn--bcher[a-z0-9]*-[a-z0-9]+\.example$/);
      expect(res.body.server.api_url).toBe(`https://${idn.toLowerCase()}/api`);
      for (const path of [domain, domain.toUpperCase(), encodeURIComponent(idn), encodeURIComponent(idn.toUpperCase())]) {
        const got = await c.get(`/v1/servers/${path}`);
        expect(got.status, path).toBe(200);
        expect(got.body.server.domain).toBe(domain);
      }
      const upper = await c.post("/v1/servers", { domain: "Chat-UPPER.Example.COM", name: "Upper", api_url: "https://chat-upper.example.com/api" });
      expect(upper.status).toBe(201);
      expect(upper.body.server.domain).toBe("chat-upper.example.com");
    });

    it("normalises Bücher.example to xn--bcher-kva.example", async () => {
      const res = await c.post("/v1/servers", { domain: "Bücher.example", name: "Bücher", api_url: "https://xn--bcher-kva.example/api" });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.server.domain).toBe("xn--bcher-kva.example");
      const [[row]] = (await db.query("SELECT domain FROM servers WHERE domain = 'xn--bcher-kva.example'")) as any;
      expect(row.domain).toBe("xn--bcher-kva.example");
    });

    it("updates any subset of mutable fields with PUT, keeps the rest and clears optional fields with null", async () => {
      const { domain, token, res } = await register({ description: "old", version: "1.0.0", protocols: ["zent/1"] });
      const put = await c.put(`/v1/servers/${domain}`, { name: "  New Name  ", description: null, capabilities: ["voice"] }, { token });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(Object.keys(put.body)).toEqual(["server"]);
      expectRecord(put.body.server);
      expect(put.body.server).toEqual({ ...res.body.server, name: "New Name", description: null, capabilities: ["voice"] });
      expect(put.text).not.toContain(token);
      expect((await c.get(`/v1/servers/${domain}`)).body.server).toEqual(put.body.server);
      const [[row]] = (await db.query("SELECT name, description, capabilities, version FROM servers WHERE domain = ?", [domain])) as any;
      expect(row).toEqual({ name: "New Name", description: null, capabilities: '["voice"]', version: "1.0.0" });
    });

    it("accepts the unchanged domain (in any spelling) in an update", async () => {
      const { domain, token } = await register();
      const put = await c.put(`/v1/servers/${domain.toUpperCase()}`, { domain: domain.toUpperCase(), name: "Same domain" }, { token });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body.server.domain).toBe(domain);
    });

    it("takes a heartbeat with 200, online status, last_seen, next_heartbeat_s and token expiry, and applies its stats", async () => {
      const { domain, token } = await register();
      const before = Date.now();
      const hb = await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 120, channel_count: 14, version: "2.0.0" }, { token });
      expect(hb.status).toBe(200);
      expect(Object.keys(hb.body).sort()).toEqual(["last_seen", "next_heartbeat_s", "status", "token_expires_at"]);
      expect(hb.body.status).toBe("online");
      expect(hb.body.next_heartbeat_s).toBe(30);
      expect(hb.body.last_seen).toMatch(ISO_MS);
      expect(Date.parse(hb.body.last_seen)).toBeGreaterThanOrEqual(before - 5);
      expect(hb.body.token_expires_at).toMatch(ISO_MS);
      expect(Date.parse(hb.body.token_expires_at)).toBeGreaterThanOrEqual(before + 365 * DAY_MS - 1000);
      const s = (await c.get(`/v1/servers/${domain}`)).body.server;
      expect(s).toMatchObject({ user_count: 120, channel_count: 14, version: "2.0.0", status: "online", last_seen: hb.body.last_seen });
      // Heartbeats are written behind: the row catches up within the flush interval.
      await waitForRow(domain, { user_count: 120, channel_count: 14 });
    });

    it("takes a heartbeat without a body and keeps the stats", async () => {
      const { domain, token } = await register();
      await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 7 }, { token });
      const hb = await c.post(`/v1/servers/${domain}/heartbeat`, undefined, { token });
      expect(hb.status).toBe(200);
      expect((await c.get(`/v1/servers/${domain}`)).body.server.user_count).toBe(7);
    });

    it("answers GET /v1/servers/:domain/health with domain, status, last_seen and offline_after_s", async () => {
      const { domain } = await register();
      const res = await c.get(`/v1/servers/${domain}/health`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ domain, status: "online", last_seen: expect.stringMatching(ISO_MS), offline_after_s: 300 });
    });

    it("rotates the token: 200 with a new token and expiry; the old token stops working at once, the new one works", async () => {
      const { domain, token: old } = await register();
      const rot = await c.post(`/v1/servers/${domain}/token`, undefined, { token: old });
      expect(rot.status).toBe(200);
      expect(Object.keys(rot.body).sort()).toEqual(["token", "token_expires_at"]);
      expect(rot.body.token).toMatch(/^[0-9a-f]{64}$/);
      expect(rot.body.token).not.toBe(old);
      expect(rot.body.token_expires_at).toMatch(ISO_MS);
      const fresh = rot.body.token as string;
      for (const [method, path, body] of [
        ["POST", `/v1/servers/${domain}/heartbeat`, undefined],
        ["PUT", `/v1/servers/${domain}`, { name: "stolen" }],
        ["POST", `/v1/servers/${domain}/token`, undefined],
        ["DELETE", `/v1/servers/${domain}`, undefined],
      ] as const) {
        const res = await c.call(method, path, { token: old, body });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.error.code).toBe("unauthorized");
      }
      expect((await c.get(`/v1/servers/${domain}`)).body.server.name).not.toBe("stolen");
      expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token: fresh })).status).toBe(200);
      expect((await c.put(`/v1/servers/${domain}`, { name: "Rotated" }, { token: fresh })).status).toBe(200);
      const [[row]] = (await db.query("SELECT HEX(token_hash) AS h FROM servers WHERE domain = ?", [domain])) as any;
      expect(row.h).toHaveLength(64);
      expect(row.h.toLowerCase()).not.toBe(fresh);
    });

    it("accepts an empty JSON object as the rotation body but refuses fields", async () => {
      const { domain, token } = await register();
      const bad = await c.post(`/v1/servers/${domain}/token`, { token: "x" }, { token });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("validation_failed");
      expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token })).status).toBe(200);
      const ok = await c.post(`/v1/servers/${domain}/token`, {}, { token });
      expect(ok.status).toBe(200);
    });

    it("deletes with 204 and no body, removes its ratings, then answers 404 on GET and 401 on writes", async () => {
      const { domain, token } = await register();
      expect((await c.post(`/v1/servers/${domain}/rate`, { user_id: "u1", rating: 5 })).status).toBe(201);
      expect((await c.post(`/v1/servers/${domain}/rate`, { user_id: "u2", rating: 3 })).status).toBe(201);
      expect(await count("ratings", domain)).toBe(2);
      const del = await c.del(`/v1/servers/${domain}`, { token });
      expect(del.status).toBe(204);
      expect(del.text).toBe("");
      expect(await count("servers", domain)).toBe(0);
      expect(await count("ratings", domain)).toBe(0);
      expect((await c.get(`/v1/servers/${domain}`)).status).toBe(404);
      expect((await c.get(`/v1/servers/${domain}/ratings`)).status).toBe(404);
      expect((await c.get(`/v1/servers/${domain}/health`)).status).toBe(404);
      expect((await c.get("/v1/servers?limit=100")).body.servers.map((s: any) => s.domain)).not.toContain(domain);
      const again = await c.del(`/v1/servers/${domain}`, { token });
      expect(again.status).toBe(401);
      expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token })).status).toBe(401);
    });

    it("lets a deleted domain be registered again with a new token", async () => {
      const { body, domain, token } = await register();
      expect((await c.del(`/v1/servers/${domain}`, { token })).status).toBe(204);
      const again = await c.post("/v1/servers", body);
      expect(again.status).toBe(201);
      expect(again.body.token).not.toBe(token);
      expect(again.body.server.rating).toEqual({ average: null, count: 0, distribution: [0, 0, 0, 0, 0], verified_count: 0 });
    });
  });

  describe("validation_failed on registration", () => {
    it("lists each unknown field at its own path", async () => {
      const res = await c.post("/v1/servers", { ...newServer(), foo: 1, bar: { x: 1 } });
      expectValidation(res, ["foo", "bar"]);
    });

    it.each(["user_count", "channel_count", "verified", "verified_at", "status", "last_seen", "created_at", "origin", "rating"])(
      "refuses the server-owned field %s",
      async (field) => {
        const values: Record<string, unknown> = {
          user_count: 5, channel_count: 2, verified: true, verified_at: new Date().toISOString(), status: "online", last_seen: new Date().toISOString(),
          created_at: new Date().toISOString(), origin: REGISTRAR_ID, rating: { average: 5, count: 1 },
        };
        const body = { ...newServer(), [field]: values[field] };
        expectValidation(await c.post("/v1/servers", body), [field]);
        expect(await count("servers", body.domain)).toBe(0);
      },
    );

    it.each([
      ["a trailing dot", "trailing.example.com."],
      ["an IPv4 literal", "192.168.0.1"],
      ["an IPv6 literal", "[::1]"],
      ["a single label", "localhost"],
      ["a label over 63 characters", `${"a".repeat(64)}.example.com`],
      ["a leading hyphen", "-bad.example.com"],
      ["a trailing hyphen", "bad-.example.com"],
      ["an underscore", "bad_name.example.com"],
      ["more than 253 characters", `${"abcdefghi.".repeat(26)}com`],
      ["an empty label", "bad..example.com"],
      ["an empty string", ""],
      ["a number", 42],
      ["a port", "example.com:443"],
      ["a space", "exa mple.com"],
    ])("refuses a domain with %s", async (_what, domain) => {
      const res = await c.post("/v1/servers", { domain, name: "x", api_url: "https://example.com/api" });
      expectValidation(res, ["domain"]);
    });

    it("requires domain, name and api_url", async () => {
      expectValidation(await c.post("/v1/servers", {}), ["domain", "name", "api_url"]);
    });

    it.each([
      ["empty", ""],
      ["only whitespace", "   \t "],
      ["over 100 characters after trimming", "n".repeat(101)],
      ["a C0 control character", "bell\u0007"],
      ["DEL", "del\u007f"],
      ["a C1 control character", "next\u0085line"],
      ["a line break", "two\nlines"],
      ["not a string", 12],
    ])("refuses a name that is %s", async (_what, name) => {
      expectValidation(await c.post("/v1/servers", newServer({ name })), ["name"]);
    });

    it("accepts a 100-character name after trimming surrounding whitespace", async () => {
      const res = await c.post("/v1/servers", newServer({ name: `  ${"n".repeat(100)}  ` }));
      expect(res.status).toBe(201);
      expect(res.body.server.name).toBe("n".repeat(100));
    });

    it("refuses an api_url that is not https or whose host is not the domain or a subdomain of it", async () => {
      const s = newServer();
      for (const api_url of [
        `http://${s.domain}/api`,
        "https://evil.example.org/api",
        `https://${s.domain}.evil.org/api`,
        `https://x${s.domain}/api`,
        `https://user:pw@${s.domain}/api`,
        "https://localhost/api",
        "https://127.0.0.1/api",
        "not a url",
        `wss://${s.domain}/api`,
      ]) {
        expectValidation(await c.post("/v1/servers", { ...s, api_url }), ["api_url"]);
      }
      expect((await c.post("/v1/servers", { ...s, api_url: `https://deep.api.${s.domain}:8443/x?y=1` })).status).toBe(201);
    });

    it("refuses a ws_url that is not wss or not under the domain", async () => {
      const s = newServer();
      for (const ws_url of [`https://${s.domain}/ws`, `ws://${s.domain}/ws`, "wss://elsewhere.example.org/ws"]) {
        expectValidation(await c.post("/v1/servers", { ...s, ws_url }), ["ws_url"]);
      }
    });

    it("refuses icon, voice_url and cdn_url that are not https or longer than 2048 characters, on any host", async () => {
      for (const field of ["icon", "voice_url", "cdn_url"]) {
        expectValidation(await c.post("/v1/servers", newServer({ [field]: "http://cdn.example.net/x" })), [field]);
        expectValidation(await c.post("/v1/servers", newServer({ [field]: `https://cdn.example.net/${"a".repeat(2048)}` })), [field]);
        expect((await c.post("/v1/servers", newServer({ [field]: "https://any-host.example.net/x" }))).status).toBe(201);
      }
    });

    it("refuses over-long voice_provider, version and description", async () => {
      expectValidation(await c.post("/v1/servers", newServer({ voice_provider: "v".repeat(51) })), ["voice_provider"]);
      expectValidation(await c.post("/v1/servers", newServer({ version: "1".repeat(33) })), ["version"]);
      expectValidation(await c.post("/v1/servers", newServer({ description: "d".repeat(1001) })), ["description"]);
      const ok = await c.post("/v1/servers", newServer({ voice_provider: "v".repeat(50), version: "1".repeat(32), description: "d".repeat(1000) }));
      expect(ok.status).toBe(201);
    });

    it("refuses protocols and capabilities lists that are too long, duplicated or have bad entries", async () => {
      const tokens = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
      expectValidation(await c.post("/v1/servers", newServer({ protocols: tokens(17) })), ["protocols"]);
      expectValidation(await c.post("/v1/servers", newServer({ capabilities: tokens(33) })), ["capabilities"]);
      expectValidation(await c.post("/v1/servers", newServer({ protocols: ["zent/1", "zent/1"] })), ["protocols.1"]);
      expectValidation(await c.post("/v1/servers", newServer({ capabilities: ["ok", "UPPER"] })), ["capabilities.1"]);
      expectValidation(await c.post("/v1/servers", newServer({ capabilities: [""] })), ["capabilities.0"]);
      expectValidation(await c.post("/v1/servers", newServer({ capabilities: ["x".repeat(33)] })), ["capabilities.0"]);
      expectValidation(await c.post("/v1/servers", newServer({ protocols: "zent/1" })), ["protocols"]);
      const ok = await c.post("/v1/servers", newServer({ protocols: tokens(16), capabilities: ["a.b_c/d-1", "x".repeat(32)] }));
      expect(ok.status).toBe(201);
    });

    it("reports every problem of a body in one response", async () => {
      const res = await c.post("/v1/servers", { domain: "bad..domain", name: "", api_url: "http://x", icon: "ftp://x", extra: true, verified: true });
      expectValidation(res, ["domain", "name", "api_url", "icon", "extra", "verified"]);
    });

    it("leaves no row, event or audit entry behind when a registration is rejected", async () => {
      const [servers, events, audits] = [await count("servers"), await count("events"), await count("audit_log")];
      const s = newServer();
      expectValidation(await c.post("/v1/servers", { ...s, user_count: 1 }), ["user_count"]);
      expectValidation(await c.post("/v1/servers", { ...s, ws_url: "wss://elsewhere.example.org/" }), ["ws_url"]);
      expect(await count("servers")).toBe(servers);
      expect(await count("events")).toBe(events);
      expect(await count("audit_log")).toBe(audits);
      expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(404);
    });
  });

  describe("domain_taken", () => {
    it("answers 409 domain_taken for an existing domain, also spelled in another case or as Unicode, and keeps the original", async () => {
      const first = await c.post("/v1/servers", { domain: "xn--caf-dma.example", name: "Original", api_url: "https://xn--caf-dma.example/api" });
      expect(first.status).toBe(201);
      const token = first.body.token;
      const events = await count("events");
      for (const domain of ["xn--caf-dma.example", "XN--CAF-DMA.EXAMPLE", "café.example", "CAFÉ.example"]) {
        const res = await c.post("/v1/servers", { domain, name: "Usurper", api_url: "https://xn--caf-dma.example/api" });
        expect(res.status, domain).toBe(409);
        expect(res.body.error.code).toBe("domain_taken");
        expect(res.text).not.toMatch(/[0-9a-f]{64}/);
      }
      expect(await count("servers", "xn--caf-dma.example")).toBe(1);
      expect(await count("events")).toBe(events);
      expect((await c.get("/v1/servers/xn--caf-dma.example")).body.server.name).toBe("Original");
      expect((await c.post("/v1/servers/xn--caf-dma.example/heartbeat", {}, { token })).status).toBe(200);
    });

    it("lets exactly one of two concurrent registrations of one domain win", async () => {
      const s = newServer();
      const results = await Promise.all([c.post("/v1/servers", s), c.post("/v1/servers", { ...s, domain: s.domain.toUpperCase() })]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(await count("servers", s.domain)).toBe(1);
    });
  });

  describe("validation_failed on update and heartbeat", () => {
    it("refuses a different domain in an update", async () => {
      const { domain, token } = await register();
      expectValidation(await c.put(`/v1/servers/${domain}`, { domain: "other.example.com", name: "x" }, { token }), ["domain"]);
      expect((await c.get(`/v1/servers/${domain}`)).body.server.name).not.toBe("x");
    });

    it("refuses an update with no fields, or with only the domain", async () => {
      const { domain, token } = await register();
      expectValidation(await c.put(`/v1/servers/${domain}`, {}, { token }), [""]);
      expectValidation(await c.put(`/v1/servers/${domain}`, { domain }, { token }), [""]);
      const none = await c.put(`/v1/servers/${domain}`, undefined, { token });
      expect(none.status).toBe(400);
      expect(none.body.error.code).toBe("validation_failed");
    });

    it("refuses server-owned and unknown fields, and null for required fields, in an update", async () => {
      const { domain, token } = await register();
      for (const field of ["user_count", "channel_count", "verified", "status", "last_seen", "created_at", "origin", "rating", "token", "nope"]) {
        expectValidation(await c.put(`/v1/servers/${domain}`, { name: "ok", [field]: field === "verified" ? true : 1 }, { token }), [field]);
      }
      expectValidation(await c.put(`/v1/servers/${domain}`, { name: null }, { token }), ["name"]);
      expectValidation(await c.put(`/v1/servers/${domain}`, { api_url: null }, { token }), ["api_url"]);
    });

    it("checks api_url and ws_url of an update against the path domain", async () => {
      const { domain, token } = await register();
      expectValidation(await c.put(`/v1/servers/${domain}`, { api_url: "https://elsewhere.example.org/api" }, { token }), ["api_url"]);
      expectValidation(await c.put(`/v1/servers/${domain}`, { ws_url: "wss://elsewhere.example.org/ws" }, { token }), ["ws_url"]);
      const ok = await c.put(`/v1/servers/${domain}`, { api_url: `https://v2.${domain}/api`, ws_url: `wss://${domain}/ws` }, { token });
      expect(ok.status).toBe(200);
    });

    it("leaves the record unchanged, in memory and in MySQL, when one field of an update is valid and another is not", async () => {
      const { domain, token, res } = await register({ description: "before" });
      const [[rowBefore]] = (await db.query("SELECT * FROM servers WHERE domain = ?", [domain])) as any;
      const events = await count("events");
      const bad = await c.put(`/v1/servers/${domain}`, { name: "Changed", description: "after", icon: "http://insecure.example/i.png" }, { token });
      expectValidation(bad, ["icon"]);
      expect((await c.get(`/v1/servers/${domain}`)).body.server).toEqual(res.body.server);
      const [[rowAfter]] = (await db.query("SELECT * FROM servers WHERE domain = ?", [domain])) as any;
      expect(rowAfter).toEqual(rowBefore);
      expect(await count("events")).toBe(events);
    });

    it("refuses heartbeat bodies with bad or unknown fields and changes nothing", async () => {
      const { domain, token } = await register();
      await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 3 }, { token });
      for (const [body, path] of [
        [{ user_count: -1 }, "user_count"],
        [{ user_count: 2 ** 31 }, "user_count"],
        [{ user_count: 1.5 }, "user_count"],
        [{ user_count: "4" }, "user_count"],
        [{ channel_count: 2 ** 31 }, "channel_count"],
        [{ version: "v".repeat(33) }, "version"],
        [{ user_count: 9, status: "offline" }, "status"],
        [{ user_count: 9, foo: 1 }, "foo"],
      ] as const) {
        expectValidation(await c.post(`/v1/servers/${domain}/heartbeat`, body, { token }), [path]);
      }
      expect((await c.get(`/v1/servers/${domain}`)).body.server.user_count).toBe(3);
      const max = await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 2 ** 31 - 1, channel_count: 0 }, { token });
      expect(max.status).toBe(200);
      expect((await c.get(`/v1/servers/${domain}`)).body.server.user_count).toBe(2 ** 31 - 1);
    });
  });

  describe("with ALLOW_INSECURE_URLS=true", () => {
    const devUrl = freshDatabaseUrl("insecure");
    let dev: InProcessRegistrar;
    beforeAll(async () => {
      dev = await startRegistrar({ DATABASE_URL: devUrl, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    });
    afterAll(async () => {
      await dev?.stop();
      await dropDatabase(devUrl);
    });

    it("accepts http:/ws: URLs and localhost or loopback hosts for any domain", async () => {
      const d = api(dev.url);
      const s = newServer();
      const res = await d.post("/v1/servers", { ...s, api_url: "http://localhost:8080/api", ws_url: "ws://127.0.0.1:8080/ws", icon: `http://${s.domain}/i.png` });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const t = newServer();
      expect((await d.post("/v1/servers", { ...t, api_url: `http://${t.domain}/api` })).status).toBe(201);
      // Still bound to the domain for non-loopback hosts.
      const u = newServer();
      expectValidation(await d.post("/v1/servers", { ...u, api_url: "http://elsewhere.example.org/api" }), ["api_url"]);
    });
  });

  async function waitForRow(domain: string, expected: Record<string, unknown>) {
    await vi.waitFor(
      async () => {
        const [[row]] = (await db.query("SELECT user_count, channel_count FROM servers WHERE domain = ?", [domain])) as any;
        expect(row).toMatchObject(expected);
      },
      { timeout: 5000, interval: 50 },
    );
  }
});
