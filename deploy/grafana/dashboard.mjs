// Writes deploy/grafana/registrar.json, the Grafana dashboard for the registrar's /metrics (docs/operations.md).
// Edit the panels here, then run `node deploy/grafana/dashboard.mjs`; test/integration/ops-metrics.test.ts checks
// that every metric it names exists in a running registrar.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const DS = { type: "prometheus", uid: "${datasource}" };
const INSTANCE = 'instance=~"$instance"';

let nextId = 1;
let y = 0;
const panels = [];

/** A collapsed-free row header; the panels after it belong to it (the test reads `row` to tell cluster/federation apart). */
function row(title) {
  panels.push({ type: "row", title, id: nextId++, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
}

/** Lays out `list` left to right, `w` columns each (24 per line). */
function line(w, h, list) {
  list.forEach((p, i) => panels.push({ ...p, id: nextId++, datasource: DS, gridPos: { h, w, x: i * w, y } }));
  y += h;
}

function ts(title, unit, targets, extra = {}) {
  return {
    type: "timeseries", title, ...extra,
    fieldConfig: { defaults: { unit, custom: { lineWidth: 1, fillOpacity: 10, showPoints: "never" } }, overrides: [] },
    options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi", sort: "desc" } },
    targets: targets.map(([expr, legendFormat], i) => ({ datasource: DS, expr, legendFormat, refId: String.fromCharCode(65 + i) })),
  };
}

function stat(title, unit, expr, extra = {}) {
  return {
    type: "stat", title, ...extra,
    fieldConfig: { defaults: { unit, thresholds: { mode: "absolute", steps: [{ color: "green", value: null }] } }, overrides: [] },
    options: { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area", textMode: "auto" },
    targets: [{ datasource: DS, expr, refId: "A", instant: false }],
  };
}

const q = (metric) => `${metric}{${INSTANCE}}`;
const p99 = (metric, by = "instance") => `histogram_quantile(0.99, sum by (${by}, le) (rate(${metric}_bucket{${INSTANCE}}[$__rate_interval])))`;

row("Directory");
line(4, 4, [
  stat("Servers", "short", `max(${q("registrar_servers")})`),
  stat("Online", "short", `max(${q("registrar_servers_online")})`),
  stat("Nodes up", "short", `sum(up{job="zent-registrar", ${INSTANCE}})`),
  stat("Heartbeats/s", "reqps", `sum(rate(${q("registrar_heartbeats_total")}[$__rate_interval]))`),
  stat("Events/s", "short", `sum(rate(${q("registrar_events_total")}[$__rate_interval]))`),
  stat("Live sessions", "short", `sum(${q("registrar_ws_sessions_identified")})`),
]);
line(8, 8, [
  ts("Servers online / listed", "short", [[`max(${q("registrar_servers_online")})`, "online"], [`max(${q("registrar_servers")})`, "listed"]]),
  ts("Heartbeats by transport", "reqps", [[`sum by (via) (rate(${q("registrar_heartbeats_total")}[$__rate_interval]))`, "{{via}}"]]),
  ts("Events by type", "ops", [[`sum by (type) (rate(${q("registrar_events_total")}[$__rate_interval]))`, "{{type}}"]]),
]);

row("HTTP");
line(8, 8, [
  ts("Requests by status", "reqps", [[`sum by (status) (rate(${q("registrar_http_request_duration_seconds_count")}[$__rate_interval]))`, "{{status}}"]]),
  ts("p99 latency by route", "s", [[p99("registrar_http_request_duration_seconds", "route"), "{{route}}"]]),
  ts("5xx ratio", "percentunit", [[
    `sum(rate(registrar_http_request_duration_seconds_count{status=~"5..", ${INSTANCE}}[$__rate_interval])) / sum(rate(${q("registrar_http_request_duration_seconds_count")}[$__rate_interval]))`,
    "5xx",
  ]]),
]);
line(8, 8, [
  ts("Registrations by result", "ops", [[`sum by (result) (rate(${q("registrar_registrations_total")}[$__rate_interval]))`, "{{result}}"]]),
  ts("Refused by rate limit", "reqps", [[`sum by (limit) (rate(${q("registrar_rate_limited_total")}[$__rate_interval]))`, "{{limit}}"]]),
  ts("Token refusals", "ops", [[`sum by (reason) (rate(${q("registrar_auth_failures_total")}[$__rate_interval]))`, "{{reason}}"]]),
]);

row("MySQL and write-behind");
line(6, 8, [
  ts("Store errors by op", "ops", [[`sum by (op) (rate(${q("registrar_store_errors_total")}[$__rate_interval]))`, "{{op}}"]]),
  ts("Backlogs", "short", [[q("registrar_write_behind_backlog"), "write-behind {{instance}}"], [q("registrar_status_backlog"), "status {{instance}}"]]),
  ts("DB pool", "short", [
    [`sum(${q("registrar_db_pool_connections")})`, "connections"], [`sum(${q("registrar_db_pool_free")})`, "free"], [`sum(${q("registrar_db_pool_waiting")})`, "waiting"],
  ]),
  ts("Write-behind flush", "s", [[p99("registrar_write_behind_flush_seconds"), "p99 {{instance}}"],
    [`sum by (instance) (rate(${q("registrar_write_behind_flush_rows_sum")}[$__rate_interval]))`, "rows/s {{instance}}"]]),
]);

row("WebSockets and feed");
line(6, 8, [
  ts("Connections", "short", [
    [`sum(${q("registrar_ws_sessions")})`, "sessions"], [`sum(${q("registrar_ws_sessions_identified")})`, "identified"],
    [`sum(${q("registrar_feed_connections")})`, "feed"], [`sum(${q("registrar_feed_subscribers")})`, "feed subscribed"],
  ]),
  ts("Closes by code", "ops", [[`sum by (endpoint, code) (rate(${q("registrar_ws_closed_total")}[$__rate_interval]))`, "{{endpoint}} {{code}}"]]),
  ts("Feed resets and pruning", "ops", [[`sum(rate(${q("registrar_feed_resets_total")}[$__rate_interval]))`, "resets"],
    [`sum(rate(${q("registrar_feed_pruned_events_total")}[$__rate_interval]))`, "events pruned"]]),
  ts("Event lag p99", "s", [[p99("registrar_event_lag_seconds"), "{{instance}}"]]),
]);

row("Webhooks");
line(12, 8, [
  ts("Attempts by outcome", "ops", [[`sum by (outcome) (rate(${q("registrar_webhook_attempts_total")}[$__rate_interval]))`, "{{outcome}}"]]),
  ts("Attempt duration p99", "s", [[p99("registrar_webhook_attempt_seconds"), "{{instance}}"]]),
]);

row("Process");
line(6, 8, [
  ts("Event loop lag p99", "s", [[q("nodejs_eventloop_lag_p99_seconds"), "{{instance}}"]]),
  ts("Heap used", "bytes", [[q("nodejs_heap_size_used_bytes"), "{{instance}}"]]),
  ts("Resident memory", "bytes", [[q("process_resident_memory_bytes"), "{{instance}}"]]),
  ts("CPU", "percentunit", [[`rate(${q("process_cpu_seconds_total")}[$__rate_interval])`, "{{instance}}"]]),
]);

row("Cluster (NATS_URL set)");
line(6, 8, [
  ts("Shards owned", "short", [[q("registrar_shards_owned"), "{{instance}}"], [`sum(${q("registrar_shards_owned")})`, "total"]]),
  ts("Shard moves", "short", [[`increase(${q("registrar_shard_moves_total")}[$__rate_interval])`, "{{instance}}"]]),
  ts("Members heard", "short", [[q("registrar_gossip_members"), "{{instance}}"]]),
  ts("Shard-owner requests p99", "s", [[p99("registrar_mailbox_request_seconds"), "{{instance}}"]]),
]);

row("Federation (peer registrars)");
line(6, 8, [
  ts("Publisher", "short", [[q("registrar_fed_publisher"), "{{instance}}"]]),
  ts("Changes from peers", "ops", [
    [`sum by (peer) (rate(${q("registrar_fed_changes_received_total")}[$__rate_interval]))`, "received {{peer}}"],
    [`sum by (source) (rate(${q("registrar_fed_changes_applied_total")}[$__rate_interval]))`, "applied {{source}}"],
    [`sum(rate(${q("registrar_fed_changes_stale_total")}[$__rate_interval]))`, "stale"],
  ]),
  ts("Refused and ignored", "ops", [[`sum by (reason) (rate(${q("registrar_fed_dropped_total")}[$__rate_interval]))`, "dropped {{reason}}"],
    [`sum by (reason) (rate(${q("registrar_fed_ignored_total")}[$__rate_interval]))`, "ignored {{reason}}"]]),
  ts("Anti-entropy rounds", "ops", [[`sum by (result) (rate(${q("registrar_fed_sync_rounds_total")}[$__rate_interval]))`, "{{result}}"]]),
]);
line(8, 8, [
  ts("Mirror lag p99", "s", [[p99("registrar_fed_lag_seconds"), "{{instance}}"]]),
  ts("Conflicts", "short", [[`sum(${q("registrar_fed_conflict_losers")})`, "records losing a conflict"],
    [`sum(increase(${q("registrar_fed_conflicts_total")}[$__range]))`, "conflicts found"]]),
  ts("Traffic", "Bps", [[`sum(rate(${q("registrar_fed_published_bytes_total")}[$__rate_interval]))`, "published"],
    [`sum(rate(${q("registrar_fed_sync_bytes_total")}[$__rate_interval]))`, "anti-entropy"]]),
]);

const dashboard = {
  title: "Zent Registrar",
  uid: "zent-registrar",
  description: "Directory, HTTP, MySQL write-behind, WebSockets, webhooks, cluster and federation metrics of Zent Registrar nodes.",
  tags: ["zent", "registrar"],
  timezone: "browser",
  editable: true,
  graphTooltip: 1,
  refresh: "30s",
  schemaVersion: 39,
  version: 1,
  time: { from: "now-6h", to: "now" },
  templating: {
    list: [
      { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: {}, hide: 0 },
      {
        name: "instance", label: "Node", type: "query", datasource: DS, query: { query: 'label_values(registrar_servers, instance)', refId: "instance" },
        definition: "label_values(registrar_servers, instance)", includeAll: true, multi: true, allValue: ".*", refresh: 2, current: {}, hide: 0,
      },
    ],
  },
  annotations: { list: [] },
  panels,
};

const out = fileURLToPath(new URL("./registrar.json", import.meta.url));
writeFileSync(out, JSON.stringify(dashboard, null, 2) + "\n");
console.log(`wrote ${out}: ${panels.filter((p) => p.type !== "row").length} panels`);
