// ServerSessions with fake uWS sockets and fake actors: identify, pipelined heartbeats, deadlines checked by one
// sweep, replacement on this node and by a claim from another node.
import { afterEach, describe, expect, it, vi } from "vitest";
import pino from "pino";
import { UnauthorizedError } from "../../src/core/errors.js";
import { hashToken } from "../../src/core/tokens.js";
import { ServerSessions, type SessionClaim } from "../../src/ws/server-sessions.js";

class FakeWs {
  frames: any[] = [];
  closed: { code: number; reason: string } | null = null;
  constructor(private readonly state: any, private readonly b: ReturnType<ServerSessions["behavior"]>) {}
  getUserData() { return this.state; }
  send(m: string) { this.frames.push(JSON.parse(m)); return 1; }
  getBufferedAmount() { return 0; }
  cork(cb: () => void) { cb(); return this; }
  end(code: number, reason: string) {
    this.closed = { code, reason };
    this.b.close!(this as any, code, new ArrayBuffer(0));
  }
  say(msg: unknown) {
    this.b.message!(this as any, new TextEncoder().encode(JSON.stringify(msg)).buffer as ArrayBuffer, false);
  }
}

const TOKEN = "a".repeat(64);
const TOKEN_HASH = hashToken(TOKEN).toString("hex");
let clock = 1_000_000;
const all: ServerSessions[] = [];
afterEach(() => {
  for (const s of all.splice(0)) s.shutdown();
  vi.useRealTimers();
});

function setup(extra: { announce?: (c: SessionClaim) => void } = {}) {
  vi.useFakeTimers();
  const heartbeats: { domain: string; token: string | null; stats: unknown }[] = [];
  const sessions = new ServerSessions({
    actors: {
      // Identify and every later heartbeat present TOKEN's hash (hashed once at identify, kept by the session).
      send: async ({ domain, tokenHash, stats }) => {
        if (tokenHash !== TOKEN_HASH) throw new UnauthorizedError("bad");
        heartbeats.push({ domain, token: TOKEN, stats });
        return { status: "online", lastSeenMs: clock, tokenExpiresMs: clock + 1e9 };
      },
    },
    heartbeatIntervalMs: 30_000, identifyTimeoutMs: 10_000, heartbeatTimeoutMs: 90_000,
    limits: { maxMessageBytes: 16384, rate: null }, onHeartbeat: () => {}, onClose: () => {},
    log: pino({ level: "silent" }), now: () => clock, ...extra,
  });
  all.push(sessions);
  const b = sessions.behavior();
  const connect = () => {
    let state: any;
    b.upgrade!({ upgrade: (s: any) => (state = s) } as any, { getHeader: () => "" } as any, {} as any);
    const ws = new FakeWs(state, b);
    b.open!(ws as any);
    return ws;
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { sessions, connect, settle, heartbeats };
}

describe("ServerSessions", () => {
  it("runs heartbeats pipelined behind identify after it, in order, with their stats", async () => {
    const t = setup();
    const ws = t.connect();
    ws.say({ op: "identify", domain: "Chat.Example.com", token: TOKEN, protocol: 1 });
    ws.say({ op: "heartbeat", seq: 1, stats: { user_count: 3 } });
    await t.settle();
    expect(ws.frames.map((f) => f.op)).toEqual(["hello", "ready", "heartbeat_ack"]);
    expect(t.heartbeats).toEqual([
      { domain: "chat.example.com", token: TOKEN, stats: {} },
      { domain: "chat.example.com", token: TOKEN, stats: { user_count: 3 } },
    ]);
  });

  it("closes with 4003 at the identify deadline and 4009 at the heartbeat deadline, from one sweep", async () => {
    const t = setup();
    const lazy = t.connect();
    const quiet = t.connect();
    quiet.say({ op: "identify", domain: "chat.example.com", token: TOKEN, protocol: 1 });
    await t.settle();
    clock += 10_000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(lazy.closed?.code).toBe(4003);
    expect(quiet.closed).toBeNull();
    clock += 80_000;
    await vi.advanceTimersByTimeAsync(1000);
    expect(quiet.closed?.code).toBe(4009);
  });

  it("announces its identified sessions and closes its older one when another node claims the domain", async () => {
    const claims: SessionClaim[] = [];
    const t = setup({ announce: (c) => claims.push(c) });
    const ws = t.connect();
    ws.say({ op: "identify", domain: "chat.example.com", token: TOKEN, protocol: 1 });
    await t.settle();
    expect(claims).toEqual([{ domain: "chat.example.com", sessionId: ws.frames[1].session_id, identifiedMs: clock }]);
    t.sessions.claimedElsewhere({ domain: "chat.example.com", sessionId: "zzz", identifiedMs: clock - 1 });
    expect(ws.closed).toBeNull(); // ours is the newer one
    t.sessions.claimedElsewhere({ domain: "chat.example.com", sessionId: "zzz", identifiedMs: clock + 1 });
    expect(ws.closed?.code).toBe(4010);
    expect(t.sessions.identifiedCount).toBe(0);
  });

  it("refuses new connections with 503 and closes open ones with 1012 on shutdown", async () => {
    const t = setup();
    const ws = t.connect();
    t.sessions.shutdown();
    expect(ws.closed?.code).toBe(1012);
    const res = { status: "", writeStatus(s: string) { this.status = s; return this; }, writeHeader() { return this; }, end() { return this; } };
    t.sessions.behavior().upgrade!(res as any, { getHeader: () => "" } as any, {} as any);
    expect(res.status).toBe("503 Service Unavailable");
  });
});
