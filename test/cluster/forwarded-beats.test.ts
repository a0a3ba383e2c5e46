// Issue 14: heartbeats through a node that does not own their servers travel to the owner node in batches; each
// 200 is the owner's own update, a wrong token in a batch gets its own 401, and batches to a node that is joining
// or leaving fall back to the shard mailboxes without a failed heartbeat.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preferredOwner, shardOf } from "../../actors/shards.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import type { ChildRegistrar } from "../support/registrar.js";
import { startNats, type NatsServer } from "../support/nats-server.js";

type Server = { domain: string; token: string };

/** Sum of the samples of one metric (any labels) on a node. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

async function batchStats(url: string): Promise<{ batches: number; beats: number; single: number }> {
  const [batches, beats] = await Promise.all([metric(url, "registrar_forwarded_heartbeat_batch_size_count"), metric(url, "registrar_forwarded_heartbeat_batch_size_sum")]);
  const text = await (await fetch(`${url}/metrics`)).text();
  const single = Number(/registrar_forwarded_heartbeat_batch_size_bucket\{le="1"\} (\d+)/.exec(text)?.[1] ?? NaN);
  return { batches, beats, single };
}

/** The next HTTP response on a socket (one at a time: the caller writes the next request after it arrived). */
function nextResponse(s: net.Socket): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: string) => {
      buf += d;
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (Buffer.byteLength(buf.slice(end + 4)) < length) return;
      s.off("data", onData);
      const text = buf.slice(end + 4);
      resolve({ status: Number(buf.slice(9, 12)), body: text ? JSON.parse(text) : null });
    };
    s.on("data", onData);
    s.once("error", reject);
  });
}

/**
 * Heartbeats on one open connection each, written while the node is stopped (SIGSTOP), so that it reads them all
 * in one round of its event loop when it continues, as it would a burst from many servers on a busy node. Each
 * connection first carries one answered request, so the node has accepted them all before it stops (a connection
 * it accepts only after continuing would be read one round later).
 */
async function burst(node: ChildRegistrar, beats: { domain: string; token: string }[]): Promise<{ status: number; body: any }[]> {
  const port = node.port;
  const sockets = await Promise.all(beats.map(() => new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.setEncoding("utf8");
    s.on("error", reject);
  })));
  await Promise.all(sockets.map((s) => {
    const answered = nextResponse(s);
    s.write("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    return answered;
  }));
  const answers = sockets.map((s) => nextResponse(s).finally(() => s.destroy()));
  node.child.kill("SIGSTOP");
  try {
    await Promise.all(beats.map((b, i) => {
      const body = JSON.stringify({ user_count: i });
      const request = `POST /v1/servers/${b.domain}/heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      return new Promise((resolve) => sockets[i].write(request, resolve));
    }));
  } finally {
    node.child.kill("SIGCONT");
  }
  return Promise.all(answers);
}

describe("heartbeats forwarded in batches", () => {
  const dbUrl = freshDatabaseUrl("fwdbeats");
  let nats: NatsServer;
  let cluster: TestCluster;
  const servers: Server[] = [];
  /** Servers whose shard node1 owns, heartbeating through node0. */
  let remote: Server[] = [];

  beforeAll(async () => {
    nats = await startNats();
    cluster = await startCluster(2, {
      DATABASE_URL: dbUrl, NATS_URL: nats.url, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_HEARTBEAT: "off", OFFLINE_AFTER_S: "30",
    });
    await waitForShards(cluster.nodes.map((n) => n!.url));
    for (let i = 0; i < 60; i++) {
      const body = newServer();
      const r = await api(cluster.nodes[i % 2]!.url).post("/v1/servers", body);
      expect(r.status).toBe(201);
      servers.push({ domain: body.domain, token: r.body.token });
    }
    remote = servers.filter((s) => preferredOwner(shardOf(s.domain, 256), ["node0", "node1"]) === "node1");
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  it("carries many heartbeats per batch, each 200 being the owner's update, a wrong token its own 401", async () => {
    const [edge, owner] = [cluster.nodes[0]!, cluster.nodes[1]!];
    expect(remote.length).toBeGreaterThan(15);
    for (const s of remote) await expect.poll(() => api(edge.url).get(`/v1/servers/${s.domain}`).then((r) => r.status)).toBe(200);
    const wrong = new Set([remote[2].domain, remote[7].domain]);
    const before = await batchStats(edge.url);
    // A wrong token is another server's (well-formed, so its hash goes into the batch like any other).
    const answers = await burst(edge, remote.map((s, i) => ({ domain: s.domain, token: wrong.has(s.domain) ? remote[i + 1].token : s.token })));
    const after = await batchStats(edge.url);
    // One batch carried them all, the wrong tokens included.
    expect([after.batches - before.batches, after.beats - before.beats]).toEqual([1, remote.length]);
    for (const [i, s] of remote.entries()) {
      const a = answers[i];
      if (wrong.has(s.domain)) {
        expect(a.status, s.domain).toBe(401);
        expect(a.body.error.code).toBe("unauthorized");
        continue;
      }
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      // The owner holds exactly what this heartbeat acknowledged.
      const held = (await api(owner.url).get(`/v1/servers/${s.domain}`)).body.server;
      expect([held.last_seen, held.user_count]).toEqual([a.body.last_seen, i]);
    }
    expect(after.batches - after.single).toBeGreaterThan(0);
    expect(await metric(edge.url, "registrar_forwarded_heartbeat_fallbacks_total")).toBe(0);
  }, 60_000);

  it("falls back to the shard mailboxes while a node joins and leaves, and loses no heartbeat", async () => {
    const edge = cluster.nodes[0]!;
    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    // Every server, eight at a time, round and round through node0.
    const beating = Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let k = w; !stop; k += 8) {
        const s = servers[k % servers.length];
        const r = await api(edge.url).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: s.token });
        sent++;
        if (r.status !== 200) failures.push(`${s.domain}: ${r.status} ${r.text}`);
      }
    }));
    const joining = await cluster.add("node2");
    await waitForShards(cluster.nodes.map((n) => n!.url), 256, 30_000);
    await joining.kill("SIGTERM");
    await waitForShards([cluster.nodes[0]!.url, cluster.nodes[1]!.url], 256, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await beating;
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(100);
    // Some batches went to a node that did not (yet, or any longer) own the shard, and were sent again one by one.
    expect(await metric(edge.url, "registrar_forwarded_heartbeat_fallbacks_total")).toBeGreaterThan(0);
  }, 90_000);
});
