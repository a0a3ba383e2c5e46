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
import { makeServerSchemas } from "./domain/schemas.js";
import { createEventBus } from "./events/bus.js";
import { createFederation } from "./federation/federation.js";
import { startHousekeeping } from "./housekeeping.js";
import { startEdge } from "./http/edge.js";
import { legacyRoutes } from "./http/legacy/routes.js";
import { openApiRoutes } from "./http/routes/openapi.js";
import { healthRoutes } from "./http/routes/health.js";
import { probeRoutes } from "./http/routes/probes.js";
import { Readiness } from "./http/readiness.js";
import { adminRoutes } from "./http/routes/admin.js";
import { keyRoutes } from "./http/routes/keys.js";
import { ratingRoutes, ratingSubmitter } from "./http/routes/ratings.js";
import { verificationRoutes } from "./http/routes/verification.js";
import { serverRoutes } from "./http/routes/servers.js";
import { webhookRoutes } from "./http/routes/webhooks.js";
import { Lifecycle } from "./lifecycle.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { eventCounter, rateLimitCounter, registerNodeMetrics, registrationCounter } from "./node-metrics.js";
import { PROJECT_ROOT } from "./paths.js";
import { createRegistry } from "./registry.js";
import { createTrust } from "./trust/feature.js";
import { createLimits } from "./http/limits.js";
import type { Db } from "./store/db.js";
import { openStore } from "./store/store.js";
import { requireNativeUws } from "./uws.js";
import { createWebhooks, type WebhookMetrics, type WebhookSettings } from "./webhooks/service.js";
import { webRoutes } from "./web/routes.js";
import { unknownUptime, uptimeRoutes } from "./http/routes/uptime.js";
import { createUptimeTracker } from "./uptime/tracker.js";
import { startDeadSweep } from "./directory/dead-sweep.js";
import { feedStore } from "./ws/index.js";

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
    const schemas = makeServerSchemas({ allowInsecureUrls: config.allowInsecureUrls });
    const onHeartbeat = heartbeatCounter(metrics);
    const registrations = registrationCounter(metrics);
    const ratingDeps = { directory, ratings: store.ratings, service: trust.ratings, limit: limits.rate };
    const readiness = new Readiness();
    const routes = [
      ...probeRoutes(readiness),
      ...serverRoutes({
        directory, actors: registry.api, schemas, registrarId: config.registrarId,
        offlineAfterS: config.offlineAfterMs / 1000, heartbeatIntervalS: config.heartbeatIntervalS, onHeartbeat, limits, registrations,
        lastSeq: () => events.sequencer.last,
      }),
      // The PHP registrar's dialect on the unversioned routes (contract §7), on the same actors and rules; its
      // fromDomain/userId rating is the home-server form of §8.4 (userId up to 128 characters there).
      ...legacyRoutes({ directory, actors: registry.api, schemas, ratings: store.ratings, onHeartbeat, registrations, limits, submitRating: ratingSubmitter(ratingDeps, 128) }),
      ...ratingRoutes(ratingDeps),
      ...uptimeRoutes({ directory, repo: store.uptime, registrarId: config.registrarId }),
      ...verificationRoutes({ proofs: trust.proofs, recoveryLimit: limits.recovery, writeLimit: limits.write }),
      ...keyRoutes({ listed, issuerKeys: trust.issuerKeys, signer: trust.signer, assertions: trust.assertions }),
      // Without ADMIN_TOKEN the admin routes are not mounted at all: every admin path is the plain 404 (§8.5).
      ...(trust.admin.enabled
        ? adminRoutes({
            registrarId: config.registrarId, admin: trust.admin, actors: registry.api, listed, update, publish: events.publish,
            bans: trust.bans, ratings: store.ratings, checks: trust.checks, audit: trust.audit,
          })
        : []),
      ...webhookRoutes({
        db: store.db, listedOrigin: (domain) => directory.get(domain)?.origin, webhooks: webhooks.repo, registrarId: config.registrarId,
        allowInsecureUrls: config.allowInsecureUrls, allowPrivateWebhooks: config.allowPrivateWebhooks, writeLimit: limits.write,
      }),
      ...healthRoutes({
        nodeId: config.nodeId, version: VERSION, startedMs, checkMysql: () => store.db.query("SELECT 1").then(() => true, () => false),
        natsHealth: () => net.transport.health(), cluster: () => registry.cluster?.health() ?? singleNodeHealth(config, directory), registry: metrics.registry,
        expiry: () => registry.local.expiry.state,
      }),
      // The web directory (contract §9.1); without it / and /server/:domain fall through to the 404 route.
      ...(config.webUi
        ? webRoutes({
            directory, ratings: store.ratings, registrarId: config.registrarId, lastSeq: () => events.sequencer.last, limiter: limits.list,
            // §8.3: the keys kept from the last successful fetch of a verified domain; none for the others.
            keys: async (domain) => ((await trust.issuerKeys.stored(domain))?.keys ?? []) as unknown as Record<string, unknown>[],
            // §9.2: the rollup's days (mirrored records have none: every day "no data").
            uptime: async (domain, days) => {
              const nowMs = Date.now();
              const own = directory.get(domain)?.origin === config.registrarId;
              return ((own ? await store.uptime.read(domain, days, nowMs) : null) ?? unknownUptime(days, nowMs)).days;
            },
          })
        : []),
    ];
    // Generated from the table above (docs/api.md): whatever route is mounted is in it.
    routes.push(...openApiRoutes(() => routes, { version: VERSION, prefix: config.pathPrefix }));
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

/** One child, not a label lookup per heartbeat. */
function heartbeatCounter(metrics: Metrics): () => void {
  const child = metrics.heartbeats.labels("http");
  return () => child.inc();
}

function singleNodeHealth(config: Config, directory: Directory) {
  return {
    nodes: 1, shards_owned: config.shards, shards_total: config.shards,
    members: [{ node: config.nodeId, shards: config.shards, servers: directory.size, at: new Date().toISOString() }],
  };
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
