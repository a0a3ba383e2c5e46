// The server actors of a node with the write-behind they write liveness through and, in cluster mode, the cluster
// around them; loads the directory from MySQL. The edge sends commands to `api`.
import { systemClock } from "../actors/clock.js";
import type { ActorApi } from "../actors/commands.js";
import type { EventSink } from "../actors/ports.js";
import { ServerActors, type ActorSettings } from "../actors/server-actors.js";
import type { OnDrop } from "../transport/codec.js";
import type { LeaseProvider } from "../transport/leases.js";
import type { Transport } from "../transport/transport.js";
import { createCluster, type Cluster } from "./cluster/cluster-node.js";
import type { Config } from "./config.js";
import type { ServerRecord } from "./core/record.js";
import type { Directory } from "./directory/directory.js";
import type { EventSequencer } from "./events/sequencer.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import type { Store } from "./store/store.js";
import { WriteBehind } from "./store/write-behind.js";
import { followStoredWrites } from "./events/stored-writes.js";

export type RegistryDeps = {
  config: Config;
  log: Logger;
  metrics: Metrics;
  store: Store;
  directory: Directory;
  events: EventSink & { sequencer: EventSequencer };
  /** Cluster mode only. */
  cluster: { transport: Transport; leases: LeaseProvider } | null;
  onStoreError: (op: string) => (err: unknown) => void;
  onDrop: OnDrop;
};

export type Registry = {
  /** This node's actors: timers, status sync, metrics. */
  local: ServerActors;
  /** Where the edge sends commands (the cluster router in cluster mode). */
  api: ActorApi;
  cluster: Cluster | null;
  writeBehind: WriteBehind;
  /** Starts timers, flushing and (cluster) shard ownership; the returned stop hands over, flushes and stops. */
  start(): { stop(): Promise<void> };
};

export async function createRegistry(d: RegistryDeps): Promise<Registry> {
  const { config, store, directory, events } = d;
  const settings: ActorSettings = {
    registrarId: config.registrarId, offlineAfterMs: config.offlineAfterMs, tokenTtlDays: config.tokenTtlDays, tokenMaxAgeDays: config.tokenMaxAgeDays,
    massExpiry: config.massExpiry,
  };
  const writeBehind = new WriteBehind(
    store.servers,
    config.tokens,
    config.flushIntervalMs,
    (s) => {
      d.metrics.flushRows.observe(s.rows);
      d.metrics.flushSeconds.observe(s.ms / 1000);
    },
    d.onStoreError("write_behind"),
  );
  const mailboxLatency = d.metrics.histogram("registrar_mailbox_request_seconds", "Latency of messages sent to a shard owner on another node");
  const beatBatch = d.metrics.histogram(
    "registrar_forwarded_heartbeat_batch_size", "Heartbeats per batch forwarded to the node presumed to own their shards", [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
  const cluster = d.cluster
    ? await createCluster({
        config, transport: d.cluster.transport, leases: d.cluster.leases, db: store.db, directory, sequencer: events.sequencer, events,
        repo: store.servers, writeBehind, settings, log: d.log, onStoreError: d.onStoreError,
        onMailboxLatency: (s) => mailboxLatency.observe(s), onBeatBatch: (n) => beatBatch.observe(n), onDrop: d.onDrop,
      })
    : null;
  const local = cluster?.local ?? new ServerActors(settings, directory, store.servers, events, writeBehind, systemClock, d.onStoreError("status"));
  await loadDirectory(d);
  return {
    local,
    api: cluster?.api ?? local,
    cluster,
    writeBehind,
    start() {
      // Single node: owns every local record at once. Cluster: records arrive shard by shard.
      const joined = cluster ? cluster.start() : (local.start(), null);
      // A single node learns of writes by other processes (the PHP import) from the events table.
      const follower = cluster ? null : followStoredWrites({ sequencer: events.sequencer, directory, actors: local, registrarId: config.registrarId, onError: d.onStoreError("stored_writes") });
      writeBehind.start();
      return {
        async stop() {
          follower?.stop();
          await joined?.stop();
          await local.stop();
          await writeBehind.stop();
        },
      };
    },
  };
}

async function loadDirectory(d: RegistryDeps): Promise<void> {
  const started = performance.now();
  const records: ServerRecord[] = [];
  await d.store.servers.loadAll((r) => records.push(r));
  d.directory.load(records);
  // The default listing (sort=users, desc) is the hot one: build its index now rather than on the first request.
  d.directory.prepareIndex("users", "desc");
  // The other sorts fill in the background, in slices between event-loop turns (contract §10: no stall).
  d.directory.buildIndexesAhead();
  d.log.info({ servers: d.directory.size, ms: Math.round(performance.now() - started) }, "directory loaded");
}
