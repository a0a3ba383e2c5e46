// Contract §10 for /v1/feed (review M3): at most FEED_MAX_PER_IP open connections per client address (the next is
// closed with 1008), and a replay whose client stops reading holds no database connection while it waits.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

type FeedClient = { ws: WebSocket; frames: any[]; closed: Promise<{ code: number; reason: string }> };

/** Opens /v1/feed (optionally through a proxy's X-Forwarded-For) and collects its frames. */
function openFeed(baseUrl: string, forwardedFor?: string): Promise<FeedClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/v1/feed`, { headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} });
  const frames: any[] = [];
  ws.on("message", (m) => frames.push(JSON.parse(String(m))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, frames, closed }));
    ws.once("error", reject);
  });
}

/** Resolves with the first frame, or with the close when the registrar closes the connection before any. */
async function firstOutcome(c: FeedClient): Promise<{ hello: boolean; code?: number }> {
  await vi.waitFor(() => expect(c.frames.length > 0 || c.ws.readyState === WebSocket.CLOSED).toBe(true), { timeout: 5000, interval: 10 });
  if (c.frames.length > 0) return { hello: c.frames[0].op === "hello" };
  return { hello: false, code: (await c.closed).code };
}

async function metric(url: string, name: string): Promise<number> {
  const text = (await api(url).get("/metrics")).text;
  const m = new RegExp(`^${name.replace(/[{}"]/g, (ch) => `\\${ch}`)} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

describe("FEED_MAX_PER_IP behind a trusted proxy", () => {
  const dbUrl = freshDatabaseUrl("feedcap");
  let reg: InProcessRegistrar;
  const clients: FeedClient[] = [];
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, FEED_MAX_PER_IP: "3", TRUSTED_PROXIES: "127.0.0.1" });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("lets three connections of one client in, closes the fourth with 1008, and counts other clients apart", async () => {
    for (let i = 0; i < 3; i++) {
      const c = await openFeed(reg.url, "203.0.113.7");
      clients.push(c);
      expect(await firstOutcome(c)).toEqual({ hello: true });
    }
    const over = await openFeed(reg.url, "203.0.113.7");
    expect(await firstOutcome(over)).toEqual({ hello: false, code: 1008 });
    expect((await over.closed).reason).toMatch(/too many feed connections/);
    const other = await openFeed(reg.url, "203.0.113.8");
    clients.push(other);
    expect(await firstOutcome(other)).toEqual({ hello: true });
    expect(await metric(reg.url, 'registrar_ws_closed_total{endpoint="feed",code="1008"}')).toBe(1);
    // The refused connection took no place; a closed one gives its place back.
    clients[0].ws.close();
    await clients[0].closed;
    await vi.waitFor(async () => {
      const again = await openFeed(reg.url, "203.0.113.7");
      clients.push(again);
      expect(await firstOutcome(again)).toEqual({ hello: true });
    }, { timeout: 5000, interval: 50 });
    const last = await openFeed(reg.url, "203.0.113.7");
    expect(await firstOutcome(last)).toEqual({ hello: false, code: 1008 });
  });
});

describe("FEED_MAX_PER_IP without trusted proxies", () => {
  const dbUrl = freshDatabaseUrl("feedcapxff");
  let reg: InProcessRegistrar;
  const clients: FeedClient[] = [];
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, FEED_MAX_PER_IP: "2" });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("does not let a forged X-Forwarded-For escape the cap", async () => {
    for (const forged of ["198.51.100.1", "198.51.100.2"]) {
      const c = await openFeed(reg.url, forged);
      clients.push(c);
      expect(await firstOutcome(c)).toEqual({ hello: true });
    }
    const third = await openFeed(reg.url, "198.51.100.3");
    expect(await firstOutcome(third)).toEqual({ hello: false, code: 1008 });
  });
});

describe("paused replays", () => {
  const dbUrl = freshDatabaseUrl("feedpause");
  let reg: InProcessRegistrar;
  const clients: FeedClient[] = [];
  beforeAll(async () => {
    // Two connections in the pool: one replay pinning one would leave a single connection for everything else.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, DB_POOL_SIZE: "2", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_WRITE: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" });
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("hold no pooled connection: with four clients paused mid-replay, writes and reads of MySQL still succeed", async () => {
    const c = api(reg.url);
    const servers: { domain: string; token: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const body = newServer();
      servers.push({ domain: body.domain, token: (await c.post("/v1/servers", body)).body.token });
    }
    // ~12 KB events, ~6 MB in all: more than the kernel's socket buffers and the replay's 256 KiB high-water mark,
    // so a client that stops reading leaves its replay waiting for `drain`.
    const big = (domain: string, n: number) => ({
      name: `u${n}`.padEnd(100, "n"),
      description: `u${n}`.padEnd(1000, "d"),
      api_url: `https://${domain}/${"a".repeat(2000)}`,
      ws_url: `wss://${domain}/${"w".repeat(2000)}`,
      icon: `https://cdn.example.net/${"i".repeat(2000)}`,
      voice_url: `https://voice.example.net/${"v".repeat(2000)}`,
      cdn_url: `https://cdn.example.net/${"c".repeat(2000)}`,
    });
    let n = 0;
    for (let round = 0; round < 60; round++) {
      const puts = await Promise.all(servers.map((s) => c.put(`/v1/servers/${s.domain}`, big(s.domain, n++), { token: s.token })));
      for (const r of puts) expect(r.status, r.text).toBe(200);
    }
    const [[{ newest }]] = (await reg.node.db.query("SELECT MAX(seq) AS newest FROM events")) as any;

    for (let i = 0; i < 4; i++) {
      const f = await openFeed(reg.url);
      clients.push(f);
      await vi.waitFor(() => expect(f.frames[0]?.op).toBe("hello"));
      f.ws.send(JSON.stringify({ op: "subscribe", after_seq: 0 }));
      f.ws.pause(); // stop reading: the kernel buffers fill, then the replay waits
    }
    await vi.waitFor(async () => expect(await metric(reg.url, "registrar_feed_replays_paused")).toBe(4), { timeout: 30_000, interval: 100 });
    expect(await metric(reg.url, "registrar_feed_replay_reads")).toBe(0);

    // Every request that needs MySQL still gets a connection, several at once.
    const writes = await Promise.all(Array.from({ length: 10 }, () => c.post("/v1/servers", newServer())));
    for (const w of writes) expect(w.status, w.text).toBe(201);
    expect((await c.post(`/v1/servers/${servers[0].domain}/rate`, { user_id: "u1", rating: 5 })).status).toBe(201);
    expect((await c.get(`/v1/servers/${servers[0].domain}/ratings`)).status).toBe(200);
    expect((await c.get("/v1/health")).status).toBe(200);
    expect(await metric(reg.url, "registrar_feed_replays_paused")).toBe(4);

    // Once read again, each replay continues where it paused: every event, in order, then live.
    const [rows] = (await reg.node.db.query("SELECT seq FROM events ORDER BY seq")) as any;
    const expected = rows.map((r: any) => Number(r.seq));
    expect(expected.at(-1)).toBeGreaterThan(Number(newest));
    for (const f of clients) f.ws.resume();
    for (const f of clients) {
      await vi.waitFor(() => expect(f.frames.filter((m) => m.op === "event").at(-1)?.seq).toBe(expected.at(-1)), { timeout: 30_000, interval: 100 });
      expect(f.frames.filter((m) => m.op === "event").map((m) => m.seq)).toEqual(expected);
    }
  }, 120_000);
});
