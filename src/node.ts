// A registrar node: the list of its features, each started onto the lifecycle stack that stops them in reverse.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { DestinationStream } from "pino";
import type { ServerActors } from "../actors/server-actors.js";
import type { ServerRecord } from "./core/record.js";
import { connectTransport } from "../transport/connect.js";
import { subjects } from "../transport/subjects.js";
import type { Config } from "./config.js";
import { Directory } from "./directory/directory.js";
import { createEventBus } from "./events/bus.js";
import { createFederation } from "./federation/federation.js";
import { startHousekeeping } from "./housekeeping.js";
import { startEdge } from "./http/edge.js";
import { Readiness } from "./http/readiness.js";
import { Lifecycle } from "./lifecycle.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { eventCounter, rateLimitCounter, registerNodeMetrics } from "./node-metrics.js";
import { PROJECT_ROOT } from "./paths.js";
import { createRegistry } from "./registry.js";
import { createTrust } from "./trust/feature.js";
import { createLimits } from "./http/limits.js";
import type { Db } from "./store/db.js";
import { openStore } from "./store/store.js";
import { requireNativeUws } from "./uws.js";
import { createWebhooks, type WebhookMetrics, type WebhookSettings } from "./webhooks/service.js";
import { createUptimeTracker } from "./uptime/tracker.js";
import { startDeadSweep } from "./directory/dead-sweep.js";
import { feedStore } from "./ws/index.js";
import { nodeRoutes } from "./http/routes/node-routes.js";

export const VERSION: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).version;

export type RegistrarNode = {
  port: number;
  log: Logger;
  directory: Directory;
  actors: ServerActors;
  db: Db;
  /** Graceful: stop accepting, finish in-flight requests, flush, close. Idempotent. */
  stop(): Promise<void>;
};

