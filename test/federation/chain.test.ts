// Issue 5: A–B and B–C peered, A and C not: records reach the far end through B with their origin, without loops
// and without echoing anyone's own records back.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { api, newServer } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { listing, metric, natsClient, rootDigest, startPeers, type TestPeer } from "../support/federation.js";
import { quietFor } from "../support/wait.js";

const A = "reg.a.chain";
const B = "reg.b.chain";
const C = "reg.c.chain";

describe("three registrars in a chain A–B–C", () => {
  let nats: NatsServer;
  let a: TestPeer;
  let b: TestPeer;
  let c: TestPeer;

  beforeAll(async () => {
    nats = await startNats();
    [a, b, c] = await startPeers([
      { id: A, peers: [B], natsUrl: nats.url },
      { id: B, peers: [A, C], natsUrl: nats.url },
      { id: C, peers: [B], natsUrl: nats.url },
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop(), c?.drop()]);
    await nats?.cleanup();
  });

  it("carries A's records to C and C's to A through B, keeping their origin, within 1 s per link", async () => {
    const fromA = newServer();
    const fromC = newServer();
    const regA = await api(a.url).post("/v1/servers", fromA);
    const regC = await api(c.url).post("/v1/servers", fromC);
    expect(regA.status).toBe(201);
    expect(regC.status).toBe(201);
    await vi.waitFor(async () => {
      expect((await api(c.url).get(`/v1/servers/${fromA.domain}`)).body.server?.origin).toBe(A);
      expect((await api(a.url).get(`/v1/servers/${fromC.domain}`)).body.server?.origin).toBe(C);
      expect((await api(b.url).get(`/v1/servers/${fromA.domain}`)).body.server?.origin).toBe(A);
    }, { timeout: 2000, interval: 10 });

    // Updates and removals travel the same way; the relayed copy at C stays read-only.
    expect((await api(a.url).put(`/v1/servers/${fromA.domain}`, { name: "Relayed rename" }, { token: regA.body.token })).status).toBe(200);
    await vi.waitFor(async () => expect((await api(c.url).get(`/v1/servers/${fromA.domain}`)).body.server.name).toBe("Relayed rename"), { timeout: 2000, interval: 10 });
    expect((await api(c.url).put(`/v1/servers/${fromA.domain}`, { name: "x" }, { token: regA.body.token })).status).toBe(403);
    expect((await api(c.url).del(`/v1/servers/${fromC.domain}`, { token: regC.body.token })).status).toBe(204);
    await vi.waitFor(async () => expect((await api(a.url).get(`/v1/servers/${fromC.domain}`)).status).toBe(404), { timeout: 2000, interval: 10 });
  });

  it("applies each change once everywhere: no loops, no echoes, and the same directory and digest on all three", async () => {
    const before = await Promise.all([a, b, c].map((p) => metric(p.url, "registrar_fed_changes_applied_total")));
    const servers = Array.from({ length: 10 }, () => newServer());
    for (const [i, srv] of servers.entries()) expect((await api([a, c][i % 2].url).post("/v1/servers", srv)).status).toBe(201);
    await vi.waitFor(async () => {
      for (const p of [a, b, c]) {
        const listed = await listing(p.url);
        for (const srv of servers) expect(listed.has(srv.domain)).toBe(true);
      }
    }, { timeout: 3000, interval: 20 });
    // Let any loop show itself before counting.
    await quietFor(1500);
    const after = await Promise.all([a, b, c].map((p) => metric(p.url, "registrar_fed_changes_applied_total")));
    // B mirrors all 10, A the 5 from C, C the 5 from A: each exactly once.
    expect(after.map((n, i) => n - before[i])).toEqual([5, 10, 5]);
    for (const p of [a, b, c]) {
      expect(await metric(p.url, "registrar_fed_ignored_total", { reason: "own_origin" })).toBe(0);
      expect(await metric(p.url, "registrar_fed_dropped_total")).toBe(0);
    }
    const [la, lb, lc] = await Promise.all([a, b, c].map((p) => listing(p.url)));
    expect(la).toEqual(lb);
    expect(lb).toEqual(lc);
    const nc = await natsClient(nats.url);
    try {
      await vi.waitFor(async () => {
        const roots = await Promise.all([A, B, C].map((id) => rootDigest(nc, id)));
        expect(new Set(roots).size).toBe(1);
      }, { timeout: 5000, interval: 100 });
    } finally {
      await nc.close();
    }
  });

  it("lets a registrar that joins late catch up on A's records through B by anti-entropy", async () => {
    const srv = newServer();
    expect((await api(a.url).post("/v1/servers", srv)).status).toBe(201);
    await c.stop();
    const missed = newServer();
    expect((await api(a.url).post("/v1/servers", missed)).status).toBe(201);
    await vi.waitFor(async () => expect((await api(b.url).get(`/v1/servers/${missed.domain}`)).status).toBe(200), { timeout: 2000, interval: 10 });
    await c.start();
    await vi.waitFor(async () => expect((await api(c.url).get(`/v1/servers/${missed.domain}`)).body.server?.origin).toBe(A), { timeout: 5000, interval: 20 });
  });
});
