// The Feed's replay/live logic against fake uWS sockets and a fake events table: the seam, reset by age, the
// waiting mode of a node behind the client, pending overflow and the live backpressure sweep.
import { afterEach, describe, expect, it } from "vitest";
import type { RegistryEvent } from "../../src/core/events.js";
import { Feed, type FeedOptions } from "../../src/ws/feed.js";
import { eventFrame } from "../../src/ws/frames.js";
import pino from "pino";

const HOUR = 3_600_000;
const NOW = Date.parse("2026-11-22T13:00:00.000Z");

function ev(seq: number, atMs = NOW - 1000, type: RegistryEvent["type"] = "rating.created", domain = "a.example.com"): RegistryEvent {
  return { seq, type, domain, origin: "local", at: new Date(atMs).toISOString(), data: { n: seq } };
}

class FakeApp {
  sockets = new Set<FakeWs>();
  publish(topic: string, payload: Uint8Array): boolean {
    for (const ws of this.sockets) if (!ws.closed && ws.topics.has(topic)) ws.frames.push(Buffer.from(payload).toString());
    return true;
  }
}

class FakeWs {
  frames: string[] = [];
  topics = new Set<string>();
  buffered = 0;
  closed: { code: number; reason: string } | null = null;
  constructor(private readonly state: any, private readonly feed: ReturnType<Feed["behavior"]>) {}
  getUserData() { return this.state; }
  send(m: string) { this.frames.push(String(m)); return 1; }
  getBufferedAmount() { return this.buffered; }
  cork(cb: () => void) { cb(); return this; }
  subscribe(t: string) { this.topics.add(t); return true; }
  end(code: number, reason: string) {
    this.closed = { code, reason };
    this.feed.close!(this as any, code, new ArrayBuffer(0));
  }
  messages() { return this.frames.map((f) => JSON.parse(f)); }
  seqs() { return this.messages().filter((m) => m.op === "event").map((m) => m.seq); }
}

/** An events table whose reads can be held, to interleave live events with a replay. */
class FakeStore {
  rows: RegistryEvent[] = [];
  held: (() => void)[] = [];
  hold = false;
  async readEvents(after: number, limit: number, upto: number) {
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    return this.rows.filter((e) => e.seq > after && e.seq <= upto).slice(0, limit);
  }
  async oldestSeq() { return this.rows[0]?.seq ?? 0; }
  async newestSeq() { return this.rows.at(-1)?.seq ?? 0; }
  release() { for (const r of this.held.splice(0)) r(); }
}

const feeds: Feed[] = [];
afterEach(() => {
  for (const f of feeds.splice(0)) f.shutdown();
});

function setup(opts: Partial<FeedOptions> = {}, maxPerIp = 8) {
  const app = new FakeApp();
  const store = new FakeStore();
  let last = 0;
  let ip = "192.0.2.1";
  const feed = new Feed({
    app: app as any, lastSeq: () => last, store, retentionMs: 24 * HOUR, limits: { maxMessageBytes: 16384, rate: null },
    clientIp: () => ip, maxPerIp,
    onClose: () => {}, onReset: () => {}, log: pino({ level: "silent" }), now: () => NOW, options: { sweepIntervalMs: 60_000, ...opts },
  });
  feeds.push(feed);
  const b = feed.behavior();
  const connect = () => {
    let state: any;
    b.upgrade!({ upgrade: (s: any) => (state = s) } as any, { getHeader: () => "" } as any, {} as any);
    const ws = new FakeWs(state, b);
    app.sockets.add(ws);
    b.open!(ws as any);
    return ws;
  };
  const subscribe = (ws: FakeWs, msg: Record<string, unknown>) =>
    b.message!(ws as any, new TextEncoder().encode(JSON.stringify({ op: "subscribe", ...msg })).buffer as ArrayBuffer, false);
  /** A commit: MySQL has it, then the sequencer delivers it. */
  const commit = (e: RegistryEvent) => {
    store.rows.push(e);
    last = e.seq;
    feed.deliver(e, eventFrame(e));
  };
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { app, store, feed, b, connect, subscribe, commit, settle, setLast: (n: number) => (last = n), setIp: (a: string) => (ip = a) };
}

