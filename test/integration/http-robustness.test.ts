// Property tests over real HTTP: random bodies, paths, query strings and headers never give a 500, a stack trace,
// SQL text or a token.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

// FC_RUNS raises the run count for a local soak; CI keeps the default.
const RUNS = Number(process.env.FC_RUNS ?? 80);
const STACK = /\n\s+at |\bat [^\s]+ \(.*:\d+:\d+\)|node_modules|\.ts:\d+|\.js:\d+/;
const SQL = /\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE\s+\w+\s+SET\b|\bER_[A-Z_]{3,}\b|sqlMessage|sqlState|SQL syntax|mysql2|\bFROM `?servers\b/i;
const TOKEN = /[0-9a-f]{64}/;

const SERVER_FIELDS = [
  "domain", "name", "description", "icon", "api_url", "ws_url", "voice_url", "voice_provider", "cdn_url", "protocols",
  "capabilities", "version", "user_count", "channel_count", "verified", "status", "last_seen", "created_at", "origin",
  "rating", "token", "user_id", "comment", "__proto__", "constructor",
];

/** JSON values with a bias towards the shapes the validators look at. */
const weirdValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", "https://", "wss://x", "https://localhost/", "xn--", "a..b", "é.example", "\u0000", "%", "_", "\ud800"),
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 31, -1, 1e308, Number.MAX_SAFE_INTEGER),
);
const fieldObject = fc.dictionary(fc.oneof(fc.constantFrom(...SERVER_FIELDS), fc.string({ maxLength: 8 })), weirdValue, { maxKeys: 8 });
const anyBody = fc.oneof(
  fieldObject.map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.constantFrom("", "{", "[", '{"a":', "null", "\uFEFF{}", '{"__proto__":{"x":1}}', '{"user_count":1e999}'),
);
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

function expectSane(res: ApiResponse, where: string, tokenAllowed = false) {
  expect(res.status, `${where} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers.get("x-request-id"), where).toBeTruthy();
  expect(res.text, where).not.toMatch(STACK);
  // /metrics is Prometheus text whose help strings rightly name MySQL; SQL text matters in JSON answers.
  if (!(res.headers.get("content-type") ?? "").startsWith("text/plain")) expect(res.text, where).not.toMatch(SQL);
  if (!tokenAllowed) expect(res.text, where).not.toMatch(TOKEN);
  if (res.status >= 400 && res.headers.get("deprecation") === "true") {
    // The legacy dialect's error body is a string (contract §7).
    expect(typeof res.body?.error, `${where}: ${res.text.slice(0, 300)}`).toBe("string");
    expect(res.body.error.length).toBeGreaterThan(0);
  } else if (res.status >= 400) {
    expect(res.body?.error?.code, `${where}: ${res.text.slice(0, 300)}`).toMatch(/^[a-z_]+$/);
    expect(typeof res.body.error.message).toBe("string");
  }
}

describe("robustness under random input", () => {
  const dbUrl = freshDatabaseUrl("robust");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let domain: string;
  let token: string;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", CORS_ORIGINS: "https://app.example.com" });
    c = api(reg.url);
    const s = newServer();
    const res = await c.post("/v1/servers", s);
    expect(res.status).toBe(201);
    domain = s.domain;
    token = res.body.token;
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("never answers a random JSON or non-JSON body with a 500, a stack trace, SQL text or a token", async () => {
    const routes = () =>
      [
        ["POST", "/v1/servers", undefined, true],
        ["PUT", `/v1/servers/${domain}`, token, false],
        ["POST", `/v1/servers/${domain}/heartbeat`, token, false],
        ["POST", `/v1/servers/${domain}/rate`, undefined, false],
        ["POST", `/v1/servers/${domain}/token`, "f".repeat(64), false],
        ["PUT", "/v1/servers/unknown.example.com", token, false],
      ] as const;
    await fc.assert(
      fc.asyncProperty(anyBody, fc.nat({ max: 5 }), async (body, pick) => {
        const [method, path, tok, tokenAllowed] = routes()[pick];
        const res = await c.call(method, path, { body, token: tok, headers: { "content-type": "application/json" } });
        expectSane(res, `${method} ${path} ${JSON.stringify(body).slice(0, 200)}`, tokenAllowed && res.status === 201);
      }),
      { numRuns: RUNS * 3 },
    );
    // The record survived whatever the updates did, and the token still works.
    expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token })).status).toBe(200);
  });

  it("never answers a random path with a 500", async () => {
    const segment = fc.oneof(
      fc.constantFrom("v1", "servers", "health", "rate", "ratings", "token", "heartbeat", "metrics", "ws", "feed", "", ".", "..", "%", "%ZZ", "%00", "%2F", "%C3%28"),
      fc.string({ unit: "binary", maxLength: 12 }).map(encodeURIComponent),
      fc.string({ maxLength: 12 }),
      fc.constant("x".repeat(300)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 6 }), fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"), async (segments, method) => {
        const path = `/${segments.join("/")}`.replace(/[?#]/g, "");
        let res: ApiResponse;
        try {
          res = await c.call(method, path);
        } catch (err) {
          // fetch itself refuses some URLs; that is not the registrar's answer.
          if (/parse URL|Invalid URL/i.test(String((err as Error).message))) return;
          throw err;
        }
        if (method === "HEAD") {
          expect(res.status).toBeLessThan(500);
          return;
        }
        expectSane(res, `${method} ${path}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("never answers random listing or ratings query strings with a 500", async () => {
    const key = fc.oneof(fc.constantFrom("q", "sort", "order", "status", "verified", "origin", "limit", "offset"), fc.string({ maxLength: 6 }));
    const value = fc.oneof(
      fc.constantFrom("users", "channels", "name", "created", "last_seen", "rating", "asc", "desc", "online", "offline", "any", "true", "false", "local", "0", "1", "100", "10000", "-0", "1e3", "0x10", "%", "_", "NaN", "Infinity"),
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.string({ maxLength: 120 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 6 }), fc.boolean(), async (pairs, ratings) => {
        const query = new URLSearchParams(pairs).toString();
        const path = ratings ? `/v1/servers/${domain}/ratings?${query}` : `/v1/servers?${query}`;
        const res = await c.get(path);
        expectSane(res, path);
        if (res.status === 200 && !ratings) {
          expect(res.body.servers.length).toBeLessThanOrEqual(res.body.limit);
          expect(res.body.total).toBeGreaterThanOrEqual(res.body.servers.length);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("never answers random header values with a 500", async () => {
    await fc.assert(
      fc.asyncProperty(printable, printable, printable, printable, fc.boolean(), async (xff, requestId, origin, authorization, withBody) => {
        const headers: Record<string, string> = { "x-forwarded-for": xff, "x-request-id": requestId, origin };
        if (withBody) headers["content-type"] = xff;
        const res = await c.call("POST", `/v1/servers/${domain}/heartbeat`, {
          body: withBody ? "{}" : undefined,
          headers: { ...headers, authorization },
        });
        expectSane(res, JSON.stringify({ headers, authorization }));
        const id = res.headers.get("x-request-id")!;
        if (/^[A-Za-z0-9._:-]{1,128}$/.test(requestId)) expect(id).toBe(requestId);
        else expect(id).not.toBe(requestId);
      }),
      { numRuns: RUNS },
    );
  });

  it("logged no unhandled error while answering all of the above", async () => {
    expect(reg.logs.filter((l) => l.level === "error" || l.level === "fatal")).toEqual([]);
    expect(reg.logs.filter((l) => l.msg === "request" && Number(l.status) >= 500)).toEqual([]);
    expect((await c.get("/v1/health")).status).toBe(200);
  });
});
