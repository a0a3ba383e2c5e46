// /v1/ws/server handshake and heartbeats (contract §4): what a Zent instance sees, and that a WS heartbeat counts
// exactly like an HTTP one.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { identified, TestSocket } from "../support/ws-test-client.js";
import { letTimePass } from "../support/wait.js";

describe("/v1/ws/server sessions", () => {
  const dbUrl = freshDatabaseUrl("wssession");
  let reg: InProcessRegistrar;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "3", WS_IDENTIFY_TIMEOUT_S: "7", RATE_LIMIT_REGISTER: "off", RATINGS_ANONYMOUS: "true", FLUSH_INTERVAL_MS: "50" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("says hello with the heartbeat interval the registrar wants, the identify deadline and its protocols", async () => {
    const s = await TestSocket.open(reg.url, "/v1/ws/server");
    // OFFLINE_AFTER_S=3 → heartbeats every 1 s leave room for two misses (config.ts).
    expect(await s.op("hello")).toEqual({ op: "hello", heartbeat_interval_ms: 1000, identify_timeout_ms: 7000, protocols: [1] });
    s.close();
  });

  it("answers identify with ready and a session id; identify counts as a heartbeat", async () => {
    const server = await register(reg.url);
    await letTimePass(20); // last_seen moves past the registration's
    const before = await wsHeartbeats(reg.url);
    const s = await TestSocket.open(reg.url, "/v1/ws/server");
    await s.op("hello");
    s.send({ op: "identify", domain: server.domain.toUpperCase(), token: server.token, protocol: 1 });
    const ready = await s.op("ready");
    expect(ready).toEqual({ op: "ready", session_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: "online" });
    expect(await wsHeartbeats(reg.url)).toBe(before + 1);
    const health = await api(reg.url).get(`/v1/servers/${server.domain}/health`);
    expect(Date.parse(health.body.last_seen)).toBeGreaterThan(server.registeredMs);
    s.close();
  });

  it("acknowledges each heartbeat with its seq, applies its stats and persists them like an HTTP heartbeat", async () => {
    const server = await register(reg.url);
    const s = await identified(reg.url, server.domain, server.token);
    const before = await wsHeartbeats(reg.url);
    s.send({ op: "heartbeat", seq: 41, stats: { user_count: 12, channel_count: 3 } });
    s.send({ op: "heartbeat", stats: { user_count: 13 } });
    s.send({ op: "heartbeat", seq: 43 });
    expect(await s.next((m) => m.op === "heartbeat_ack" && m.seq === 43)).toBeTruthy();
    expect(s.messages.filter((m) => m.op === "heartbeat_ack")).toEqual([
      { op: "heartbeat_ack", seq: 41 },
      { op: "heartbeat_ack" },
      { op: "heartbeat_ack", seq: 43 },
    ]);
    expect(await wsHeartbeats(reg.url)).toBe(before + 3);
    const got = await api(reg.url).get(`/v1/servers/${server.domain}`);
    expect([got.body.server.user_count, got.body.server.channel_count]).toEqual([13, 3]);
    // Same write-behind as HTTP heartbeats: the stats reach MySQL without any other write.
    await vi.waitFor(async () => {
      const [[row]] = (await reg.node.db.query("SELECT user_count, channel_count FROM servers WHERE domain = ?", [server.domain])) as any;
      expect([row.user_count, row.channel_count]).toEqual([13, 3]);
    });
    s.close();
  });

  it("handles a heartbeat sent right behind the identify, before ready arrives", async () => {
    const server = await register(reg.url);
    const s = await TestSocket.open(reg.url, "/v1/ws/server");
    await s.op("hello");
    s.send({ op: "identify", domain: server.domain, token: server.token, protocol: 1 });
    s.send({ op: "heartbeat", seq: 1 });
    await s.next((m) => m.op === "heartbeat_ack");
    expect(s.messages.map((m) => m.op)).toEqual(["hello", "ready", "heartbeat_ack"]);
    s.close();
  });

  it("pushes events about its own server to the session, and no others", async () => {
    const mine = await register(reg.url);
    const other = await register(reg.url);
    const s = await identified(reg.url, mine.domain, mine.token);
    const c = api(reg.url);
    await c.post(`/v1/servers/${other.domain}/rate`, { user_id: "u1", rating: 2 });
    await c.post(`/v1/servers/${mine.domain}/rate`, { user_id: "u1", rating: 4, comment: "nice" });
    await c.put(`/v1/servers/${mine.domain}`, { name: "Renamed" }, { token: mine.token });
    const updated = await s.next((m) => m.op === "event" && m.type === "server.updated");
    const events = s.messages.filter((m) => m.op === "event");
    expect(events.map((m) => [m.type, m.domain])).toEqual([["rating.created", mine.domain], ["server.updated", mine.domain]]);
    expect(events[0].data).toMatchObject({ rating: { user_id: "u1", rating: 4, comment: "nice" } });
    expect(updated.data.name).toBe("Renamed");
    expect(events[1].seq).toBeGreaterThan(events[0].seq);
    s.close();
  });

  it("pushes the server.status event when its server comes back online through the session", async () => {
    const server = await register(reg.url);
    await vi.waitFor(async () => {
      expect((await api(reg.url).get(`/v1/servers/${server.domain}/health`)).body.status).toBe("offline");
    }, { timeout: 6000, interval: 100 });
    const s = await TestSocket.open(reg.url, "/v1/ws/server");
    await s.op("hello");
    s.send({ op: "identify", domain: server.domain, token: server.token, protocol: 1 });
    const status = await s.next((m) => m.op === "event" && m.type === "server.status" && m.data.status === "online");
    expect(status).toMatchObject({ domain: server.domain, data: { status: "online", last_seen: expect.any(String) } });
    s.close();
  });

  it("sends server.removed to the session and then closes it with 4001: its token went with the record", async () => {
    const server = await register(reg.url);
    const s = await identified(reg.url, server.domain, server.token);
    expect((await api(reg.url).del(`/v1/servers/${server.domain}`, { token: server.token })).status).toBe(204);
    expect(await s.closedWithin()).toEqual({ code: 4001, reason: "server removed" });
    expect(s.messages.at(-1)).toMatchObject({ op: "event", type: "server.removed", domain: server.domain });
  });
});

async function register(url: string): Promise<{ domain: string; token: string; registeredMs: number }> {
  const body = newServer();
  const registeredMs = Date.now();
  const res = await api(url).post("/v1/servers", body);
  expect(res.status).toBe(201);
  return { domain: body.domain, token: res.body.token, registeredMs: Date.parse(res.body.server.last_seen) || registeredMs };
}

async function wsHeartbeats(url: string): Promise<number> {
  const text = (await api(url).get("/metrics")).text;
  const m = /^registrar_heartbeats_total\{via="ws"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}
