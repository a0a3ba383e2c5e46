// The client SDK's connection logic with a fake WebSocket and fake timers: backoff, URL rotation, identify and
// heartbeats at the announced interval, dead-connection detection, fatal codes, feed resume and dedup.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff, UrlRing } from "../../client/backoff.js";
import { endpointUrl } from "../../client/socket.js";
import { Feed, ServerSession, type WebSocketLike } from "../../client/index.js";

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: any[] = [];
  terminated = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000, reason = "") {
    this.serverClose(code, reason);
  }
  terminate() {
    this.terminated = true;
    this.serverClose(1006, "");
  }
  // What the registrar does:
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  serverClose(code: number, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  static last() {
    return FakeSocket.all.at(-1)!;
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Backoff", () => {
  it("waits a uniform random time below an exponentially growing ceiling, capped at maxMs", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.999999);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([99, 199, 399, 799, 999, 999]);
    const zero = new Backoff({}, () => 0);
    expect(zero.next()).toBe(0);
  });

  it("starts over after reset, and keeps restarts short", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, restartJitterMs: 300 }, () => 0.5);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(50);
    expect(b.afterRestart()).toBe(150);
  });

  it("rotates through the URLs", () => {
    const ring = new UrlRing(["a", "b", "c"]);
    expect([ring.current, ring.advance(), ring.advance(), ring.advance()]).toEqual(["a", "b", "c", "a"]);
    expect(() => new UrlRing([])).toThrow();
  });
});

describe("endpointUrl", () => {
  it.each([
    ["http://127.0.0.1:5000", "ws://127.0.0.1:5000/v1/feed"],
    ["https://reg.example.com/", "wss://reg.example.com/v1/feed"],
    ["https://example.com/registrar", "wss://example.com/registrar/v1/feed"],
    ["wss://reg.example.com/v1/feed", "wss://reg.example.com/v1/feed"],
  ])("maps %s to %s", (base, url) => {
    expect(endpointUrl(base, "/v1/feed")).toBe(url);
  });
});

