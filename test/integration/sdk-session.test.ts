// The SDK's ServerSession against real nodes: stays online on WS heartbeats alone, fails over on 1012, handles
// token rotation, and stops on the codes retrying cannot fix.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RegistrarClient, ServerSession, SessionClosedError, type SessionStatus } from "../../client/index.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { quietFor } from "../support/wait.js";

const FAST_BACKOFF = { initialMs: 50, maxMs: 200, restartJitterMs: 100 };

function track(session: ServerSession) {
  const statuses: { status: SessionStatus; url: string; code?: number }[] = [];
  session.on("status", (status, info) => statuses.push({ status, url: info.url, code: info.code }));
  const errors: Error[] = [];
  session.on("error", (err) => errors.push(err));
  return { statuses, errors };
}

describe("ServerSession on one node", () => {
  const dbUrl = freshDatabaseUrl("sdksession");
  let reg: InProcessRegistrar;
  let http: RegistrarClient;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "2", RATE_LIMIT_REGISTER: "off" });
    http = new RegistrarClient(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("keeps a server online past OFFLINE_AFTER_S with WebSocket heartbeats alone, at the announced interval", async () => {
    const kept = await http.registerServer(newServer());
    const control = await http.registerServer(newServer());
    let users = 0;
    const session = new ServerSession({ urls: reg.url, domain: kept.server.domain, token: kept.token, stats: () => ({ user_count: ++users }) });
    const acks: number[] = [];
    session.on("heartbeatAck", (seq) => acks.push(seq));
    const ready = new Promise<{ heartbeatIntervalMs: number }>((resolve) => session.on("ready", resolve));
    session.start();
    expect((await ready).heartbeatIntervalMs).toBe(1000);
    const seen = new Set<string>();
    const until = Date.now() + 4500; // more than twice OFFLINE_AFTER_S
    while (Date.now() < until) {
      seen.add((await http.serverHealth(kept.server.domain)).status);
      await quietFor(100);
    }
    expect([...seen]).toEqual(["online"]);
    expect((await http.serverHealth(control.server.domain)).status).toBe("offline");
    expect(acks.length).toBeGreaterThanOrEqual(3);
    expect(acks).toEqual(acks.map((_, i) => i + 1));
    expect((await http.getServer(kept.server.domain)).user_count).toBe(users);
    await session.stop();
    expect(session.status).toBe("stopped");
  });

  it("reconnects with the new token after a rotation and stays online", async () => {
    const reg1 = await http.registerServer(newServer());
    const session = new ServerSession({ urls: reg.url, domain: reg1.server.domain, token: reg1.token, backoff: FAST_BACKOFF });
    const t = track(session);
    const ready = () => new Promise<void>((resolve) => { const off = session.on("ready", () => { off(); resolve(); }); });
    let next = ready();
    session.start();
    await next;
    const rotated = await http.rotateToken(reg1.server.domain, reg1.token);
    next = ready();
    session.setToken(rotated.token);
    await next;
    // A heartbeat acknowledged on the new token.
    await new Promise<void>((resolve) => { const off = session.on("heartbeatAck", () => { off(); resolve(); }); });
    expect(session.status).toBe("online");
    expect(t.errors).toEqual([]);
    await session.stop();
  });

  it("stops with a SessionClosedError(4001) on a wrong token instead of retrying", async () => {
    const r = await http.registerServer(newServer());
    const session = new ServerSession({ urls: reg.url, domain: r.server.domain, token: "f".repeat(64), backoff: FAST_BACKOFF });
    const t = track(session);
    session.start();
    await vi.waitFor(() => expect(t.errors).toHaveLength(1));
    expect(t.errors[0]).toBeInstanceOf(SessionClosedError);
    expect((t.errors[0] as SessionClosedError).code).toBe(4001);
    await vi.waitFor(() => expect(t.statuses.at(-1)?.status).toBe("stopped"));
    await quietFor(400); // absence check: no reconnect after 4001
    expect(t.statuses.map((s) => s.status)).toEqual(["connecting", "identifying", "stopped"]);
  });

  it("stops the older session with 4010 when a newer one identifies for the same domain", async () => {
    const r = await http.registerServer(newServer());
    const older = new ServerSession({ urls: reg.url, domain: r.server.domain, token: r.token, backoff: FAST_BACKOFF });
    const t = track(older);
    older.start();
    await vi.waitFor(() => expect(older.status).toBe("online"));
    const newer = new ServerSession({ urls: reg.url, domain: r.server.domain, token: r.token, backoff: FAST_BACKOFF }).start();
    await vi.waitFor(() => expect(t.errors.map((e) => (e as SessionClosedError).code)).toEqual([4010]));
    expect(older.status).toBe("stopped");
    expect(newer.status).toBe("online");
    await newer.stop();
  });
});

describe("ServerSession across a node shutdown", () => {
  const dbUrl = freshDatabaseUrl("sdkfailover");
  const nodes: InProcessRegistrar[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await dropDatabase(dbUrl);
  });

  it("gets 1012 when its node stops, reconnects to the next URL and stays online there", async () => {
    const env = { DATABASE_URL: dbUrl, OFFLINE_AFTER_S: "3", FLUSH_INTERVAL_MS: "50" };
    const portB = await freePort();
    const a = await startRegistrar(env);
    nodes.push(a);
    const db = a.node.db;
    const urlB = `http://127.0.0.1:${portB}`;
    const reg1 = await new RegistrarClient(a.url).registerServer(newServer());
    const domain = reg1.server.domain;
    const session = new ServerSession({ urls: [a.url, urlB], domain, token: reg1.token, backoff: FAST_BACKOFF });
    const t = track(session);
    session.start();
    await vi.waitFor(() => expect(session.status).toBe("online"));
    // Heartbeats on A reach MySQL through the write-behind (FLUSH_INTERVAL_MS=50): wait until last_seen moved there.
    const registeredSeen = reg1.server.last_seen;
    await vi.waitFor(async () => {
      const [[row]] = (await db.query("SELECT last_seen FROM servers WHERE domain = ?", [domain])) as any;
      expect((row.last_seen as Date).toISOString()).not.toBe(registeredSeen);
    }, { timeout: 5_000, interval: 50 });
    // B starts from what MySQL holds, like a node that was already running would after catching up.
    const b = await startRegistrar({ ...env, PORT: String(portB) });
    nodes.push(b);
    await a.stop();
    await vi.waitFor(() => expect(t.statuses.at(-1)).toMatchObject({ status: "online", url: urlB }), { timeout: 5000 });
    expect(t.statuses.find((s) => s.status === "reconnecting")).toMatchObject({ code: 1012, url: urlB });
    const httpB = new RegistrarClient(urlB);
    const seen = new Set<string>();
    const until = Date.now() + 6500; // more than twice OFFLINE_AFTER_S on B
    while (Date.now() < until) {
      seen.add((await httpB.serverHealth(domain)).status);
      await quietFor(150);
    }
    expect([...seen]).toEqual(["online"]);
    expect(t.errors).toEqual([]);
    await session.stop();
  }, 30_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}
