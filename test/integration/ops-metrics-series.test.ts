// Issue 13 / ecosystem review §1.3: the on-call series move with what clients do over HTTP and WebSocket
// (registrations by result, rate-limit refusals, token refusals, events by type), build info names this process,
// the latency histogram reaches 10 s, and shard moves are a counter.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { DAY_MS } from "../../src/core/units.js";
import { loadedUwsBuild } from "../../src/uws.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { metric } from "../support/federation.js";
import { api, newServer } from "../support/http.js";
import { ROOT, startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();
const typeOf = (text: string, name: string) => new RegExp(`^# TYPE ${name} (\\w+)$`, "m").exec(text)?.[1];

describe("on-call series on one node", () => {
  const db = freshDatabaseUrl("opsseries");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  const registered: string[] = [];

  beforeAll(async () => {
    reg = await startRegistrar({
      DATABASE_URL: db, LOG_LEVEL: "warn", NODE_ID: "series-node", REGISTRAR_ID: "reg.series.example",
      RATE_LIMIT_REGISTER: "4/3600", RATE_LIMIT_LIST: "3/3600",
    });
    c = api(reg.url);
  });

  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(db);
  });

  it("names this process in registrar_build_info: version, node, registrar, Node.js and the uWebSockets.js build", async () => {
    const text = await scrape(reg.url);
    expect(typeOf(text, "registrar_build_info")).toBe("gauge");
    const samples = text.split("\n").filter((l) => l.startsWith("registrar_build_info{"));
    const version = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
    const uws = loadedUwsBuild()!;
    expect(samples).toEqual([
      `registrar_build_info{version="${version}",node="series-node",registrar="reg.series.example",node_version="${process.version}",uws="${uws.pkg}@${uws.uwsVersion}"} 1`,
    ]);
  });

  it("starts the known label values at 0 and has latency buckets up to 10 s", async () => {
    const text = await scrape(reg.url);
    for (const line of [
      'registrar_events_total{type="server.status"} 0', 'registrar_rate_limited_total{limit="rate"} 0',
      'registrar_auth_failures_total{reason="token_expired"} 0',
    ]) expect(text).toContain(line);
    const les = [...text.matchAll(/^registrar_http_request_duration_seconds_bucket\{[^}]*le="([^"]+)"/gm)].map((m) => m[1]);
    expect(new Set(les)).toEqual(new Set(["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "1", "2.5", "5", "10", "+Inf"]));
  });

  it("counts registrations by result and the 429s of the register limit, not a refusal twice", async () => {
    const first = newServer();
    expect((await c.post("/v1/servers", first)).status).toBe(201);
    registered.push(first.domain);
    expect((await c.post("/v1/servers", newServer())).status).toBe(201);
    expect((await c.post("/v1/servers", first)).status).toBe(409);
    expect((await c.post("/v1/servers", { ...newServer(), api_url: "not a url" })).status).toBe(400);
    expect((await c.post("/v1/servers", newServer())).status).toBe(429); // the fifth within RATE_LIMIT_REGISTER=4/3600
    expect(await metric(reg.url, "registrar_registrations_total", { result: "created" })).toBe(2);
    expect(await metric(reg.url, "registrar_registrations_total", { result: "domain_taken" })).toBe(1);
    expect(await metric(reg.url, "registrar_registrations_total", { result: "validation_failed" })).toBe(1);
    expect(await metric(reg.url, "registrar_registrations_total")).toBe(4);
    expect(await metric(reg.url, "registrar_rate_limited_total", { limit: "register" })).toBe(1);
    // Listing: 3 (per hour here), then 429 (the page cache answers after the limiter, so it cannot hide one).
    for (let i = 0; i < 3; i++) expect((await c.get("/v1/servers")).status).toBe(200);
    expect((await c.get("/v1/servers")).status).toBe(429);
    expect((await c.get("/v1/servers?sort=name")).status).toBe(429);
    expect(await metric(reg.url, "registrar_rate_limited_total", { limit: "list" })).toBe(2);
    expect(await metric(reg.url, "registrar_rate_limited_total", { limit: "rate" })).toBe(0);
  });

  it("counts token refusals over HTTP and on /v1/ws/server as unauthorized", async () => {
    const domain = registered[0];
    expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token: "zt_" + "0".repeat(43) })).status).toBe(401);
    expect((await c.put(`/v1/servers/${domain}`, { name: "x" })).status).toBe(401); // no token at all
    const s = await TestSocket.open(reg.url, "/v1/ws/server");
    await s.op("hello");
    s.send({ op: "identify", domain, token: "wrong", protocol: 1 });
    expect((await s.closedWithin()).code).toBe(4001);
    await vi.waitFor(async () => expect(await metric(reg.url, "registrar_auth_failures_total", { reason: "unauthorized" })).toBe(3), { timeout: 10_000 });
    expect(await metric(reg.url, "registrar_auth_failures_total", { reason: "token_expired" })).toBe(0);
  });
});

