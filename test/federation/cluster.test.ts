// Issue 5 with a registrar that is itself a cluster: one node publishes (the owner of shard 0), every node lists
// and protects mirrored records, changes made on any node are published, and the publisher role moves on shutdown.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waitForShards } from "../support/cluster.js";
import { api, newServer } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { metric, startPeer, startPeerCluster, type TestPeer, type TestPeerCluster } from "../support/federation.js";

const A = "reg.a.clu";
const B = "reg.b.clu";

describe("a two-node registrar cluster peered with a one-node registrar", () => {
  let nats: NatsServer;
  let a: TestPeerCluster;
  let b: TestPeer;
  const urls = () => a.nodes.filter((n) => n !== null).map((n) => n!.url);
  const publishers = async () => (await Promise.all(urls().map((u) => metric(u, "registrar_fed_publisher")))).reduce((x, y) => x + y, 0);

  beforeAll(async () => {
    nats = await startNats();
    a = await startPeerCluster({ id: A, peers: [B], natsUrl: nats.url }, 2);
    b = await startPeer({ id: B, peers: [A], natsUrl: nats.url });
    await waitForShards(urls());
    await vi.waitFor(async () => expect(await publishers()).toBe(1), { timeout: 10_000, interval: 100 });
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
    await nats?.cleanup();
  });

  it("has exactly one publisher, lists B's records on every node, and refuses writes to them on every node", async () => {
    expect(await publishers()).toBe(1);
    const x = newServer();
    const reg = await api(b.url).post("/v1/servers", x);
    for (const u of urls()) {
      await vi.waitFor(async () => expect((await api(u).get(`/v1/servers/${x.domain}`)).body.server?.origin).toBe(B), { timeout: 2000, interval: 10 });
    }
    for (const u of urls()) {
      expect((await api(u).put(`/v1/servers/${x.domain}`, { name: "x" }, { token: reg.body.token })).status).toBe(403);
      expect((await api(u).post(`/v1/servers/${x.domain}/heartbeat`, {}, { token: reg.body.token })).status).toBe(403);
      expect((await api(u).post("/v1/servers", x)).status).toBe(409);
    }
    expect((await api(b.url).put(`/v1/servers/${x.domain}`, { name: "Renamed at B" }, { token: reg.body.token })).status).toBe(200);
    for (const u of urls()) {
      await vi.waitFor(async () => expect((await api(u).get(`/v1/servers/${x.domain}`)).body.server.name).toBe("Renamed at B"), { timeout: 2000, interval: 10 });
    }
  });

  it("publishes changes made on either node", async () => {
    const [u0, u1] = urls();
    const y = newServer();
    const z = newServer();
    expect((await api(u0).post("/v1/servers", y)).status).toBe(201);
    expect((await api(u1).post("/v1/servers", z)).status).toBe(201);
    for (const srv of [y, z]) {
      await vi.waitFor(async () => expect((await api(b.url).get(`/v1/servers/${srv.domain}`)).body.server?.origin).toBe(A), { timeout: 2000, interval: 10 });
    }
  });

  it("moves the publisher role when the publishing node shuts down, and keeps mirroring both ways", async () => {
    const flags = await Promise.all(urls().map((u) => metric(u, "registrar_fed_publisher")));
    const i = flags.indexOf(1);
    await a.nodes[i]!.kill("SIGTERM");
    a.nodes[i] = null;
    const [rest] = urls();
    await vi.waitFor(async () => expect(await metric(rest, "registrar_fed_publisher")).toBe(1), { timeout: 15_000, interval: 100 });
    const w = newServer();
    const v = newServer();
    expect((await api(b.url).post("/v1/servers", w)).status).toBe(201);
    expect((await api(rest).post("/v1/servers", v)).status).toBe(201);
    await vi.waitFor(async () => {
      expect((await api(rest).get(`/v1/servers/${w.domain}`)).body.server?.origin).toBe(B);
      expect((await api(b.url).get(`/v1/servers/${v.domain}`)).body.server?.origin).toBe(A);
    }, { timeout: 3000, interval: 20 });
  });
});
