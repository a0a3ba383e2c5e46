// Contract §1/§3 basics over real HTTP: health, metrics, request ids, legacy aliases, unknown routes and methods.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_LIKE = /^[A-Za-z0-9._:-]{1,128}$/;

function expectError(res: { status: number; body: any; headers: Headers }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(Object.keys(res.body.error).sort()).toEqual(res.body.error.details ? ["code", "details", "message"] : ["code", "message"]);
  expect(res.headers.get("x-request-id")).toMatch(UUID_LIKE);
}

describe("HTTP basics", () => {
  const dbUrl = freshDatabaseUrl("basics");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let server: ReturnType<typeof newServer>;
  let token: string;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, NODE_ID: "basics-node", RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off" });
    c = api(reg.url);
    server = newServer();
    const created = await c.post("/v1/servers", server);
    expect(created.status).toBe(201);
    token = created.body.token;
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  describe("health and metrics", () => {
    it("answers GET /v1/health with status ok, node, version, uptime, checks, expiry and cluster", async () => {
      const res = await c.get("/v1/health");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        status: "ok",
        node: "basics-node",
        version: expect.any(String),
        uptime_s: expect.any(Number),
        checks: { mysql: "ok", nats: "disabled" },
        expiry: "normal",
        cluster: expect.any(Object),
      });
      expect(Number.isInteger(res.body.uptime_s) && res.body.uptime_s >= 0).toBe(true);
    });

    it("serves Prometheus text at /metrics including the HTTP request duration histogram", async () => {
      await c.get("/v1/health");
      const res = await fetch(`${reg.url}/metrics`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(text).toMatch(/^# HELP registrar_http_request_duration_seconds /m);
      expect(text).toMatch(/^# TYPE registrar_http_request_duration_seconds histogram$/m);
      expect(text).toMatch(/^registrar_http_request_duration_seconds_count\{[^}]*route="\/v1\/health"[^}]*\} \d+$/m);
    });
  });

  describe("X-Request-Id", () => {
    it("echoes a valid incoming X-Request-Id of 1–128 allowed characters", async () => {
      for (const id of ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "svc.a:b_c-d", "x".repeat(128)]) {
        const res = await c.get("/v1/health", { headers: { "x-request-id": id } });
        expect(res.headers.get("x-request-id")).toBe(id);
      }
    });

    it("generates a fresh X-Request-Id when the incoming one is invalid or missing", async () => {
      const seen = new Set<string>();
      for (const id of [undefined, "", "x".repeat(129), "has space", "semi;colon", "a/b", "quote\"d"]) {
        const res = await c.get("/v1/health", { headers: id === undefined ? {} : { "x-request-id": id } });
        const got = res.headers.get("x-request-id")!;
        expect(got).toMatch(UUID_LIKE);
        if (id) expect(got).not.toBe(id);
        seen.add(got);
      }
      expect(seen.size).toBe(7);
    });

    it("sets X-Request-Id on error responses too, echoing a valid one", async () => {
      const res = await c.get("/v1/nope", { headers: { "x-request-id": "err-123" } });
      expect(res.status).toBe(404);
      expect(res.headers.get("x-request-id")).toBe("err-123");
      const gen = await c.post("/v1/servers", "{", {});
      expect(gen.status).toBe(400);
      expect(gen.headers.get("x-request-id")).toMatch(UUID_LIKE);
    });
  });

  describe("unknown routes and methods", () => {
    it("answers an unknown route with 404 not_found in the error envelope", async () => {
      // "/" left this list with contract §9.1 (2026-12): it is the web directory now (404 only with WEB_UI=off,
      // test/integration/web-pages.test.ts).
      for (const path of ["/v1/nope", "/v2/servers", `/v1/servers/${server.domain}/nope`, "/v1/servers/a.example/ratings/x"]) {
        expectError(await c.get(path), 404, "not_found");
      }
      expectError(await c.post("/v1/whatever", { a: 1 }), 404, "not_found");
    });

    it("answers an unknown domain with 404 not_found on public routes", async () => {
      expectError(await c.get("/v1/servers/unknown-domain.example"), 404, "not_found");
      expectError(await c.get("/v1/servers/unknown-domain.example/health"), 404, "not_found");
      expectError(await c.get("/v1/servers/unknown-domain.example/ratings"), 404, "not_found");
      expectError(await c.get("/v1/servers/not_a_domain"), 404, "not_found");
    });

    it("answers HEAD on a GET route like GET, with the same Content-Length and no body", async () => {
      for (const path of ["/v1/servers?limit=5", "/servers", "/v1/servers/no-such.example.com"]) {
        const get = await fetch(reg.url + path);
        const getBody = await get.arrayBuffer();
        const head = await fetch(reg.url + path, { method: "HEAD" });
        expect(head.status, path).toBe(get.status);
        expect(head.headers.get("content-length"), path).toBe(String(getBody.byteLength));
        expect((await head.arrayBuffer()).byteLength, path).toBe(0);
      }
    });

    it("answers a known path with a wrong method with 405 method_not_allowed and an Allow header", async () => {
      const cases: [string, string, string[]][] = [
        ["DELETE", "/v1/servers", ["GET", "POST"]],
        ["PATCH", "/v1/servers", ["GET", "POST"]],
        ["POST", `/v1/servers/${server.domain}`, ["GET", "PUT", "DELETE"]],
        ["GET", `/v1/servers/${server.domain}/heartbeat`, ["POST"]],
        ["GET", `/v1/servers/${server.domain}/token`, ["POST"]],
        ["PUT", `/v1/servers/${server.domain}/health`, ["GET"]],
        ["GET", `/v1/servers/${server.domain}/rate`, ["POST"]],
        ["POST", `/v1/servers/${server.domain}/ratings`, ["GET"]],
        ["POST", "/v1/health", ["GET"]],
        ["DELETE", "/metrics", ["GET"]],
        // "PUT /servers" was here: the legacy dialect answers a wrong method 404 Not found (contract §7, amended
        // 2026-12); legacy-dialect.test.ts checks it.
      ];
      for (const [method, path, allowed] of cases) {
        const res = await c.call(method, path);
        expectError(res, 405, "method_not_allowed");
        const allow = (res.headers.get("allow") ?? "").split(",").map((s) => s.trim());
        for (const m of allowed) expect(allow, `${method} ${path}`).toContain(m);
        expect(allow).not.toContain(method);
      }
    });

    it("changes nothing when answering 405 to a PATCH with a valid token and body", async () => {
      const res = await c.call("PATCH", `/v1/servers/${server.domain}`, { token, body: { name: "patched" } });
      expect(res.status).toBe(405);
      expect((await c.get(`/v1/servers/${server.domain}`)).body.server.name).toBe(server.name);
    });
  });

  // Contract §1/§7, amended 2026-12: the unversioned routes speak the PHP registrar's dialect, no longer the /v1 format
  // (the full dialect is tested in legacy-dialect.test.ts). What stays: same records, deprecation headers.
  describe("legacy unversioned routes", () => {
    it("answers /health as a liveness answer with Deprecation and a successor Link; /v1/health has neither", async () => {
      const v1 = await c.get("/v1/health");
      const legacy = await c.get("/health");
      expect([legacy.status, legacy.body]).toEqual([200, { status: "ok", service: "registrar" }]);
      expect(legacy.headers.get("deprecation")).toBe("true");
      expect(legacy.headers.get("link")).toBe('</v1/health>; rel="successor-version"');
      expect(v1.headers.get("deprecation")).toBeNull();
      expect(v1.headers.get("link")).toBeNull();
    });

    it("answers /servers… from the same records as /v1/servers…, with Deprecation and a successor Link", async () => {
      const paths = ["/servers", `/servers/${server.domain}`, `/servers/${server.domain}/health`, `/servers/${server.domain}/ratings`];
      for (const path of paths) {
        const legacy = await c.get(path);
        expect(legacy.status, path).toBe(200);
        expect(legacy.headers.get("content-type")).toBe("application/json");
        expect(legacy.headers.get("deprecation")).toBe("true");
        expect(legacy.headers.get("link")).toBe(`</v1${path}>; rel="successor-version"`);
      }
      const v1 = (await c.get(`/v1/servers/${server.domain}`)).body.server;
      const row = (await c.get(`/servers/${server.domain}`)).body;
      expect([row.domain, row.name, row.api_url, row.user_count]).toEqual([v1.domain, v1.name, v1.api_url, v1.user_count]);
    });

    it("answers errors on legacy routes as strings with the deprecation headers; a wrong method is 404 Not found", async () => {
      const legacy = await c.get("/servers/unknown-domain.example");
      expect([legacy.status, legacy.body]).toEqual([404, { error: "Server not found" }]);
      expect(legacy.headers.get("deprecation")).toBe("true");
      expect(legacy.headers.get("link")).toBe('</v1/servers/unknown-domain.example>; rel="successor-version"');
      const wrongMethod = await c.call("PATCH", "/servers");
      expect([wrongMethod.status, wrongMethod.body]).toEqual([404, { error: "Not found" }]);
      expect(wrongMethod.headers.get("deprecation")).toBe("true");
    });

    it("accepts writes on legacy routes with a /v1 token: heartbeat through /servers/:domain/heartbeat", async () => {
      const legacy = await c.post(`/servers/${server.domain}/heartbeat`, { userCount: 4 }, { token });
      expect([legacy.status, legacy.text]).toEqual([204, ""]);
      expect(legacy.headers.get("deprecation")).toBe("true");
      expect(legacy.headers.get("link")).toBe(`</v1/servers/${server.domain}/heartbeat>; rel="successor-version"`);
      expect((await c.get(`/v1/servers/${server.domain}`)).body.server.user_count).toBe(4);
    });

    it("keeps the query string out of the successor Link", async () => {
      const legacy = await c.get("/servers?limit=1&sort=name");
      expect(legacy.body.servers).toHaveLength(1);
      expect(legacy.headers.get("link")).toBe('</v1/servers>; rel="successor-version"');
    });
  });

  it("formats every time as ISO-8601 UTC with milliseconds", async () => {
    const res = await c.get(`/v1/servers/${server.domain}`);
    expect(res.body.server.last_seen).toMatch(ISO_MS);
    expect(res.body.server.created_at).toMatch(ISO_MS);
    const h = await c.get(`/v1/servers/${server.domain}/health`);
    expect(h.body.last_seen).toMatch(ISO_MS);
  });
});
