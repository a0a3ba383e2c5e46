// Security review L3–L6 over real HTTP and MariaDB: nosniff on every response, no-store on what carries a token or
// answers a token holder, error logs without SQL text or values, the clear-text webhook secret warning.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const nosniff = (res: ApiResponse) => res.headers.get("x-content-type-options");

describe("response headers", () => {
  const dbUrl = freshDatabaseUrl("hygiene");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "2/3600", RATE_LIMIT_REGISTER: "off" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("sends X-Content-Type-Options: nosniff on every kind of response: JSON, errors, 404s, web pages, preflights, legacy", async () => {
    const s = newServer();
    const created = await c.post("/v1/servers", s);
    const responses = [
      created,
      await c.get(`/v1/servers/${s.domain}`),
      await c.get("/v1/servers"),
      await c.get("/"),
      await c.get("/v1/servers"), // 429
      await c.get("/v1/nowhere"),
      await c.get("/v1/servers/nobody.example.com"),
      await c.call("PATCH", `/v1/servers/${s.domain}`),
      await c.post("/v1/servers", "{not json"),
      await c.put(`/v1/servers/${s.domain}`, { name: "x" }),
      await c.call("OPTIONS", "/v1/servers"),
      await c.get("/server/nobody.example.com"),
      await c.get(`/servers/${s.domain}`),
      await c.get("/metrics"),
    ];
    expect(responses.map((r) => r.status)).toEqual([201, 200, 200, 200, 429, 404, 404, 405, 400, 401, 204, 404, 200, 200]);
    for (const res of responses) expect(nosniff(res)).toBe("nosniff");
    // Once, not twice (the web pages used to set their own; fetch would join two as "nosniff, nosniff").
    expect(nosniff(responses[2])).toBe("nosniff");
  });

  it("sends Cache-Control: no-store on replies that carry a token and on every answer to a token holder", async () => {
    const s = newServer();
    const created = await c.post("/v1/servers", s);
    expect(created.headers.get("cache-control")).toBe("no-store");
    const token = created.body.token;
    const rotated = await c.post(`/v1/servers/${s.domain}/token`, undefined, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get("cache-control")).toBe("no-store");
    const fresh = rotated.body.token;
    for (const res of [
      await c.get(`/v1/servers/${s.domain}/webhooks`, { token: fresh }),
      await c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: fresh }),
      await c.put(`/v1/servers/${s.domain}`, { description: "d" }, { token }), // the old token: a 401
    ]) {
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    const legacy = newServer();
    const legacyCreated = await c.post("/servers", { domain: legacy.domain, name: "L", apiUrl: legacy.api_url, wsUrl: `wss://${legacy.domain}/ws` });
    expect(legacyCreated.status).toBe(201);
    expect(legacyCreated.body.serverToken).toMatch(/^[0-9a-f]{64}$/);
    expect(legacyCreated.headers.get("cache-control")).toBe("no-store");
    // Anonymous reads carry no token: they keep their own caching.
    expect((await c.get(`/v1/servers/${s.domain}`)).headers.get("cache-control")).toBeNull();
  });
});

describe("error logs", () => {
  const dbUrl = freshDatabaseUrl("sqllogs");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, ALLOW_PRIVATE_WEBHOOKS: "true", ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("warns at start-up that webhook secrets are stored in clear when WEBHOOK_SECRET_KEY is unset", () => {
    const warning = reg.logs.find((l) => l.level === "warn" && /webhook secrets are stored in clear/.test(String(l.msg)));
    expect(warning).toBeDefined();
  });

  // Review L4: mysql2 puts the statement with its values (here the new webhook's secret) in err.sql, and MySQL
  // quotes values in its messages (Duplicate entry '…').
  it("logs an unexpected SQL error without the statement, its values or the quoted values in the message", async () => {
    await db.query("ALTER TABLE webhooks ADD UNIQUE KEY webhooks_test_url (url)");
    const s = newServer();
    const { token } = (await c.post("/v1/servers", s)).body;
    const url = "http://127.0.0.1:9/hook-canary-7f3a";
    const first = await c.post(`/v1/servers/${s.domain}/webhooks`, { url }, { token });
    expect(first.status).toBe(201);
    const other = newServer();
    const otherToken = (await c.post("/v1/servers", other)).body.token;
    const failed = await c.post(`/v1/servers/${other.domain}/webhooks`, { url }, { token: otherToken, headers: { "x-request-id": "sql-leak-check" } });
    expect(failed.status).toBe(500);
    expect(failed.text).not.toMatch(/INSERT|Duplicate|canary/);
    const line = reg.logs.find((l) => l.req_id === "sql-leak-check" && l.level === "error");
    expect(line).toBeDefined();
    const text = JSON.stringify(line);
    expect(text).not.toMatch(/INSERT INTO|plain:|canary|sqlMessage|"sql"/);
    const err = line!.err as Record<string, unknown>;
    expect(err).toMatchObject({ code: "ER_DUP_ENTRY", errno: 1062, sqlState: "23000" });
    expect(err.message).toMatch(/^Duplicate entry '…' for key '.*webhooks_test_url'/);
  });
});

describe("the clear-text warning", () => {
  const dbUrl = freshDatabaseUrl("sealed");
  let reg: InProcessRegistrar;
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("is not logged when WEBHOOK_SECRET_KEY is set", async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, WEBHOOK_SECRET_KEY: "ab".repeat(32) });
    expect(reg.logs.some((l) => /stored in clear/.test(String(l.msg)))).toBe(false);
    expect(reg.logs.some((l) => l.msg === "registrar listening")).toBe(true);
  });
});
