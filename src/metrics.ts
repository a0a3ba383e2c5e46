// Prometheus metrics (prom-client): one registry per node, read by GET /metrics. Names follow Prometheus
// conventions: counters end in _total, units are seconds and bytes, cumulative counts are counters (issue 13).
import client from "prom-client";
import { EVENT_TYPES } from "./core/events.js";

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    httpDuration: new client.Histogram({
      name: "registrar_http_request_duration_seconds",
      help: "HTTP request latency by route pattern, method and status",
      labelNames: ["route", "method", "status"] as const,
      // Up to 10 s: a request waiting on MySQL can take the 5 s statement timeout (src/store/db.ts) and more.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    heartbeats: new client.Counter({ name: "registrar_heartbeats_total", help: "Heartbeats accepted", labelNames: ["via"] as const, registers: [registry] }),
    registrations: new client.Counter({
      name: "registrar_registrations_total", help: "Registrations by result: created, or the contract error code of the refusal",
      labelNames: ["result"] as const, registers: [registry],
    }),
    rateLimited: new client.Counter({
      name: "registrar_rate_limited_total", help: "Requests refused with 429 by a rate limit (per IP: register, rate, list, recovery; per domain: write, heartbeat, rate_per_home)",
      labelNames: ["limit"] as const, registers: [registry],
    }),
    authFailures: new client.Counter({
      name: "registrar_auth_failures_total", help: "Requests and server sessions refused for their token (unauthorized, token_expired)",
      labelNames: ["reason"] as const, registers: [registry],
    }),
    events: new client.Counter({
      name: "registrar_events_total", help: "Events committed by this node, by type (summed over nodes: the cluster's events)",
      labelNames: ["type"] as const, registers: [registry],
    }),
    transportDropped: new client.Counter({
      name: "registrar_transport_dropped_total", help: "Messages between nodes dropped unread (too large, not JSON, not the schema)",
      labelNames: ["subject", "reason"] as const, registers: [registry],
    }),
    flushRows: new client.Histogram({
      name: "registrar_write_behind_flush_rows", help: "Rows written per write-behind flush",
      buckets: [1, 10, 100, 1000, 10000, 100000], registers: [registry],
    }),
    flushSeconds: new client.Histogram({
      name: "registrar_write_behind_flush_seconds", help: "Write-behind flush latency",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry],
    }),
    storeErrors: new client.Counter({ name: "registrar_store_errors_total", help: "MySQL operations that failed", labelNames: ["op"] as const, registers: [registry] }),
    webhookAttempts: new client.Counter({
      name: "registrar_webhook_attempts_total", help: "Webhook delivery attempts by outcome (succeeded, retry, failed)",
      labelNames: ["outcome"] as const, registers: [registry],
    }),
    webhookAttemptSeconds: new client.Histogram({
      name: "registrar_webhook_attempt_seconds", help: "Webhook delivery attempt duration",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
    }),
    webhookDropped: new client.Counter({
      name: "registrar_webhook_dropped_total", help: "Pending webhook deliveries dropped by the per-webhook bound (WEBHOOK_MAX_PENDING), oldest first",
      registers: [registry],
    }),
    webhookPauses: new client.Counter({
      name: "registrar_webhook_pauses_total", help: "Webhooks paused after WEBHOOK_PAUSE_AFTER_TIMEOUTS timeouts in a row", registers: [registry],
    }),
    histogram: (name: string, help: string, buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5]) =>
      new client.Histogram({ name, help, buckets, registers: [registry] }),
    /** An unlabelled counter read from a cumulative count kept elsewhere, at scrape time. */
    counterFrom: (name: string, help: string, read: () => number) =>
      new client.Counter({
        name, help, registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      }),
    /** A counter whose value is read from a count kept elsewhere, at scrape time (prom-client's collect callback). */
    countersFrom: (name: string, help: string, label: string, read: () => Record<string, number>) =>
      new client.Counter({
        name, help, labelNames: [label], registers: [registry],
        collect() {
          this.reset();
          for (const [value, n] of Object.entries(read())) this.labels(value).inc(n);
        },
      }),
    gauge: (name: string, help: string, read: () => number, labelNames: string[] = []) =>
      new client.Gauge({
        name, help, labelNames, registers: [registry],
        collect() {
          this.set(read());
        },
      }),
  };
  // Known label values start at 0, so rate() and absent() see the series before the first increment.
  for (const type of EVENT_TYPES) m.events.labels(type).inc(0);
  for (const limit of ["register", "rate", "list", "write", "heartbeat"]) m.rateLimited.labels(limit).inc(0);
  for (const reason of ["unauthorized", "token_expired"]) m.authFailures.labels(reason).inc(0);
  m.registrations.labels("created").inc(0);
  return m;
}