export async function startNode(config: Config, opts: { logDestination?: DestinationStream } = {}): Promise<RegistrarNode> {
  const uWS = requireNativeUws(config.uwsUseFallback);
  const log = createLogger(config.logLevel, config.nodeId, opts.logDestination);
  const part = (component: string) => log.child({ component });
  const metrics = createMetrics();
  const startedMs = Date.now();
  const onStoreError = (op: string) => (err: unknown) => {
    metrics.storeErrors.labels(op).inc();
    log.warn({ op, err }, "store operation failed; will retry");
  };
  const onDrop = (kind: string, reason: string) => metrics.transportDropped.labels(kind, reason).inc();
  const subj = subjects(config.clusterId);
  const life = new Lifecycle(log);
  return life.run(async () => {
    const store = life.add("store", await openStore(config));
    const net = life.add("transport", await connectTransport(config.nats, config.nodeId, (err) => log.warn({ err }, "nats error")));
    const cluster = config.mode === "cluster" && net.leases ? { transport: net.transport, leases: net.leases } : null;
    /** A subject shared with the other nodes (cluster mode); null on a single node. */
    const shared = (subject: string) => (cluster ? { transport: net.transport, subject, onDrop, nodeId: config.nodeId } : null);
    const events = life.add("events", await createEventBus({ db: store.db, cluster: shared(subj.events), onGapError: onStoreError("gap_fill"), onPublish: eventCounter(metrics) }));
    // Review L3: a database dump or backup would hand out every webhook's signing secret.
    if (!config.webhooks.secretKeyHex) log.warn({ setting: "WEBHOOK_SECRET_KEY" }, "webhook secrets are stored in clear: set WEBHOOK_SECRET_KEY (64 hex characters) to encrypt them");
    const webhooks = life.add("webhooks", createWebhooks(store.db, webhookSettings(config), onStoreError("webhooks"), webhookMetrics(metrics, part("webhooks"))));
    life.defer("webhook events", events.sequencer.listen(webhooks.onEvent));
    // Review L3: the warning above, as a metric an alert can watch.
    const secretsInClear = config.webhooks.secretKeyHex === undefined;
    metrics.gauge("registrar_webhook_secrets_in_clear", "1 when WEBHOOK_SECRET_KEY is unset and new webhook secrets are stored in clear", () => (secretsInClear ? 1 : 0));
    const limits = life.add("rate limits", createLimits({ config, shared: shared(subj.rateLimits), onRefused: rateLimitCounter(metrics) }));
    const directory = new Directory({ cacheMaxBytes: config.cacheMaxBytes });
    const registry = await createRegistry({ config, log: part("actors"), metrics, store, directory, events, cluster, onStoreError, onDrop });
    logMassExpiry(registry.local, part("actors"));
    // Peer mirroring (docs/federation.md): mirrored records join the directory before any shard adopts a record.
    const federation = registry.cluster && config.federation.enabled
      ? await createFederation({
          config, transport: net.transport, db: store.db, directory, sequencer: events.sequencer, publish: events.publish,
          isLeader: () => registry.cluster!.ownership.accepts(0), log: part("federation"), metrics, onStoreError: onStoreError("federation"),
        })
      : null;
    // Contract §9.2: uptime_30d from the daily rollup, advanced by status events; dead servers leave listings.
    const uptime = createUptimeTracker({ directory, repo: store.uptime, registrarId: config.registrarId, onError: onStoreError("uptime") });
    life.defer("uptime events", events.sequencer.listen(uptime.onEvent));
    await uptime.start();
    life.defer("uptime", () => uptime.stop());
    life.add("dead sweep", startDeadSweep(directory, config.deadAfterMs));
    const listed = (domain: string) => directory.get(domain);
    const update = (rec: ServerRecord, fields: number, mutate: () => void) => directory.update(rec, fields, false, mutate);
    // Proofs, keys, assertions, rater identities (contract §8); re-checks run on the owner of each domain's shard.
    const trust = life.add("trust", await createTrust({
      config, db: store.db, log: part("trust"), actors: registry.api, listed, update, publish: events.publish, ratings: store.ratings, limits,
      owns: (domain) => registry.cluster?.ownership.ownsDomain(domain) ?? true, userAgent: `zent-registrar/${VERSION} (+trust)`,
      onError: onStoreError("trust"),
    }));
    if (federation) trust.setMirrored(federation.proofs);
    life.add("actors", registry.start());
    if (federation) life.add("federation", federation.start());
    life.add("trust re-checks", trust.start());
    webhooks.start(events.sequencer.last);
    life.add("housekeeping", startHousekeeping({ db: store.db, auditRetentionMs: config.auditRetentionMs, uptime: { repo: store.uptime, retentionDays: config.uptimeRetentionDays }, log, onError: onStoreError("audit_prune") }));
    life.add("node metrics", registerNodeMetrics(metrics, { directory, actors: registry.local, writeBehind: registry.writeBehind, sequencer: events.sequencer, pool: store.pool, cluster: registry.cluster,
      build: { version: VERSION, nodeId: config.nodeId, registrarId: config.registrarId } }));
    const readiness = new Readiness();
    const routes = nodeRoutes({ config, version: VERSION, startedMs, metrics, store, net, directory, registry, events, trust, webhooks, limits, readiness, listed, update });
    const webSockets = { actors: registry.api, sequencer: events.sequencer, store: feedStore(store.db), onStoreError, claims: shared(subj.sessions) };
    const edge = life.add("edge", await startEdge({ uWS, config, log: part("edge"), metrics, routes, webSockets, readiness }));
    return { port: edge.port, log, directory, actors: registry.local, db: store.db, stop: once(() => stopNode(life, log)) };
  });
}

function webhookSettings(config: Config): WebhookSettings {
  return { ...config.webhooks, nodeId: config.nodeId, allowPrivate: config.allowPrivateWebhooks, userAgent: `zent-registrar/${VERSION} (+webhooks)` };
}

function webhookMetrics(metrics: Metrics, log: Logger): WebhookMetrics {
  return {
    onOutcome: (kind, s) => (metrics.webhookAttempts.labels(kind).inc(), metrics.webhookAttemptSeconds.observe(s)),
    onDropped: (rows) => metrics.webhookDropped.inc(rows),
    onPaused: (p) => {
      metrics.webhookPauses.inc();
      log.warn({ webhook: p.webhookId, domain: p.domain, paused_until: p.pausedUntil.toISOString(), timeouts: p.timeouts, pauses: p.pauses }, "webhook paused: it keeps timing out");
    },
  };
}

/** The log lines of mass-expiry protection (contract §10; docs/operations.md). */
function logMassExpiry(actors: ServerActors, log: Logger): void {
  actors.expiry.listen({
    held: (i) => log.warn({ expired: i.expired, online: i.online }, "mass expiry: holding offline transitions (suspecting this registrar's ingress)"),
    released: (i) => log.info({ reason: i.reason, still_silent: i.stillSilent, held_ms: i.heldMs }, "mass expiry: hold released"),
  });
}

async function stopNode(life: Lifecycle, log: Logger): Promise<void> {
  log.info("shutting down");
  await life.stop();
  log.info("stopped");
  log.flush?.();
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= fn());
}
