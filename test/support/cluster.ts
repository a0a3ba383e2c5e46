// Registrar clusters for tests: N child-process nodes sharing one database and one NATS (cluster id per test).
import { randomBytes } from "node:crypto";
import { spawnRegistrar, type ChildRegistrar } from "./registrar.js";

export type TestCluster = {
  nodes: (ChildRegistrar | null)[];
  env: Record<string, string>;
  add(name?: string): Promise<ChildRegistrar>;
  stopAll(): Promise<void>;
};

export async function startCluster(size: number, env: Record<string, string>): Promise<TestCluster> {
  const clusterEnv = { CLUSTER_ID: `c${randomBytes(4).toString("hex")}`, LOG_LEVEL: "warn", ...env };
  let n = 0;
  const cluster: TestCluster = {
    nodes: [],
    env: clusterEnv,
    async add(name?: string) {
      const node = await spawnRegistrar({ ...clusterEnv, NODE_ID: name ?? `node${n++}` });
      cluster.nodes.push(node);
      return node;
    },
    async stopAll() {
      await Promise.all(cluster.nodes.map((node) => node?.kill("SIGKILL")));
    },
  };
  for (let i = 0; i < size; i++) await cluster.add();
  return cluster;
}

/** Polls the nodes' health until the shards are all owned exactly once among the live nodes. */
export async function waitForShards(urls: string[], shards = 256, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const hs = await Promise.all(urls.map((u) => fetch(`${u}/v1/health`).then((r) => r.json())));
      const owned = hs.map((h: any) => h.cluster.shards_owned as number);
      const sum = owned.reduce((a, b) => a + b, 0);
      last = JSON.stringify(owned);
      if (sum === shards && hs.every((h: any) => h.cluster.nodes === urls.length)) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`shards not settled: ${last}`);
}
