// Federation metrics (README "Metrics"): what peers sent, what was applied, dropped or contested, anti-entropy cost.
import client from "prom-client";

export function createFedMetrics(registry: client.Registry, read: { losers(): number; publisher(): number; holdings(): number }) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new client.Counter<L>({ name, help, labelNames, registers: [registry] });
  const gauge = (name: string, help: string, fn: () => number) =>
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(fn()); } });
  gauge("registrar_fed_conflict_losers", "Records kept out of listings because another registrar's record of the same domain wins", read.losers);
  gauge("registrar_fed_publisher", "1 on the node that publishes and runs anti-entropy for this registrar, else 0", read.publisher);
  gauge("registrar_fed_holdings", "Entries (own, mirrored, tombstones) in the anti-entropy index (publisher node only)", read.holdings);
  return {
    received: counter("registrar_fed_changes_received_total", "Changes accepted from peers' live subjects, before the version check", ["peer"]),
    applied: counter("registrar_fed_changes_applied_total", "Mirrored changes applied (newer than what was held)", ["source"]),
    stale: counter("registrar_fed_changes_stale_total", "Mirrored changes not applied because a newer or equal version was held"),
    dropped: counter("registrar_fed_dropped_total", "Peer messages or changes refused (size, schema, trust rule, flood)", ["reason"]),
    ignored: counter("registrar_fed_ignored_total", "Changes refused by design: own records echoed back, relays of direct peers", ["reason"]),
    conflicts: counter("registrar_fed_conflicts_total", "Domains found registered at more than one registrar"),
    published: counter("registrar_fed_messages_published_total", "Federation messages published (own changes and relays)"),
    publishedBytes: counter("registrar_fed_published_bytes_total", "Bytes of federation messages published"),
    rounds: counter("registrar_fed_sync_rounds_total", "Anti-entropy rounds by result (in_sync, repaired, failed)", ["result"]),
    syncBytes: counter("registrar_fed_sync_bytes_total", "Anti-entropy bytes as requester and responder", ["role", "direction"]),
    applySeconds: new client.Histogram({
      name: "registrar_fed_apply_seconds", help: "Duration of one apply batch (MySQL transaction, then events to the cluster)",
      labelNames: ["phase"] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
    }),
    lag: new client.Histogram({
      name: "registrar_fed_lag_seconds", help: "Time from a change at its origin to its commit here (live changes)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
    }),
  };
}

export type FedMetrics = ReturnType<typeof createFedMetrics>;
