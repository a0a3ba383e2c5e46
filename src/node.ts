// A registrar node: wires store, directory, actors, transport and the HTTP edge; starts them and stops them in reverse.
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./paths.js";
import type { RegistryEvent } from "../actors/ports.js";
import { ServerActors, type ActorApi } from "../actors/server-actors.js";
import { systemClock } from "../actors/clock.js";
import { InProcessTransport } from "../transport/in-process.js";
import { NatsTransport } from "../transport/nats/nats-transport.js";
import { createCluster, type Cluster } from "./cluster/cluster-node.js";
import { createFederation, type Federation } from "./federation/federation.js";
import { SharedRateLimiter } from "./cluster/shared-rate-limit.js";
import { subjects } from "../transport/subjects.js";
import type { Transport } from "../transport/transport.js";
import type { Config } from "./config.js";
import { Directory } from "./directory/directory.js";
import { makeServerSchemas } from "./domain/schemas.js";
import { EventSequencer } from "./events/sequencer.js";
import { healthRoutes } from "./http/routes/health.js";
import { ratingRoutes } from "./http/routes/ratings.js";
import { webhookRoutes } from "./http/routes/webhooks.js";
import { createWebhooks } from "./webhooks/service.js";
import { webRoutes } from "./web/routes.js";
import { serverRoutes } from "./http/routes/servers.js";
import { createResponder } from "./http/respond.js";
import { mountRoutes } from "./http/router.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics } from "./metrics.js";
import { resolveClientIp, parseTrustedProxies } from "./security/client-ip.js";
import { parseCorsOrigins } from "./security/cors.js";
import { parseRateLimit, RateLimiter } from "./security/rate-limit.js";
import { openDb, type Db } from "./store/db.js";
import { lastSeq, readEvents } from "./store/events-repo.js";
import { migrate } from "./store/migrate.js";
import { pruneAudit } from "./store/audit-repo.js";
import { RatingsRepo } from "./store/ratings-repo.js";
import { ServersRepo } from "./store/servers-repo.js";
import { WriteBehind } from "./store/write-behind.js";
import { requireNativeUws } from "./uws.js";
import { feedStore, mountWebSockets } from "./ws/index.js";

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

