// The node's gauges and collected counters, read at scrape time from the features that keep the numbers.
import type { ServerActors } from "../actors/server-actors.js";
import type { Cluster } from "./cluster/cluster-node.js";
import type { Directory } from "./directory/directory.js";
import type { EventSequencer } from "./events/sequencer.js";
import type { Metrics } from "./metrics.js";
import type { PoolStats } from "./store/db.js";
import type { WriteBehind } from "./store/write-behind.js";

export type NodeMetricSources = {
  directory: Directory;
  actors: ServerActors;
  writeBehind: WriteBehind;
  sequencer: EventSequencer;
  pool: Readonly<PoolStats>;
  cluster: Cluster | null;
};

/** Registers the gauges; returns the stop of the one listener it adds (event lag). */
export function registerNodeMetrics(metrics: Metrics, s: NodeMetricSources): { stop(): void } {
  metrics.gauge("registrar_servers", "Servers in the directory", () => s.directory.size);
  metrics.gauge("registrar_servers_online", "Servers online", () => s.directory.countBy("online"));
  metrics.gauge("registrar_actors_live", "Actors with an armed offline timer", () => s.actors.wheel.size);
  metrics.gauge("registrar_mailboxes_busy", "Actors with queued messages", () => s.actors.mailboxesBusy);
  metrics.gauge("registrar_write_behind_backlog", "Records waiting for the next flush", () => s.writeBehind.backlog);
  metrics.gauge("registrar_status_backlog", "Status transitions waiting to be persisted", () => s.actors.statusSync.backlog);
  metrics.gauge("registrar_event_seq", "Last event seq delivered in order", () => s.sequencer.last);
  metrics.countersFrom("registrar_status_transitions_total", "Status transitions decided", "to", () => s.actors.stats.transitions);
  metrics.gauge("registrar_db_pool_connections", "MySQL pool connections", () => s.pool.connections);
  metrics.gauge("registrar_db_pool_free", "MySQL pool idle connections", () => Math.max(0, s.pool.connections - s.pool.inUse));
  metrics.gauge("registrar_db_pool_waiting", "Queries waiting for a MySQL connection", () => s.pool.waiting);
  const cluster = s.cluster;
  if (cluster) {
    metrics.gauge("registrar_shard_moves", "Shards acquired or given up by this node since start", () => cluster.stats().moves);
    metrics.gauge("registrar_shards_owned", "Shards this node owns", () => cluster.health().shards_owned);
    metrics.gauge("registrar_gossip_members", "Cluster members this node hears", () => cluster.stats().members);
  }
  const eventLag = metrics.histogram("registrar_event_lag_seconds", "Time from an event's commit to its in-order delivery on this node");
  const unlisten = s.sequencer.listen((ev) => eventLag.observe(Math.max(0, Date.now() - Date.parse(ev.at)) / 1000));
  return { stop: unlisten };
}
