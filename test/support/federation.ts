// Peer registrars for federation tests: each its own database, CLUSTER_ID and REGISTRAR_ID, on a shared or a linked
// pair of private NATS servers; helpers to read digests over NATS and metrics over HTTP.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { splitCredentials } from "../../transport/nats/nats-link.js";
import { dropDatabase, freshDatabaseUrl } from "./db.js";
import { freePort, NatsServer } from "./nats-server.js";
import { spawnRegistrar, type ChildRegistrar } from "./registrar.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export type PeerSpec = { id: string; peers: string[]; natsUrl: string; env?: Record<string, string> };

export type TestPeer = {
  id: string;
  dbUrl: string;
  natsUrl: string;
  node: ChildRegistrar | null;
  readonly url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  drop(): Promise<void>;
};

/** Starts a single-node registrar cluster named `id` that mirrors `peers`. */
export async function startPeer(spec: PeerSpec): Promise<TestPeer> {
  const label = spec.id.replace(/[^a-z0-9]/g, "").slice(0, 12);
  const dbUrl = freshDatabaseUrl(`fed${label}`);
  const env = {
    DATABASE_URL: dbUrl,
    NATS_URL: spec.natsUrl,
    CLUSTER_ID: `f${label}${randomBytes(3).toString("hex")}`,
    REGISTRAR_ID: spec.id,
    PEERS: spec.peers.join(","),
    NODE_ID: `${label}-n1`,
    ALLOW_INSECURE_URLS: "true",
    RATE_LIMIT_REGISTER: "off",
    RATE_LIMIT_RATE: "off",
    RATINGS_ANONYMOUS: "true",
    RATE_LIMIT_LIST: "off",
    FED_ANTI_ENTROPY_S: "1",
    LOG_LEVEL: "warn",
    ...spec.env,
  };
  const peer: TestPeer = {
    id: spec.id,
    dbUrl,
    natsUrl: spec.natsUrl,
    node: null,
    get url() {
      if (!peer.node) throw new Error(`${spec.id} is not running`);
      return peer.node.url;
    },
    async start() {
      peer.node = await spawnRegistrar(env);
      try {
        await waitForPublisher(peer.node.url);
      } catch (err) {
        const lines = peer.node.output.filter((l) => !l.includes('"msg":"request"'));
        await peer.node.kill("SIGKILL");
        peer.node = null;
        throw new Error(`${(err as Error).message}; its output:\n${lines.slice(-30).join("\n")}`);
      }
    },
    async stop(signal = "SIGTERM") {
      await peer.node?.kill(signal);
      peer.node = null;
    },
    async drop() {
      await peer.stop("SIGKILL");
      await dropDatabase(dbUrl);
    },
  };
  try {
    await peer.start();
  } catch (err) {
    await dropDatabase(dbUrl).catch(() => {});
    throw err;
  }
  return peer;
}

/** A registrar cluster of `size` nodes (one database, one CLUSTER_ID) that mirrors `peers`. */
export type TestPeerCluster = { id: string; dbUrl: string; nodes: (ChildRegistrar | null)[]; drop(): Promise<void> };

export async function startPeerCluster(spec: PeerSpec, size: number): Promise<TestPeerCluster> {
  const label = spec.id.replace(/[^a-z0-9]/g, "").slice(0, 12);
  const dbUrl = freshDatabaseUrl(`fedc${label}`);
  const env = {
    DATABASE_URL: dbUrl, NATS_URL: spec.natsUrl, CLUSTER_ID: `f${label}${randomBytes(3).toString("hex")}`, REGISTRAR_ID: spec.id,
    PEERS: spec.peers.join(","), ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATE_LIMIT_LIST: "off", RATINGS_ANONYMOUS: "true",
    FED_ANTI_ENTROPY_S: "1", LOG_LEVEL: "warn", ...spec.env,
  };
  const cluster: TestPeerCluster = {
    id: spec.id,
    dbUrl,
    nodes: [],
    async drop() {
      await Promise.all(cluster.nodes.map((n) => n?.kill("SIGKILL")));
      await dropDatabase(dbUrl);
    },
  };
  try {
    for (let i = 0; i < size; i++) cluster.nodes.push(await spawnRegistrar({ ...env, NODE_ID: `${label}-n${i}` }));
  } catch (err) {
    await cluster.drop();
    throw err;
  }
  return cluster;
}

/** Starts several peers at once; if one fails, the others are stopped and dropped too (nothing is left running). */
export async function startPeers(specs: PeerSpec[]): Promise<TestPeer[]> {
  const results = await Promise.allSettled(specs.map(startPeer));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.drop() : null)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<TestPeer>).value);
}

/** Resolves once the node publishes for its registrar (it owns shard 0). */
export async function waitForPublisher(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await metric(url, "registrar_fed_publisher").catch(() => 0)) === 1) return;
    await sleep(100);
  }
  throw new Error(`${url} never became the federation publisher`);
}

/** The value of one metric sample (summed over label sets matching `labels`). */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries((m[3] ?? "").split(",").filter(Boolean).map((kv) => {
      const [k, v] = kv.split("=");
      return [k, v.replace(/^"|"$/g, "")];
    }));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (d: Uint8Array) => JSON.parse(new TextDecoder().decode(d));

