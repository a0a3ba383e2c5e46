// Every close code of contract §4 on /v1/ws/server, as a client sees it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { identified, TestSocket } from "../support/ws-test-client.js";
import { letTimePass } from "../support/wait.js";

const PATH = "/v1/ws/server";

describe("/v1/ws/server close codes", () => {
  const dbUrl = freshDatabaseUrl("wsclose");
  let reg: InProcessRegistrar;
  let server: { domain: string; token: string };

  beforeAll(async () => {
    reg = await startRegistrar({
      DATABASE_URL: dbUrl, WS_IDENTIFY_TIMEOUT_S: "0.5", WS_HEARTBEAT_TIMEOUT_S: "1", WS_RATE_LIMIT: "20/60", RATE_LIMIT_REGISTER: "off", RATINGS_ANONYMOUS: "true",
    });
    server = await register(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  async function opened(): Promise<TestSocket> {
    const s = await TestSocket.open(reg.url, PATH);
    await s.op("hello");
    return s;
  }

  async function closeAfter(...messages: unknown[]): Promise<{ code: number; reason: string }> {
    const s = await opened();
    for (const m of messages) s.send(m);
    return s.closedWithin();
  }

  describe("4000 invalid message", () => {
    it.each([
      ["text that is not JSON", "hello there"],
      ["a JSON array", "[1,2]"],
      ["an unknown op", { op: "dance" }],
      ["a message without op", { domain: "x.example.com" }],
      ["an identify with an unknown field", { op: "identify", domain: "a.example.com", token: "0".repeat(64), protocol: 1, extra: true }],
      ["an identify without protocol", { op: "identify", domain: "a.example.com", token: "0".repeat(64) }],
      ["an identify whose domain is a number", { op: "identify", domain: 7, token: "0".repeat(64), protocol: 1 }],
      ["a heartbeat before identify", { op: "heartbeat", seq: 1 }],
      ["a binary frame", Buffer.from('{"op":"heartbeat"}')],
    ])("closes on %s", async (_what, message) => {
      expect((await closeAfter(message)).code).toBe(4000);
    });

    it("closes a frame over 16 KiB with 4000, also well past uWS's default 16 KiB limit (never 1009)", async () => {
      for (const size of [16 * 1024 + 1, 64 * 1024 + 1, 512 * 1024]) {
        const big = JSON.stringify({ op: "heartbeat", pad: "x".repeat(size) });
        expect((await closeAfter(big)).code, `frame of ${big.length} bytes`).toBe(4000);
      }
    });

    it("accepts a frame of exactly 16 KiB", async () => {
      const s = await identified(reg.url, server.domain, server.token);
      const base = JSON.stringify({ op: "heartbeat", seq: 1, stats: { version: "" } });
      // Pad with JSON whitespace, which the schema does not see.
      s.send(base.slice(0, -1) + " ".repeat(16 * 1024 - base.length) + "}");
      expect(await s.op("heartbeat_ack")).toEqual({ op: "heartbeat_ack", seq: 1 });
      s.close();
    });

    it("closes a heartbeat whose stats break the heartbeat schema", async () => {
      const s = await identified(reg.url, server.domain, server.token);
      s.send({ op: "heartbeat", seq: 1, stats: { user_count: -1 } });
      expect((await s.closedWithin()).code).toBe(4000);
    });
  });

  describe("4001 authentication failed", () => {
    it.each([
      ["a wrong token", () => ({ domain: server.domain, token: "a".repeat(64) })],
      ["a malformed token", () => ({ domain: server.domain, token: "not-a-token" })],
      ["an unknown domain", () => ({ domain: "nobody-here.example.com", token: server.token })],
      ["a domain that is not a domain name", () => ({ domain: "not a domain", token: server.token })],
    ])("closes on %s, with the same reason for each", async (_what, creds) => {
      const closed = await closeAfter({ op: "identify", ...creds(), protocol: 1 });
      expect(closed).toEqual({ code: 4001, reason: "authentication failed" });
    });

    it("closes the session at its next heartbeat once the token was rotated", async () => {
      const fresh = await register(reg.url);
      const s = await identified(reg.url, fresh.domain, fresh.token);
      const rotated = await api(reg.url).post(`/v1/servers/${fresh.domain}/token`, undefined, { token: fresh.token });
      expect(rotated.status).toBe(200);
      s.send({ op: "heartbeat", seq: 1 });
      expect((await s.closedWithin()).code).toBe(4001);
    });
  });

  it("4002: closes an identify with an unsupported protocol version", async () => {
    const closed = await closeAfter({ op: "identify", domain: server.domain, token: server.token, protocol: 2 });
    expect(closed.code).toBe(4002);
  });

  it("4003: closes a connection that does not identify within WS_IDENTIFY_TIMEOUT_S", async () => {
    const s = await opened();
    const started = Date.now();
    expect((await s.closedWithin(3000)).code).toBe(4003);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("4004: closes on a second identify", async () => {
    const s = await identified(reg.url, server.domain, server.token);
    s.send({ op: "identify", domain: server.domain, token: server.token, protocol: 1 });
    expect((await s.closedWithin()).code).toBe(4004);
  });

  it("4008: closes a connection over WS_RATE_LIMIT messages in its window", async () => {
    const fresh = await register(reg.url);
    const s = await identified(reg.url, fresh.domain, fresh.token); // the identify is message 1 of 20
    for (let i = 1; i <= 19; i++) s.send({ op: "heartbeat", seq: i });
    await s.next((m) => m.op === "heartbeat_ack" && m.seq === 19);
    s.send({ op: "heartbeat", seq: 20 });
    expect((await s.closedWithin()).code).toBe(4008);
  });

  it("4009: closes an identified session that sends no heartbeat for WS_HEARTBEAT_TIMEOUT_S", async () => {
    const fresh = await register(reg.url);
    const s = await identified(reg.url, fresh.domain, fresh.token);
    const started = Date.now();
    expect((await s.closedWithin(4000)).code).toBe(4009);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("4009 is held off by heartbeats", async () => {
    const fresh = await register(reg.url);
    const s = await identified(reg.url, fresh.domain, fresh.token);
    for (let i = 1; i <= 6; i++) {
      await letTimePass(300);
      s.send({ op: "heartbeat", seq: i });
      await s.next((m) => m.op === "heartbeat_ack" && m.seq === i);
    }
    s.close();
    expect((await s.closedWithin()).code).toBe(1000);
  });

  it("4010: a newer session for the same domain replaces the older one, which keeps nothing", async () => {
    const fresh = await register(reg.url);
    const older = await identified(reg.url, fresh.domain, fresh.token);
    const newer = await identified(reg.url, fresh.domain, fresh.token);
    expect((await older.closedWithin()).code).toBe(4010);
    newer.send({ op: "heartbeat", seq: 1 });
    expect(await newer.op("heartbeat_ack")).toEqual({ op: "heartbeat_ack", seq: 1 });
    // Events about the server go to the newer session only.
    await api(reg.url).post(`/v1/servers/${fresh.domain}/rate`, { user_id: "u1", rating: 5 });
    expect((await newer.op("event")).type).toBe("rating.created");
    expect(older.messages.filter((m) => m.op === "event")).toEqual([]);
    newer.close();
  });
});

describe("/v1/ws/server: 4001 for an expired token", () => {
  const dbUrl = freshDatabaseUrl("wsexpired");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    // 0.00002 days = 1.728 s of absolute token lifetime.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, TOKEN_MAX_AGE_DAYS: "0.00002" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("refuses an identify once the token is past its absolute expiry, and closes a live session at its next heartbeat", async () => {
    const server = await register(reg.url);
    const live = await identified(reg.url, server.domain, server.token);
    await letTimePass(1900); // the token passes its absolute expiry
    live.send({ op: "heartbeat", seq: 1 });
    expect(await live.closedWithin()).toEqual({ code: 4001, reason: "token expired" });
    const s = await TestSocket.open(reg.url, PATH);
    await s.op("hello");
    s.send({ op: "identify", domain: server.domain, token: server.token, protocol: 1 });
    expect((await s.closedWithin()).code).toBe(4001);
  });
});

describe("/v1/ws/server: 1012 on shutdown", () => {
  const dbUrl = freshDatabaseUrl("ws1012");
  afterAll(async () => {
    await dropDatabase(dbUrl);
  });

  it("closes identified and unidentified sessions with 1012 when the node stops", async () => {
    const reg = await startRegistrar({ DATABASE_URL: dbUrl });
    try {
      const server = await register(reg.url);
      const session = await identified(reg.url, server.domain, server.token);
      const waiting = await TestSocket.open(reg.url, PATH);
      await waiting.op("hello");
      const stopped = reg.stop();
      expect((await session.closedWithin()).code).toBe(1012);
      expect((await waiting.closedWithin()).code).toBe(1012);
      await stopped;
    } finally {
      await reg.stop();
    }
  });
});

async function register(url: string): Promise<{ domain: string; token: string }> {
  const body = newServer();
  const res = await api(url).post("/v1/servers", body);
  expect(res.status).toBe(201);
  return { domain: body.domain, token: res.body.token };
}
