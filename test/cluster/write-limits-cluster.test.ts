// Contract §10 in a cluster: a domain's write budget holds for the sum over all nodes, and requests refused on one
// node (a wrong token) spend nothing anywhere: only successful writes are reported to the other nodes, and what a
// node counted in one event-loop turn goes out as one message.
import { connect as natsConnect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { startNats, type NatsServer } from "../support/nats-server.js";

const WRITES = 4;
const WINDOW_S = 3600;

describe("per-domain write limits across a cluster", () => {
  const dbUrl = freshDatabaseUrl("clwritelim");
  let nats: NatsServer;
  let cluster: TestCluster;
  let a: ReturnType<typeof api>;
  let b: ReturnType<typeof api>;

  beforeAll(async () => {
    // Hour-long windows: start well inside one so no count straddles a boundary.
    const left = WINDOW_S * 1000 - (Date.now() % (WINDOW_S * 1000));
    if (left < 30_000) await vi.waitFor(() => expect(Date.now() % (WINDOW_S * 1000)).toBeLessThan(60_000), { timeout: 40_000, interval: 200 });
    nats = await startNats();
    cluster = await startCluster(2, { DATABASE_URL: dbUrl, NATS_URL: nats.url, RATE_LIMIT_WRITE: `${WRITES}/${WINDOW_S}`, RATE_LIMIT_REGISTER: "off" });
    const urls = cluster.nodes.map((n) => n!.url);
    await waitForShards(urls);
    [a, b] = urls.map((u) => api(u));
  }, 90_000);
  afterAll(async () => {
    await cluster?.stopAll();
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  async function register() {
    const s = newServer();
    const res = await a.post("/v1/servers", s);
    expect(res.status).toBe(201);
    return { domain: s.domain, token: res.body.token as string };
  }

  /**
   * Waits until `node` refuses the domain's writes. The probe is an invalid body with the right token: while the node
   * still has room it answers 400 and gives its place back, so probing spends nothing.
   */
  async function untilRefusedOn(node: ReturnType<typeof api>, domain: string, token: string) {
    await vi.waitFor(async () => {
      expect((await node.put(`/v1/servers/${domain}`, { not_a_field: true }, { token })).status).toBe(429);
    }, { timeout: 10_000, interval: 20 });
  }

  it("holds a domain's RATE_LIMIT_WRITE for the sum of its writes on all nodes", async () => {
    const { domain, token } = await register();
    for (let i = 0; i < WRITES; i++) {
      expect((await (i % 2 ? b : a).put(`/v1/servers/${domain}`, { description: `w${i}` }, { token })).status).toBe(200);
    }
    await untilRefusedOn(a, domain, token);
    await untilRefusedOn(b, domain, token);
    const over = await b.put(`/v1/servers/${domain}`, { description: "over" }, { token });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe("rate_limited");
    expect((await a.get(`/v1/servers/${domain}`)).body.server.description).toBe(`w${WRITES - 1}`);
  });

  it("does not let requests refused on one node spend the domain's budget on another", async () => {
    const victim = await register();
    for (let i = 0; i < WRITES * 5; i++) {
      expect((await a.put(`/v1/servers/${victim.domain}`, { description: "hijack" }, { token: "0".repeat(64) })).status).toBe(401);
    }
    // A marker after the flood: once node B refuses the marker domain, every report node A sent before it has arrived
    // (one publisher's messages keep their order).
    const marker = await register();
    for (let i = 0; i < WRITES; i++) expect((await a.put(`/v1/servers/${marker.domain}`, { description: `m${i}` }, { token: marker.token })).status).toBe(200);
    await untilRefusedOn(b, marker.domain, marker.token);
    for (let i = 0; i < WRITES; i++) {
      expect((await b.put(`/v1/servers/${victim.domain}`, { description: `own ${i}` }, { token: victim.token })).status).toBe(200);
    }
    expect((await b.put(`/v1/servers/${victim.domain}`, { description: "over" }, { token: victim.token })).status).toBe(429);
  });

  it("reports concurrent heartbeats in fewer messages than requests, with every heartbeat counted once", async () => {
    const watcher = await natsConnect({ servers: nats.url, name: "ratelimit-watcher" });
    try {
      let counted = 0;
      let messages = 0;
      const sub = watcher.subscribe(`zent.${cluster.env.CLUSTER_ID}.ratelimit`, {
        callback: (_err, msg) => {
          const m = msg.json<{ from: string; counts?: [string, string, number, number][] }>();
          if (m.from !== "node0" || !m.counts?.some(([n]) => n === "heartbeat")) return;
          messages++;
          for (const [n, , , c] of m.counts) if (n === "heartbeat") counted += c;
        },
      });
      await watcher.flush();
      const servers = await Promise.all(Array.from({ length: 4 }, () => register()));
      // 100 heartbeats at once on one node, 25 per domain (RATE_LIMIT_HEARTBEAT allows 120 a minute each).
      const beats = servers.flatMap((s) => Array.from({ length: 25 }, (_, i) => a.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: i }, { token: s.token })));
      expect((await Promise.all(beats)).map((r) => r.status)).toEqual(new Array(beats.length).fill(200));
      await vi.waitFor(() => expect(counted).toBe(beats.length), { timeout: 5_000, interval: 20 });
      expect(messages).toBeLessThan(beats.length);
      sub.unsubscribe();
    } finally {
      await watcher.close();
    }
  });
});
