// Mounts the registrar's WebSocket endpoints on the uWS app and routes committed events to them (contract §4, §5).
import type { TemplatedApp } from "uWebSockets.js";
import client from "prom-client";
import { ServerSessions, type HeartbeatPort, type SessionClaim } from "./server-sessions.js";
import { Feed, type FeedOptions, type FeedStore } from "./feed.js";
import { startRetention } from "./feed-retention.js";
import { EventFrameCache } from "./frames.js";
import { INBOUND_DEFAULTS } from "./connection.js";
import type { Config } from "../config.js";
import type { EventSequencer } from "../events/sequencer.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { parseRateLimit } from "../security/rate-limit.js";

export const WS_PATHS = { session: "/v1/ws/server", feed: "/v1/feed" } as const;

const DAY_MS = 86_400_000;

export type WebSocketDeps = {
  config: Pick<Config, "heartbeatIntervalS" | "wsIdentifyTimeoutMs" | "wsHeartbeatTimeoutMs" | "wsRateLimit" | "feedRetentionDays">;
  actors: HeartbeatPort;
  sequencer: Pick<EventSequencer, "last" | "listen">;
  store: FeedStore & { pruneEvents(olderThanMs: number): Promise<number> };
  log: Logger;
  metrics: Metrics;
  onStoreError: (op: string) => (err: unknown) => void;
  feedOptions?: Partial<FeedOptions>;
  /** Cluster: publish a session claim to the other nodes; they pass theirs to `sessions.claimedElsewhere`. */
  announceSession?: (claim: SessionClaim) => void;
};

export type WebSocketEndpoints = {
  sessions: ServerSessions;
  feed: Feed;
  /** Start of node shutdown: close sessions and feed subscribers with 1012, refuse new ones, stop pruning. */
  shutdown(): Promise<void>;
};

/** Registers /v1/ws/server and /v1/feed; call before the HTTP routes so the catch-all 404 does not shadow them. */
export function mountWebSockets(app: TemplatedApp, d: WebSocketDeps): WebSocketEndpoints {
  const limits = { maxMessageBytes: INBOUND_DEFAULTS.maxMessageBytes, rate: parseRateLimit(d.config.wsRateLimit, d.config.wsRateLimit) };
  const retentionMs = d.config.feedRetentionDays * DAY_MS;
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
    announce: d.announceSession,
    log: d.log,
  });
  const feed = new Feed({
    app,
    lastSeq: () => d.sequencer.last,
    store: d.store,
    retentionMs,
    limits,
    onClose: (code) => closes.labels("feed", String(code)).inc(),
    onReset: () => resets.inc(),
    log: d.log,
    options: d.feedOptions,
  });
  app.ws(WS_PATHS.session, sessions.behavior());
  app.ws(WS_PATHS.feed, feed.behavior());

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

  let stopping: Promise<void> | null = null;
  return {
    sessions,
    feed,
    shutdown: () =>
      (stopping ??= (async () => {
        unlisten();
        sessions.shutdown();
        feed.shutdown();
        await retention.stop();
      })()),
  };
}

export { feedStore } from "./feed-store.js";
export type { SessionClaim } from "./server-sessions.js";
