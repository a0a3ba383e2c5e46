// Issues 3 and 4 together: WebSocket sessions and the feed behave the same across the nodes of a cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { TestSocket } from "../support/ws-test-client.js";

describe("WebSockets on a 3-node cluster", () => {
  const dbUrl = freshDatabaseUrl("wscluster");
  let nats: NatsServer;
  let cluster: TestCluster;
  const urls = () => cluster.nodes.map((n) => n!.url);

  beforeAll(async () => {
    nats = await startNats();
    cluster = await startCluster(3, { DATABASE_URL: dbUrl, NATS_URL: nats.url, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    await waitForShards(urls());
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  async function identify(url: string, domain: string, token: string): Promise<TestSocket> {
    const s = await TestSocket.open(url, "/v1/ws/server");
    await s.next((m) => m.op === "hello");
    s.send({ op: "identify", domain, token, protocol: 1 });
    await s.next((m) => m.op === "ready");
    return s;
  }

  it("closes the older session with 4010 when the same domain identifies on another node", async () => {
    const [a, b] = urls();
    const body = newServer();
    const reg = await api(a).post("/v1/servers", body);
    const first = await identify(a, body.domain, reg.body.token);
    const second = await identify(b, body.domain, reg.body.token);
    expect((await first.closed).code).toBe(4010);
    second.send({ op: "heartbeat", seq: 1 });
    expect((await second.next((m) => m.op === "heartbeat_ack")).seq).toBe(1);
    second.ws.close();
  });

  it("delivers the same event sequence from every node's feed while writes go to all nodes", async () => {
    const nodes = urls();
    const feeds = await Promise.all(nodes.map(async (u) => {
      const f = await TestSocket.open(u, "/v1/feed");
      const hello = await f.next((m) => m.op === "hello");
      f.send({ op: "subscribe", after_seq: hello.last_seq });
      return f;
    }));
    const writes = [];
    for (let i = 0; i < 30; i++) writes.push(api(nodes[i % 3]).post("/v1/servers", newServer()));
    expect((await Promise.all(writes)).every((r) => r.status === 201)).toBe(true);
    const seqsOf = (f: TestSocket) => f.messages.filter((m) => m.op === "event").map((m) => m.seq);
    await expect.poll(() => feeds.map((f) => seqsOf(f).length), { timeout: 5000 }).toEqual([30, 30, 30]);
    const first = seqsOf(feeds[0]);
    expect([...first].sort((x, y) => x - y)).toEqual(first);
    expect(seqsOf(feeds[1])).toEqual(first);
    expect(seqsOf(feeds[2])).toEqual(first);
    for (const f of feeds) f.ws.close();
  });
});