describe("ServerSession", () => {
  const base = { urls: ["http://a", "http://b"], domain: "chat.example.com", token: "t".repeat(64), WebSocket: FakeSocket, backoff: { initialMs: 1000, maxMs: 8000, restartJitterMs: 100 } };

  async function online(session: ServerSession, intervalMs = 30_000): Promise<FakeSocket> {
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    ws.push({ op: "hello", heartbeat_interval_ms: intervalMs, identify_timeout_ms: 10_000, protocols: [1] });
    ws.push({ op: "ready", session_id: "s1", status: "online" });
    expect(session.status).toBe("online");
    return ws;
  }

  it("identifies after hello and heartbeats at the announced interval with the current stats", async () => {
    let users = 0;
    const session = new ServerSession({ ...base, stats: () => ({ user_count: ++users }) }).start();
    const ws = await online(session, 5000);
    expect(ws.url).toBe("ws://a/v1/ws/server");
    expect(ws.sent[0]).toEqual({ op: "identify", domain: "chat.example.com", token: base.token, protocol: 1 });
    await vi.advanceTimersByTimeAsync(4999);
    expect(ws.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ws.sent[1]).toEqual({ op: "heartbeat", seq: 1, stats: { user_count: 1 } });
    ws.push({ op: "heartbeat_ack", seq: 1 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(ws.sent[2]).toEqual({ op: "heartbeat", seq: 2, stats: { user_count: 2 } });
    await session.stop();
  });

  it("drops a connection that stopped acknowledging and reconnects to the next URL", async () => {
    const session = new ServerSession(base).start();
    const ws = await online(session, 1000);
    await vi.advanceTimersByTimeAsync(3000); // heartbeats 1, 2 unanswered; the third tick gives up
    expect(ws.terminated).toBe(true);
    expect(session.status).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.last().url).toBe("ws://b/v1/ws/server");
    await session.stop();
  });

  it("reconnects to the next URL soon after 1012, and backs off exponentially after failures", async () => {
    const session = new ServerSession(base).start();
    const delays: number[] = [];
    session.on("status", (s, info) => s === "reconnecting" && delays.push(info.retryInMs!));
    const ws = await online(session);
    ws.serverClose(1012, "restarting");
    expect(delays[0]).toBeLessThan(100);
    await vi.advanceTimersByTimeAsync(100);
    const next = FakeSocket.last();
    expect(next.url).toBe("ws://b/v1/ws/server");
    for (let i = 0; i < 4; i++) {
      FakeSocket.last().serverClose(1006);
      await vi.advanceTimersByTimeAsync(10_000);
    }
    expect(delays.slice(1).every((d, i) => d < 1000 * 2 ** i)).toBe(true);
    expect(FakeSocket.all.map((s) => s.url.slice(5, 6))).toEqual(["a", "b", "a", "b", "a", "b"]);
    await session.stop();
  });

  it.each([4001, 4002, 4010])("stops without reconnecting on %i", async (code) => {
    const session = new ServerSession(base).start();
    const errors: Error[] = [];
    session.on("error", (e) => errors.push(e));
    const ws = await online(session);
    ws.serverClose(code, "no");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(session.status).toBe("stopped");
    expect(errors).toHaveLength(1);
  });

  it("reports server.status events about its server", async () => {
    const session = new ServerSession(base).start();
    const seen: string[] = [];
    session.on("serverStatus", (s) => seen.push(s));
    const ws = await online(session);
    ws.push({ op: "event", seq: 9, type: "server.status", domain: "chat.example.com", at: "x", data: { status: "online", last_seen: "x" } });
    expect(seen).toEqual(["online"]);
    await session.stop();
  });
});

describe("Feed", () => {
  const base = { urls: "http://a", WebSocket: FakeSocket, backoff: { initialMs: 10, maxMs: 10 } };

  it("subscribes after the hello's last_seq, resumes after the last event it got, and drops duplicates", async () => {
    const feed = new Feed({ ...base, types: ["rating.created"] }).start();
    const got: number[] = [];
    feed.on("event", (e) => got.push(e.seq));
    await settle();
    let ws = FakeSocket.last();
    ws.open();
    ws.push({ op: "hello", last_seq: 40 });
    expect(ws.sent).toEqual([{ op: "subscribe", types: ["rating.created"], after_seq: 40 }]);
    ws.push({ op: "event", seq: 41, type: "rating.created", domain: "d", at: "x", data: {} });
    ws.push({ op: "event", seq: 44, type: "rating.created", domain: "d", at: "x", data: {} });
    ws.serverClose(1013, "slow");
    await vi.advanceTimersByTimeAsync(20);
    ws = FakeSocket.last();
    ws.open();
    ws.push({ op: "hello", last_seq: 50 });
    expect(ws.sent).toEqual([{ op: "subscribe", types: ["rating.created"], after_seq: 44 }]);
    ws.push({ op: "event", seq: 44, type: "rating.created", domain: "d", at: "x", data: {} });
    ws.push({ op: "event", seq: 47, type: "rating.created", domain: "d", at: "x", data: {} });
    expect(got).toEqual([41, 44, 47]);
    expect(feed.position).toBe(47);
    await feed.stop();
  });

  it("moves its position to reset's last_seq and tells the listener to re-list", async () => {
    const feed = new Feed({ ...base, afterSeq: 3 }).start();
    const resets: number[] = [];
    feed.on("reset", (r) => resets.push(r.lastSeq));
    await settle();
    const ws = FakeSocket.last();
    ws.open();
    ws.push({ op: "hello", last_seq: 90 });
    expect(ws.sent[0]).toEqual({ op: "subscribe", after_seq: 3 });
    ws.push({ op: "reset", last_seq: 90 });
    expect([resets, feed.position]).toEqual([[90], 90]);
    await feed.stop();
  });
});
