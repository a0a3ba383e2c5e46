// Issue 5: partitions. Two operators' NATS servers linked as hub and leaf node through a proxy; the link (or a
// registrar) goes away, both sides change things, and after the link returns both converge by anti-entropy.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { listing, metric, natsClient, rootDigest, startLinkedNats, startPeers, waitForLink, type LinkedNats, type TestPeer } from "../support/federation.js";
import { publish } from "../support/trust.js";
import { DocumentServer } from "../support/zent-docs.js";
import { letTimePass, quietFor } from "../support/wait.js";

const A = "reg.a.part";
const B = "reg.b.part";
/** Stated bound (docs/federation.md): the link's reconnect (1 s) plus one anti-entropy period (1 s here) and the repair. */
const CONVERGE_MS = 10_000;

describe("two registrars on linked NATS deployments", () => {
  let net: LinkedNats;
  let a: TestPeer;
  let b: TestPeer;
  let docs: DocumentServer;

  beforeAll(async () => {
    net = await startLinkedNats();
    docs = await DocumentServer.start();
    await waitForLink(net.hub.url, net.leaf.url);
    const trust = { WELL_KNOWN_URL: docs.urlTemplate, ALLOW_PRIVATE_FETCH: "true" };
    [a, b] = await startPeers([
      { id: A, peers: [B], natsUrl: net.hub.url, env: trust },
      { id: B, peers: [A], natsUrl: net.leaf.url, env: trust },
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
    await net?.cleanup();
    await docs?.close();
  });

  /** Both list the same records and serve the same root digest. */
  async function converged(timeoutMs = CONVERGE_MS): Promise<number> {
    const started = Date.now();
    const [na, nb] = await Promise.all([natsClient(net.hub.url), natsClient(net.leaf.url)]);
    try {
      await vi.waitFor(async () => {
        const [la, lb] = await Promise.all([listing(a.url), listing(b.url)]);
        expect(la).toEqual(lb);
        expect(await rootDigest(na, A)).toBe(await rootDigest(nb, B));
      }, { timeout: timeoutMs, interval: 100 });
    } finally {
      await Promise.all([na.close(), nb.close()]);
    }
    return Date.now() - started;
  }

  it("converges after the NATS link was down while both sides registered, updated, rated and removed servers", async () => {
    const x = newServer();
    const z = newServer();
    const y = newServer();
    const regX = await api(a.url).post("/v1/servers", x);
    const regZ = await api(a.url).post("/v1/servers", z);
    const regY = await api(b.url).post("/v1/servers", y);
    await converged(3000);

    await net.link.pause();
    const p1 = newServer();
    const q1 = newServer();
    expect((await api(a.url).post("/v1/servers", p1)).status).toBe(201);
    expect((await api(a.url).put(`/v1/servers/${x.domain}`, { name: "Changed while cut off" }, { token: regX.body.token })).status).toBe(200);
    expect((await api(a.url).post(`/v1/servers/${x.domain}/rate`, { user_id: "u", rating: 4 })).status).toBe(201);
    expect((await api(a.url).del(`/v1/servers/${z.domain}`, { token: regZ.body.token })).status).toBe(204);
    expect((await api(b.url).post("/v1/servers", q1)).status).toBe(201);
    expect((await api(b.url).put(`/v1/servers/${y.domain}`, { description: "B side" }, { token: regY.body.token })).status).toBe(200);
    await quietFor(1500);
    // The link really is down: nothing crossed.
    expect((await api(b.url).get(`/v1/servers/${p1.domain}`)).status).toBe(404);
    expect((await api(a.url).get(`/v1/servers/${q1.domain}`)).status).toBe(404);
    expect((await api(b.url).get(`/v1/servers/${z.domain}`)).status).toBe(200);

    await net.link.resume();
    const took = await converged();
    const lb = await listing(b.url);
    expect(lb.get(p1.domain)?.origin).toBe(A);
    expect(lb.get(x.domain)).toMatchObject({ name: "Changed while cut off", rating: { average: 4, count: 1 } });
    expect(lb.has(z.domain)).toBe(false);
    expect((await listing(a.url)).get(y.domain)).toBeDefined();
    expect(took).toBeLessThan(CONVERGE_MS);
    expect(await metric(b.url, "registrar_fed_sync_rounds_total", { result: "repaired" })).toBeGreaterThan(0);
  });

  it("converges after the peer registrar itself was down", async () => {
    // SIGTERM: after a SIGKILL the cluster layer can fail to retake its shard leases (see docs/federation.md, "Known issues").
    await b.stop();
    const p2 = newServer();
    expect((await api(a.url).post("/v1/servers", p2)).status).toBe(201);
    await b.start();
    await converged();
    expect((await listing(b.url)).get(p2.domain)?.origin).toBe(A);
  });

  // Contract §8.6 (issue 9) changed this: between two unverified records each registrar lists its own (neither a
  // peer's created_at nor its origin id can take a domain away); the record whose document proves it wins everywhere.
  it("keeps each side's own record for a domain registered on both sides during a partition, until one proves the domain", async () => {
    await net.link.pause();
    const srv = newServer();
    const atB = await api(b.url).post("/v1/servers", srv);
    await letTimePass(20); // the two records' created_at differ
    const atA = await api(a.url).post("/v1/servers", { ...srv, name: "A's copy" });
    expect(atB.status).toBe(201);
    expect(atA.status).toBe(201);
    await net.link.resume();
    const [na, nb] = await Promise.all([natsClient(net.hub.url), natsClient(net.leaf.url)]);
    try {
      await vi.waitFor(async () => expect(await rootDigest(na, A)).toBe(await rootDigest(nb, B)), { timeout: CONVERGE_MS, interval: 100 });
    } finally {
      await Promise.all([na.close(), nb.close()]);
    }
    for (const [p, own, ownName] of [[a, A, "A's copy"], [b, B, srv.name]] as const) {
      await vi.waitFor(async () => expect(await metric(p.url, "registrar_fed_conflict_losers")).toBe(1), { timeout: CONVERGE_MS, interval: 50 });
      expect((await api(p.url).get(`/v1/servers/${srv.domain}`)).body.server).toMatchObject({ origin: own, name: ownName });
      expect((await api(p.url).get(`/v1/servers?q=${srv.domain}`)).body.total).toBe(1);
      const db = await connect(p.dbUrl);
      const [rows] = await db.query<any[]>("SELECT action, detail FROM audit_log WHERE action = 'federation.conflict' AND domain = ?", [srv.domain]);
      await db.end();
      expect(rows).toHaveLength(1);
      expect(JSON.parse(rows[0].detail)).toMatchObject({ winner: own, losers: [own === A ? B : A] });
    }
    // Each owner keeps acting on its own record at its own registrar.
    expect((await api(a.url).put(`/v1/servers/${srv.domain}`, { name: "A's copy" }, { token: atA.body.token })).status).toBe(200);

    // B's owner proves the domain: B's record wins at A too (verified here, A's is not), and A's owner is locked out.
    const ch = (await api(b.url).post(`/v1/servers/${srv.domain}/verification`, undefined, { token: atB.body.token })).body.challenge;
    await publish(docs, srv.domain, { [B]: ch });
    expect((await api(b.url).post(`/v1/servers/${srv.domain}/verification/check`, undefined, { token: atB.body.token })).status).toBe(200);
    await converged();
    for (const p of [a, b]) expect((await api(p.url).get(`/v1/servers/${srv.domain}`)).body.server).toMatchObject({ origin: B, name: srv.name, verified: true });
    expect((await api(a.url).put(`/v1/servers/${srv.domain}`, { name: "x" }, { token: atA.body.token })).status).toBe(403);

    // The winner goes away at its origin: A's own record is listed again, everywhere.
    expect((await api(b.url).del(`/v1/servers/${srv.domain}`, { token: atB.body.token })).status).toBe(204);
    for (const p of [a, b]) {
      await vi.waitFor(async () => expect((await api(p.url).get(`/v1/servers/${srv.domain}`)).body.server).toMatchObject({ origin: A, name: "A's copy" }), {
        timeout: 2000, interval: 20,
      });
      expect(await metric(p.url, "registrar_fed_conflict_losers")).toBe(0);
    }
    expect((await api(a.url).put(`/v1/servers/${srv.domain}`, { name: "A's again" }, { token: atA.body.token })).status).toBe(200);
    await vi.waitFor(async () => expect((await api(b.url).get(`/v1/servers/${srv.domain}`)).body.server.name).toBe("A's again"), { timeout: 1000, interval: 10 });
  });
});
