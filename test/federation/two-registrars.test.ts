// Issue 5: two peered registrars mirror each other's records within 1 s, and mirrored records are read-only.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TestSocket } from "../support/ws-test-client.js";
import { connect } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { metric, natsClient, rootDigest, startPeers, type TestPeer } from "../support/federation.js";

const A = "reg.a.test";
const B = "reg.b.test";

/** Waits for `check` to pass and returns how long it took; fails past 1 s (contract §6: within 1 s per link). */
async function within1s(check: () => Promise<void>): Promise<number> {
  const started = Date.now();
  await vi.waitFor(check, { timeout: 1000, interval: 10 });
  return Date.now() - started;
}

describe("two peered registrars", () => {
  let nats: NatsServer;
  let a: TestPeer;
  let b: TestPeer;

  beforeAll(async () => {
    nats = await startNats();
    [a, b] = await startPeers([
      { id: A, peers: [B], natsUrl: nats.url, env: { OFFLINE_AFTER_S: "2" } },
      { id: B, peers: [A], natsUrl: nats.url },
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
    await nats?.cleanup();
  });

  it("mirrors a registration, update, rating, status change and removal at A to B within 1 s each", async () => {
    const srv = newServer();
    const reg = await api(a.url).post("/v1/servers", srv);
    expect(reg.status).toBe(201);
    const token = reg.body.token;
    const atB = () => api(b.url).get(`/v1/servers/${srv.domain}`);

    await within1s(async () => {
      const r = await atB();
      expect(r.status).toBe(200);
      expect(r.body.server).toEqual({ ...reg.body.server });
    });

    expect((await api(a.url).put(`/v1/servers/${srv.domain}`, { name: "Renamed at A", description: "new" }, { token })).status).toBe(200);
    await within1s(async () => expect((await atB()).body.server).toMatchObject({ name: "Renamed at A", description: "new", origin: A }));

    expect((await api(a.url).post(`/v1/servers/${srv.domain}/rate`, { user_id: "u1", rating: 5 })).status).toBe(201);
    expect((await api(a.url).post(`/v1/servers/${srv.domain}/rate`, { user_id: "u2", rating: 2 })).status).toBe(201);
    // Contract §8.4: the mirrored summary carries the stars and the verified count as the origin shows them.
    await within1s(async () => expect((await atB()).body.server.rating).toEqual({ average: 3.5, count: 2, distribution: [0, 1, 0, 0, 1], verified_count: 0 }));

    // OFFLINE_AFTER_S=2 at A: the server turns offline there by its timer, and B follows within 1 s.
    await vi.waitFor(async () => expect((await api(a.url).get(`/v1/servers/${srv.domain}`)).body.server.status).toBe("offline"), { timeout: 5000, interval: 10 });
    await within1s(async () => expect((await atB()).body.server.status).toBe("offline"));
    expect((await api(a.url).post(`/v1/servers/${srv.domain}/heartbeat`, { user_count: 7 }, { token })).status).toBe(200);
    await within1s(async () => expect((await atB()).body.server.status).toBe("online"));

    expect((await api(a.url).del(`/v1/servers/${srv.domain}`, { token })).status).toBe(204);
    await within1s(async () => expect((await atB()).status).toBe(404));
  });

  it("answers 403 not_owner to every write on a mirrored record at B, 409 to registering it, and changes nothing", async () => {
    const srv = newServer();
    const reg = await api(a.url).post("/v1/servers", srv);
    const token = reg.body.token;
    await vi.waitFor(async () => expect((await api(b.url).get(`/v1/servers/${srv.domain}`)).status).toBe(200), { timeout: 1000, interval: 10 });
    const before = (await api(b.url).get(`/v1/servers/${srv.domain}`)).body;

    const writes = [
      () => api(b.url).put(`/v1/servers/${srv.domain}`, { name: "Hijacked" }, { token }),
      () => api(b.url).del(`/v1/servers/${srv.domain}`, { token }),
      () => api(b.url).post(`/v1/servers/${srv.domain}/heartbeat`, { user_count: 1 }, { token }),
      () => api(b.url).post(`/v1/servers/${srv.domain}/token`, undefined, { token }),
      () => api(b.url).post(`/v1/servers/${srv.domain}/rate`, { user_id: "x", rating: 1 }),
      // Whatever token is sent (contract §6).
      () => api(b.url).put(`/v1/servers/${srv.domain}`, { name: "Hijacked" }, { token: "0".repeat(64) }),
      // None included (contract §8.6; it was a 401 before issue 9).
      () => api(b.url).put(`/v1/servers/${srv.domain}`, { name: "Hijacked" }),
      () => api(b.url).del(`/v1/servers/${srv.domain}`),
      () => api(b.url).post(`/v1/servers/${srv.domain}/heartbeat`),
      () => api(b.url).post(`/v1/servers/${srv.domain}/token`),
      () => api(b.url).post(`/v1/servers/${srv.domain}/verification`),
      () => api(b.url).post(`/v1/servers/${srv.domain}/recovery`),
    ];
    for (const write of writes) {
      const r = await write();
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("not_owner");
    }
    const dup = await api(b.url).post("/v1/servers", srv);
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("domain_taken");

    // A WebSocket session cannot identify as a mirrored server either.
    const ws = await TestSocket.open(b.url, "/v1/ws/server");
    await ws.op("hello");
    ws.send({ op: "identify", domain: srv.domain, token, protocol: 1 });
    expect((await ws.closed).code).toBe(4001);

    expect((await api(b.url).get(`/v1/servers/${srv.domain}`)).body).toEqual(before);
    expect((await api(a.url).get(`/v1/servers/${srv.domain}`)).body.server.name).toBe(srv.name);
    // The token still works at its own registrar.
    expect((await api(a.url).post(`/v1/servers/${srv.domain}/heartbeat`, {}, { token })).status).toBe(200);
  });

  it("lists mirrored records with their origin, filters by origin, and puts their changes in the feed", async () => {
    const fromA = newServer();
    const fromB = newServer();
    expect((await api(a.url).post("/v1/servers", fromA)).status).toBe(201);
    expect((await api(b.url).post("/v1/servers", fromB)).status).toBe(201);
    for (const peer of [a, b]) {
      await vi.waitFor(async () => {
        const all = (await api(peer.url).get("/v1/servers?limit=100")).body.servers.map((s: any) => [s.domain, s.origin]);
        expect(all).toContainEqual([fromA.domain, A]);
        expect(all).toContainEqual([fromB.domain, B]);
      }, { timeout: 1000, interval: 10 });
    }
    const local = (await api(b.url).get("/v1/servers?origin=local&limit=100")).body.servers;
    expect(local.every((s: any) => s.origin === B)).toBe(true);
    expect(local.map((s: any) => s.domain)).toContain(fromB.domain);
    const mirrored = (await api(b.url).get(`/v1/servers?origin=${A}&limit=100`)).body;
    expect(mirrored.servers.every((s: any) => s.origin === A)).toBe(true);
    expect(mirrored.servers.map((s: any) => s.domain)).toContain(fromA.domain);

    const feed = await TestSocket.open(b.url, "/v1/feed");
    await feed.op("hello");
    feed.send({ op: "subscribe", after_seq: 0, domains: [fromA.domain] });
    const ev = await feed.next((m) => m.op === "event" && m.type === "server.registered");
    expect(ev).toMatchObject({ domain: fromA.domain, data: { origin: A, domain: fromA.domain } });
    feed.ws.close();

    // The mirrored row is durable at B, with its origin and the peer it came from.
    const db = await connect(b.dbUrl);
    const [rows] = await db.query<any[]>("SELECT origin, via, deleted FROM mirrored_servers WHERE domain = ?", [fromA.domain]);
    await db.end();
    expect(rows).toEqual([{ origin: A, via: A, deleted: 0 }]);
  });

  it("keeps mirrored records across a restart of B, and both registrars end with matching digests", async () => {
    const srv = newServer();
    expect((await api(a.url).post("/v1/servers", srv)).status).toBe(201);
    await vi.waitFor(async () => expect((await api(b.url).get(`/v1/servers/${srv.domain}`)).status).toBe(200), { timeout: 1000, interval: 10 });
    await b.stop();
    await b.start();
    // Served from MySQL at start-up, before any peer message.
    expect((await api(b.url).get(`/v1/servers/${srv.domain}`)).body.server.origin).toBe(A);
    const nc = await natsClient(nats.url);
    try {
      await vi.waitFor(async () => expect(await rootDigest(nc, B)).toBe(await rootDigest(nc, A)), { timeout: 5000, interval: 100 });
    } finally {
      await nc.close();
    }
    expect(await metric(b.url, "registrar_fed_dropped_total")).toBe(0);
    expect(await metric(a.url, "registrar_fed_dropped_total")).toBe(0);
  });
});
