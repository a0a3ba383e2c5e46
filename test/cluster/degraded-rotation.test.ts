// Security review M5: a token rotation through a node whose own NATS link is down must not leave the old token
// valid at the shard owner. The cut-off node answers 503 unavailable for token changes (and keeps serving the rest
// from MySQL); through a connected node, or once the link is back, rotation works and the old token dies everywhere.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { spawnRegistrar } from "../support/registrar.js";

const health = (u: string) => api(u).get("/v1/health");

describe("token rotation through a node cut off from NATS", () => {
  const dbUrl = freshDatabaseUrl("degrot");
  let nats: NatsServer;
  let proxy: TcpProxy;
  let cluster: TestCluster;
  let a: string;
  let b: string;

  beforeAll(async () => {
    nats = await startNats();
    proxy = await startTcpProxy({ host: "127.0.0.1", port: nats.port });
    cluster = await startCluster(1, { DATABASE_URL: dbUrl, NATS_URL: nats.url, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    // Node B reaches the same NATS through a proxy that the test can cut.
    const nodeB = await spawnRegistrar({ ...cluster.env, NODE_ID: "node-b", NATS_URL: `nats://127.0.0.1:${proxy.port}` });
    cluster.nodes.push(nodeB);
    [a, b] = cluster.nodes.map((n) => n!.url);
    await waitForShards([a, b]);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stopAll();
    await proxy?.close();
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  async function storedHash(domain: string): Promise<string> {
    const db = await connect(dbUrl);
    try {
      const [rows] = await db.query<any[]>("SELECT HEX(token_hash) AS h FROM servers WHERE domain = ?", [domain]);
      return rows[0].h;
    } finally {
      await db.end();
    }
  }

  it("answers 503 for a rotation on the cut-off node, keeps the old token working everywhere, rotates once the link is back", async () => {
    const s = newServer();
    const reg = await api(a).post("/v1/servers", s);
    expect(reg.status).toBe(201);
    const oldToken: string = reg.body.token;
    await expect.poll(() => api(b).get(`/v1/servers/${s.domain}`).then((r) => r.status)).toBe(200);
    const hashBefore = await storedHash(s.domain);

    await proxy.pause();
    await expect.poll(() => health(b).then((r) => r.body.checks.nats), { timeout: 15_000 }).toBe("down");
    // A, still on NATS, takes over B's shards: it owns the server whichever node did before.
    await waitForShards([a], 256, 30_000);

    const rot = await api(b).post(`/v1/servers/${s.domain}/token`, undefined, { token: oldToken });
    expect(rot.status).toBe(503);
    expect(rot.body.error.code).toBe("unavailable");
    expect(rot.headers.get("retry-after")).toBe("1");
    expect(rot.text).not.toMatch(/"token"/);
    expect(await storedHash(s.domain)).toBe(hashBefore);
    // Nothing changed: the old token is still the token, at the owner and on the cut-off node (served from MySQL).
    expect((await api(a).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: oldToken })).status).toBe(200);
    expect((await api(b).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: oldToken })).status).toBe(200);
    expect((await api(b).put(`/v1/servers/${s.domain}`, { name: "Renamed on the cut-off node" }, { token: oldToken })).status).toBe(200);

    // Through the connected node the rotation works, and the cut-off node (re-reading MySQL) refuses the old token.
    const viaA = await api(a).post(`/v1/servers/${s.domain}/token`, undefined, { token: oldToken });
    expect(viaA.status).toBe(200);
    const midToken: string = viaA.body.token;
    for (const u of [a, b]) {
      expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: oldToken })).status, u).toBe(401);
      expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: midToken })).status, u).toBe(200);
    }

    await proxy.resume();
    await expect.poll(() => health(b).then((r) => r.body.status), { timeout: 20_000 }).toBe("ok");
    await waitForShards([a, b], 256, 30_000);
    const viaB = await api(b).post(`/v1/servers/${s.domain}/token`, undefined, { token: midToken });
    expect(viaB.status).toBe(200);
    const newToken: string = viaB.body.token;
    for (const u of [a, b]) {
      expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: midToken })).status, u).toBe(401);
      expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: newToken })).status, u).toBe(200);
    }
  }, 120_000);
});