describe("events, expiries and shard moves", () => {
  const dbs = [freshDatabaseUrl("opsevents"), freshDatabaseUrl("opsexpiry"), freshDatabaseUrl("opsshards")];
  const started: InProcessRegistrar[] = [];
  afterAll(async () => {
    for (const r of started) await r.stop();
    for (const d of dbs) await dropDatabase(d);
  });

  it("counts each committed event once by type: registered, updated, removed", async () => {
    const reg = await startRegistrar({ DATABASE_URL: dbs[0], LOG_LEVEL: "warn", RATE_LIMIT_REGISTER: "off" });
    started.push(reg);
    const c = api(reg.url);
    const created = await c.post("/v1/servers", newServer());
    const { domain } = created.body.server;
    const token = created.body.token;
    expect((await c.put(`/v1/servers/${domain}`, { name: "Renamed" }, { token })).status).toBe(200);
    expect((await c.del(`/v1/servers/${domain}`, { token })).status).toBe(204);
    const counts = async () =>
      Object.fromEntries(await Promise.all(["server.registered", "server.updated", "server.removed", "server.status", "rating.created"].map(
        async (type) => [type, await metric(reg.url, "registrar_events_total", { type })] as const,
      )));
    await vi.waitFor(async () => expect(await counts()).toEqual({
      "server.registered": 1, "server.updated": 1, "server.removed": 1, "server.status": 0, "rating.created": 0,
    }), { timeout: 10_000 });
  });

  it("counts token_expired once a token has outlived TOKEN_TTL_DAYS", async () => {
    const reg = await startRegistrar({ DATABASE_URL: dbs[1], LOG_LEVEL: "warn", TOKEN_TTL_DAYS: "0.00001", RATE_LIMIT_REGISTER: "off" });
    started.push(reg);
    const c = api(reg.url);
    const created = await c.post("/v1/servers", newServer());
    const expires = Date.parse(created.body.token_expires_at);
    expect(expires - Date.now()).toBeLessThanOrEqual(0.00001 * DAY_MS + 5);
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(expires), { timeout: 5_000, interval: 20 });
    const res = await c.post(`/v1/servers/${created.body.server.domain}/heartbeat`, {}, { token: created.body.token });
    expect(res.body.error.code).toBe("token_expired");
    expect(await metric(reg.url, "registrar_auth_failures_total", { reason: "token_expired" })).toBe(1);
  });

  it("exposes shard moves as a counter, and counts an event only on the node that committed it (cluster of two)", async () => {
    const env = { DATABASE_URL: dbs[2], LOG_LEVEL: "warn", NATS_URL: inject("natsUrl"), CLUSTER_ID: `series${randomBytes(4).toString("hex")}`, SHARDS: "16" };
    const a = await startRegistrar({ ...env, NODE_ID: "a" });
    started.push(a);
    const text = await scrape(a.url);
    expect(typeOf(text, "registrar_shard_moves_total")).toBe("counter");
    expect(typeOf(text, "registrar_shard_moves")).toBeUndefined();
    // A lone node acquires every shard: at least 16 moves (more if a lease had to be taken again).
    await vi.waitFor(async () => expect(await metric(a.url, "registrar_shards_owned")).toBe(16), { timeout: 20_000 });
    const acquired = await metric(a.url, "registrar_shard_moves_total");
    expect(acquired).toBeGreaterThanOrEqual(16);
    const b = await startRegistrar({ ...env, NODE_ID: "b" });
    started.push(b);
    // A gives shards up to B: each one it lets go is a move too.
    await vi.waitFor(async () => expect(await metric(b.url, "registrar_shards_owned")).toBeGreaterThan(0), { timeout: 20_000 });
    await vi.waitFor(async () => expect(await metric(a.url, "registrar_shard_moves_total")).toBeGreaterThan(acquired), { timeout: 20_000 });
    const created = await api(b.url).post("/v1/servers", newServer());
    expect(created.status).toBe(201);
    const registered = async (url: string) => metric(url, "registrar_events_total", { type: "server.registered" });
    // Both nodes deliver the event; only its owner counted it.
    await vi.waitFor(async () => {
      for (const node of [a, b]) expect(await metric(node.url, "registrar_event_seq")).toBeGreaterThanOrEqual(1);
    }, { timeout: 10_000 });
    expect((await registered(a.url)) + (await registered(b.url))).toBe(1);
  }, 60_000);
});