/** A plain NATS client (a peer operator's tool, or an attacker). */
export async function natsClient(url: string): Promise<NatsConnection> {
  // Credentials in the URL's user part, as the registrar takes them (nats.js itself ignores them there).
  const { servers, auth } = splitCredentials(url);
  return natsConnect({ servers, ...auth, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
}

/** The root digest a registrar serves on its sync subject. */
export async function rootDigest(nc: NatsConnection, id: string): Promise<string> {
  const m = await nc.request(`zent.fed.${id.replaceAll(".", "_")}.sync.digest`, enc({ v: 1 }), { timeout: 3000 });
  return dec(m.data).root;
}

export function publishJson(nc: NatsConnection, subject: string, v: unknown): void {
  nc.publish(subject, typeof v === "string" ? new TextEncoder().encode(v) : enc(v));
}

/** Servers listed by a registrar, as domain → origin. */
export async function listing(url: string): Promise<Map<string, { origin: string; name: string; status: string; rating: unknown }>> {
  const out = new Map();
  for (let offset = 0; ; offset += 100) {
    const r = await fetch(`${url}/v1/servers?limit=100&offset=${offset}&sort=name`).then((res) => res.json());
    for (const s of r.servers) out.set(s.domain, { origin: s.origin, name: s.name, status: s.status, rating: s.rating });
    if (r.servers.length < 100) return out;
  }
}

/**
 * Two operators' NATS deployments linked through a TCP proxy: A's single server is the hub (JetStream domain a);
 * B runs a 3-server cluster (JetStream domain b) whose servers connect to the hub as leaf nodes through the proxy.
 * Pausing the proxy cuts the link between the deployments while both keep running.
 *
 * B is a real cluster rather than one leaf server because a leaf server reports a cluster name in its INFO, which
 * src/cluster/leases.ts reads as "clustered NATS" and then asks for 3 KV replicas a single server cannot give.
 */
export type LinkedNats = { hub: NatsServer; leaf: NatsServer; leafCluster: NatsServer[]; link: TcpProxy; cleanup(): Promise<void> };

export async function startLinkedNats(): Promise<LinkedNats> {
  const [hubPort, leafListen] = await Promise.all([freePort(), freePort()]);
  // The hub tells leaf nodes its own address (INFO `ip`, `leafnode_urls`, even with no_advertise), and they would
  // reconnect to it around the proxy: make it advertise the proxy instead.
  const link = await startTcpProxy({ host: "127.0.0.1", port: leafListen });
  const hubDir = mkdtempSync(path.join(os.tmpdir(), "zt-fedhub-"));
  writeFileSync(
    path.join(hubDir, "nats.conf"),
    [
      `server_name: hub`,
      `listen: 127.0.0.1:${hubPort}`,
      `jetstream { store_dir: "${hubDir}/js", domain: a }`,
      `leafnodes { listen: 127.0.0.1:${leafListen}, advertise: "127.0.0.1:${link.port}" }`,
    ].join("\n"),
  );
  const hub = new NatsServer(hubPort, ["-c", path.join(hubDir, "nats.conf")], hubDir);
  await hub.start();
  const clientPorts = await Promise.all([freePort(), freePort(), freePort()]);
  const routePorts = await Promise.all([freePort(), freePort(), freePort()]);
  const leafCluster = clientPorts.map((port, i) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `zt-fedleaf${i}-`));
    writeFileSync(
      path.join(dir, "nats.conf"),
      [
        `server_name: b${i}`,
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: "${dir}/js", domain: b }`,
        `cluster { name: fedb, listen: 127.0.0.1:${routePorts[i]}, routes: [${routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")}] }`,
        `leafnodes { reconnect: 1, remotes: [ { url: "nats-leaf://127.0.0.1:${link.port}" } ] }`,
      ].join("\n"),
    );
    return new NatsServer(port, ["-c", path.join(dir, "nats.conf")], dir);
  });
  await Promise.all(leafCluster.map((s) => s.start()));
  return {
    hub,
    leaf: leafCluster[0],
    leafCluster,
    link,
    async cleanup() {
      await Promise.all(leafCluster.map((s) => s.cleanup()));
      await link.close();
      await hub.cleanup();
    },
  };
}

/** Resolves when a message published on one side of the link arrives on the other. */
export async function waitForLink(a: string, b: string, timeoutMs = 15_000): Promise<void> {
  const [na, nb] = await Promise.all([natsClient(a), natsClient(b)]);
  try {
    const subject = `zt.linkcheck.${randomBytes(4).toString("hex")}`;
    const sub = nb.subscribe(subject);
    await nb.flush();
    const deadline = Date.now() + timeoutMs;
    const got = (async () => {
      for await (const _ of sub) return true;
      return false;
    })();
    while (Date.now() < deadline) {
      na.publish(subject);
      const ok = await Promise.race([got, sleep(200).then(() => false)]);
      if (ok) return;
    }
    throw new Error("NATS link did not come up");
  } finally {
    await na.close();
    await nb.close();
  }
}
