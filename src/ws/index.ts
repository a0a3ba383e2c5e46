// Mounts the registrar's WebSocket endpoints on the uWS app and routes committed events to them (contract §4, §5).
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import client from "prom-client";
import { encode, listen, type OnDrop } from "../../transport/codec.js";
import { CLUSTER_WIRE_VERSION, MESSAGES } from "../../transport/subjects.js";
import type { Transport } from "../../transport/transport.js";
import { ServerSessions, type HeartbeatPort } from "./server-sessions.js";
import { Feed, type FeedOptions, type FeedStore } from "./feed.js";
import { startRetention } from "./feed-retention.js";
import { limitReads, ReadSlots, replaySlotsFor } from "./replay-reads.js";
import { EventFrameCache } from "./frames.js";
import { INBOUND_DEFAULTS } from "./connection.js";
import type { Config } from "../config.js";
import type { EventSequencer } from "../events/sequencer.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";

export const WS_PATHS = { session: "/v1/ws/server", feed: "/v1/feed" } as const;

export type WebSocketDeps = {
  config: Pick<Config, "heartbeatIntervalS" | "wsIdentifyTimeoutMs" | "wsHeartbeatTimeoutMs" | "wsRateLimit" | "feedRetentionMs" | "feedMaxPerIp" | "dbPool" | "pathPrefix">;
  /** The client address of an upgrade request (src/http/context.ts). */
  clientIp: (res: HttpResponse, req: HttpRequest) => string;
  actors: HeartbeatPort;
  sequencer: Pick<EventSequencer, "last" | "listen">;
  store: FeedStore & { pruneEvents(olderThanMs: number): Promise<number> };
  log: Logger;
  metrics: Metrics;
  onStoreError: (op: string) => (err: unknown) => void;
  feedOptions?: Partial<FeedOptions>;
  /**
   * Cluster mode: one session per domain across the cluster. Each identify is announced on this subject; a newer
   * claim from any node closes the older session here (4010).
   */
  claims?: { transport: Transport; subject: string; onDrop: OnDrop } | null;
};

export type WebSocketEndpoints = {
  sessions: ServerSessions;
  feed: Feed;
  /** Start of node shutdown: close sessions and feed subscribers with 1012, refuse new ones, stop pruning. */
  shutdown(): Promise<void>;
};

/** Registers /v1/ws/server and /v1/feed; call before the HTTP routes so the catch-all 404 does not shadow them. */
export function mountWebSockets(app: TemplatedApp, d: WebSocketDeps): WebSocketEndpoints {
  const limits = { maxMessageBytes: INBOUND_DEFAULTS.maxMessageBytes, rate: d.config.wsRateLimit };
  const retentionMs = d.config.feedRetentionMs;
  const claims = d.claims ?? null;
  const closes = new client.Counter({
    name: "registrar_ws_closed_total", help: "WebSocket connections closed, by endpoint and close code",
    labelNames: ["endpoint", "code"] as const, registers: [d.metrics.registry],
  });
  const resets = new client.Counter({ name: "registrar_feed_resets_total", help: "Feed subscriptions answered with reset", registers: [d.metrics.registry] });
  const pruned = new client.Counter({ name: "registrar_feed_pruned_events_total", help: "Events pruned past FEED_RETENTION_DAYS", registers: [d.metrics.registry] });
  const wsHeartbeats = d.metrics.heartbeats.labels("ws");

  const sessions = new ServerSessions({
    actors: d.actors,
    heartbeatIntervalMs: d.config.heartbeatIntervalS * 1000,
    identifyTimeoutMs: d.config.wsIdentifyTimeoutMs,
    heartbeatTimeoutMs: d.config.wsHeartbeatTimeoutMs,
    limits,
    onHeartbeat: () => wsHeartbeats.inc(),
    onClose: (code) => closes.labels("session", String(code)).inc(),
    onAuthFailure: (reason) => d.metrics.authFailures.labels(reason).inc(),
    announce: claims ? (claim) => claims.transport.publish(claims.subject, encode({ v: CLUSTER_WIRE_VERSION, ...claim })) : undefined,
    log: d.log,
  });
  // Replays read MySQL through a few slots of the pool (contract §10), whatever the number of subscribers.
  const replaySlots = new ReadSlots(replaySlotsFor(d.config.dbPool.connectionLimit));
  const feed = new Feed({
    app,
    lastSeq: () => d.sequencer.last,
    store: limitReads(d.store, replaySlots),
    clientIp: d.clientIp,
    maxPerIp: d.config.feedMaxPerIp,
    retentionMs,
    limits,
    onClose: (code) => closes.labels("feed", String(code)).inc(),
    onReset: () => resets.inc(),
    log: d.log,
    options: d.feedOptions,
  });
  const claimSub = claims
    ? listen(claims.transport, claims.subject, MESSAGES.sessions, claims.onDrop, ({ domain, sessionId, identifiedMs }) =>
        sessions.claimedElsewhere({ domain, sessionId, identifiedMs }),
      )
    : null;
  // PATH_PREFIX (contract §7): the same endpoints are also served under the prefix.
  for (const prefix of d.config.pathPrefix ? ["", d.config.pathPrefix] : [""]) {
    app.ws(`${prefix}${WS_PATHS.session}`, sessions.behavior());
    app.ws(`${prefix}${WS_PATHS.feed}`, feed.behavior());
  }

  const frames = new EventFrameCache();
  const unlisten = d.sequencer.listen((ev) => {
    const frame = frames.get(ev);
    sessions.deliver(ev, frame);
    feed.deliver(ev, frame);
  });
  const retention = startRetention({
    retentionMs,
    prune: (olderThanMs) => d.store.pruneEvents(olderThanMs),
    onPruned: (rows) => pruned.inc(rows),
    onError: d.onStoreError("feed_prune"),
  });
  d.metrics.gauge("registrar_ws_sessions", "Open /v1/ws/server connections", () => sessions.size);
  d.metrics.gauge("registrar_ws_sessions_identified", "Identified server sessions", () => sessions.identifiedCount);
  d.metrics.gauge("registrar_feed_connections", "Open /v1/feed connections", () => feed.connections);
  d.metrics.gauge("registrar_feed_subscribers", "Subscribed /v1/feed connections", () => feed.subscribers);
  d.metrics.gauge("registrar_feed_replays_paused", "Feed replays waiting for their client to read (holding no DB connection)", () => feed.pausedReplays);
  d.metrics.gauge("registrar_feed_replay_reads", "Feed replay reads from MySQL running (at most a quarter of DB_POOL_SIZE)", () => replaySlots.inUse);

  let stopping: Promise<void> | null = null;
  return {
    sessions,
    feed,
    shutdown: () =>
      (stopping ??= (async () => {
        unlisten();
        claimSub?.unsubscribe();
        sessions.shutdown();
        feed.shutdown();
        await retention.stop();
      })()),
  };
}

export { feedStore } from "./feed-store.js";
export type { SessionClaim } from "./server-sessions.js";
