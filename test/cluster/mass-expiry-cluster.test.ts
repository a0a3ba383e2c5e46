// Mass-expiry protection in cluster mode (contract §10): each node applies the rule to the servers of the shards
// it owns. When most servers go silent at once, every node holds; when they heartbeat again (through any node),
// every node releases and the held servers never went offline.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { startNats, type NatsServer } from "../support/nats-server.js";

describe("mass expiry in a 2-node cluster", () => {
  const dbUrl = freshDatabaseUrl("mexcluster");
  let nats: NatsServer;
  let cluster: TestCluster;
  const servers: { domain: string; token: string }[] = [];
  const alive = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let beats: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    nats = await startNats();
    cluster = await startCluster(2, {
      DATABASE_URL: dbUrl, NATS_URL: nats.url, OFFLINE_AFTER_S: "2", RATE_LIMIT_REGISTER: "off",
      MASS_EXPIRY_RATIO: "0.2", MASS_EXPIRY_MIN: "3", MASS_EXPIRY_HOLD_S: "60",
    });
    const urls = cluster.nodes.map((n) => n!.url);
    await waitForShards(urls);
    // The servers' heartbeat loops, alternating between the nodes, from their registration on.
    let k = 0;
    timer = setInterval(() => {
      beats = Promise.all(servers.filter((s) => alive.has(s.domain)).map((s) => api(urls[k++ % 2]).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: s.token })));
    }, 250);
    for (let i = 0; i < 30; i++) {
      const body = newServer();
      const r = await api(urls[i % 2]).post("/v1/servers", body);
      expect(r.status).toBe(201);
      servers.push({ domain: body.domain, token: r.body.token });
      alive.add(body.domain);
    }
  }, 90_000);

  afterAll(async () => {
    if (timer) clearInterval(timer);
    await beats.catch(() => undefined);
    await cluster?.stopAll();
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  const expiry = (url: string) => api(url).get("/v1/health").then((r) => r.body.expiry as string);
  const offline = async () => {
    const out: string[] = [];
    for (const s of servers) if ((await api(cluster.nodes[0]!.url).get(`/v1/servers/${s.domain}/health`)).body.status === "offline") out.push(s.domain);
    return out;
  };

  it("holds on every node when most servers go silent at once and releases on every node when they heartbeat again", async () => {
    const urls = cluster.nodes.map((n) => n!.url);
    expect(await offline()).toEqual([]);
    const silent = servers.slice(0, 24).map((s) => s.domain);
    for (const d of silent) alive.delete(d);
    await vi.waitFor(async () => expect(await Promise.all(urls.map(expiry))).toEqual(["held", "held"]), { timeout: 8_000, interval: 100 });
    // Per node, those before its threshold went offline: at most 20 % of its servers (or MASS_EXPIRY_MIN - 1), so
    // at most 20 % of all 30 plus one per node; the other silent ones are held.
    const flapped = await offline();
    expect(flapped.length).toBeLessThanOrEqual(30 * 0.2 + 2);
    expect(flapped.length).toBeLessThan(silent.length / 2);
    for (const d of silent) alive.add(d);
    await vi.waitFor(async () => expect(await Promise.all(urls.map(expiry))).toEqual(["normal", "normal"]), { timeout: 8_000, interval: 100 });
    await vi.waitFor(async () => expect(await offline()).toEqual([]), { timeout: 5_000, interval: 100 });
    for (const url of urls) {
      expect((await api(url).get("/metrics")).text).toMatch(/^registrar_mass_expiry_releases_total\{reason="heartbeats"\} 1$/m);
    }
  });
});