describe("Feed", () => {
  it("joins replay and live without gap or duplicate when events commit while the replay reads", async () => {
    const t = setup({ replayPageSize: 2 });
    for (let i = 1; i <= 5; i++) t.commit(ev(i));
    const ws = t.connect();
    t.store.hold = true;
    t.subscribe(ws, { after_seq: 1 });
    await t.settle();
    t.commit(ev(6)); // arrives while the first page is being read
    t.store.release();
    await t.settle();
    t.commit(ev(7));
    t.store.release();
    await t.settle();
    t.store.hold = false;
    t.store.release();
    for (let i = 0; i < 10; i++) await t.settle();
    t.commit(ev(8)); // live, through the topics
    expect(ws.seqs()).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(ws.topics).toEqual(new Set(["all"]));
  });

  it("sends reset when the first event after after_seq is older than the retention window, then goes live", async () => {
    const t = setup();
    t.commit(ev(1, NOW - 25 * HOUR));
    t.commit(ev(2, NOW - 1000));
    const ws = t.connect();
    t.subscribe(ws, { after_seq: 0 });
    for (let i = 0; i < 5; i++) await t.settle();
    t.commit(ev(3));
    expect(ws.messages().slice(1)).toEqual([{ op: "reset", last_seq: 2 }, expect.objectContaining({ op: "event", seq: 3 })]);
  });

  it("sends reset when events right after after_seq were pruned", async () => {
    const t = setup();
    t.commit(ev(1));
    t.commit(ev(2));
    t.commit(ev(3));
    t.store.rows.splice(0, 2); // pruned 1 and 2
    const ws = t.connect();
    t.subscribe(ws, { after_seq: 0 });
    for (let i = 0; i < 5; i++) await t.settle();
    expect(ws.messages().at(-1)).toEqual({ op: "reset", last_seq: 3 });
    const ok = t.connect();
    t.subscribe(ok, { after_seq: 2 });
    for (let i = 0; i < 5; i++) await t.settle();
    expect(ok.seqs()).toEqual([3]);
  });

  it("waits for this node to catch up when the client is ahead of its sequencer, skipping what the client has", async () => {
    const t = setup();
    for (let i = 1; i <= 5; i++) t.commit(ev(i));
    t.store.rows.push(ev(6), ev(7)); // committed elsewhere, not yet delivered here
    const ws = t.connect();
    t.subscribe(ws, { after_seq: 6 });
    for (let i = 0; i < 5; i++) await t.settle();
    expect(ws.messages().map((m) => m.op)).toEqual(["hello"]);
    t.setLast(6);
    t.feed.deliver(ev(6), eventFrame(ev(6)));
    t.setLast(7);
    t.feed.deliver(ev(7), eventFrame(ev(7)));
    t.commit(ev(8));
    expect(ws.seqs()).toEqual([7, 8]);
  });

  it("closes with 1013 a subscriber whose replay falls further behind than maxPendingEvents", async () => {
    const t = setup({ maxPendingEvents: 3 });
    t.commit(ev(1));
    const ws = t.connect();
    t.store.hold = true;
    t.subscribe(ws, { after_seq: 0 });
    await t.settle();
    for (let i = 2; i <= 5; i++) t.commit(ev(i));
    expect(ws.closed?.code).toBe(1013);
    t.store.release();
  });

  it("sweeps live subscribers and closes with 1013 those over maxBufferedBytes before pub/sub could skip them", () => {
    const t = setup({ maxBufferedBytes: 1000, headroomBytes: 128 * 1024 });
    const slow = t.connect();
    const fast = t.connect();
    t.subscribe(slow, {});
    t.subscribe(fast, {});
    slow.buffered = 5000;
    // The budget between sweeps is small here, so publishing enough forces a sweep before the next publish.
    for (let i = 1; i <= 1000; i++) t.commit(ev(i, NOW, "server.updated", "a.example.com"));
    expect(slow.closed?.code).toBe(1013);
    expect(fast.closed).toBeNull();
    expect(fast.seqs()).toHaveLength(1000);
    expect(slow.seqs().length).toBeLessThan(1000);
  });

  it("paces a replay on drain instead of closing a client that reads slowly", async () => {
    const t = setup({ replayHighWaterBytes: 100 });
    for (let i = 1; i <= 4; i++) t.commit(ev(i));
    const ws = t.connect();
    const send = ws.send.bind(ws);
    ws.send = (m: string) => {
      ws.buffered += m.length;
      return send(m);
    };
    t.subscribe(ws, { after_seq: 0 });
    for (let i = 0; i < 5; i++) await t.settle();
    expect(ws.seqs()).toEqual([1]);
    ws.buffered = 0;
    for (let n = 2; n <= 4; n++) {
      t.b.drain!(ws as any);
      for (let i = 0; i < 5; i++) await t.settle();
      expect(ws.seqs()).toHaveLength(n);
      ws.buffered = 0;
    }
    expect(ws.closed).toBeNull();
  });

  it("closes the connection over FEED_MAX_PER_IP with 1008, counts each address apart, and frees a place on close", () => {
    const t = setup({}, 2);
    const [a, b] = [t.connect(), t.connect()];
    const third = t.connect();
    expect(third.closed?.code).toBe(1008);
    expect(third.frames).toEqual([]); // not even a hello
    expect([a.closed, b.closed]).toEqual([null, null]);
    t.setIp("192.0.2.2");
    expect(t.connect().closed).toBeNull();
    t.setIp("192.0.2.1");
    a.end(1000, "bye");
    expect(t.connect().closed).toBeNull();
    expect(t.connect().closed?.code).toBe(1008);
    expect(t.feed.connections).toBe(3);
  });
});