export async function startNode(config: Config, opts: { logDestination?: import("pino").DestinationStream } = {}): Promise<RegistrarNode> {
  const uWS = requireNativeUws();
  const log = createLogger(config.logLevel, config.nodeId, opts.logDestination);
  const metrics = createMetrics();
  const startedMs = Date.now();
  // Parse security settings first: a bad value must stop start-up before anything is opened.
  const trusted = parseTrustedProxies(config.trustedProxies);
  const corsOrigins = parseCorsOrigins(config.corsOrigins);
  const subj = subjects(config.clusterId);
  // NATS must answer at start-up (fail fast, let the supervisor retry); later outages are survived.
  const transport: Transport = config.natsUrl
    ? await NatsTransport.connect({ servers: config.natsUrl, name: config.nodeId, onError: (err) => log.warn({ err: { message: (err as Error).message } }, "nats error") })
    : new InProcessTransport();
  const limiter = (name: string, spec: string) => {
    const l = parseRateLimit(spec, spec);
    if (!l) return null;
    return transport instanceof NatsTransport ? new SharedRateLimiter(l, name, config.nodeId, transport, subj.rateLimits) : new RateLimiter(l);
  };
  const limits = { register: limiter("register", config.rateLimitRegister), rate: limiter("rate", config.rateLimitRate), list: limiter("list", config.rateLimitList) };
  const limitSub = SharedRateLimiter.listen(
    transport, subj.rateLimits, config.nodeId,
    new Map(Object.entries(limits).filter((e): e is [string, RateLimiter] => e[1] !== null)),
  );

  await migrate(config.databaseUrl);
  const db = await openDb(config.databaseUrl);
  const storeError = (op: string) => (err: unknown) => {
    metrics.storeErrors.labels(op).inc();
    log.warn({ op, err: { message: (err as Error).message, code: (err as { code?: string }).code } }, "store operation failed; will retry");
  };

  const directory = new Directory();
  const sequencer = new EventSequencer(await lastSeq(db), (after, upto) => readEvents(db, after, upto - after, upto), storeError("gap_fill"));
  const webhooks = createWebhooks(
    db,
    { ...config.webhooks, nodeId: config.nodeId, allowPrivate: config.allowPrivateWebhooks, userAgent: `zent-registrar/${VERSION} (+webhooks)` },
    storeError("webhooks"),
    { onOutcome: (kind, s) => (metrics.webhookAttempts.labels(kind).inc(), metrics.webhookAttemptSeconds.observe(s)) },
  );
  const stopWebhookListener = sequencer.listen(webhooks.onEvent);
  const events = {
    publish(ev: RegistryEvent) {
      sequencer.offer(ev);
      transport.publish(subj.events, Buffer.from(JSON.stringify(ev)));
    },
  };
  const eventSub = transport.subscribe(subj.events, (data) => sequencer.offer(JSON.parse(Buffer.from(data).toString("utf8"))));

  const settings = { registrarId: config.registrarId, offlineAfterMs: config.offlineAfterMs, tokenTtlDays: config.tokenTtlDays, tokenMaxAgeDays: config.tokenMaxAgeDays };
  let actors!: ServerActors;
  const tokenExpires = (r: Parameters<ServerActors["tokenExpiresMs"]>[0]) => actors.tokenExpiresMs(r);
  const repo = new ServersRepo(db, tokenExpires);
  const writeBehind = new WriteBehind(
    repo,
    tokenExpires,
    config.flushIntervalMs,
    (s) => {
      metrics.flushRows.observe(s.rows);
      metrics.flushSeconds.observe(s.ms / 1000);
    },
    storeError("write_behind"),
  );
  const mailboxLatency = metrics.histogram("registrar_mailbox_request_seconds", "Latency of messages sent to a shard owner on another node");
  const cluster: Cluster | null =
    transport instanceof NatsTransport
      ? await createCluster({ config, transport, db, directory, sequencer, repo, writeBehind, log, onMailboxLatency: (s) => mailboxLatency.observe(s) })
      : null;
  actors = new ServerActors(settings, directory, repo, events, cluster?.liveness ?? writeBehind, systemClock, storeError("status"), cluster?.ownership);
  const api: ActorApi = cluster ? cluster.attach(actors, settings, events) : actors;

  const loadStarted = performance.now();
  const records: import("../actors/server-record.js").ServerRecord[] = [];
  await repo.loadAll(settings, (r) => records.push(r));
  directory.load(records);
  // The default listing (sort=users, desc) is the hot one: build its index now rather than on the first request.
  directory.prepareIndex("users", "desc");
  records.length = 0;
  // Peer mirroring (docs/federation.md): mirrored records join the directory before any shard adopts a record.
  const federation: Federation | null =
    cluster && config.federation.enabled
      ? await createFederation({
          config, transport, db, directory, sequencer, publish: (ev) => events.publish(ev), isLeader: () => cluster.ownership.accepts(0),
          log, metrics, onStoreError: storeError("federation"),
        })
      : null;
  if (cluster) {
    actors.startWheel();
    cluster.start();
  } else {
    actors.start();
  }
  writeBehind.start();
  federation?.start();
  webhooks.start(sequencer.last);
  log.info({ servers: directory.size, ms: Math.round(performance.now() - loadStarted) }, "directory loaded");

  const sweeper = setInterval(() => {
    for (const l of Object.values(limits)) l?.sweep();
  }, 30_000);
  sweeper.unref();
  // The audit log is kept AUDIT_RETENTION_DAYS, pruned hourly (and shortly after start) rather than growing forever.
  const pruneAuditLog = () =>
    void pruneAudit(db, Date.now() - config.auditRetentionDays * 86_400_000).then(
      (n) => n > 0 && log.info({ rows: n }, "audit log pruned"),
      storeError("audit_prune"),
    );
  const auditPruner = setInterval(pruneAuditLog, 3_600_000);
  auditPruner.unref();
  const firstPrune = setTimeout(pruneAuditLog, 60_000);
  firstPrune.unref();

  metrics.gauge("registrar_servers", "Servers in the directory", () => directory.size);
  metrics.gauge("registrar_servers_online", "Servers online", () => directory.countBy("online"));
  metrics.gauge("registrar_actors_live", "Actors with an armed offline timer", () => actors.wheel.size);
  metrics.gauge("registrar_mailboxes_busy", "Actors with queued messages", () => actors.mailboxesBusy);
  metrics.gauge("registrar_write_behind_backlog", "Records waiting for the next flush", () => writeBehind.backlog);
  metrics.gauge("registrar_status_backlog", "Status transitions waiting to be persisted", () => actors.statusSync.backlog);
  metrics.gauge("registrar_event_seq", "Last event seq delivered in order", () => sequencer.last);
  metrics.transitions.reset();
  (metrics.transitions as unknown as { collect: () => void }).collect = function (this: typeof metrics.transitions) {
    this.reset();
    this.labels("online").inc(actors.stats.transitions.online);
    this.labels("offline").inc(actors.stats.transitions.offline);
  };
  if (cluster) {
    metrics.gauge("registrar_shard_moves", "Shards acquired or given up by this node since start", () => cluster.stats().moves);
    metrics.gauge("registrar_shards_owned", "Shards this node owns", () => cluster.health().shards_owned);
    metrics.gauge("registrar_gossip_members", "Cluster members this node hears", () => cluster.stats().members);
  }
  const eventLag = metrics.histogram("registrar_event_lag_seconds", "Time from an event's commit to its in-order delivery on this node");
  sequencer.listen((ev) => eventLag.observe(Math.max(0, Date.now() - Date.parse(ev.at)) / 1000));
  const pool = (db as unknown as { pool: { _allConnections: { length: number }; _freeConnections: { length: number }; _connectionQueue: { length: number } } }).pool;
  metrics.gauge("registrar_db_pool_connections", "MySQL pool connections", () => pool._allConnections.length);
  metrics.gauge("registrar_db_pool_free", "MySQL pool idle connections", () => pool._freeConnections.length);
  metrics.gauge("registrar_db_pool_waiting", "Queries waiting for a MySQL connection", () => pool._connectionQueue.length);

  const respond = createResponder(log, metrics, corsOrigins);
  const httpHeartbeats = metrics.heartbeats.labels("http"); // one child, not a label lookup per heartbeat
  // Without trusted proxies a plain IPv4 peer is already canonical: skip parsing it on every request.
  const IPV4_TEXT = /^\d{1,3}(?:\.\d{1,3}){3}$/;
  const resolveIp = (peer: string, xff: string | undefined) =>
    trusted.size === 0 && IPV4_TEXT.test(peer) ? peer : resolveClientIp(peer, xff, trusted);
  const app = uWS.App();
  const schemas = makeServerSchemas({ allowInsecureUrls: config.allowInsecureUrls });
  // WebSocket routes first: the HTTP router ends with a catch-all 404.
  const webSockets = mountWebSockets(app, {
    config, actors: api, sequencer, store: feedStore(db), log, metrics, onStoreError: storeError,
    announceSession: (claim) => transport.publish(subj.sessions, Buffer.from(JSON.stringify(claim))),
  });
  // One session per domain across the cluster: a newer claim on any node closes the older session (4010).
  const sessionSub = transport.subscribe(subj.sessions, (data) => {
    try {
      const claim = JSON.parse(Buffer.from(data).toString("utf8"));
      if (typeof claim?.domain === "string" && typeof claim.sessionId === "string" && Number.isFinite(claim.identifiedMs)) {
        webSockets.sessions.claimedElsewhere(claim);
      }
    } catch {
      log.warn("malformed session claim dropped");
    }
  });
  mountRoutes(
    app,
    [
      ...serverRoutes({
        directory, actors: api, schemas, registrarId: config.registrarId, offlineAfterS: config.offlineAfterMs / 1000,
        heartbeatIntervalS: config.heartbeatIntervalS, onHeartbeat: () => httpHeartbeats.inc(),
        limits: { register: limits.register, list: limits.list },
      }),
      ...ratingRoutes({ directory, ratings: new RatingsRepo(db), events, registrarId: config.registrarId, limit: limits.rate }),
      ...webhookRoutes({
        db, listedOrigin: (domain) => directory.get(domain)?.origin,  webhooks: webhooks.repo, registrarId: config.registrarId,
        allowInsecureUrls: config.allowInsecureUrls, allowPrivateWebhooks: config.allowPrivateWebhooks,
      }),
      ...healthRoutes({
        nodeId: config.nodeId, version: VERSION, startedMs,
        checkMysql: () => db.query("SELECT 1").then(() => true, () => false),
        natsHealth: () => transport.health(),
        cluster: () =>
          cluster?.health() ?? {
            nodes: 1, shards_owned: config.shards, shards_total: config.shards,
            members: [{ node: config.nodeId, shards: config.shards, servers: directory.size, at: new Date().toISOString() }],
          },
        registry: metrics.registry,
      }),
      // The web directory (contract §9.1); without it / and /server/:domain fall through to the 404 route.
      ...(config.webUi ? webRoutes({ directory, ratings: new RatingsRepo(db), registrarId: config.registrarId, lastSeq: () => sequencer.last, limiter: limits.list }) : []),
    ],
    { respond, resolveIp, maxBodyBytes: config.maxBodyBytes },
  );

  const listenSocket = await new Promise<import("uWebSockets.js").us_listen_socket>((resolve, reject) =>
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`)))),
  );
  const port = uWS.us_socket_local_port(listenSocket);
  log.info({ port, registrar: config.registrarId, transport: transport.kind }, "registrar listening");

  let stopping: Promise<void> | null = null;
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      log.info("shutting down");
      uWS.us_listen_socket_close(listenSocket);
      // Contract §4: sessions (and feed subscribers) get 1012 so they reconnect, possibly to another node.
      await webSockets.shutdown();
      const deadline = Date.now() + config.shutdownTimeoutMs - 2000;
      while (respond.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      clearInterval(sweeper);
      clearInterval(auditPruner);
      clearTimeout(firstPrune);
      await federation?.stop();
      await cluster?.stop();
      await actors.stop();
      await writeBehind.stop();
      stopWebhookListener();
      await webhooks.stop();
      eventSub.unsubscribe();
      limitSub.unsubscribe();
      sessionSub.unsubscribe();
      await transport.close();
      await db.end();
      log.info("stopped");
      log.flush?.();
    })();
    return stopping;
  }

  return { port, log, directory, actors, db, stop };
}
