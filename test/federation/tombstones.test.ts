// Issue 5: removals propagate as tombstones, so a peer that was away (or an old message replayed) cannot bring a
// removed server back.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { metric, natsClient, publishJson, rootDigest, startPeers, type TestPeer } from "../support/federation.js";
import { quietFor } from "../support/wait.js";

const A = "reg.a.tomb";
const B = "reg.b.tomb";
const C = "reg.c.tomb";

describe("three meshed registrars and a removed server", () => {
  let nats: NatsServer;
  let a: TestPeer;
  let b: TestPeer;
  let c: TestPeer;

  beforeAll(async () => {
    nats = await startNats();
    [a, b, c] = await startPeers([
      { id: A, peers: [B, C], natsUrl: nats.url },
      { id: B, peers: [A, C], natsUrl: nats.url },
      { id: C, peers: [A, B], natsUrl: nats.url },
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop(), c?.drop()]);
    await nats?.cleanup();
  });

  it("does not come back from a peer that still had it when it returns", async () => {
    const x = newServer();
    const reg = await api(a.url).post("/v1/servers", x);
    for (const p of [b, c]) await vi.waitFor(async () => expect((await api(p.url).get(`/v1/servers/${x.domain}`)).status).toBe(200), { timeout: 2000, interval: 10 });

    // SIGTERM: after a SIGKILL the cluster layer can fail to retake its shard leases (see docs/federation.md, "Known issues").
    await b.stop();
    expect((await api(a.url).del(`/v1/servers/${x.domain}`, { token: reg.body.token })).status).toBe(204);
    await vi.waitFor(async () => expect((await api(c.url).get(`/v1/servers/${x.domain}`)).status).toBe(404), { timeout: 2000, interval: 10 });

    // B returns with the live copy in its MySQL; it offers it in anti-entropy, and learns of the removal there.
    await b.start();
    await vi.waitFor(async () => expect((await api(b.url).get(`/v1/servers/${x.domain}`)).status).toBe(404), { timeout: 5000, interval: 20 });
    for (let i = 0; i < 10; i++) {
      for (const p of [a, b, c]) expect((await api(p.url).get(`/v1/servers/${x.domain}`)).status).toBe(404);
      await quietFor(150);
    }
    const db = await connect(c.dbUrl);
    const [rows] = await db.query<any[]>("SELECT deleted, record FROM mirrored_servers WHERE domain = ?", [x.domain]);
    await db.end();
    expect(rows).toEqual([{ deleted: 1, record: null }]);
    const nc = await natsClient(nats.url);
    try {
      await vi.waitFor(async () => expect(new Set(await Promise.all([A, B, C].map((id) => rootDigest(nc, id)))).size).toBe(1), { timeout: 5000, interval: 100 });
    } finally {
      await nc.close();
    }
  });

  it("ignores a replayed older change of a removed server", async () => {
    const y = newServer();
    const reg = await api(a.url).post("/v1/servers", y);
    await vi.waitFor(async () => expect((await api(c.url).get(`/v1/servers/${y.domain}`)).status).toBe(200), { timeout: 2000, interval: 10 });
    const old = (await api(c.url).get(`/v1/servers/${y.domain}`)).body.server;
    expect((await api(a.url).del(`/v1/servers/${y.domain}`, { token: reg.body.token })).status).toBe(204);
    for (const p of [b, c]) await vi.waitFor(async () => expect((await api(p.url).get(`/v1/servers/${y.domain}`)).status).toBe(404), { timeout: 2000, interval: 10 });

    const staleBefore = await metric(c.url, "registrar_fed_changes_stale_total");
    // A recording of A's registration message, played again on A's own subject (version 1 is older than anything).
    const nc = await natsClient(nats.url);
    publishJson(nc, `zent.fed.${A.replaceAll(".", "_")}.changes`, {
      v: 1, from: A, pub: "replay", n: 1,
      changes: [{ domain: y.domain, origin: A, version: 1, at: old.created_at, deleted: false, server: old }],
    });
    await nc.flush();
    await nc.close();
    await vi.waitFor(async () => expect(await metric(c.url, "registrar_fed_changes_stale_total")).toBeGreaterThan(staleBefore), { timeout: 2000, interval: 20 });
    for (const p of [b, c]) expect((await api(p.url).get(`/v1/servers/${y.domain}`)).status).toBe(404);
  });
});
