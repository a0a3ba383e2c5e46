// Contract §3 logging over real HTTP: one JSON line per request with its facts; tokens and Authorization never logged.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

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

describe("request logging", () => {
  const dbUrl = freshDatabaseUrl("logging");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let n = 0;
  const rid = () => `log-${++n}-${Date.now()}`;

  const requestLines = (id: string) => reg.logs.filter((l) => l.req_id === id && l.msg === "request");
  /** The single request line for `id` (waits for it, then checks no second one appears for the same id). */
  async function lineFor(id: string) {
    await vi.waitFor(() => expect(requestLines(id).length).toBeGreaterThan(0));
    const lines = requestLines(id);
    expect(lines, id).toHaveLength(1);
    return lines[0];
  }

  beforeAll(async () => {
    await awayFromWindowEdge();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, NODE_ID: "log-node-1", RATE_LIMIT_REGISTER: "3/3600", RATE_LIMIT_LIST: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("writes exactly one JSON line per request with time, level, request id, IP, method, route pattern, status, duration and node", async () => {
    const s = newServer();
    const created = await c.post("/v1/servers", s, { headers: { "x-request-id": rid() } });
    const token = created.body.token;
    const cases: [string, string, Record<string, unknown>, number, string][] = [
      ["GET", "/v1/health", {}, 200, "/v1/health"],
      ["GET", `/v1/servers/${s.domain}`, {}, 200, "/v1/servers/:domain"],
      ["GET", `/servers/${s.domain}/health`, {}, 200, "/servers/:domain/health"], // legacy aliases log under their own pattern,
      ["POST", `/v1/servers/${s.domain}/heartbeat`, { token, body: { user_count: 1 } }, 200, "/v1/servers/:domain/heartbeat"],
      ["PUT", `/v1/servers/${s.domain}`, { token, body: { name: "Logged" } }, 200, "/v1/servers/:domain"],
      ["POST", `/v1/servers/${s.domain}/rate`, { body: { user_id: "u", rating: 4 } }, 201, "/v1/servers/:domain/rate"],
      ["GET", "/v1/servers?limit=1", {}, 200, "/v1/servers"],
      ["POST", "/v1/servers", { body: "{" }, 400, "/v1/servers"],
      ["PUT", `/v1/servers/${s.domain}`, { body: { name: "x" } }, 401, "/v1/servers/:domain"],
      ["GET", "/v1/servers/nobody.example.com", {}, 404, "/v1/servers/:domain"],
      ["PATCH", "/v1/servers", {}, 405, "/v1/servers"],
      ["POST", `/v1/servers/${s.domain}/heartbeat`, { token, body: " ".repeat(70_000) }, 413, "/v1/servers/:domain/heartbeat"],
      ["POST", `/v1/servers/${s.domain}/heartbeat`, { token, body: "{}", headers: { "content-type": "text/plain" } }, 415, "/v1/servers/:domain/heartbeat"],
      ["OPTIONS", "/v1/servers", {}, 204, "/v1/servers"],
      ["GET", "/metrics", {}, 200, "/metrics"],
    ];
    for (const [method, path, opts, status, route] of cases) {
      const id = rid();
      const res = await c.call(method, path, { ...opts, headers: { ...(opts.headers as Record<string, string> | undefined), "x-request-id": id } } as any);
      expect(res.status, `${method} ${path}`).toBe(status);
      const line = await lineFor(id);
      expect(line).toMatchObject({ level: "info", req_id: id, ip: "127.0.0.1", method, route, status, node: "log-node-1" });
      expect(line.time).toMatch(ISO_MS);
      expect(typeof line.duration_ms).toBe("number");
      expect(line.duration_ms as number).toBeGreaterThanOrEqual(0);
      expect(line.duration_ms as number).toBeLessThan(10_000);
    }
    const unknown = rid();
    expect((await c.get("/v1/does/not/exist", { headers: { "x-request-id": unknown } })).status).toBe(404);
    const line = await lineFor(unknown);
    expect(line.status).toBe(404);
    expect(String(line.route)).not.toContain("does/not/exist");
  });

  it("logs requests without an X-Request-Id under the generated id the response carries", async () => {
    const res = await c.get("/v1/health");
    const id = res.headers.get("x-request-id")!;
    expect((await lineFor(id)).status).toBe(200);
  });

  it("never logs tokens or Authorization headers: registration, rotation, heartbeats, updates, wrong and malformed tokens", async () => {
    const before = reg.logs.length;
    const s = newServer();
    const created = await c.post("/v1/servers", s);
    expect(created.status).toBe(201);
    const secrets: string[] = [];
    let token: string = created.body.token;
    secrets.push(token);
    const rot = await c.post(`/v1/servers/${s.domain}/token`, undefined, { token });
    expect(rot.status).toBe(200);
    secrets.push(rot.body.token);
    token = rot.body.token;
    await c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: 2 }, { token });
    await c.put(`/v1/servers/${s.domain}`, { name: "Secretive" }, { token });
    await c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: secrets[0] }); // the rotated-out token
    const wrong = randomBytes(32).toString("hex");
    secrets.push(wrong);
    await c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: wrong });
    await c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { headers: { authorization: `Basic c2VjcmV0LXZhbHVlLTEyMw==` } });
    secrets.push("c2VjcmV0LXZhbHVlLTEyMw==");
    await c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { headers: { authorization: `Bearer not-hex-secret-value-4567` } });
    secrets.push("not-hex-secret-value-4567");
    // A token sent in a body or a query string is not logged either.
    await c.post(`/v1/servers/${s.domain}/token`, { token }, { token: wrong });
    await c.get(`/v1/servers?token=${token}`);
    const id = rid();
    await c.get("/v1/health", { headers: { "x-request-id": id } });
    await lineFor(id);
    const text = reg.logs.slice(before).map((l) => JSON.stringify(l)).join("\n");
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text.toLowerCase()).not.toContain("authorization");
    expect(text.toLowerCase()).not.toContain("bearer");
  });

  // Runs last: RATE_LIMIT_REGISTER=3/3600 and the tests above spend all three registrations.
  it("logs a request refused by the rate limiter once, with status 429", async () => {
    for (let i = 0; i < 10; i++) {
      const id = rid();
      const res = await c.post("/v1/servers", { bad: true }, { headers: { "x-request-id": id } });
      expect((await lineFor(id)).status).toBe(res.status);
      if (res.status === 429) return;
    }
    throw new Error("the registration limit never answered 429");
  });
});
