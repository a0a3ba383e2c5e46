// The node's gauges and collected counters, read at scrape time from the features that keep the numbers; its build
// info; and the counters the edge and the event bus increment, each child resolved once.
import client from "prom-client";
import type { ServerActors } from "../actors/server-actors.js";
import { RegistrarError } from "./core/errors.js";
import type { EventType, RegistryEvent } from "./core/events.js";
import type { Cluster } from "./cluster/cluster-node.js";
import type { Directory } from "./directory/directory.js";
import type { EventSequencer } from "./events/sequencer.js";
import type { Metrics } from "./metrics.js";
import type { PoolStats } from "./store/db.js";
import { isStoreUnavailable } from "./store/unavailable.js";
import type { WriteBehind } from "./store/write-behind.js";
import { loadedUwsBuild } from "./uws.js";

export type NodeMetricSources = {
  directory: Directory;
  actors: ServerActors;
  writeBehind: WriteBehind;
  sequencer: EventSequencer;
  pool: Readonly<PoolStats>;
  cluster: Cluster | null;
  build: { version: string; nodeId: string; registrarId: string };
};

/** Registers the gauges; returns the stop of the one listener it adds (event lag). */
export function registerNodeMetrics(metrics: Metrics, s: NodeMetricSources): { stop(): void } {
  registerBuildInfo(metrics, s.build);
  metrics.gauge("registrar_servers", "Servers in the directory", () => s.directory.size);
  metrics.gauge("registrar_servers_online", "Servers online", () => s.directory.countBy("online"));
  metrics.gauge("registrar_listing_cache_bytes", "Estimated heap held by the listing caches (q match sets, encoded pages)", () => s.directory.cacheBytes());
  metrics.gauge("registrar_directory_background_jobs", "Sort-index fills and first q scans waiting for their next slice", () => s.directory.backgroundJobs);
  metrics.gauge("registrar_actors_live", "Actors with an armed offline timer", () => s.actors.wheel.size);
  metrics.gauge("registrar_mailboxes_busy", "Actors with queued messages", () => s.actors.mailboxesBusy);
  metrics.gauge("registrar_write_behind_backlog", "Records waiting for the next flush", () => s.writeBehind.backlog);
  metrics.gauge("registrar_status_backlog", "Status transitions waiting to be persisted", () => s.actors.statusSync.backlog);
  metrics.gauge("registrar_event_seq", "Last event seq delivered in order", () => s.sequencer.last);
  metrics.countersFrom("registrar_status_transitions_total", "Status transitions decided", "to", () => s.actors.stats.transitions);
  const expiry = s.actors.expiry;
  metrics.gauge("registrar_mass_expiry_held", "1 while this node holds offline transitions after a mass expiry (contract §10)", () => (expiry.state === "held" ? 1 : 0));
  metrics.gauge("registrar_mass_expiry_held_servers", "Servers whose offline transition this node holds", () => expiry.heldCount);
  metrics.counterFrom("registrar_mass_expiry_holds_total", "Mass-expiry holds this node started", () => expiry.stats.holds);
  metrics.countersFrom("registrar_mass_expiry_releases_total", "Mass-expiry holds ended, by reason", "reason", () => expiry.stats.releases);
  metrics.gauge("registrar_db_pool_connections", "MySQL pool connections", () => s.pool.connections);
  metrics.gauge("registrar_db_pool_free", "MySQL pool idle connections", () => Math.max(0, s.pool.connections - s.pool.inUse));
  metrics.gauge("registrar_db_pool_waiting", "Queries waiting for a MySQL connection", () => s.pool.waiting);
  const cluster = s.cluster;
  if (cluster) {
    metrics.counterFrom("registrar_shard_moves_total", "Shards acquired or given up by this node", () => cluster.stats().moves);
    metrics.gauge("registrar_shards_owned", "Shards this node owns", () => cluster.health().shards_owned);
    metrics.gauge("registrar_gossip_members", "Cluster members this node hears", () => cluster.stats().members);
    metrics.counterFrom(
      "registrar_forwarded_heartbeat_fallbacks_total", "Forwarded heartbeats the presumed owner did not take (shard moved, no responder, timeout), sent again one by one",
      () => cluster.stats().beats.fallbacks,
    );
  }
  const eventLag = metrics.histogram("registrar_event_lag_seconds", "Time from an event's commit to its in-order delivery on this node");
  const unlisten = s.sequencer.listen((ev) => eventLag.observe(Math.max(0, Date.now() - Date.parse(ev.at)) / 1000));
  return { stop: unlisten };
}

/** `registrar_build_info{…} 1`: the usual join target for "which version runs where" (issue 13). */
function registerBuildInfo(metrics: Metrics, b: NodeMetricSources["build"]): void {
  const uws = loadedUwsBuild();
  new client.Gauge({
    name: "registrar_build_info", help: "1, labelled with the registrar version, node, registrar id, Node.js version and uWebSockets.js build",
    labelNames: ["version", "node", "registrar", "node_version", "uws"] as const, registers: [metrics.registry],
  })
    .labels(b.version, b.nodeId, b.registrarId, process.version, uws ? `${uws.pkg}@${uws.uwsVersion}` : "none")
    .set(1);
}

/** For POST /v1/servers: `created`, or the contract code of the refusal (a bounded set). */
export function registrationCounter(metrics: Metrics): { created(): void; refused(err: unknown): void } {
  const created = metrics.registrations.labels("created");
  return {
    created: () => created.inc(),
    refused: (err) => metrics.registrations.labels(err instanceof RegistrarError ? err.code : isStoreUnavailable(err) ? "unavailable" : "internal").inc(),
  };
}

/** For the event bus: one child per event type, resolved here rather than per event. */
export function eventCounter(metrics: Metrics): (ev: RegistryEvent) => void {
  const children = new Map<EventType, ReturnType<Metrics["events"]["labels"]>>();
  return (ev) => {
    let child = children.get(ev.type);
    if (!child) children.set(ev.type, (child = metrics.events.labels(ev.type)));
    child.inc();
  };
}

/** For the rate limiters: what a refusal by the limit `name` increments. */
export function rateLimitCounter(metrics: Metrics): (name: string) => () => void {
  return (name) => {
    const child = metrics.rateLimited.labels(name);
    return () => child.inc();
  };
}
